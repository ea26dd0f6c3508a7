package client

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
	l   *link
	ack bool   // both sides announced "ack": CHAT_MSG2 and CHAT_ACK
	gen uint64 // incremented whenever a socket is attached or dropped

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
		c.startInvite(ch, p)
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
		c.openChat(ch, conn, r, wire.ChatAccept{Nick: c.nick})
		return
	}
	if ch.accepting {
		return
	}
	ch.accepting = true
	c.wg.Add(1)
	go c.dialAccept(ch.key, ch.inNonce, ch.inTCP)
}

// dialAccept connects to the inviter and opens the chat with CHAT_ACCEPT.
func (c *Client) dialAccept(key, nonce string, addr netip.AddrPort) {
	defer c.wg.Done()
	d := net.Dialer{Timeout: c.cfg.ChatDialTimeout}
	conn, err := d.DialContext(c.ctx, "tcp", addr.String())
	if err == nil {
		conn = c.cfg.wrap(conn)
	}
	c.mu.Lock()
	defer c.unlock()
	ch := c.chats[key]
	match := ch != nil && ch.state == ChatInvited && ch.inNonce == nonce && !c.closed
	if err != nil {
		if match {
			c.emit(Event{Kind: EventError, Peer: ch.nick, Err: fmt.Errorf("accept %q: %w", ch.nick, err)})
			c.clearInvites(ch)
			ch.state = ChatNone
			c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: ReasonLost, Err: err})
		}
		return
	}
	if !match {
		conn.Close()
		return
	}
	c.openChat(ch, conn, wire.NewReader(conn, wire.DefaultPeerPayload), wire.ChatAccept{Nick: c.nick, Nonce: nonce})
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
	now := c.now()
	m := outMsg{id: c.newID(), text: text, at: now, deadline: now.Add(c.cfg.RetryWindow)}
	ch.outbox = append(ch.outbox, m)
	switch ch.state {
	case ChatOpen:
		c.sendChatMsg(ch, &ch.outbox[len(ch.outbox)-1])
	case ChatNone:
		c.startInvite(ch, p)
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
	i := slices.IndexFunc(ch.outbox, func(m outMsg) bool { return m.id == id })
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

// delivered removes message id from the outbox and reports it delivered
// (after EventSent, if its write was not reported yet). The caller holds c.mu.
func (c *Client) delivered(ch *chat, id uint64) {
	i := slices.IndexFunc(ch.outbox, func(m outMsg) bool { return m.id == id })
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
// nil) and then every undelivered message. The caller holds c.mu.
func (c *Client) openChat(ch *chat, conn net.Conn, r *wire.Reader, first wire.Message) {
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
	c.emit(Event{Kind: EventChatOpen, Peer: ch.nick})
	for i := range ch.outbox {
		c.sendChatMsg(ch, &ch.outbox[i])
	}
	r.IdleTimeout = 0
	c.wg.Add(2)
	go func() { defer c.wg.Done(); l.run() }()
	go c.readChat(ch, gen, l, r)
}

// readChat reads an open chat socket until it ends.
func (c *Client) readChat(ch *chat, gen uint64, l *link, r *wire.Reader) {
	defer c.wg.Done()
	for {
		p, err := r.ReadFrame()
		if err != nil {
			if wire.IsProtocolError(err) {
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
	for len(ch.outbox) > 0 && !now.Before(ch.outbox[0].deadline) {
		m := ch.outbox[0]
		ch.outbox = ch.outbox[1:]
		c.emit(Event{Kind: EventSendFailed, Peer: ch.nick, ID: m.id, Text: m.text, Err: fmt.Errorf("message %d to %q: %w", m.id, ch.nick, ErrExpired)})
	}
	if len(ch.outbox) > 0 {
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

// sendInvite sends our CHAT_INVITE to the peer. The caller holds c.mu.
func (c *Client) sendInvite(ch *chat) {
	if p := c.peers[ch.key]; p != nil {
		c.sendDatagram(wire.ChatInvite{Nick: c.nick, TCPPort: c.tcpPort, Nonce: ch.nonce},
			netip.AddrPortFrom(p.IP, uint16(p.UDPPort)))
	}
}

// sendDatagram queues m as one UDP datagram, sent once c.mu is released.
// The caller holds c.mu.
func (c *Client) sendDatagram(m wire.Message, to netip.AddrPort) {
	b := m.AppendPayload(nil)
	if len(b) > wire.MaxDatagram || !utf8.Valid(b) || c.udp == nil {
		return
	}
	c.later(func() {
		if h := c.cfg.hooks; h != nil && h.sendUDP != nil && !h.sendUDP(b, to) {
			return
		}
		if _, err := c.udp.WriteToUDPAddrPort(b, to); err != nil {
			c.log.Debug("udp send failed", "to", to, "err", err)
		}
	})
}

// dialRequest runs the base flow for our invite: it connects to the peer's
// TCP port, sends CHAT_REQUEST and waits for CHAT_ACCEPT or CHAT_REJECT.
func (c *Client) dialRequest(key, nonce string, addr netip.AddrPort) {
	defer c.wg.Done()
	d := net.Dialer{Timeout: c.cfg.ChatDialTimeout}
	conn, err := d.DialContext(c.ctx, "tcp", addr.String())
	if err != nil {
		c.requestFailed(key, nonce, err)
		return
	}
	conn = c.cfg.wrap(conn)
	c.mu.Lock()
	ch := c.chats[key]
	if c.closed || ch == nil || ch.state != ChatInviting || ch.nonce != nonce {
		c.unlock()
		conn.Close()
		return
	}
	ch.reqConn = conn
	c.unlock()
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	err = wire.WriteMessage(conn, wire.ChatRequest{Nick: c.nick})
	conn.SetWriteDeadline(time.Time{})
	r := wire.NewReader(conn, wire.DefaultPeerPayload)
	r.IdleTimeout = c.cfg.RequestTimeout
	var msg wire.Message
	if err == nil {
		var p []byte
		if p, err = r.ReadFrame(); err == nil {
			msg, err = wire.Parse(p)
		}
	}
	c.mu.Lock()
	defer c.unlock()
	ch = c.chats[key]
	match := ch != nil && ch.state == ChatInviting && ch.nonce == nonce && !c.closed
	if match {
		ch.reqConn = nil
	}
	switch m := msg.(type) {
	case wire.ChatAccept:
		if match {
			c.openChat(ch, conn, r, nil)
			return
		}
	case wire.ChatReject:
		if match {
			c.endChat(ch, ReasonDeclined, ErrDeclined, false)
		}
	case wire.Error:
		// A base peer answers ERROR when our request timed out on its side.
		err = fmt.Errorf("%w %s: %s: %w", ErrPeer, addr, m.Reason, ErrExpired)
	case nil:
	default:
		err = fmt.Errorf("unexpected answer %s", m.Verb())
	}
	conn.Close()
	if err != nil && match {
		c.log.Debug("chat request failed", "peer", ch.nick, "err", err)
		ch.dialing = false
		if ch.nextResend.IsZero() { // no UDP invites running: the invite is over
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ErrExpired) {
				c.endChat(ch, ReasonExpired, ErrExpired, false)
			} else {
				c.emit(Event{Kind: EventError, Peer: ch.nick, Err: fmt.Errorf("chat request to %q: %w", ch.nick, err)})
				c.endChat(ch, ReasonLost, nil, false) // messages wait for the next chat
			}
		}
	}
}

func (c *Client) requestFailed(key, nonce string, err error) {
	c.mu.Lock()
	defer c.unlock()
	ch := c.chats[key]
	if ch == nil || ch.state != ChatInviting || ch.nonce != nonce || c.closed {
		return
	}
	ch.dialing = false
	c.log.Debug("chat request failed", "peer", ch.nick, "err", err)
	if ch.nextResend.IsZero() {
		c.emit(Event{Kind: EventError, Peer: ch.nick, Err: fmt.Errorf("chat request to %q: %w", ch.nick, err)})
		c.endChat(ch, ReasonLost, nil, false) // messages wait for the next chat
	}
}

// readUDP reads invite datagrams until the socket is closed.
func (c *Client) readUDP() {
	defer c.wg.Done()
	buf := make([]byte, wire.MaxDatagram+1)
	for {
		n, src, err := c.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || c.ctx.Err() != nil {
				return
			}
			continue
		}
		c.handleDatagram(buf[:n], src)
	}
}

// handleDatagram handles one UDP datagram from src.
func (c *Client) handleDatagram(b []byte, src netip.AddrPort) {
	if len(b) > wire.MaxDatagram || !utf8.Valid(b) {
		c.log.Debug("datagram dropped: too long or not UTF-8", "from", src)
		return
	}
	msg, err := wire.Parse(b)
	if err != nil {
		c.log.Debug("datagram dropped", "from", src, "err", err)
		return
	}
	ip := src.Addr().Unmap()
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return
	}
	now := c.now()
	switch m := msg.(type) {
	case wire.ChatInvite:
		key := foldKey(m.Nick)
		p := c.peers[key]
		if p == nil || p.IP != ip || len(m.Nonce) > 64 || m.TCPPort == 0 {
			c.log.Debug("invite dropped: unknown peer or wrong address", "nick", m.Nick, "from", src)
			return
		}
		ch := c.chat(key, p.Nick)
		if s, dup := ch.handled[m.Nonce]; dup {
			if s.declined {
				c.sendDatagram(wire.ChatReject{Nick: c.nick, Nonce: m.Nonce}, src)
			}
			return
		}
		if len(ch.handled) >= 64 {
			return
		}
		ch.handled[m.Nonce] = nonceState{expires: now.Add(c.cfg.InviteTTL)}
		state := ch.state
		if state == ChatInviting && c.selfKey > key {
			return // crossed invites: the peer accepts ours
		}
		if state == ChatInviting {
			c.clearInvites(ch)
		}
		if ch.inConn != nil {
			delete(c.pending, ch.inConn)
			ch.inConn.Close()
			ch.inConn, ch.inReader = nil, nil
		}
		ch.inNonce, ch.inSrc = m.Nonce, src
		ch.inTCP = netip.AddrPortFrom(ip, uint16(m.TCPPort))
		ch.inExpires = now.Add(c.cfg.InviteTTL)
		wasAccepting := ch.accepting
		ch.accepting = false
		if state == ChatOpen {
			// The peer lost the chat we still think open: take it back.
			ch.l.close()
			ch.l = nil
			ch.gen++
		}
		ch.state = ChatInvited
		switch state {
		case ChatInviting, ChatOpen:
			c.accept(ch)
		case ChatInvited:
			if wasAccepting { // answer the new nonce instead
				c.accept(ch)
			}
		case ChatNone:
			c.emit(Event{Kind: EventInvite, From: p.Nick, Peer: p.Nick, Expires: ch.inExpires})
		}
		c.wake()
	case wire.ChatReject:
		key := foldKey(m.Nick)
		p, ch := c.peers[key], c.chats[key]
		if p == nil || p.IP != ip || ch == nil || ch.state != ChatInviting || ch.nonce != m.Nonce {
			c.log.Debug("reject dropped", "nick", m.Nick, "from", src)
			return
		}
		c.endChat(ch, ReasonDeclined, ErrDeclined, false)
	default:
		c.log.Debug("datagram ignored", "verb", msg.Verb(), "from", src)
	}
}

// acceptTCP accepts chat sockets until the listener is closed.
func (c *Client) acceptTCP() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || c.ctx.Err() != nil {
				return
			}
			continue
		}
		conn = c.cfg.wrap(conn)
		if !c.trackSilent(conn) {
			continue
		}
		c.wg.Add(1)
		go c.incoming(conn)
	}
}

// incoming reads the first frame of a chat socket a peer opened: CHAT_ACCEPT
// for one of our invites, or a base CHAT_REQUEST.
func (c *Client) incoming(conn net.Conn) {
	defer c.wg.Done()
	r := wire.NewReader(conn, wire.DefaultPeerPayload)
	r.IdleTimeout = c.cfg.ChatDialTimeout
	p, err := r.ReadFrame()
	var msg wire.Message
	if err == nil {
		msg, err = wire.Parse(p)
	}
	var src netip.Addr
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		src = a.AddrPort().Addr().Unmap()
	}
	// A CHAT_REQUEST may overtake the JOINED that lists its sender (it
	// came straight from the peer, the JOINED through the server): wait
	// for that JOINED a little before refusing.
	var reason string
	var timer *time.Timer
	timedOut, waiting := false, false
	for {
		c.mu.Lock()
		delete(c.silent, conn) // it spoke (or failed): no longer silent
		if err != nil {
			reason = errorReason(err)
		} else {
			reason = c.incomingFrame(conn, r, msg, src)
		}
		if !waiting && !timedOut && c.unknownWaits >= maxUnknownWaits {
			timedOut = true // too many wait already: refuse at once
		}
		if reason == "" || !strings.HasPrefix(reason, reasonUnknownPeer) || timedOut {
			break // c.mu held
		}
		if !waiting {
			waiting = true
			c.unknownWaits++
		}
		joined := c.joined
		c.unlock()
		if timer == nil {
			timer = time.NewTimer(unknownPeerWait)
			defer timer.Stop()
		}
		select {
		case <-joined:
		case <-timer.C:
			timedOut = true
		case <-c.ctx.Done():
			timedOut = true
		}
	}
	if waiting {
		c.unknownWaits--
	}
	if reason != "" {
		delete(c.pending, conn)
	}
	c.unlock()
	if reason != "" {
		if err == nil || wire.IsProtocolError(err) {
			conn.SetWriteDeadline(time.Now().Add(closeTimeout))
			wire.WriteMessage(conn, wire.Error{Reason: reason})
		}
		conn.Close()
	}
}

// incomingFrame decides on a chat socket's first frame: it returns "" when
// it kept conn, or the reason to refuse it. The caller holds c.mu.
func (c *Client) incomingFrame(conn net.Conn, r *wire.Reader, msg wire.Message, src netip.Addr) string {
	if c.closed {
		return "closing"
	}
	now := c.now()
	switch m := msg.(type) {
	case wire.ChatAccept:
		key := foldKey(m.Nick)
		p, ch := c.peers[key], c.chats[key]
		if m.Nonce == "" || ch == nil || ch.state != ChatInviting || ch.nonce != m.Nonce || !now.Before(ch.expires) {
			return "no such invite or it expired"
		}
		if p == nil || p.IP != src {
			return "address does not match the peer's"
		}
		c.openChat(ch, conn, r, nil)
		return ""
	case wire.ChatRequest:
		key := foldKey(m.Nick)
		p := c.peers[key]
		if p == nil {
			return reasonUnknownPeer + quote(m.Nick)
		}
		if p.IP != src {
			return "address does not match the peer's"
		}
		ch := c.chat(key, p.Nick)
		switch ch.state {
		case ChatInviting:
			c.openChat(ch, conn, r, wire.ChatAccept{Nick: c.nick})
			return ""
		case ChatInvited:
			if ch.inNonce != "" {
				// Their UDP invite is pending: Accept answers that one.
				delete(c.pending, conn)
				conn.Close()
				return ""
			}
			if ch.inConn != nil {
				delete(c.pending, ch.inConn)
				ch.inConn.Close()
			}
		case ChatOpen:
			c.endChat(ch, ReasonLost, nil, false)
		}
		fresh := ch.state == ChatNone
		ch.state = ChatInvited
		ch.inConn, ch.inReader, ch.inNonce = conn, r, ""
		ch.inExpires = now.Add(min(c.cfg.RequestTimeout, c.cfg.InviteTTL))
		if fresh {
			c.emit(Event{Kind: EventInvite, From: p.Nick, Peer: p.Nick, Expires: ch.inExpires})
		}
		c.wake()
		return ""
	case nil:
		return "empty"
	default:
		return "expected CHAT_ACCEPT or CHAT_REQUEST, got " + msg.Verb()
	}
}
