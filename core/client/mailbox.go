package client

import (
	"errors"
	"fmt"
	"slices"

	"peerchat/core/e2e"
	"peerchat/core/identity"
	"peerchat/core/wire"
)

// This file is the mailbox (docs/PROTOCOL.md §2.8) seen from a client: a
// message that cannot go live (its peer is away, does not answer, or left)
// is sealed to the peer's key (e2e.SealTo) and given to the server, which
// keeps it on disk until the peer's device takes it; and the items kept
// for us are opened, checked, reported once and acknowledged.

// mailMsg is a message given to the mailbox and not yet confirmed stored
// (MBOX_OK). It is put again on every new server link until then: puts
// are idempotent by id.
type mailMsg struct {
	id     uint64
	text   string
	sealed string // the item's <data>; "" until sealed
}

// mailUsable reports whether messages that cannot go live can be given to
// the server's mailbox: we have a key, and the server link negotiated
// mailbox, or, while it is down, the last one did (they wait for it). The
// caller holds c.mu.
func (c *Client) mailUsable() bool {
	if c.cfg.Identity == nil || c.cfg.NoMailbox {
		return false
	}
	if c.srv == nil {
		return c.hadMailbox
	}
	return c.mailOn()
}

// mailOn reports whether the current link negotiated mailbox and we proved
// our key on it. The caller holds c.mu.
func (c *Client) mailOn() bool {
	return c.srv != nil && !c.srvKey.IsZero() && slices.Contains(c.srvFeat, wire.FeatureMailbox)
}

// mailKey returns the key a message to the peer with folded nick fold is
// sealed to: its pin, else the key the server announced while it was
// online (zero: none known). The caller holds c.mu.
func (c *Client) mailKey(fold string) identity.PublicIdentity {
	if pin, ok := c.pins.Get(fold); ok {
		return pin.Key
	}
	if p := c.peers[fold]; p != nil && !p.Key.IsZero() {
		return p.Key
	}
	return c.lastKeys[fold]
}

// mailContext is what binds a sealed item to its sender and recipient
// (their folded nicks).
func mailContext(from, to string) []byte { return []byte(from + "\n" + to) }

// mailOut gives m to the mailbox: sealed to the peer's key and put now if
// the server link is up, or when it is back. A peer without a known key
// fails it (ErrNoKey). The caller holds c.mu.
func (c *Client) mailOut(ch *chat, m outMsg) {
	key := c.mailKey(ch.key)
	if key.IsZero() {
		c.emit(Event{Kind: EventSendFailed, Peer: ch.nick, ID: m.id, Text: m.text, Err: fmt.Errorf("message %d to %q: %w", m.id, ch.nick, ErrNoKey)})
		return
	}
	payload := wire.ChatMsg2{ID: m.id, Time: m.at, Nick: c.nick, Text: m.text}.AppendPayload(nil)
	sealed, err := e2e.SealTo(c.cfg.Identity, key, mailContext(c.selfKey, ch.key), payload)
	if err != nil {
		c.emit(Event{Kind: EventSendFailed, Peer: ch.nick, ID: m.id, Text: m.text, Err: fmt.Errorf("message %d to %q: %w", m.id, ch.nick, err)})
		return
	}
	mm := mailMsg{id: m.id, text: m.text, sealed: sealed}
	ch.mail = append(ch.mail, mm)
	if ch.mailed == nil {
		ch.mailed = make(map[uint64]struct{})
	}
	ch.mailed[m.id] = struct{}{}
	if c.mailOn() {
		send(c.srv, wire.MboxPut{To: ch.nick, ID: mm.id, Data: mm.sealed}, 0)
	}
}

// giveUp ends the outbox of ch for err: the messages a transient end left
// behind (the peer left the server or the chat, our invite expired) go
// to the mailbox when there is one; otherwise, and for a definite end
// (declined, we left), they fail. The caller holds c.mu.
func (c *Client) giveUp(ch *chat, err error) {
	if len(ch.outbox) == 0 {
		return
	}
	transient := errors.Is(err, ErrPeerLeft) || errors.Is(err, ErrExpired)
	if !transient || !c.mailUsable() || c.held(ch) || c.closed {
		c.failOutbox(ch, err)
		return
	}
	for _, m := range ch.outbox {
		c.mailOut(ch, m)
	}
	ch.outbox, ch.next, ch.inflight = nil, 0, 0
	c.parkFiles(ch)
}

// putMail gives the mailbox again what it has not confirmed: after a new
// registration. The caller holds c.mu.
func (c *Client) putMail() {
	if !c.mailOn() {
		return
	}
	c.putFileMail()
	for _, ch := range c.chats {
		for _, mm := range ch.mail {
			send(c.srv, wire.MboxPut{To: ch.nick, ID: mm.id, Data: mm.sealed}, 0)
		}
	}
}

// takeMail removes message id from the mail waiting for its MBOX_OK of
// the chat with folded nick fold, and returns the chat and the message.
// The caller holds c.mu.
func (c *Client) takeMail(fold string, id uint64) (*chat, mailMsg, bool) {
	ch := c.chats[fold]
	if ch == nil {
		return nil, mailMsg{}, false
	}
	i := slices.IndexFunc(ch.mail, func(m mailMsg) bool { return m.id == id })
	if i < 0 {
		return ch, mailMsg{}, false
	}
	m := ch.mail[i]
	ch.mail = slices.Delete(ch.mail, i, i+1)
	return ch, m, true
}

// unmailed records that message id to the peer with folded nick fold left
// the mailbox (delivered or refused). The caller holds c.mu.
func (c *Client) unmailed(fold string, id uint64) {
	if ch := c.chats[fold]; ch != nil {
		delete(ch.mailed, id)
		if len(ch.mailed) == 0 {
			ch.mailed = nil
		}
	}
}

// peerName returns the nick to report for the peer with folded nick fold:
// as its chat knows it, else as the server wrote it.
func (c *Client) peerName(fold, wrote string) string {
	if ch := c.chats[fold]; ch != nil {
		return ch.nick
	}
	return wrote
}

// mailFrame handles the mailbox's frames on the server link. The caller
// holds c.mu.
func (c *Client) mailFrame(msg wire.Message) {
	if c.fileMail(msg) {
		return
	}
	switch m := msg.(type) {
	case wire.MboxOK:
		if ch, _, ok := c.takeMail(foldKey(m.To), m.ID); ok {
			c.emit(Event{Kind: EventStored, Peer: ch.nick, ID: m.ID})
		}
	case wire.MboxRefused:
		fold := foldKey(m.To)
		if m.Reason == wire.MboxExpired { // a stored receipt: say we have it
			send(c.srv, wire.MboxReceipt{To: m.To, ID: m.ID}, 0)
			if !c.newReceipt(m.ID) {
				return
			}
		}
		_, mm, _ := c.takeMail(fold, m.ID)
		c.unmailed(fold, m.ID)
		peer := c.peerName(fold, m.To)
		c.emit(Event{Kind: EventSendFailed, Peer: peer, ID: m.ID, Text: mm.text,
			Err: fmt.Errorf("message %d to %q: %w", m.ID, peer, &MailboxError{Peer: peer, Reason: m.Reason})})
	case wire.MboxDelivered:
		send(c.srv, wire.MboxReceipt{To: m.To, ID: m.ID}, 0)
		if !c.newReceipt(m.ID) {
			return // again after a reconnection: reported already
		}
		fold := foldKey(m.To)
		c.unmailed(fold, m.ID)
		if ch, _, ok := c.takeMail(fold, m.ID); ok {
			// Delivered before its MBOX_OK reached us (a put repeated
			// after a reconnection): it was stored, then taken.
			c.emit(Event{Kind: EventStored, Peer: ch.nick, ID: m.ID})
		}
		c.emit(Event{Kind: EventDelivered, Peer: c.peerName(fold, m.To), ID: m.ID})
	case wire.Mbox:
		c.mailIn(m)
	}
}

// mailIn opens an item the mailbox kept for us, reports its message once
// (EventChatMsg with RouteMailbox) and acknowledges it. An item that does
// not open, or whose sender's proved key is not the one we know for its
// nick, is reported (EventError) and acknowledged all the same: kept, it
// would come back on every registration. The caller holds c.mu.
func (c *Client) mailIn(m wire.Mbox) {
	fold := foldKey(m.From)
	ack := true
	defer func() {
		if ack {
			send(c.srv, wire.MboxAck{From: m.From, ID: m.ID}, 0)
		}
	}()
	if c.cfg.Identity == nil {
		return
	}
	sender, p, err := e2e.OpenFrom(c.cfg.Identity, mailContext(fold, c.selfKey), m.Data)
	if v, _ := wire.SplitVerb(p); err == nil && wire.IsFileVerb(v) {
		// A parked file's item: written by its transfer's writer, and
		// acknowledged once written.
		if known := c.mailKey(fold); !known.IsZero() && known != sender {
			c.emit(Event{Kind: EventError, Peer: m.From, Err: fmt.Errorf("file item from %q kept by the server: %q: %w", m.From, m.From, ErrKeyMismatch)})
			return
		}
		ack = false
		c.mailFileIn(m, fold, p)
		return
	}
	var cm wire.ChatMsg2
	if err == nil {
		var msg wire.Message
		if msg, err = wire.Parse(p); err == nil {
			var ok bool
			if cm, ok = msg.(wire.ChatMsg2); !ok || foldKey(cm.Nick) != fold || cm.ID != m.ID {
				err = fmt.Errorf("%w: not a message from %q", e2e.ErrMalformed, m.From)
			}
		}
	}
	if err == nil {
		if known := c.mailKey(fold); !known.IsZero() && known != sender {
			err = fmt.Errorf("%q: %w", m.From, ErrKeyMismatch)
		}
	}
	if err != nil {
		c.emit(Event{Kind: EventError, Peer: m.From, Err: fmt.Errorf("message from %q kept by the server: %w", m.From, err)})
		return
	}
	ch := c.chat(fold, c.peerName(fold, m.From))
	if !c.markSeen(ch, cm.ID) {
		return
	}
	t := cm.Time
	if t.IsZero() {
		t = m.Time
	}
	c.emit(Event{Kind: EventChatMsg, From: ch.nick, Peer: ch.nick, Text: cm.Text, Time: t, ID: cm.ID, Route: RouteMailbox})
}

// noteKey remembers the key the server announced for a peer, so that a
// message to it can be sealed after it left. The caller holds c.mu.
func (c *Client) noteKey(fold string, key identity.PublicIdentity) {
	if _, ok := c.lastKeys[fold]; !ok && len(c.lastKeys) >= maxLastKeys {
		for k := range c.lastKeys { // forget one at random
			delete(c.lastKeys, k)
			break
		}
	}
	c.lastKeys[fold] = key
}

// maxLastKeys bounds the announced keys remembered for peers who left.
const maxLastKeys = 4096

// seenReceipts is how many receipt ids are remembered to report each
// once: the server sends a receipt again after every registration until
// our MBOX_RECEIPT reached it.
const seenReceipts = 4096

// newReceipt records the receipt for message id and reports whether it
// is new. The caller holds c.mu.
func (c *Client) newReceipt(id uint64) bool {
	if c.rcptSeen == nil {
		c.rcptSeen = make(map[uint64]struct{})
	}
	if _, dup := c.rcptSeen[id]; dup {
		return false
	}
	if len(c.rcptLog) >= seenReceipts {
		delete(c.rcptSeen, c.rcptLog[0])
		c.rcptLog = c.rcptLog[1:]
	}
	c.rcptSeen[id] = struct{}{}
	c.rcptLog = append(c.rcptLog, id)
	return true
}
