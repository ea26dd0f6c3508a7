package server

import (
	"log/slog"

	"golang.org/x/time/rate"

	"peerchat/core/wire"
)

// Relay (docs/PROTOCOL.md §2.7): a proved client that listed relay sends
// RELAY <to> <chan> <data>; the server forwards it as RELAYED <from> <chan>
// <data> to the registered, proved relay client <to>, on that client's
// ordinary queue, or answers RELAY_FAIL. Order between one sender and one
// recipient holds because the sender's serve goroutine queues its relays
// one after the other. A relayed frame never closes its recipient for
// overflow: it is dropped (RELAY_FAIL overflow) when the recipient's queue
// holds relayShare bytes already.

// relayShare returns how many bytes a client's queue may hold for a
// relayed frame to be added: half of QueueBytes, so the other half is
// left for the frames that close a slow client when they overflow.
func (s *Server) relayShare() int { return s.cfg.QueueBytes / 2 }

// forward relays m from c, or answers RELAY_FAIL.
func (c *conn) forward(m wire.Relay) {
	s := c.s
	if c.relayLim == nil {
		c.relayLim = rate.NewLimiter(s.cfg.RelayRate, s.cfg.RelayBurst)
	}
	// The RELAYED frame's payload: "RELAYED <from> <chan> <data>".
	n := len(wire.VerbRelayed) + 3 + len(c.nick) + len(m.Chan) + len(m.Data)
	switch {
	case n > s.cfg.PayloadLimit:
		c.relayFail(m, wire.RelayTooLong)
		return
	case !c.relayLim.AllowN(s.cfg.Now(), n):
		c.relayFail(m, wire.RelayRate)
		return
	}
	var frame []byte
	s.mu.RLock()
	p := s.peers[wire.FoldNick(m.To)]
	reason := ""
	switch {
	case p == nil || !p.registered:
		reason = wire.RelayOffline
	case !p.relay || !p.proved:
		reason = wire.RelayUnsupported
	default:
		frame = wire.Encode(wire.Relayed{From: c.nick, Chan: m.Chan, Data: m.Data})
		if !p.offer(frame, s.relayShare()) {
			reason = wire.RelayOverflow
		}
	}
	s.mu.RUnlock()
	if reason != "" {
		c.relayFail(m, reason)
		return
	}
	s.relayed.Add(1)
	s.relayedBytes.Add(uint64(len(frame)))
	s.delivered.Add(1)
	p.kick()
}

// relayFail answers RELAY_FAIL for m and counts it.
func (c *conn) relayFail(m wire.Relay, reason string) {
	c.s.statMu.Lock()
	c.s.relayFailed[reason]++
	c.s.statMu.Unlock()
	c.logf(slog.LevelDebug, "relay failed", "to", m.To, "chan", m.Chan, "reason", reason)
	if c.send(wire.Encode(wire.RelayFail{To: m.To, Chan: m.Chan, Reason: reason}), false) {
		c.s.delivered.Add(1)
	}
}

// offer queues frame b if the queue then holds at most limit bytes, and
// reports whether it did; it never closes the connection. The caller
// kicks the writer.
func (c *conn) offer(b []byte, limit int) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closing || c.qbytes+len(b) > limit {
		return false
	}
	c.q = append(c.q, &b)
	c.qbytes += len(b)
	return true
}
