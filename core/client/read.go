package client

import (
	"fmt"
	"slices"

	"peerchat/core/wire"
)

// This file is read receipts (feature read, docs/PROTOCOL.md §3.6): only
// between two peers whose users both turned them on (Config.ReadReceipts),
// the UI says which message its user has seen (MarkRead) and the peer
// hears of it (EventRead: that message and every earlier one of ours was
// read, delivery.Read).

// readWith reports whether read receipts go to p: we and p listed read.
// The caller holds c.mu.
func (c *Client) readWith(p *Peer) bool {
	return c.cfg.ReadReceipts && p != nil && slices.Contains(p.Features, wire.FeatureRead)
}

// MarkRead tells nick that its message id (and every earlier one) was
// seen by our user, when both of us turned read receipts on; otherwise it
// does nothing. A receipt for a chat that is not open is sent when it
// next opens (the last one only). It never blocks.
func (c *Client) MarkRead(nick string, id uint64) error {
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return ErrClosed
	}
	key := foldKey(nick)
	p := c.peers[key]
	if !c.cfg.ReadReceipts || id == 0 {
		return nil
	}
	ch := c.chats[key]
	if ch == nil {
		if p == nil {
			return fmt.Errorf("mark read %q: %w", nick, ErrUnknownPeer)
		}
		ch = c.chat(key, p.Nick)
	}
	ch.readID = id
	c.sendRead(ch)
	return nil
}

// sendRead sends the chat's pending read receipt if the chat is open and
// the peer takes receipts. The caller holds c.mu.
func (c *Client) sendRead(ch *chat) {
	if ch.readID == 0 || ch.state != ChatOpen || ch.l == nil || !c.readWith(c.peers[ch.key]) {
		return
	}
	if send(ch.l, wire.ChatRead{ID: ch.readID}, 0) {
		ch.readSent, ch.readID = ch.readID, 0
	}
}

// readReceipt reports a CHAT_READ from the peer of ch, if we take them.
// The caller holds c.mu.
func (c *Client) readReceipt(ch *chat, m wire.ChatRead) {
	if c.cfg.ReadReceipts {
		c.emit(Event{Kind: EventRead, Peer: ch.nick, ID: m.ID})
	}
}
