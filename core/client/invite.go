package client

import (
	"fmt"
	"time"

	"peerchat/core/wire"
)

// This file is the invites of a private chat as the user makes and answers
// them: Invite, Accept and Decline, the nonces already handled, and the end
// of a chat's invites in both directions. The datagrams and sockets are in
// p2p.go, the invite through the server in relay.go.

type nonceState struct {
	expires  time.Time
	declined bool
	accepted bool // we accepted it: its resends are answered again if the set-up failed
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
	ch.dialing, ch.tries = false, 0
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
	if p.Features != nil {
		c.relayInvite(ch, p)
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
	if s, ok := ch.handled[ch.inNonce]; ok {
		s.accepted = true
		ch.handled[ch.inNonce] = s
	}
	ch.accepting, ch.tries = true, 0
	relayed := c.acceptRelay(ch)
	if !c.acceptDirect(ch) && !relayed {
		// Their invite came through the server, which is gone meanwhile.
		err := fmt.Errorf("accept %q: %w", ch.nick, ErrNotConnected)
		c.clearInvites(ch)
		ch.state = ChatNone
		c.emit(Event{Kind: EventChatClosed, Peer: ch.nick, Reason: ReasonLost, Err: err})
	}
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

func (c *Client) clearInvites(ch *chat) {
	if ch.inConn != nil {
		delete(c.pending, ch.inConn)
		ch.inConn.Close()
	}
	if ch.reqConn != nil {
		ch.reqConn.Close()
	}
	if ch.relayOut != nil {
		ch.relayOut.Close()
	}
	ch.nonce, ch.dialing, ch.reqConn, ch.relayOut = "", false, nil, nil
	ch.nextResend, ch.fallbackAt = time.Time{}, time.Time{}
	ch.inNonce, ch.inConn, ch.inReader, ch.accepting, ch.inRelay = "", nil, nil, false, false
	ch.tries = 0
}
