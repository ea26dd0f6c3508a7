package client

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"peerchat/core/wire"
)

// This file is the outbox of a private chat: the messages not yet
// delivered, queued on the open chat's link in order (pump), and their
// writes and acknowledgements (EventSent, EventDelivered) or failure.

// outMsg is a message not yet delivered.
type outMsg struct {
	id       uint64
	text     string
	at       time.Time
	deadline time.Time
	sent     bool // EventSent was reported
	acked    bool // last written as CHAT_MSG2: it stays until its CHAT_ACK
}

// pump queues the outbox's messages on the open chat's link, in order,
// while the link holds less than chatBacklog unwritten: what a stuck peer
// does not take waits in the outbox (the texts the user typed), not in
// copies of frames. It is called when a message is sent, when the chat
// opens or moves, and when the link's writer wrote a batch. The caller
// holds c.mu.
func (c *Client) pump(ch *chat) {
	if ch.state != ChatOpen || ch.l == nil {
		return
	}
	held := c.held(ch)
	for ch.next < len(ch.outbox) && ch.l.backlog() < chatBacklog {
		if ch.route == RouteRelay && ch.ack && ch.inflight >= relayChatWindow {
			break // the peer's acknowledgements make room
		}
		m := &ch.outbox[ch.next]
		if held && !m.sent {
			break // it waits for AcceptKey or AcceptServerKey
		}
		ch.next++
		ch.inflight += len(m.text)
		c.sendChatMsg(ch, m)
	}
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
	if i < ch.next {
		ch.next--
		ch.inflight -= len(ch.outbox[i].text)
	}
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
	ch.outbox, ch.next, ch.inflight = nil, 0, 0
}
