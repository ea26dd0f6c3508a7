package server

import (
	"log/slog"
	"strconv"
	"time"

	"peerchat/core/wire"
)

// nickFree reports whether newcomer c may go on registering nick. If the
// nick's holder is a heartbeat client from c's IP address (perhaps c's own
// connection before a network drop), it first gives the holder
// ReplaceGrace to show it is alive (see replaceGhost).
func (s *Server) nickFree(c *conn, nick string) bool {
	key := wire.FoldNick(nick)
	s.mu.RLock()
	h := s.peers[key]
	ghost := h != nil && h.heartbeat && h.ip == c.ip
	s.mu.RUnlock()
	switch {
	case h == nil:
		return true
	case !ghost:
		return false
	}
	return s.replaceGhost(c, h)
}

// replaceGhost PINGs holder h on behalf of newcomer c and waits up to
// ReplaceGrace: if h sends anything it stays and replaceGhost returns false;
// if it stays silent it is closed (ClosedReplaced, its LEFT queued to
// everyone) and replaceGhost returns true once it is unregistered.
func (s *Server) replaceGhost(c, h *conn) bool {
	alive := h.probe()
	s.mu.Lock()
	s.ping++
	ping := wire.Encode(wire.Ping{Token: strconv.FormatUint(s.ping, 10)})
	s.mu.Unlock()
	if h.send(ping, false) {
		s.delivered.Add(1)
	}
	t := time.NewTimer(s.cfg.ReplaceGrace)
	defer t.Stop()
	select {
	case <-alive:
		c.logf(slog.LevelInfo, "nickname holder is alive", "holder", h.id)
		return false
	case <-h.finished:
		return true
	case <-s.done:
		return false
	case <-t.C:
	}
	c.logf(slog.LevelInfo, "replacing silent nickname holder", "holder", h.id, "holder_nick", h.nick)
	h.closeNow(ClosedReplaced)
	select {
	case <-h.finished:
		return true
	case <-s.done:
		return false
	}
}

// probe returns a channel that is closed when c next reads a frame.
func (c *conn) probe() <-chan struct{} {
	for {
		if a := c.alive.Load(); a != nil {
			return *a
		}
		ch := make(chan struct{})
		if c.alive.CompareAndSwap(nil, &ch) {
			return ch
		}
	}
}
