package client

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"time"

	"peerchat/core/e2e"
	"peerchat/core/identity"
	"peerchat/core/wire"
)

// This file is the private chat with one peer: its state (chat), Send and
// LeaveChat, the chat socket opened, read and ended, and the chat's timed
// work (tickChat). The invites are in invite.go, the outbox in pump.go and
// the keepalive in keepalive.go.

// chat is everything the Client knows about the private chat with one peer:
// the invites in both directions, the socket when open, the messages not yet
// delivered and the ids already received. Guarded by Client.mu.
type chat struct {
	key, nick string
	state     ChatState

	// Our invite (ChatInviting).
	nonce      string
	expires    time.Time
	nextResend time.Time  // zero: no UDP invites (base flow only)
	fallbackAt time.Time  // zero: no base dial planned
	dialing    bool       // a base CHAT_REQUEST is in flight
	reqConn    net.Conn   // its socket, closed when the invite ends
	relayOut   *relayConn // its relay stream, waiting for the answer

	// Their invite (ChatInvited).
	inNonce   string         // "" for a base CHAT_REQUEST
	inSrc     netip.AddrPort // the invite datagram's source
	inTCP     netip.AddrPort // where to connect on Accept
	inExpires time.Time
	inConn    net.Conn // the CHAT_REQUEST socket waiting for our answer
	inReader  *wire.Reader
	inRelay   bool // their invite came through the server too
	accepting bool

	// tries counts the connections and handshakes under way for the
	// chat's set-up (direct and relayed): one failing while another may
	// still succeed is not the end of the set-up.
	tries int

	// The open chat.
	route Route // RouteDirect or RouteRelay while open
	// openNonce is the nonce of the invite the chat opened by; while the
	// chat goes through the server, a direct connection for it (until
	// upExpires) moves the chat there. upgrading: one is under way;
	// upResend: when we (the inviter) send the invite's datagram again.
	openNonce string
	upExpires time.Time
	upResend  time.Time
	upgrading bool
	// heard is when the peer last sent a frame; pinged when we asked it
	// to prove it is alive (keepalive). next is the index in outbox of
	// the first message not yet queued on the link (pump).
	heard     time.Time
	pinged    time.Time
	keepalive bool // the peer answers PING on the chat
	next      int
	inflight  int    // bytes of text in outbox[:next]
	readID    uint64 // a read receipt to send when the chat is open (MarkRead)
	readSent  uint64 // the last one sent, said again when the chat opens or moves
	l         *link
	ack       bool   // both sides announced "ack": CHAT_MSG2 and CHAT_ACK
	gen       uint64 // incremented whenever a socket is attached or dropped

	// pinnedNew: a handshake of the set-up under way pinned the peer's
	// key for the first time (EventChatOpen says identity.New).
	pinnedNew bool

	// newKey is a changed key of the peer (proved or announced) that waits
	// for AcceptKey; sending is held meanwhile. Zero: none.
	newKey identity.PublicIdentity

	outbox []outMsg
	mail   []mailMsg // given to the server's mailbox, waiting for MBOX_OK
	// mailed are the ids given to the mailbox and not yet delivered (or
	// refused): while there are any, later messages go there too, so that
	// none overtakes them live.
	mailed  map[uint64]struct{}
	seen    map[uint64]struct{}
	seenLog []uint64
	handled map[string]nonceState // invite nonces already handled
}

// chat returns the chat with the peer, creating it. The caller holds c.mu.
func (c *Client) chat(key, nick string) *chat {
	ch := c.chats[key]
	if ch == nil {
		ch = &chat{key: key, nick: nick, handled: make(map[string]nonceState)}
		c.chats[key] = ch
	}
	return ch
}

// Send queues text for nick and returns the message's local id. The message
// goes at once if the chat is open; otherwise it waits, and a chat that is
// not open or being set up is (re-)invited automatically. EventSent reports
// the message written to the chat socket (✓); EventDelivered, after it, the
// peer's acknowledgement (✓✓, CHAT_ACK) when both sides speak "ack". A base
// peer never acknowledges, so EventSent is its last event: a message written
// just before the socket died may be lost. EventSendFailed reports a message
// given up: the peer left, the invite was declined or expired, or
// RetryWindow passed.
func (c *Client) Send(nick, text string) (uint64, error) {
	if err := checkText(text); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return 0, ErrClosed
	}
	key := foldKey(nick)
	if key == c.selfKey {
		return 0, fmt.Errorf("send to %q: %w", nick, ErrSelf)
	}
	ch, p := c.chats[key], c.peers[key]
	away := p == nil && (ch == nil || ch.state != ChatOpen)
	if away {
		// Not online: the server's mailbox keeps it, sealed to the key we
		// know for nick.
		switch {
		case !c.mailUsable():
			return 0, fmt.Errorf("send to %q: %w", nick, ErrUnknownPeer)
		case c.mailKey(key).IsZero():
			return 0, fmt.Errorf("send to %q: %w", nick, ErrNoKey)
		}
	}
	if ch == nil {
		name := nick
		if p != nil {
			name = p.Nick
		}
		ch = c.chat(key, name)
	}
	if !away && ch.state != ChatOpen && !c.e2eWith(p) && c.mustEncrypt(p.Nick) {
		return 0, fmt.Errorf("send to %q: %w", nick, ErrNotEncrypted)
	}
	now := c.now()
	m := outMsg{id: c.newID(), text: text, at: now, deadline: now.Add(c.cfg.RetryWindow)}
	if away || (len(ch.mailed) > 0 && c.mailUsable() && !c.held(ch)) {
		if away && !c.held(ch) {
			c.giveUp(ch, ErrPeerLeft) // older messages first
		}
		c.mailOut(ch, m)
		return m.id, nil
	}
	ch.outbox = append(ch.outbox, m)
	switch ch.state {
	case ChatOpen:
		c.pump(ch)
	case ChatNone:
		if !c.held(ch) { // held: it waits for AcceptKey or AcceptServerKey
			c.startInvite(ch, p)
		}
	}
	if len(ch.outbox) == 1 {
		c.wake()
	}
	return m.id, nil
}

// LeaveChat leaves the chat with nick (LEFT_CHAT), cancels our invite to
// nick, or declines nick's invite. Undelivered messages are reported failed.
func (c *Client) LeaveChat(nick string) error {
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return ErrClosed
	}
	ch := c.chats[foldKey(nick)]
	if ch == nil {
		return fmt.Errorf("leave %q: %w", nick, ErrNoChat)
	}
	switch ch.state {
	case ChatOpen, ChatInviting:
		c.endChat(ch, ReasonClosed, ErrLeftChat, true)
	case ChatInvited:
		c.decline(ch)
	default:
		if len(ch.outbox) == 0 {
			return fmt.Errorf("leave %q: %w", nick, ErrNoChat)
		}
		c.failOutbox(ch, ErrLeftChat)
	}
	return nil
}

// chatLost ends the open chat ch, whose socket or relay stream failed with
// err (or whose peer stopped answering), and invites the peer again when
// it is online and speaks e2e: the relay answers at once if the direct
// path is what broke, and the messages not yet acknowledged go on the new
// chat. The caller holds c.mu.
func (c *Client) chatLost(ch *chat, err error) {
	if ch.l != nil {
		ch.l.close()
	}
	ch.state = ChatNone
	ch.l = nil
	ch.gen++
	c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: ReasonLost, Err: err})
	p := c.peers[ch.key]
	switch {
	case p == nil && !c.held(ch):
		// Gone from the server too: what it did not acknowledge goes to
		// the mailbox now, ahead of what is sent to it from now on.
		c.giveUp(ch, ErrPeerLeft)
	case !c.closed && c.e2eWith(p) && !c.held(ch) && (len(ch.outbox) > 0 || c.relayWith(p) || c.filesPending(ch.key)):
		c.startInvite(ch, p)
	}
}

// endChat ends whatever ch is doing and reports it; failErr, if not nil,
// fails the outbox. The caller holds c.mu.
func (c *Client) endChat(ch *chat, reason CloseReason, failErr error, sendLeft bool) {
	switch ch.state {
	case ChatOpen:
		if sendLeft {
			ch.l.closeAfter(wire.LeftChat{Nick: c.nick})
		} else {
			ch.l.close()
		}
		ch.l = nil
		ch.gen++
		c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: reason})
	case ChatInviting:
		c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: reason})
	case ChatInvited:
		if ch.inConn != nil && reason == ReasonExpired {
			c.lastWord(ch, wire.Error{Reason: "chat request timed out"})
		}
		if reason != ReasonClosed {
			c.emit(Event{Kind: EventInviteExpired, From: ch.nick, Peer: ch.nick})
		}
	}
	c.clearInvites(ch)
	ch.state = ChatNone
	if failErr != nil {
		c.giveUp(ch, failErr)
	}
}

// openChat attaches conn to ch as its open chat socket, sends first (if not
// nil) and then every undelivered message. sess, if not nil, is the chat's
// encryption (kc what the key check found). The caller holds c.mu.
func (c *Client) openChat(ch *chat, conn net.Conn, r *wire.Reader, first wire.Message, sess *e2e.Session, kc keyCheck) {
	delete(c.pending, conn)
	route := RouteDirect
	if rc, ok := conn.(*relayConn); ok {
		route = RouteRelay
		if sess != nil {
			sess.SetMaxFragment(e2e.RelayFragment)
		}
		if ch.relayOut == rc {
			ch.relayOut = nil
		}
	}
	moved := ch.state == ChatOpen
	now := c.now()
	if moved {
		ch.l.close()
	} else {
		ch.openNonce, ch.upExpires, ch.upResend = "", time.Time{}, time.Time{}
		switch {
		case ch.state == ChatInviting && ch.nonce != "":
			ch.openNonce, ch.upExpires = ch.nonce, ch.expires
			if !ch.nextResend.IsZero() {
				ch.upResend = ch.nextResend // we invited: our datagrams go on
			}
		case ch.state == ChatInvited && ch.inNonce != "":
			ch.openNonce, ch.upExpires = ch.inNonce, ch.inExpires
		}
	}
	c.clearInvites(ch)
	ch.state, ch.route, ch.upgrading = ChatOpen, route, false
	ch.gen++
	ch.heard, ch.pinged, ch.next, ch.inflight = now, time.Time{}, 0, 0
	gen, key := ch.gen, ch.key
	if p := c.peers[key]; p != nil {
		ch.ack = slices.Contains(p.Features, wire.FeatureAck)
		ch.keepalive = slices.Contains(p.Features, wire.FeatureKeepalive)
	}
	var l *link
	l = newLink(conn, func(ids []uint64) {
		c.mu.Lock()
		defer c.unlock()
		if ch := c.chats[key]; ch != nil {
			for _, id := range ids {
				c.written(ch, id)
			}
			if ch.l == l {
				c.pump(ch)
			}
		}
	})
	ch.l = l
	if first != nil {
		l.send(first, 0)
	}
	l.sess = sess
	if moved {
		c.emit(Event{Kind: EventRoute, Peer: ch.nick, Route: route})
	} else {
		e := Event{Kind: EventChatOpen, Peer: ch.nick, Encrypted: sess != nil, Route: route}
		if sess != nil {
			e.Key, e.KeyResult, e.Verified = sess.Remote(), kc.res, kc.verified
			if ch.pinnedNew {
				e.KeyResult = identity.New
			}
		}
		ch.pinnedNew = false
		c.emit(e)
	}
	c.pump(ch)
	if ch.readID == 0 {
		// The last receipt may have been lost with the path the chat
		// left: say it again (the peer takes a repeat as it is).
		ch.readID = ch.readSent
	}
	c.sendRead(ch)
	c.filesOpen(ch, l)
	r.IdleTimeout = 0
	c.wg.Add(2)
	go func() { defer c.wg.Done(); l.run() }()
	go c.readChat(ch, gen, l, r, sess)
}

// readChat reads an open chat socket until it ends.
func (c *Client) readChat(ch *chat, gen uint64, l *link, r *wire.Reader, sess *e2e.Session) {
	defer c.wg.Done()
	defer c.filesDown(ch.key, l)
	for {
		p, err := r.ReadFrame()
		if sess != nil {
			switch {
			case err == nil:
				var complete bool
				if p, complete, err = sess.Open(p); err == nil && !complete {
					continue
				}
			case err == io.EOF && sess.Pending():
				err = fmt.Errorf("%w: stream ended inside a message: %w", e2e.ErrTruncated, io.ErrUnexpectedEOF)
			}
		}
		if err != nil {
			// Closed and reported under c.mu: the peer, which sees the
			// socket close, may invite us again at once, and that must
			// find this chat reported lost already.
			c.mu.Lock()
			if wire.IsProtocolError(err) && sess == nil {
				l.closeAfter(wire.Error{Reason: errorReason(err)})
			} else {
				l.close()
			}
			if ch.gen == gen && ch.state == ChatOpen {
				ch.l = nil
				c.chatLost(ch, err)
			}
			c.unlock()
			return
		}
		if sess != nil {
			if v, _ := wire.SplitVerb(p); wire.IsFileVerb(v) {
				if !c.fileFrame(ch, gen, l, p) {
					return
				}
				continue
			}
		}
		if !c.handleChat(ch, gen, l, p) {
			return
		}
	}
}

// handleChat handles one frame of an open chat; it reports false once the
// socket is no longer ch's.
func (c *Client) handleChat(ch *chat, gen uint64, l *link, p []byte) bool {
	msg, err := wire.Parse(p)
	c.mu.Lock()
	defer c.unlock()
	if ch.gen != gen {
		l.close()
		return false
	}
	ch.heard = c.now()
	if err != nil {
		if errors.Is(err, wire.ErrMalformed) {
			l.send(wire.Error{Reason: errorReason(err)}, 0)
		}
		c.log.Debug("chat frame dropped", "peer", ch.nick, "err", err)
		return true
	}
	switch m := msg.(type) {
	case wire.ChatMsg:
		c.emit(Event{Kind: EventChatMsg, From: ch.nick, Peer: ch.nick, Text: m.Text, Route: ch.route})
	case wire.ChatMsg2:
		send(l, wire.ChatAck{ID: m.ID}, 0)
		if c.markSeen(ch, m.ID) {
			c.emit(Event{Kind: EventChatMsg, From: ch.nick, Peer: ch.nick, Text: m.Text, Time: m.Time, ID: m.ID, Route: ch.route})
		}
	case wire.ChatAck:
		c.delivered(ch, m.ID)
		if ch.route == RouteRelay {
			c.pump(ch)
		}
	case wire.LeftChat:
		l.close()
		ch.l = nil
		ch.state = ChatNone
		ch.gen++
		c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: ReasonLeft})
		c.giveUp(ch, ErrPeerLeft)
		return false
	case wire.ChatRead:
		c.readReceipt(ch, m)
	case wire.Ping:
		send(l, wire.Pong{Token: m.Token}, 0)
	case wire.Pong:
	case wire.Error:
		c.emit(Event{Kind: EventError, Peer: ch.nick, Err: fmt.Errorf("%w %s: %s", ErrPeer, ch.nick, m.Reason)})
	default:
		c.log.Debug("chat frame ignored", "peer", ch.nick, "verb", msg.Verb())
	}
	return true
}

// markSeen records a received message id and reports whether it is new.
func (c *Client) markSeen(ch *chat, id uint64) bool {
	if ch.seen == nil {
		ch.seen = make(map[uint64]struct{})
	}
	if _, dup := ch.seen[id]; dup {
		return false
	}
	if len(ch.seenLog) >= seenIDs {
		delete(ch.seen, ch.seenLog[0])
		ch.seenLog = ch.seenLog[1:]
	}
	ch.seen[id] = struct{}{}
	ch.seenLog = append(ch.seenLog, id)
	return true
}

// tickChat does ch's due timed work and returns when it next has some.
// The caller holds c.mu.
func (c *Client) tickChat(ch *chat, now time.Time) time.Time {
	var next time.Time
	soon := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	switch ch.state {
	case ChatInviting:
		if !now.Before(ch.expires) {
			c.endChat(ch, ReasonExpired, ErrExpired, false)
			break
		}
		soon(ch.expires)
		if !ch.nextResend.IsZero() {
			if !now.Before(ch.nextResend) {
				c.sendInvite(ch)
				ch.nextResend = now.Add(c.cfg.ResendEvery)
			}
			soon(ch.nextResend)
		}
		if !ch.fallbackAt.IsZero() {
			if !now.Before(ch.fallbackAt) {
				ch.fallbackAt = time.Time{}
				if p := c.peers[ch.key]; p != nil && !ch.dialing {
					ch.dialing = true
					c.wg.Add(1)
					go c.dialRequest(ch.key, ch.nonce, netip.AddrPortFrom(p.IP, uint16(p.TCPPort)))
				}
			}
			soon(ch.fallbackAt)
		}
	case ChatInvited:
		if !now.Before(ch.inExpires) {
			c.endChat(ch, ReasonExpired, nil, false)
		} else {
			soon(ch.inExpires)
		}
	case ChatOpen:
		soon(c.tickOpen(ch, now))
	}
	for len(ch.outbox) > 0 && !now.Before(ch.outbox[0].deadline) && !c.held(ch) {
		m := ch.outbox[0]
		if c.mailUsable() {
			c.mailOut(ch, m) // it did not go live in time: the mailbox takes it
		} else {
			c.emit(Event{Kind: EventSendFailed, Peer: ch.nick, ID: m.id, Text: m.text, Err: fmt.Errorf("message %d to %q: %w", m.id, ch.nick, ErrExpired)})
		}
		c.removeOut(ch, 0)
	}
	if len(ch.outbox) > 0 && !c.held(ch) {
		soon(ch.outbox[0].deadline)
	}
	for n, s := range ch.handled {
		if !now.Before(s.expires) {
			delete(ch.handled, n)
		} else {
			soon(s.expires)
		}
	}
	// A chat is forgotten once nothing depends on it: not the order of
	// its messages in the mailbox (mailed), nor the ids received from its
	// peer (seen: a message that comes again must still be dropped).
	if ch.state == ChatNone && len(ch.outbox) == 0 && len(ch.mail) == 0 && len(ch.mailed) == 0 && len(ch.seen) == 0 && len(ch.handled) == 0 && c.peers[ch.key] == nil {
		delete(c.chats, ch.key)
	}
	return next
}
