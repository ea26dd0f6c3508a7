package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// srvConn is one connection to the server, from dial to close.
type srvConn struct {
	l         *link
	r         *wire.Reader
	reconnect bool       // a reconnection, not the first registration
	state     int        // regPending, regDone or regFailed; guarded by Client.mu
	regc      chan error // receives the registration's outcome once
	done      chan struct{}
	err       error  // why the reader stopped; set before done is closed
	said      string // the reason of the server's ERROR after registration; guarded by Client.mu
	// spoke: the server has sent a well-formed server payload, so it speaks
	// PeerChat. Until then, anything else proves it does not. Guarded by
	// Client.mu.
	spoke bool
	// keys: the server's WELCOME and our HELLO both list "keys", so the
	// registration completes at the server's SIDENT, not before; reg is
	// the transcript once SKEY came; early holds what the server sent
	// before SIDENT, handled once it is registered. Guarded by Client.mu.
	keys     bool
	reg      *identity.Registration
	early    []wire.Message
	welcomed bool // WELCOME came (one is handled per connection)
}

// maxEarly bounds the frames kept while a keys registration waits for
// SIDENT (the JOINED snapshot of a large server comes first).
const maxEarly = 1 << 16

// serverKeepAlive makes the kernel notice a dead server link within about
// 20 s even when the server does not speak heartbeats.
var serverKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}

const (
	regPending = iota
	regDone
	regFailed
)

// connect dials the server and registers. It returns once the server has
// confirmed (WELCOME or any other server payload), refused, answered
// something that is not PeerChat (ErrNotPeerChat), or stayed silent for
// DefaultRegisterGrace (a base server with nobody else registered).
func (c *Client) connect(ctx context.Context, reconnect bool) (*srvConn, error) {
	d := net.Dialer{Timeout: c.cfg.ChatDialTimeout, KeepAliveConfig: serverKeepAlive}
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w: %w", c.cfg.Server, ErrServerUnreachable, err)
	}
	conn = c.cfg.wrap(conn)
	if !c.track(conn) {
		return nil, ErrClosed
	}
	l := newLink(conn, nil)
	l.halfClose = true
	sc := &srvConn{
		l:         l,
		r:         wire.NewReader(conn, wire.DefaultServerPayload),
		reconnect: reconnect,
		regc:      make(chan error, 1),
		done:      make(chan struct{}),
	}
	sc.l.send(wire.Register{Nick: c.nick, UDPPort: c.udpPort}, 0)
	sc.l.send(wire.Port{Nick: c.nick, TCPPort: c.tcpPort}, 0)
	c.wg.Add(2)
	go func() { defer c.wg.Done(); sc.l.run() }()
	go c.readServer(sc)

	grace := time.NewTimer(DefaultRegisterGrace)
	defer grace.Stop()
	select {
	case err = <-sc.regc:
	case <-grace.C:
		c.mu.Lock()
		c.confirm(sc)
		keys := sc.state == regPending && sc.keys
		c.unlock()
		if !keys {
			select {
			case err = <-sc.regc:
			default:
			}
			break
		}
		// The server proves its key: wait for its SIDENT.
		t := time.NewTimer(DefaultKeysTimeout)
		select {
		case err = <-sc.regc:
		case <-t.C:
			err = fmt.Errorf("register with %s: %w: no SIDENT within %v", c.cfg.Server, ErrServerIdent, DefaultKeysTimeout)
		case <-ctx.Done():
			err = fmt.Errorf("register with %s: %w", c.cfg.Server, ctx.Err())
		}
		t.Stop()
	case <-ctx.Done():
		err = fmt.Errorf("register with %s: %w", c.cfg.Server, ctx.Err())
	}
	c.untrack(conn)
	if err != nil {
		sc.l.close()
		<-sc.done
		return nil, err
	}
	return sc, nil
}

// confirm marks sc registered and makes it the server link. The caller holds c.mu.
func (c *Client) confirm(sc *srvConn) {
	if sc.state != regPending || sc.keys {
		return
	}
	if c.closed {
		sc.state = regFailed
		sc.regc <- ErrClosed
		return
	}
	sc.state = regDone
	c.srv = sc.l
	c.srvSeen = c.now()
	switch {
	case c.srvV2:
		c.srvKind = ServerV2
	case sc.spoke:
		c.srvKind = ServerBase
	default:
		c.srvKind = ServerUnconfirmed
	}
	if sc.reconnect {
		c.stale = make(map[string]bool, len(c.peers))
		for key := range c.peers {
			c.stale[key] = true
		}
		c.settleAt = c.now().Add(DefaultPeerSettle)
		c.emit(Event{Kind: EventReconnected, Text: c.cfg.Server, Server: c.srvKind})
		c.wake()
	} else {
		c.emit(Event{Kind: EventRegistered, Peer: c.nick, Text: c.cfg.Server, Server: c.srvKind})
	}
	sc.regc <- nil
	c.srvDone = sc.done
	early := sc.early
	sc.early = nil
	for _, m := range early {
		c.serverMsg(sc, m)
	}
	c.registered()
}

// registered does what a new registration makes possible: missed
// broadcasts asked for, the mailbox's unconfirmed puts repeated, our
// pending invites sent through the relay too. The caller holds c.mu.
func (c *Client) registered() {
	c.hadMailbox = c.mailOn()
	c.sendWaiting()
	c.askMissed()
	c.putMail()
	for _, ch := range c.chats {
		if ch.state == ChatInviting && ch.relayOut == nil {
			if p := c.peers[ch.key]; p != nil {
				c.relayInvite(ch, p)
			}
		}
	}
}

// fail reports a failed registration. The caller holds c.mu.
func (sc *srvConn) fail(err error) bool {
	if sc.state != regPending {
		return false
	}
	sc.state = regFailed
	sc.regc <- err
	return true
}

// readServer reads and handles the server's frames until the link fails.
func (c *Client) readServer(sc *srvConn) {
	defer c.wg.Done()
	var err error
	for {
		var p []byte
		if p, err = sc.r.ReadFrame(); err != nil {
			break
		}
		if err = c.handleServer(sc, p); err != nil {
			break
		}
	}
	c.mu.Lock()
	if !sc.spoke && wire.IsProtocolError(err) && !errors.Is(err, ErrNotPeerChat) {
		err = fmt.Errorf("%w: %w", ErrNotPeerChat, err)
	}
	c.unlock()
	switch {
	case errors.Is(err, ErrNotPeerChat):
		sc.l.close() // another protocol: say nothing more to it
	case wire.IsProtocolError(err):
		sc.l.closeAfter(wire.Error{Reason: errorReason(err)})
	default:
		sc.l.close()
	}
	<-sc.l.done
	c.mu.Lock()
	switch {
	case c.closed || errors.Is(err, net.ErrClosed):
		sc.fail(ErrClosed)
	case errors.Is(err, ErrNotPeerChat):
		sc.fail(fmt.Errorf("register with %s: %w", c.cfg.Server, err))
	default:
		sc.fail(fmt.Errorf("register with %s: %w: %w", c.cfg.Server, ErrServerUnreachable, err))
	}
	c.dropRelays(sc.l)
	if c.srv == sc.l && c.replaying {
		c.endReplay() // no SINCE_END will come on this link
	}
	if c.srv == sc.l {
		c.srv = nil
		c.srvV2 = false
		c.srvFeat = nil
		c.srvKind = 0
		c.srvKey = identity.PublicIdentity{}
		c.failBroadcasts(len(c.bcasts), fmt.Errorf("%w: the server link was lost before its echo", ErrNotConnected))
	}
	sc.err = err
	if sc.said != "" {
		sc.err = fmt.Errorf("%w: %s", ErrServer, sc.said)
	}
	c.unlock()
	close(sc.done)
}

// serverLoop watches the registered server link and reconnects when it drops.
func (c *Client) serverLoop(sc *srvConn) {
	defer c.wg.Done()
	for {
		select {
		case <-sc.done:
		case <-c.ctx.Done():
			sc.l.close()
			<-sc.done
			return
		}
		if c.isClosed() {
			return
		}
		c.log.Info("server link lost", "err", sc.err)
		c.emit(Event{Kind: EventServerLost, Err: fmt.Errorf("server %s: %w", c.cfg.Server, sc.err)})
		if !c.cfg.Reconnect {
			return
		}
		for attempt := 1; ; attempt++ {
			d := backoff(attempt)
			c.emit(Event{Kind: EventReconnecting, Attempt: attempt, RetryIn: d})
			t := time.NewTimer(d)
			select {
			case <-c.ctx.Done():
				t.Stop()
				return
			case <-c.retryNow:
			case <-t.C:
			}
			t.Stop()
			next, err := c.connect(c.ctx, true)
			if err == nil {
				sc = next
				c.log.Info("reconnected", "attempt", attempt)
				break
			}
			if c.ctx.Err() != nil {
				return
			}
			c.log.Debug("reconnect failed", "attempt", attempt, "err", err)
			if errors.Is(err, ErrServerIdent) {
				// Not a network hiccup: the user must hear of it.
				c.emit(Event{Kind: EventError, Err: err})
			}
		}
	}
}

// backoff returns the wait before reconnection attempt n (1-based): it
// doubles from DefaultBackoffMin up to DefaultBackoffMax, ± jitter.
func backoff(n int) time.Duration {
	d := DefaultBackoffMax
	if n < 10 {
		d = min(DefaultBackoffMin<<(n-1), DefaultBackoffMax)
	}
	j := 1 + DefaultBackoffJitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * j)
}

// serverVerbs are the payloads a PeerChat server sends to a client. The
// first frame of a connection must be one of them (see spoke).
var serverVerbs = []string{
	wire.VerbNicknameTaken, wire.VerbJoined, wire.VerbLeft, wire.VerbBroadcast, wire.VerbError,
	wire.VerbWelcome, wire.VerbPing, wire.VerbPong, wire.VerbBcast, wire.VerbCaps, wire.VerbNotice,
	wire.VerbServerKey, wire.VerbServerIdent, wire.VerbKey, wire.VerbSignedBcast,
}

// handleServer handles one frame from the server. It runs on sc's reader
// goroutine. A non-nil error ends the link: it wraps ErrNotPeerChat when the
// server's first frame is not a PeerChat server payload.
func (c *Client) handleServer(sc *srvConn, p []byte) error {
	msg, err := wire.Parse(p)
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return nil
	}
	if !sc.spoke {
		if err == nil && !slices.Contains(serverVerbs, msg.Verb()) {
			err = fmt.Errorf("unexpected %s", msg.Verb())
		}
		if err != nil {
			return fmt.Errorf("%w: first frame: %w", ErrNotPeerChat, err)
		}
		sc.spoke = true
	}
	c.srvSeen = c.now()
	if err != nil {
		c.log.Debug("server frame dropped", "err", err)
		return nil
	}
	switch m := msg.(type) {
	case wire.NicknameTaken:
		if !sc.fail(fmt.Errorf("register %q: %w", c.nick, ErrNicknameTaken)) {
			c.emit(Event{Kind: EventError, Err: fmt.Errorf("%w: %w", ErrServer, ErrNicknameTaken)})
		}
		return nil
	case wire.Error:
		// A refusal names no type that a client could rely on (see
		// docs/PROTOCOL.md §2.4): whatever it says, it is the server's
		// reason, never taken apart. Only NICKNAME_TAKEN is typed.
		if !sc.fail(fmt.Errorf("register %q: %w: %s", c.nick, ErrServer, m.Reason)) {
			// After registration an ERROR is the server's last word before it
			// closes (protocol.md §4): it becomes the reason of the
			// EventServerLost that follows, not an error of its own.
			sc.said = m.Reason
		}
		return nil
	}
	switch m := msg.(type) {
	case wire.Welcome:
		if sc.welcomed {
			break // one per connection
		}
		sc.welcomed = true
		c.srvV2 = m.Version >= wire.Version
		if !c.srvV2 {
			break
		}
		if sc.state == regDone { // late, after DefaultRegisterGrace
			c.srvKind = ServerV2
		}
		ours := c.helloFeatures()
		c.srvFeat = nil
		for _, f := range m.Features {
			if slices.Contains(ours, f) && !slices.Contains(c.srvFeat, f) {
				c.srvFeat = append(c.srvFeat, f)
			}
		}
		sc.l.send(wire.Hello{Version: wire.Version, Features: ours}, 0)
		if slices.Contains(c.srvFeat, wire.FeatureHeartbeat) {
			sc.r.IdleTimeout = c.cfg.ServerSilence
			c.wake()
		}
		sc.keys = slices.Contains(c.srvFeat, wire.FeatureKeys)
		if sc.state == regDone && !sc.keys {
			// A late WELCOME (after DefaultRegisterGrace): the link's
			// features are known only now.
			c.registered()
		}
		c.confirm(sc) // unless the server proves its key first
		return nil
	case wire.ServerKey:
		return c.serverKey(sc, m)
	case wire.ServerIdent:
		return c.serverIdent(sc, m)
	}
	if sc.state == regPending && sc.keys {
		if p, ok := msg.(wire.Ping); ok {
			sc.l.send(wire.Pong{Token: p.Token}, 0)
			return nil
		}
		if len(sc.early) >= maxEarly {
			return fmt.Errorf("%w: %d frames before SIDENT", ErrServerIdent, maxEarly)
		}
		sc.early = append(sc.early, msg)
		return nil
	}
	c.confirm(sc)
	if sc.state != regDone {
		return nil
	}
	if c.srvKind == ServerUnconfirmed {
		c.srvKind = ServerBase // it spoke: a base server with a room
	}
	c.serverMsg(sc, msg)
	return nil
}

// serverMsg handles one frame of a registered server link. The caller
// holds c.mu.
func (c *Client) serverMsg(sc *srvConn, msg wire.Message) {
	switch m := msg.(type) {
	case wire.Joined:
		c.peerJoined(m)
	case wire.Left:
		key := foldKey(m.Nick)
		delete(c.stale, key)
		c.peerLeft(key)
	case wire.Broadcast:
		e := Event{Kind: EventBroadcast, Text: m.Text}
		if c.srvV2 {
			// A v2 server sends this base form, "<sender>: <text>"
			// (PROTOCOL.md §2.1), until our HELLO reaches it. A nick has no
			// space, so the first ": " ends it.
			if f, t, ok := strings.Cut(m.Text, ": "); ok && wire.ValidateNick(f) == nil {
				e.From, e.Text = f, t
			}
		}
		// A base server names nobody: the sender stays unknown and the text
		// is kept as it came (anyone can type "gary: "), unless it is the
		// echo of our own.
		if e.From == "" || foldKey(e.From) == c.selfKey {
			if id, ok := c.ownEcho(e.Text, e.From != ""); ok {
				e.ID, e.From = id, c.nick
			}
		}
		e.Signature = c.unsigned(e.From)
		c.emit(e)
	case wire.Bcast:
		bid, fresh := c.takeBID()
		if !fresh {
			return
		}
		e := Event{Kind: EventBroadcast, From: m.From, Text: m.Text, Time: m.Time, Seq: m.Seq, BID: bid}
		e.Signature = c.unsigned(m.From)
		c.bcast(e)
	case wire.Caps:
		key := foldKey(m.Nick)
		feats := slices.Clone(m.Features)
		if feats == nil {
			feats = []string{}
		}
		if p := c.peers[key]; p != nil {
			p.Features = feats
			if ch := c.chats[key]; ch != nil && ch.state == ChatOpen && slices.Contains(feats, wire.FeatureAck) {
				ch.ack = true
			}
			if ch := c.chats[key]; ch != nil {
				c.sendRead(ch) // a receipt that waited for the peer's features
			}
		} else if key != c.selfKey && len(c.caps) < 1024 {
			c.caps[key] = feats
		}
	case wire.Notice:
		err := fmt.Errorf("%w: %s: %s", ErrServer, m.Code, m.Text)
		if (m.Code == wire.NoticeRateLimited || m.Code == wire.NoticeTooLong) && len(c.bcasts) > 0 {
			// Only broadcasts are refused so; the refusal takes the place
			// of the echo of the oldest one.
			c.failBroadcasts(1, err)
			return
		}
		c.emit(Event{Kind: EventError, Err: err})
	case wire.Ping:
		sc.l.send(wire.Pong{Token: m.Token}, 0)
	case wire.Key:
		c.peerKey(m)
	case wire.SignedBcast:
		c.signedBcast(m)
	case wire.Relayed:
		if !c.relayed(m) {
			c.relayFirst(m)
		}
	case wire.RelayFail:
		c.relayFailed(m)
	case wire.MboxOK, wire.MboxRefused, wire.MboxDelivered, wire.Mbox:
		c.mailFrame(m)
	case wire.BroadcastID, wire.SinceEnd:
		c.replayFrame(m)
	case wire.ImageLimit, wire.ImageOK, wire.ImageFail, wire.Image, wire.ImageData, wire.ImageEnd, wire.ImageDrop:
		c.imageFrame(sc, m) // bimage.go
	case wire.Pong:
	default:
		c.log.Debug("server frame ignored", "verb", msg.Verb())
	}
}

// serverCaps reports whether the server relays peers' features. The caller
// holds c.mu.
func (c *Client) serverCaps() bool { return slices.Contains(c.srvFeat, wire.FeatureCaps) }

// peerJoined adds or refreshes a peer. The caller holds c.mu.
func (c *Client) peerJoined(j wire.Joined) {
	key := foldKey(j.Nick)
	if key == c.selfKey {
		return
	}
	if c.stale != nil {
		c.settleAt = c.now().Add(DefaultPeerSettle)
	}
	if p := c.peers[key]; p != nil {
		delete(c.stale, key)
		p.IP, p.UDPPort, p.TCPPort = j.IP, j.UDPPort, j.TCPPort
		if f, ok := c.caps[key]; ok {
			p.Features = f
			delete(c.caps, key)
		}
		return
	}
	p := &Peer{Nick: j.Nick, IP: j.IP, UDPPort: j.UDPPort, TCPPort: j.TCPPort, Features: c.caps[key]}
	delete(c.caps, key)
	c.peers[key] = p
	c.emit(Event{Kind: EventPeerJoined, Peer: p.Nick, IP: p.IP})
	close(c.joined)
	c.joined = make(chan struct{})
}

// peerLeft removes a peer and ends what waited for it. The caller holds c.mu.
func (c *Client) peerLeft(key string) {
	p := c.peers[key]
	if p == nil {
		return
	}
	delete(c.peers, key)
	c.emit(Event{Kind: EventPeerLeft, Peer: p.Nick})
	switch ch := c.chats[key]; {
	case ch == nil:
	case ch.state != ChatOpen:
		c.endChat(ch, ReasonLost, ErrPeerLeft, false)
	case ch.route == RouteRelay && ch.l != nil:
		// Its relay stream ended with it (a direct socket may outlive
		// the peer's server link; a stream through the server cannot).
		// The chat's reader first reads what came before (the peer's
		// LEFT_CHAT, if it said it), then this end.
		if rc, ok := ch.l.conn.(*relayConn); ok {
			rc.fail(fmt.Errorf("chat with %q: %w", ch.nick, ErrPeerLeft))
		}
	}
}
