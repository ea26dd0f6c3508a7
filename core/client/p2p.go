package client

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"peerchat/core/wire"
)

// This file is the chat port and the invites on the wire: UDP datagrams in
// and out, incoming TCP connections and their first frame, and the dials
// that answer an invite or make a base request.

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
	match := ch != nil && ch.answering(nonce) && !c.closed
	if err != nil {
		if match {
			c.setupFailed(ch, fmt.Errorf("accept %q: %w", ch.nick, err))
		}
		return
	}
	if !match {
		conn.Close()
		return
	}
	if c.e2eWith(c.peers[key]) {
		// Encrypted: CHAT_ACCEPT and the handshake, without c.mu; Close
		// closes the socket meanwhile.
		c.pending[conn] = struct{}{}
		c.later(func() { c.secureOutgoing(key, nonce, conn) })
		return
	}
	c.openChat(ch, conn, wire.NewReaderSize(conn, wire.DefaultPeerPayload, chatReadBuffer), wire.ChatAccept{Nick: c.nick, Nonce: nonce}, nil, keyCheck{})
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
	r := wire.NewReaderSize(conn, wire.DefaultPeerPayload, chatReadBuffer)
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
			c.openChat(ch, conn, r, nil, nil, keyCheck{})
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
	switch m := msg.(type) {
	case wire.ChatInvite:
		p := c.peers[foldKey(m.Nick)]
		if p == nil || p.IP != ip || len(m.Nonce) > 64 || m.TCPPort == 0 {
			c.log.Debug("invite dropped: unknown peer or wrong address", "nick", m.Nick, "from", src)
			return
		}
		c.invited(p, m.Nonce, src, m.TCPPort, false)
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
	r := wire.NewReaderSize(conn, wire.DefaultPeerPayload, chatReadBuffer)
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
		if m.Nonce == "" || ch == nil || !ch.awaiting(m.Nonce) ||
			(ch.state == ChatInviting && !now.Before(ch.expires)) || (ch.state == ChatOpen && !now.Before(ch.upExpires)) {
			return "no such invite or it expired"
		}
		if p == nil || p.IP != src {
			return "address does not match the peer's"
		}
		if c.e2eWith(p) {
			// Encrypted: the dialer's E2E_HS must follow. The invite is
			// answered: no more resends while the handshake runs.
			if ch.state == ChatInviting {
				ch.nextResend, ch.fallbackAt = time.Time{}, time.Time{}
				ch.tries++
			} else {
				ch.upResend, ch.upgrading = time.Time{}, true
			}
			c.wg.Add(1)
			go c.secureIncoming(key, m.Nonce, conn, r)
			return ""
		}
		c.openChat(ch, conn, r, nil, nil, keyCheck{})
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
		if c.mustEncrypt(p.Nick) {
			c.emit(Event{Kind: EventError, Peer: p.Nick, Err: fmt.Errorf("chat request from %q refused: %w", p.Nick, ErrNotEncrypted)})
			return "this user accepts encrypted chats only"
		}
		ch := c.chat(key, p.Nick)
		switch ch.state {
		case ChatInviting:
			c.openChat(ch, conn, r, wire.ChatAccept{Nick: c.nick}, nil, keyCheck{})
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
