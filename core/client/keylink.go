package client

import (
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// This file is the keys feature on the server link (docs/PROTOCOL.md §2.6):
// the server's proof of its key, the pin of the server, peers' announced
// keys and signed broadcasts.

// identNonceLen is the size of our challenge in IDENT.
const identNonceLen = 16

// helloFeatures returns the features we list in HELLO: the base v2 ones,
// and "keys" and "e2e" with an Identity, and "e2e-aesgcm" too with
// hardware AES;
// "files" and "files-endsum" with an Identity too; "images" with
// Config.Downloads (bimage.go); "read" with
// Config.ReadReceipts.
func (c *Client) helloFeatures() []string {
	base := features
	if c.cfg.ReadReceipts {
		base = append(slices.Clip(features), wire.FeatureRead)
	}
	if c.cfg.Identity == nil {
		return c.imageFeature(base) // bimage.go
	}
	f := append(slices.Clip(base), wire.FeatureKeys, wire.FeatureE2E, wire.FeatureFiles)
	if !c.cfg.noEndSum {
		f = append(f, wire.FeatureFilesEndSum)
	}
	if c.hardwareAES() {
		f = append(f, wire.FeatureE2EAES)
	}
	if !c.cfg.NoRelay {
		f = append(f, wire.FeatureRelay)
	}
	if !c.cfg.NoMailbox {
		f = append(f, wire.FeatureMailbox)
	}
	return c.imageFeature(append(f, wire.FeatureReplay))
}

// keysOn reports whether the current link negotiated "keys". The caller
// holds c.mu.
func (c *Client) keysOn() bool { return slices.Contains(c.srvFeat, wire.FeatureKeys) }

// serverKey answers SKEY with IDENT. The caller holds c.mu.
func (c *Client) serverKey(sc *srvConn, m wire.ServerKey) error {
	if !sc.keys || sc.reg != nil || c.cfg.Identity == nil {
		c.log.Debug("unexpected SKEY dropped")
		return nil
	}
	key, err := identity.ParsePublic(m.Key)
	if err != nil {
		return fmt.Errorf("%w: SKEY: %w", ErrServerIdent, err)
	}
	nonce := make([]byte, identNonceLen)
	rand.Read(nonce)
	own := c.cfg.Identity.Public()
	sc.reg = &identity.Registration{ServerNonce: m.Nonce, ClientNonce: nonce, Nick: c.nick, Server: key, Client: own}
	sc.l.send(wire.Ident{Key: own.String(), Nonce: nonce, Sig: sc.reg.SignClient(c.cfg.Identity)}, 0)
	return nil
}

// serverIdent checks SIDENT, pins the server's key, and completes the
// registration. A bad signature ends the link. The caller holds c.mu.
func (c *Client) serverIdent(sc *srvConn, m wire.ServerIdent) error {
	if sc.reg == nil {
		return fmt.Errorf("%w: SIDENT before SKEY", ErrServerIdent)
	}
	if !sc.reg.VerifyServer(m.Sig) {
		return fmt.Errorf("%w: bad SIDENT signature", ErrServerIdent)
	}
	if !sc.keys {
		return nil // a second SIDENT
	}
	key := sc.reg.Server
	// The pin store may write to disk: not under c.mu. Nothing else of sc
	// is handled meanwhile (this is its reader goroutine), and sc.keys
	// keeps the registration pending until then.
	c.later(func() {
		res, pin, err := c.srvPins.Observe(c.cfg.Server, key, c.now())
		c.mu.Lock()
		defer c.unlock()
		c.serverKeyPinned(sc, key, res, pin, err)
	})
	return nil
}

// serverKeyPinned reports the server's proved key as the pin store found
// it (EventServerKey), holds or releases sending, and completes the
// registration. The caller holds c.mu.
func (c *Client) serverKeyPinned(sc *srvConn, key identity.PublicIdentity, res identity.Result, pin identity.Pin, err error) {
	if err != nil {
		c.emit(Event{Kind: EventError, Err: fmt.Errorf("pin the key of server %s: %w", c.cfg.Server, err)})
		res, pin = identity.New, identity.Pin{}
	}
	if c.closed || sc.state == regFailed {
		return
	}
	c.srvKey = key
	e := Event{Kind: EventServerKey, Key: key, KeyResult: res, Text: c.cfg.Server}
	if res == identity.Changed {
		c.srvNewKey = key
		e.OldKey, e.Verified = pin.Key, pin.Verified
		e.Err = fmt.Errorf("server %s: %w", c.cfg.Server, ErrServerKeyChanged)
	} else if !c.srvNewKey.IsZero() {
		c.srvNewKey = identity.PublicIdentity{}
		for _, ch := range c.chats {
			c.release(ch)
		}
	}
	c.emit(e)
	sc.keys = false
	if sc.state == regDone {
		// Registered already (the WELCOME came after DefaultRegisterGrace):
		// what needs the proved key starts now.
		c.registered()
		return
	}
	c.confirm(sc)
}

// peerKey records the key the server announces for a peer, and reports a
// difference with the peer's pin (EventKeyChanged). The caller holds c.mu.
func (c *Client) peerKey(m wire.Key) {
	key, err := identity.ParsePublic(m.Key)
	fold := foldKey(m.Nick)
	if err != nil || fold == c.selfKey {
		return
	}
	p := c.peers[fold]
	if p == nil {
		c.log.Debug("KEY for an unknown peer dropped", "nick", m.Nick)
		return
	}
	p.Key = key
	c.noteKey(fold, key)
	if pin, ok := c.pins.Get(fold); ok && pin.Key != key {
		c.keyChanged(c.chat(fold, p.Nick), pin, key)
	}
}

// knownKey returns the key that counts for nick: its pin, else the one the
// server announced (zero: none). The caller holds c.mu.
func (c *Client) knownKey(nick string) identity.PublicIdentity {
	fold := foldKey(nick)
	if fold == c.selfKey && c.cfg.Identity != nil {
		return c.cfg.Identity.Public()
	}
	if pin, ok := c.pins.Get(fold); ok {
		return pin.Key
	}
	if p := c.peers[fold]; p != nil {
		return p.Key
	}
	return identity.PublicIdentity{}
}

// unsigned returns the signature state of an unsigned broadcast from nick
// ("" when the server does not say): SigMissing when the server speaks keys
// (so a keyed sender signs) and nick has a known key. The caller holds c.mu.
func (c *Client) unsigned(nick string) SigState {
	if nick == "" || !c.keysOn() || c.srvKey.IsZero() || c.knownKey(nick).IsZero() {
		return SigNone
	}
	return SigMissing
}

// signedBcast reports a signed broadcast, checked against its sender's key.
// The caller holds c.mu.
func (c *Client) signedBcast(m wire.SignedBcast) {
	bid, fresh := c.takeBID()
	if !fresh {
		return
	}
	e := Event{Kind: EventBroadcast, From: m.From, Text: m.Text, Time: m.Time, Seq: m.Seq, Signature: SigBad, BID: bid}
	sb := identity.SignedBroadcast{Server: c.srvKey, From: m.From, Sent: m.Sent, Text: m.Text}
	if k := c.knownKey(m.From); !k.IsZero() && !c.srvKey.IsZero() && sb.Verify(k, m.Sig) {
		e.Signature = SigValid
	}
	c.bcast(e)
}

// sendBroadcast queues text on the server link: signed (SBROADCAST) when
// "keys" was negotiated and the server proved its key, else BROADCAST. It
// reports false when the link is closing. The caller holds c.mu.
func (c *Client) sendBroadcast(text string) bool {
	if c.keysOn() && !c.srvKey.IsZero() && c.cfg.Identity != nil {
		sent := time.UnixMilli(c.now().UnixMilli())
		sb := identity.SignedBroadcast{Server: c.srvKey, From: c.nick, Sent: sent, Text: text}
		return send(c.srv, wire.SignedBroadcast{Time: sent, Sig: sb.Sign(c.cfg.Identity), Text: text}, 0)
	}
	return send(c.srv, wire.Broadcast{Text: text}, 0)
}
