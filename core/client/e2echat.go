package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"peerchat/core/e2e"
	"peerchat/core/identity"
	"peerchat/core/wire"
)

// This file is the encrypted chat (docs/PROTOCOL.md §3.5): when it is
// used, the handshake after CHAT_ACCEPT, and the check of the key the peer
// proves against its pin and the key the server announced.

// e2eWith reports whether a chat with p opened by an invite is encrypted:
// we have an identity and p announced "e2e". The caller holds c.mu.
func (c *Client) e2eWith(p *Peer) bool {
	return c.cfg.Identity != nil && p != nil && slices.Contains(p.Features, wire.FeatureE2E)
}

// hardwareAES reports whether this device runs AES-GCM in hardware
// (e2e.HardwareAES), so that it announces "e2e-aesgcm" and accepts AESGCM.
func (c *Client) hardwareAES() bool {
	return e2e.HardwareAES() && (c.cfg.hooks == nil || !c.cfg.hooks.noAES)
}

// ciphers returns the suites we accept as the responder: AESGCM only with
// hardware AES (docs/PROTOCOL.md §3.5).
func (c *Client) ciphers() []e2e.Cipher {
	if c.hardwareAES() {
		return []e2e.Cipher{e2e.ChaChaPoly, e2e.AESGCM}
	}
	return []e2e.Cipher{e2e.ChaChaPoly}
}

// cipherFor returns the suite we propose as the initiator to the peer with
// folded nick key: AESGCM when both of us announced "e2e-aesgcm",
// ChaChaPoly otherwise. It takes c.mu.
func (c *Client) cipherFor(key string) e2e.Cipher {
	if !c.hardwareAES() {
		return e2e.ChaChaPoly
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.peers[key]; p != nil && slices.Contains(p.Features, wire.FeatureE2EAES) {
		return e2e.AESGCM
	}
	return e2e.ChaChaPoly
}

// prologue returns the handshake's context (§3.5): the invite nonce, the
// inviter's folded nick and the dialer's.
func prologue(nonce, inviter, dialer string) []byte {
	return []byte(nonce + "\n" + inviter + "\n" + dialer)
}

// keyCheck is the outcome of the check of a peer's proved key.
type keyCheck struct {
	res      identity.Result
	verified bool
}

// keyChangedError is the Expect error for a proved key other than the pin.
type keyChangedError struct{ old identity.Pin }

func (e *keyChangedError) Error() string { return ErrKeyChanged.Error() }
func (e *keyChangedError) Unwrap() error { return ErrKeyChanged }

// expect returns the handshake's Expect for the peer with folded nick key:
// a pinned key must be proved; without a pin, the proved key must be the
// one the server announced (if any) and is pinned (trust on first use).
// It runs without c.mu (the pin store writes to disk).
func (c *Client) expect(key string, out *keyCheck) func(identity.PublicIdentity) error {
	return func(remote identity.PublicIdentity) error {
		if pin, ok := c.pins.Get(key); ok {
			if pin.Key != remote {
				return &keyChangedError{old: pin}
			}
			out.res, out.verified = identity.Same, pin.Verified
			return nil
		}
		c.mu.Lock()
		var announced identity.PublicIdentity
		if p := c.peers[key]; p != nil {
			announced = p.Key
		}
		if ch := c.chats[key]; ch != nil && (announced.IsZero() || announced == remote) {
			// Pinned now, for the first time: the other path's handshake
			// of the same set-up may finish first and find the pin (Same);
			// the chat is still a first contact. Marked before the pin is
			// written, so that no handshake can find it unmarked.
			ch.pinnedNew = true
		}
		c.mu.Unlock()
		if !announced.IsZero() && announced != remote {
			return ErrKeyMismatch
		}
		res, pin, err := c.pins.Observe(key, remote, c.now())
		switch {
		case err != nil:
			return err
		case res == identity.Changed: // pinned meanwhile
			return &keyChangedError{old: pin}
		}
		out.res, out.verified = res, pin.Verified
		return nil
	}
}

// handshake runs the Noise handshake on conn for the chat with the peer
// whose folded nick is key, bounded by ChatDialTimeout. It runs without c.mu.
func (c *Client) handshake(conn net.Conn, r *wire.Reader, role e2e.Role, prologue []byte, key string, kc *keyCheck) (*e2e.Session, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ChatDialTimeout)
	defer cancel()
	r.IdleTimeout = c.cfg.ChatDialTimeout
	cfg := e2e.Config{
		Role:     role,
		Local:    c.cfg.Identity,
		Expect:   c.expect(key, kc),
		Prologue: prologue,
		Ciphers:  c.ciphers(),
	}
	if role == e2e.Initiator {
		cfg.Cipher = c.cipherFor(key)
	}
	return e2e.Handshake(ctx, conn, r, cfg)
}

// secureIncoming runs the responder's handshake on a socket that answered
// our invite (nonce) to the peer with folded nick key, then opens the chat.
func (c *Client) secureIncoming(key, nonce string, conn net.Conn, r *wire.Reader) {
	defer c.wg.Done()
	var kc keyCheck
	sess, err := c.handshake(conn, r, e2e.Responder, prologue(nonce, c.selfKey, key), key, &kc)
	_, relayed := conn.(*relayConn)
	c.secured(key, conn, r, sess, kc, err, func(ch *chat) bool {
		if relayed { // a relayed chat never replaces an open one
			return ch.state == ChatInviting && ch.nonce == nonce
		}
		return ch.awaiting(nonce)
	})
}

// secured ends a handshake on conn for the chat with the peer whose folded
// nick is key: if the chat is still the one it was for (still), it opens it
// with sess, or reports err; otherwise it closes what the handshake made.
// It takes c.mu.
func (c *Client) secured(key string, conn net.Conn, r *wire.Reader, sess *e2e.Session, kc keyCheck, err error, still func(*chat) bool) {
	c.mu.Lock()
	defer c.unlock()
	delete(c.pending, conn)
	ch := c.chats[key]
	match := ch != nil && !c.closed && still(ch)
	if err != nil {
		conn.Close()
		if match {
			c.setupFailed(ch, err)
		}
		return
	}
	if !match {
		sess.Close()
		return
	}
	c.openChat(ch, conn, r, nil, sess, kc)
}

// setupFailed handles a connection or handshake of ch's set-up that
// failed with err: a changed key is reported (EventKeyChanged) and holds
// the messages. A failed attempt to move a chat open through the server
// to a direct socket leaves the chat as it is; one of several attempts
// (direct and relayed) leaves the others running; the last one ends the
// set-up, reported as a lost chat with err. The caller holds c.mu.
func (c *Client) setupFailed(ch *chat, err error) {
	c.log.Info("chat set-up failed", "peer", ch.nick, "err", err)
	var kce *keyChangedError
	var rej *e2e.RejectedError
	if errors.As(err, &kce) && errors.As(err, &rej) {
		c.keyChanged(ch, kce.old, rej.Remote)
	}
	if ch.state == ChatOpen {
		ch.upgrading = false
		return
	}
	if ch.tries > 1 && !c.held(ch) {
		ch.tries--
		return
	}
	if ch.state == ChatInviting && !ch.nextResend.IsZero() && !c.held(ch) && c.now().Before(ch.expires) {
		// Our invite is still out: the peer may answer it again.
		ch.tries = 0
		ch.nextResend = c.now()
		c.wake()
		return
	}
	state := ch.state
	c.clearInvites(ch)
	ch.state = ChatNone
	if state != ChatNone {
		c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: ReasonLost, Err: fmt.Errorf("chat with %q: %w", ch.nick, err)})
	}
	c.wake()
}

// secureOutgoing sends CHAT_ACCEPT on conn, which we dialled to accept the
// invite (nonce) of the peer with folded nick key, runs the initiator's
// handshake and opens the chat. It runs without c.mu.
func (c *Client) secureOutgoing(key, nonce string, conn net.Conn) {
	r := wire.NewReaderSize(conn, wire.DefaultPeerPayload, chatReadBuffer)
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	err := wire.WriteMessage(conn, wire.ChatAccept{Nick: c.nick, Nonce: nonce})
	conn.SetWriteDeadline(time.Time{})
	var sess *e2e.Session
	var kc keyCheck
	if err == nil {
		sess, err = c.handshake(conn, r, e2e.Initiator, prologue(nonce, key, c.selfKey), key, &kc)
	}
	_, relayed := conn.(*relayConn)
	c.secured(key, conn, r, sess, kc, err, func(ch *chat) bool {
		if relayed { // a relayed chat never replaces an open one
			return ch.state == ChatInvited && ch.inNonce == nonce
		}
		return ch.answering(nonce)
	})
}
