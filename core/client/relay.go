package client

import (
	"fmt"
	"net/netip"
	"slices"

	"peerchat/core/wire"
)

// This file is the private chat through the server (docs/PROTOCOL.md §2.7,
// §3.6): the invite goes both ways at once, as a UDP datagram and as the
// first frame of a relay stream named by the invite's nonce, and the chat
// opens on whichever path answers first. The same Noise handshake and
// sealed frames run on either (the server relays sealed bytes only). A
// chat open through the server moves to the direct path when the
// connect-back succeeds later; a direct chat that breaks is invited
// again, which the relay answers at once.

// relayWith reports whether a chat with p can go through the server: both
// of us proved a key to it, it relays, and p listed relay and e2e. The
// caller holds c.mu.
func (c *Client) relayWith(p *Peer) bool {
	return p != nil && !c.cfg.NoRelay && c.srv != nil && !c.srvKey.IsZero() &&
		slices.Contains(c.srvFeat, wire.FeatureRelay) && c.e2eWith(p) &&
		slices.Contains(p.Features, wire.FeatureRelay)
}

// relayInvite sends our invite on a new relay stream named by its nonce,
// and waits there for the answer. The caller holds c.mu; ch is
// ChatInviting.
func (c *Client) relayInvite(ch *chat, p *Peer) {
	if ch.relayOut != nil || !c.relayWith(p) {
		return
	}
	rc := c.newRelay(p.Nick, ch.nonce)
	ch.relayOut = rc
	inv := wire.ChatInvite{Nick: c.nick, TCPPort: c.tcpPort, Nonce: ch.nonce}
	send(c.srv, wire.Relay{To: p.Nick, Chan: ch.nonce, Data: string(inv.AppendPayload(nil))}, 0)
	c.wg.Add(1)
	go c.relayAnswer(ch.key, ch.nonce, rc)
}

// relayAnswer reads the answer to our relayed invite: CHAT_ACCEPT, then
// the handshake as on a socket that connected back, or CHAT_REJECT.
func (c *Client) relayAnswer(key, nonce string, rc *relayConn) {
	defer c.wg.Done()
	r := wire.NewReaderSize(rc, wire.DefaultPeerPayload, chatReadBuffer)
	r.IdleTimeout = c.cfg.InviteTTL
	var msg wire.Message
	p, err := r.ReadFrame()
	if err == nil {
		msg, err = wire.Parse(p)
	}
	c.mu.Lock()
	defer c.unlock()
	ch := c.chats[key]
	live := err == nil && !c.closed && ch != nil && ch.state == ChatInviting && ch.nonce == nonce && ch.relayOut == rc
	switch m := msg.(type) {
	case wire.ChatAccept:
		if live && m.Nonce == nonce && foldKey(m.Nick) == key {
			ch.relayOut = nil // the handshake owns it now
			ch.tries++
			c.pending[rc] = struct{}{}
			c.wg.Add(1)
			go c.secureIncoming(key, nonce, rc, r)
			return
		}
	case wire.ChatReject:
		if live && m.Nonce == nonce {
			c.endChat(ch, ReasonDeclined, ErrDeclined, false)
		}
	}
	if err != nil {
		c.log.Debug("relayed invite not answered", "peer", key, "err", err)
	}
	if ch != nil && ch.relayOut == rc {
		ch.relayOut = nil
	}
	rc.Close()
}

// relayFirst handles a RELAYED frame on a stream we do not know: a peer's
// invite. Anything else is dropped (a late frame of a stream we closed).
// The caller holds c.mu.
func (c *Client) relayFirst(m wire.Relayed) {
	msg, err := wire.Parse([]byte(m.Data))
	inv, ok := msg.(wire.ChatInvite)
	key := foldKey(m.From)
	p := c.peers[key]
	if err != nil || !ok || inv.Nonce != m.Chan || foldKey(inv.Nick) != key || p == nil || c.cfg.NoRelay {
		c.log.Debug("relayed frame dropped", "from", m.From, "chan", m.Chan)
		return
	}
	c.invited(p, inv.Nonce, netip.AddrPort{}, inv.TCPPort, true)
}

// acceptRelay answers their relayed invite on its stream: CHAT_ACCEPT and
// the handshake as the dialer. The caller holds c.mu.
func (c *Client) acceptRelay(ch *chat) bool {
	p := c.peers[ch.key]
	if !ch.inRelay || !c.relayWith(p) {
		return false
	}
	rc := c.newRelay(p.Nick, ch.inNonce)
	c.pending[rc] = struct{}{}
	ch.tries++
	key, nonce := ch.key, ch.inNonce
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.secureOutgoing(key, nonce, rc)
	}()
	return true
}

// reject declines their invite by the path it came: a datagram to src, or
// the relay stream. The caller holds c.mu.
func (c *Client) reject(p *Peer, nonce string, src netip.AddrPort, relayed bool) {
	rej := wire.ChatReject{Nick: c.nick, Nonce: nonce}
	if relayed {
		if c.relayWith(p) {
			send(c.srv, wire.Relay{To: p.Nick, Chan: nonce, Data: string(rej.AppendPayload(nil))}, 0)
		}
		return
	}
	c.sendDatagram(rej, src)
}

// invited handles an invite from p: a datagram from src announcing
// tcpPort, or (relayed) the first frame of a relay stream. The same
// invite can come both ways; the second adds its path. The caller holds
// c.mu.
func (c *Client) invited(p *Peer, nonce string, src netip.AddrPort, tcpPort int, relayed bool) {
	key := foldKey(p.Nick)
	now := c.now()
	if !c.e2eWith(p) && c.mustEncrypt(p.Nick) {
		c.reject(p, nonce, src, relayed)
		c.emit(Event{Kind: EventError, Peer: p.Nick, Err: fmt.Errorf("invite from %q refused: %w", p.Nick, ErrNotEncrypted)})
		return
	}
	ch := c.chat(key, p.Nick)
	if s, dup := ch.handled[nonce]; dup {
		if s.declined {
			c.reject(p, nonce, src, relayed)
			return
		}
		if s.accepted && ch.state == ChatNone && now.Before(s.expires) {
			// We accepted it and the set-up failed: the inviter's resend
			// asks again.
			ch.state, ch.inNonce, ch.inExpires = ChatInvited, nonce, s.expires
			ch.inSrc, ch.inTCP, ch.inRelay = netip.AddrPort{}, netip.AddrPort{}, relayed
			if !relayed {
				ch.inSrc, ch.inTCP = src, netip.AddrPortFrom(src.Addr().Unmap(), uint16(tcpPort))
			}
			c.accept(ch)
			return
		}
		c.sameInvite(ch, nonce, src, tcpPort, relayed)
		return
	}
	if len(ch.handled) >= 64 {
		return
	}
	ch.handled[nonce] = nonceState{expires: now.Add(c.cfg.InviteTTL)}
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
	ch.inNonce, ch.inSrc, ch.inTCP, ch.inRelay = nonce, netip.AddrPort{}, netip.AddrPort{}, relayed
	if !relayed {
		ch.inSrc, ch.inTCP = src, netip.AddrPortFrom(src.Addr().Unmap(), uint16(tcpPort))
	}
	ch.inExpires = now.Add(c.cfg.InviteTTL)
	wasAccepting := ch.accepting
	ch.accepting, ch.tries = false, 0
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
}

// sameInvite handles an invite we have seen, coming again or by its other
// path: a path we did not know is added, and used if we accepted already,
// or, for a chat open through the server, to move it to the direct path.
// The caller holds c.mu.
func (c *Client) sameInvite(ch *chat, nonce string, src netip.AddrPort, tcpPort int, relayed bool) {
	switch {
	case ch.state == ChatInvited && ch.inNonce == nonce:
		if relayed && !ch.inRelay {
			ch.inRelay = true
			if ch.accepting {
				c.acceptRelay(ch)
			}
		} else if !relayed && !ch.inTCP.IsValid() {
			ch.inSrc, ch.inTCP = src, netip.AddrPortFrom(src.Addr().Unmap(), uint16(tcpPort))
			if ch.accepting {
				c.acceptDirect(ch)
			}
		}
	case !relayed && ch.upgradable(nonce) && !ch.upgrading:
		ch.upgrading = true
		c.wg.Add(1)
		go c.dialAccept(ch.key, nonce, netip.AddrPortFrom(src.Addr().Unmap(), uint16(tcpPort)))
	}
}

// acceptDirect answers their invite by connecting back to the port it
// announced. The caller holds c.mu.
func (c *Client) acceptDirect(ch *chat) bool {
	if !ch.inTCP.IsValid() || ch.inTCP.Port() == 0 {
		return false
	}
	ch.tries++
	c.wg.Add(1)
	go c.dialAccept(ch.key, ch.inNonce, ch.inTCP)
	return true
}

// upgradable reports whether a chat set up by invite nonce is open through
// the server, so that a direct connection for the same invite replaces
// its path.
func (ch *chat) upgradable(nonce string) bool {
	return ch.state == ChatOpen && ch.route == RouteRelay && nonce != "" && ch.openNonce == nonce
}

// awaiting reports whether a CHAT_ACCEPT for nonce is welcome: our invite
// is pending, or its chat is open through the server and may move to a
// direct socket.
func (ch *chat) awaiting(nonce string) bool {
	return ch.state == ChatInviting && ch.nonce == nonce || ch.upgradable(nonce)
}

// answering reports whether a connection we make for their invite nonce
// is still wanted.
func (ch *chat) answering(nonce string) bool {
	return ch.state == ChatInvited && ch.inNonce == nonce || ch.upgradable(nonce)
}
