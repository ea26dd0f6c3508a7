package client

import (
	"cmp"
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

// chat is everything the Client knows about the private chat with one peer:
// the invites in both directions, the socket when open, the messages not yet
// delivered and the ids already received. Guarded by Client.mu.
type chat struct {
	key, nick string
	state     ChatState

	// Our invite (ChatInviting).
	nonce      string
	expires    time.Time
	nextResend time.Time // zero: no UDP invites (base flow only)
	fallbackAt time.Time // zero: no base dial planned
	dialing    bool      // a base CHAT_REQUEST is in flight
	reqConn    net.Conn  // its socket, closed when the invite ends

	// Their invite (ChatInvited).
	inNonce   string         // "" for a base CHAT_REQUEST
	inSrc     netip.AddrPort // the invite datagram's source
	inTCP     netip.AddrPort // where to connect on Accept
	inExpires time.Time
	inConn    net.Conn // the CHAT_REQUEST socket waiting for our answer
	inReader  *wire.Reader
	accepting bool

	// The open chat.
	route Route // RouteDirect or RouteRelay while open
	l     *link
	ack   bool   // both sides announced "ack": CHAT_MSG2 and CHAT_ACK
	gen   uint64 // incremented whenever a socket is attached or dropped

	// newKey is a changed key of the peer (proved or announced) that waits
	// for AcceptKey; sending is held meanwhile. Zero: none.
	newKey identity.PublicIdentity

	outbox  []outMsg
	seen    map[uint64]struct{}
	seenLog []uint64
	handled map[string]nonceState // invite nonces already handled
}

type nonceState struct {
	expires  time.Time
	declined bool
}

// outMsg is a message not yet delivered.
type outMsg struct {
	id       uint64
	text     string
	at       time.Time
	deadline time.Time
	sent     bool // EventSent was reported
	acked    bool // last written as CHAT_MSG2: it stays until its CHAT_ACK
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

// Invite starts a private chat with nick: a UDP invite, resent until the peer
// answers, and the base CHAT_REQUEST flow for peers that do not speak v2.
// EventInviting reports the start, with the invite's expiry; the outcome
// arrives as EventChatOpen or EventChatClosed (declined, expired, lost).
// Inviting a peer who invited us accepts their invite.
func (c *Client) Invite(nick string) error {
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return ErrClosed
	}
	key := foldKey(nick)
	if key == c.selfKey {
		return fmt.Errorf("invite %q: %w", nick, ErrSelf)
	}
	p := c.peers[key]
	if p == nil {
		return fmt.Errorf("invite %q: %w", nick, ErrUnknownPeer)
	}
	ch := c.chat(key, p.Nick)
	switch ch.state {
	case ChatInvited:
		c.accept(ch)
	case ChatNone:
		if err := c.mayInvite(ch, p); err != nil {
			return fmt.Errorf("invite %q: %w", nick, err)
		}
		c.startInvite(ch, p)
	}
	return nil
}

// mayInvite returns why we may not invite p now: a changed key waits for
// the user (ErrKeyChanged, ErrServerKeyChanged), or the chat would not be
// encrypted and it must be (mustEncrypt). The caller holds c.mu.
func (c *Client) mayInvite(ch *chat, p *Peer) error {
	switch {
	case !c.srvNewKey.IsZero():
		return ErrServerKeyChanged
	case !ch.newKey.IsZero():
		return ErrKeyChanged
	case !c.e2eWith(p) && c.mustEncrypt(p.Nick):
		return ErrNotEncrypted
	}
	return nil
}

// startInvite puts ch in ChatInviting and reports it (EventInviting). The
// caller holds c.mu.
func (c *Client) startInvite(ch *chat, p *Peer) {
	now := c.now()
	ch.state = ChatInviting
	ch.nonce = newNonce()
	ch.expires = now.Add(c.cfg.InviteTTL)
	c.emit(Event{Kind: EventInviting, Peer: ch.nick, Expires: ch.expires})
	ch.dialing = false
	ch.nextResend, ch.fallbackAt = time.Time{}, time.Time{}
	switch {
	case !c.srvV2 || (c.serverCaps() && p.Features == nil):
		// A base server, or a peer without CAPS: the base flow at once.
		ch.fallbackAt = now
	case p.Features != nil:
		ch.nextResend = now
	default:
		ch.nextResend = now
		ch.fallbackAt = now.Add(c.cfg.FallbackAfter)
	}
	c.wake()
}

// Accept accepts the pending invite from nick. The chat opens asynchronously
// (EventChatOpen, or EventChatClosed with reason lost).
func (c *Client) Accept(nick string) error { return c.answer("accept", nick, c.accept) }

// answer applies answer (accept or decline) to the pending invite from nick.
func (c *Client) answer(op, nick string, answer func(*chat)) error {
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return ErrClosed
	}
	ch := c.chats[foldKey(nick)]
	if ch == nil || ch.state != ChatInvited {
		return fmt.Errorf("%s %q: %w", op, nick, ErrNoInvite)
	}
	answer(ch)
	return nil
}

// accept answers their invite. The caller holds c.mu.
func (c *Client) accept(ch *chat) {
	if ch.inConn != nil {
		conn, r := ch.inConn, ch.inReader
		ch.inConn, ch.inReader = nil, nil
		c.openChat(ch, conn, r, wire.ChatAccept{Nick: c.nick}, nil, keyCheck{})
		return
	}
	if ch.accepting {
		return
	}
	ch.accepting = true
	c.wg.Add(1)
	go c.dialAccept(ch.key, ch.inNonce, ch.inTCP)
}

// Decline declines the pending invite from nick.
func (c *Client) Decline(nick string) error { return c.answer("decline", nick, c.decline) }

// decline answers their invite with CHAT_REJECT. The caller holds c.mu.
func (c *Client) decline(ch *chat) {
	if ch.inConn != nil {
		c.lastWord(ch, wire.ChatReject{Nick: c.nick})
	} else if ch.inNonce != "" {
		c.sendDatagram(wire.ChatReject{Nick: c.nick, Nonce: ch.inNonce}, ch.inSrc)
		ch.handled[ch.inNonce] = nonceState{expires: ch.inExpires, declined: true}
	}
	c.clearInvites(ch)
	ch.state = ChatNone
	c.failOutbox(ch, ErrLeftChat)
}

// lastWord detaches the CHAT_REQUEST socket of their invite from ch and
// queues m as its last frame, written and the socket closed once c.mu is
// released. The caller holds c.mu.
func (c *Client) lastWord(ch *chat, m wire.Message) {
	conn := ch.inConn
	delete(c.pending, conn)
	ch.inConn, ch.inReader = nil, nil
	c.later(func() {
		conn.SetWriteDeadline(time.Now().Add(closeTimeout))
		wire.WriteMessage(conn, m)
		conn.Close()
	})
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
	if p == nil && (ch == nil || ch.state != ChatOpen) {
		return 0, fmt.Errorf("send to %q: %w", nick, ErrUnknownPeer)
	}
	if ch == nil {
		ch = c.chat(key, p.Nick)
	}
	if ch.state != ChatOpen && !c.e2eWith(p) && c.mustEncrypt(p.Nick) {
		return 0, fmt.Errorf("send to %q: %w", nick, ErrNotEncrypted)
	}
	now := c.now()
	m := outMsg{id: c.newID(), text: text, at: now, deadline: now.Add(c.cfg.RetryWindow)}
	ch.outbox = append(ch.outbox, m)
	switch ch.state {
	case ChatOpen:
		c.sendChatMsg(ch, &ch.outbox[len(ch.outbox)-1])
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

// sendChatMsg queues m on the open chat; the link reports it to written
// once it is on the socket. The caller holds c.mu.
func (c *Client) sendChatMsg(ch *chat, m *outMsg) {
	m.acked = ch.ack
	if ch.ack {
		send(ch.l, wire.ChatMsg2{ID: m.id, Time: m.at, Nick: c.nick, Text: m.text}, m.id)
	} else {
		send(ch.l, wire.ChatMsg{Nick: c.nick, Text: m.text}, m.id)
	}
}

// written records that message id was written to ch's socket: EventSent
// (once per message), and for a base peer, which never acknowledges, the
// end of its life in the outbox. The caller holds c.mu.
func (c *Client) written(ch *chat, id uint64) {
	i := outIndex(ch.outbox, id)
	if i < 0 {
		return // acknowledged already (the ack overtook this report), or failed
	}
	m := &ch.outbox[i]
	if !m.sent {
		m.sent = true
		c.emit(Event{Kind: EventSent, Peer: ch.nick, ID: id, Final: !m.acked})
	}
	if !m.acked {
		c.removeOut(ch, i)
	}
}

// outIndex returns the index of message id in outbox, or -1. Ids grow
// with every message (newID) and the outbox is kept in the order messages
// were sent, so a binary search finds it (thousands may wait for their
// acknowledgement); a linear search covers an outbox out of that order.
func outIndex(outbox []outMsg, id uint64) int {
	if i, ok := slices.BinarySearchFunc(outbox, id, func(m outMsg, id uint64) int {
		return cmp.Compare(m.id, id)
	}); ok {
		return i
	}
	return slices.IndexFunc(outbox, func(m outMsg) bool { return m.id == id })
}

// delivered removes message id from the outbox and reports it delivered
// (after EventSent, if its write was not reported yet). The caller holds c.mu.
func (c *Client) delivered(ch *chat, id uint64) {
	i := outIndex(ch.outbox, id)
	if i < 0 {
		return
	}
	if !ch.outbox[i].sent {
		c.emit(Event{Kind: EventSent, Peer: ch.nick, ID: id})
	}
	c.removeOut(ch, i)
	c.emit(Event{Kind: EventDelivered, Peer: ch.nick, ID: id})
}

// removeOut removes message i from the outbox. The caller holds c.mu.
func (c *Client) removeOut(ch *chat, i int) {
	if i == 0 { // the usual case: acks and writes come in order
		ch.outbox[0] = outMsg{}
		ch.outbox = ch.outbox[1:]
	} else {
		ch.outbox = slices.Delete(ch.outbox, i, i+1)
	}
}

// failOutbox reports every undelivered message as failed. The caller holds c.mu.
func (c *Client) failOutbox(ch *chat, err error) {
	for _, m := range ch.outbox {
		c.emit(Event{Kind: EventSendFailed, Peer: ch.nick, ID: m.id, Text: m.text, Err: fmt.Errorf("message %d to %q: %w", m.id, ch.nick, err)})
	}
	ch.outbox = nil
}

func (c *Client) clearInvites(ch *chat) {
	if ch.inConn != nil {
		delete(c.pending, ch.inConn)
		ch.inConn.Close()
	}
	if ch.reqConn != nil {
		ch.reqConn.Close()
	}
	ch.nonce, ch.dialing, ch.reqConn = "", false, nil
	ch.nextResend, ch.fallbackAt = time.Time{}, time.Time{}
	ch.inNonce, ch.inConn, ch.inReader, ch.accepting = "", nil, nil, false
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
		c.failOutbox(ch, failErr)
	}
}

// openChat attaches conn to ch as its open chat socket, sends first (if not
// nil) and then every undelivered message. sess, if not nil, is the chat's
// encryption (kc what the key check found). The caller holds c.mu.
func (c *Client) openChat(ch *chat, conn net.Conn, r *wire.Reader, first wire.Message, sess *e2e.Session, kc keyCheck) {
	delete(c.pending, conn)
	if ch.state == ChatOpen {
		ch.l.close()
	}
	c.clearInvites(ch)
	ch.state = ChatOpen
	ch.gen++
	gen, key := ch.gen, ch.key
	if p := c.peers[key]; p != nil {
		ch.ack = slices.Contains(p.Features, wire.FeatureAck)
	}
	l := newLink(conn, func(ids []uint64) {
		c.mu.Lock()
		defer c.unlock()
		if ch := c.chats[key]; ch != nil {
			for _, id := range ids {
				c.written(ch, id)
			}
		}
	})
	ch.l = l
	if first != nil {
		l.send(first, 0)
	}
	l.sess = sess
	e := Event{Kind: EventChatOpen, Peer: ch.nick, Encrypted: sess != nil}
	if sess != nil {
		e.Key, e.KeyResult, e.Verified = sess.Remote(), kc.res, kc.verified
	}
	c.emit(e)
	held := c.held(ch)
	for i := range ch.outbox {
		if !held || ch.outbox[i].sent {
			c.sendChatMsg(ch, &ch.outbox[i])
		}
	}
	r.IdleTimeout = 0
	c.wg.Add(2)
	go func() { defer c.wg.Done(); l.run() }()
	go c.readChat(ch, gen, l, r, sess)
}

// readChat reads an open chat socket until it ends.
func (c *Client) readChat(ch *chat, gen uint64, l *link, r *wire.Reader, sess *e2e.Session) {
	defer c.wg.Done()
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
			if wire.IsProtocolError(err) && sess == nil {
				l.closeAfter(wire.Error{Reason: errorReason(err)})
			} else {
				l.close()
			}
			c.mu.Lock()
			if ch.gen == gen && ch.state == ChatOpen {
				ch.state = ChatNone
				ch.l = nil
				ch.gen++
				c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: ReasonLost, Err: err})
			}
			c.unlock()
			return
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
	if err != nil {
		if errors.Is(err, wire.ErrMalformed) {
			l.send(wire.Error{Reason: errorReason(err)}, 0)
		}
		c.log.Debug("chat frame dropped", "peer", ch.nick, "err", err)
		return true
	}
	switch m := msg.(type) {
	case wire.ChatMsg:
		c.emit(Event{Kind: EventChatMsg, From: ch.nick, Peer: ch.nick, Text: m.Text})
	case wire.ChatMsg2:
		send(l, wire.ChatAck{ID: m.ID}, 0)
		if c.markSeen(ch, m.ID) {
			c.emit(Event{Kind: EventChatMsg, From: ch.nick, Peer: ch.nick, Text: m.Text, Time: m.Time, ID: m.ID})
		}
	case wire.ChatAck:
		c.delivered(ch, m.ID)
	case wire.LeftChat:
		l.close()
		ch.l = nil
		ch.state = ChatNone
		ch.gen++
		c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: ReasonLeft})
		c.failOutbox(ch, ErrPeerLeft)
		return false
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
	}
	for len(ch.outbox) > 0 && !now.Before(ch.outbox[0].deadline) && !c.held(ch) {
		m := ch.outbox[0]
		ch.outbox = ch.outbox[1:]
		c.emit(Event{Kind: EventSendFailed, Peer: ch.nick, ID: m.id, Text: m.text, Err: fmt.Errorf("message %d to %q: %w", m.id, ch.nick, ErrExpired)})
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
	if ch.state == ChatNone && len(ch.outbox) == 0 && len(ch.handled) == 0 && c.peers[ch.key] == nil {
		delete(c.chats, ch.key)
	}
	return next
}
