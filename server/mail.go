package server

import (
	"bytes"
	"log/slog"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// Mailbox (docs/PROTOCOL.md §2.8): a proved client that listed mailbox
// stores items for the key that holds a nick with MBOX_PUT; each is
// written with fsync (MailStore) before MBOX_OK. The recipient, once it
// has proved that key on a connection that listed mailbox, gets them as
// MBOX, oldest first, after SIDENT and the snapshots: at most a window of
// relayShare bytes unacknowledged at a time, the next ones as MBOX_ACKs
// come, so that a full mailbox never overflows its queue. Each MBOX_ACK
// deletes an item; its sender hears MBOX_DELIVERED at once if it is
// connected with mailbox, and after each of its SIDENTs until it answers
// MBOX_RECEIPT (the receipt is stored with the ack).

// mailState is a connection's side of mailbox delivery, guarded by
// conn.mbmu.
type mailState struct {
	on       bool   // the client proved its key and listed mailbox
	last     uint64 // seq of the last item queued on this connection
	inflight int    // bytes of MBOX frames queued and not acknowledged
}

// mailPeer returns the registered client that proved key under nick and
// listed mailbox, or nil. s.mu must be held (read).
func (s *Server) mailPeer(nick string, key identity.PublicIdentity) *conn {
	p := s.peers[wire.FoldNick(nick)]
	if p == nil || !p.registered || !p.proved || !p.mailbox || p.pub != key {
		return nil
	}
	return p
}

// mailPeerRaw is mailPeer for a key in binary form.
func (s *Server) mailPeerRaw(nick string, key []byte) *conn {
	p := s.peers[wire.FoldNick(nick)]
	if p == nil || !p.registered || !p.proved || !p.mailbox || !bytes.Equal(p.pub.Bytes(), key) {
		return nil
	}
	return p
}

// mailLimits returns the mailbox's bounds.
func (s *Server) mailLimits() mailLimits {
	return mailLimits{items: s.cfg.MailItems, bytes: s.cfg.MailBytes, total: s.cfg.MailTotal}
}

// countMail counts an MBOX_REFUSED sent, by reason.
func (s *Server) countMail(reason string) {
	s.statMu.Lock()
	s.mailRefused[reason]++
	s.statMu.Unlock()
}

// mboxPut hands c's MBOX_PUT to mailLoop, after the checks that need no
// database: its size, and that a key holds the nick.
func (c *conn) mboxPut(m wire.MboxPut) {
	s := c.s
	op := &mailOp{item: mailItem{FromKey: c.pub.Bytes(), From: c.nick, To: m.To, ID: m.ID, Time: s.cfg.Now(), Data: m.Data}}
	switch {
	case op.item.frameLen()-wire.HeaderLen > s.cfg.PayloadLimit || int64(len(m.Data)) > s.cfg.MailBytes:
		op.reason = wire.MboxTooLarge
	case wire.ValidateNick(m.To) != nil:
		op.reason = wire.MboxUnknown
	default:
		if op.rcpt = s.holder(m.To); op.rcpt.IsZero() {
			op.reason = wire.MboxUnknown
		}
	}
	c.submitMail(op)
}

// mboxAck hands c's MBOX_ACK to mailLoop.
func (c *conn) mboxAck(m wire.MboxAck) {
	c.submitMail(&mailOp{ack: true, rcpt: c.pub, from: m.From, id: m.ID})
}

// pendingMail is a put or ack of c waiting for mailLoop.
type pendingMail struct {
	c  *conn
	op *mailOp
}

// submitMail queues op for mailLoop, waiting while maxPendingMail ops
// wait already (so a client that puts faster than the disk writes is
// slowed down, not buffered). At shutdown the op is dropped unanswered: a
// client puts again (with the same id) what got no MBOX_OK, and an item
// whose ack is lost comes again.
func (c *conn) submitMail(op *mailOp) {
	select {
	case c.s.mailOps <- pendingMail{c, op}:
	case <-c.s.done:
	}
}

// mailLoop carries out the puts and acks of every connection, in the
// order they came, in batches: all that came while the previous batch
// was being written go in one transaction (one fsync). It ends when the
// server shuts down, after those already queued.
func (s *Server) mailLoop() {
	defer s.wg.Done()
	for {
		var batch []pendingMail
		select {
		case p := <-s.mailOps:
			batch = append(batch, p)
		case <-s.done:
			for {
				select {
				case p := <-s.mailOps:
					batch = append(batch, p)
					continue
				default:
				}
				break
			}
			s.commitMail(batch)
			return
		}
	more:
		for len(batch) < maxMailBatch {
			select {
			case p := <-s.mailOps:
				batch = append(batch, p)
			default:
				break more
			}
		}
		s.commitMail(batch)
	}
}

// commitMail writes a batch of puts and acks, then answers each put
// (MBOX_OK, with MBOX_DELIVERED for a repeat of a delivered one, or
// MBOX_REFUSED), tells the sender of each acknowledged item
// (MBOX_DELIVERED, or a stored receipt), and sends their next items to the
// recipients concerned.
func (s *Server) commitMail(batch []pendingMail) {
	if len(batch) == 0 {
		return
	}
	ops := make([]*mailOp, len(batch))
	for i, p := range batch {
		ops[i] = p.op
	}
	if err := s.mail.apply(ops, s.mailLimits(), s.cfg.Now()); err != nil {
		s.log.Error("mailbox database", "err", err)
		for _, op := range ops {
			op.found = false
			if !op.ack && op.reason == "" {
				op.reason = wire.MboxFull
			}
		}
	}
	var pump []*conn
	// The receipt of each acknowledged item is stored by the same
	// transaction; a sender connected and proved now hears it at once,
	// and every sender again after each SIDENT until it says it has it.
	s.mu.RLock()
	for _, p := range batch {
		op, c := p.op, p.c
		if op.receipt {
			continue
		}
		if !op.ack {
			if op.reason == "" && op.res == putFull {
				op.reason = wire.MboxFull
			}
			if op.reason != "" {
				s.countMail(op.reason)
				c.sendCounted(wire.Encode(wire.MboxRefused{To: op.item.To, ID: op.item.ID, Reason: op.reason}))
				continue
			}
			ok := wire.Encode(wire.MboxOK{To: op.item.To, ID: op.item.ID})
			switch op.res {
			case putDelivered:
				ok = append(ok, receipt{To: op.item.To, ID: op.item.ID}.frame()...)
			case putStored:
				s.mailStored.Add(1)
				if r := s.mailPeer(op.item.To, op.rcpt); r != nil {
					pump = append(pump, r)
				}
			}
			c.sendCounted(ok)
			continue
		}
		if !op.found {
			continue // acknowledged before, or expired
		}
		it := op.item
		s.mailAcked.Add(1)
		c.mbmu.Lock()
		if it.Seq <= c.mb.last {
			c.mb.inflight = max(c.mb.inflight-it.frameLen(), 0)
		}
		c.mbmu.Unlock()
		pump = append(pump, c)
		r := receipt{To: it.To, ID: it.ID}
		if p := s.mailPeerRaw(it.From, it.FromKey); p != nil {
			p.sendCounted(r.frame())
		}
	}
	s.mu.RUnlock()
	done := make(map[*conn]bool, len(pump))
	for _, c := range pump {
		if !done[c] {
			done[c] = true
			c.pump()
		}
	}
}

// mailOnline starts mailbox delivery to c, which has just proved its key
// (its SIDENT and the snapshots are queued): its stored receipts, then its
// items.
func (c *conn) mailOnline() {
	s := c.s
	if s.mail == nil || !c.mailbox || !c.proved { // see isV2
		return
	}
	rs, err := s.mail.takeReceipts(c.pub)
	if err != nil {
		c.logf(slog.LevelError, "mailbox database", "err", err)
	}
	var b []byte
	for _, r := range rs {
		b = append(b, r.frame()...)
	}
	if b != nil {
		c.send(b, true) // bounded by MailItems receipts
	}
	c.mbmu.Lock()
	c.mb.on = true
	c.mbmu.Unlock()
	c.pump()
}

// pumpBatch is how many items pump reads from the database at once.
const pumpBatch = 64

// pump queues c's next items while less than relayShare bytes of them
// are unacknowledged (always one, however large). Items keep their order:
// pump queues under c.mbmu.
func (c *conn) pump() {
	s := c.s
	window := s.relayShare()
	c.mbmu.Lock()
	defer c.mbmu.Unlock()
	if !c.mb.on {
		return
	}
	queued := false
	defer func() {
		if queued {
			c.kick()
		}
	}()
	for c.mb.inflight < window {
		items, err := s.mail.after(c.pub, c.mb.last, pumpBatch)
		if err != nil {
			c.logf(slog.LevelError, "mailbox database", "err", err)
			return
		}
		if len(items) == 0 {
			return
		}
		for _, it := range items {
			f := wire.Encode(wire.Mbox{From: it.From, ID: it.ID, Time: it.Time, Data: it.Data})
			if c.mb.inflight > 0 && c.mb.inflight+len(f) > window {
				return
			}
			if ok, _ := c.enqueue(&f, true); !ok {
				return // closing
			}
			queued = true
			s.delivered.Add(1)
			c.mb.last, c.mb.inflight = it.Seq, c.mb.inflight+len(f)
		}
	}
}

// sweepMail deletes the items older than MailAge (their senders get
// MBOX_REFUSED expired) and forgets old acknowledged ones.
func (s *Server) sweepMail() {
	n, err := s.mail.expire(s.cfg.Now().Add(-s.cfg.MailAge), s.cfg.MailItems)
	if err != nil {
		s.log.Error("mailbox database", "err", err)
		return
	}
	if n > 0 {
		s.mailExpired.Add(uint64(n))
		s.log.Info("mailbox items expired", "items", n)
		// Connected senders hear it now.
		s.mu.RLock()
		var ps []*conn
		for _, p := range s.list {
			if p.proved && p.mailbox {
				ps = append(ps, p)
			}
		}
		s.mu.RUnlock()
		for _, p := range ps {
			rs, err := s.mail.takeReceipts(p.pub)
			if err != nil || len(rs) == 0 {
				continue
			}
			var b []byte
			for _, r := range rs {
				b = append(b, r.frame()...)
			}
			p.send(b, true)
		}
	}
}

// mailJanitor runs sweepMail now and every mailSweepEvery until the
// server shuts down.
func (s *Server) mailJanitor() {
	defer s.wg.Done()
	s.sweepMail()
	t := time.NewTicker(max(min(s.cfg.MailAge/16, mailSweepEvery), time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.sweepMail()
		}
	}
}

// sendCounted sends frame b (which may hold several frames) and counts it.
func (c *conn) sendCounted(b []byte) {
	if c.send(b, false) {
		c.s.delivered.Add(1)
	}
}
