package server

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/wire"
)

// stage is where a connection is in the protocol: registration is REGISTER
// then PORT; after them the client is registered until the connection ends.
type stage uint8

const (
	stageRegister   stage = iota // want REGISTER
	stagePort                    // want PORT
	stageRegistered              // registered: any command of the vocabulary
)

// registering reports whether the client has not completed REGISTER + PORT,
// so that RegisterTimeout bounds it.
func (st stage) registering() bool { return st < stageRegistered }

// serve reads and handles frames until the connection ends, then
// unregisters the client and waits for its writer.
func (c *conn) serve() {
	s := c.s
	defer s.wg.Done()
	defer close(c.finished)
	c.logf(slog.LevelDebug, "open")
	reason, errText := c.readLoop()
	if errText != "" {
		c.closeAfter(reason, wire.Encode(wire.Error{Reason: errText}))
	} else if reason == ClosedNicknameTaken {
		c.closeAfter(reason, wire.Encode(wire.NicknameTaken{}))
	} else {
		c.closeNow(reason)
	}
	final := c.closeReason() // set by closeNow or closeAfter above
	s.closed[final].Add(1)
	s.unregister(c)
	<-c.writerDone
	// After a lingering close, read what the client still sends (bounded
	// by the read deadline lingerClose set), so that closing with unread
	// data does not reset the connection before the client has read our
	// last frame.
	io.Copy(io.Discard, io.LimitReader(c.nc, lingerBytes))
	c.nc.Close()
	c.logf(slog.LevelInfo, "closed", "reason", final.String(), "duration", time.Since(c.start).Round(time.Millisecond))
}

// readLoop handles frames until the connection must end, and returns why:
// a reason for logs and stats and, if the client should hear it, the text of
// the ERROR to send.
func (c *conn) readLoop() (reason ClosedState, errText string) {
	s := c.s
	rd := newFrameReader(c.nc, s.cfg.PayloadLimit)
	defer rd.release()
	rd.FrameTimeout = s.cfg.FrameTimeout
	deadline := time.Now().Add(s.cfg.RegisterTimeout)
	var lim *rate.Limiter
	st := stageRegister
	for {
		if st.registering() {
			rem := time.Until(deadline)
			if rem <= 0 {
				return ClosedRegisterTimeout, ReasonRegisterTimeout
			}
			rd.IdleTimeout = rem
			rd.FrameTimeout = min(s.cfg.FrameTimeout, rem)
		}
		p, err := rd.ReadFrame()
		if err != nil {
			return c.readError(err, st)
		}
		if a := c.alive.Load(); a != nil && c.alive.CompareAndSwap(a, nil) {
			close(*a) // the client spoke during a probe (see replaceGhost)
		}
		s.bytesIn.Add(uint64(wire.HeaderLen + len(p)))
		m, perr := wire.Parse(p)
		switch st {
		case stageRegister:
			r, ok := m.(wire.Register)
			if !ok {
				if perr != nil && !errors.Is(perr, wire.ErrUnknownVerb) {
					return ClosedBadCommand, perr.Error()
				}
				return ClosedRegisterFirst, ReasonRegisterFirst
			}
			if err := wire.ValidateNick(r.Nick); err != nil {
				return ClosedBadNick, ReasonBadNick + ": " + err.Error()
			}
			// Waiting for the registry, or for a ghost holder of the
			// nick, is the server's time, not the client's.
			t0 := time.Now()
			free := s.nickFree(c, r.Nick)
			deadline = deadline.Add(time.Since(t0))
			if !free {
				return ClosedNicknameTaken, ""
			}
			c.nick, c.udpPort = r.Nick, r.UDPPort
			st = stagePort
		case stagePort:
			pm, ok := m.(wire.Port)
			if !ok {
				if perr != nil {
					return ClosedBadCommand, "expected PORT: " + perr.Error()
				}
				return ClosedBadCommand, "expected PORT"
			}
			if wire.FoldNick(pm.Nick) != wire.FoldNick(c.nick) {
				return ClosedPortMismatch, ReasonPortMismatch
			}
			c.tcpPort = pm.TCPPort
			if why := s.register(c); why != ClosedUnknown {
				if why == ClosedNicknameTaken {
					return why, ""
				}
				return why, why.String()
			}
			c.logf(slog.LevelInfo, "registered", "udp_port", c.udpPort, "tcp_port", c.tcpPort)
			lim = rate.NewLimiter(s.cfg.BroadcastRate, s.cfg.BroadcastBurst)
			rd.IdleTimeout = 0
			rd.FrameTimeout = s.cfg.FrameTimeout
			st = stageRegistered
		case stageRegistered:
			if errors.Is(perr, wire.ErrUnknownVerb) {
				c.refuse(NoticeUnknown, perr.Error())
				continue
			}
			if perr != nil {
				c.refuse(NoticeBadCommand, perr.Error())
				continue
			}
			c.handle(m, lim, rd)
		}
	}
}

// handle acts on one frame of a registered client.
func (c *conn) handle(m wire.Message, lim *rate.Limiter, rd *frameReader) {
	s := c.s
	switch m := m.(type) {
	case wire.Broadcast:
		if m.Text == "" {
			c.refuse(NoticeBadCommand, "empty broadcast")
			return
		}
		// The relayed frame carries the nick, a sequence number and a time:
		// keep it within the payload limit clients use.
		if len(m.Text)+len(c.nick)+broadcastOverhead > s.cfg.PayloadLimit {
			c.refuse(NoticeTooLong, "broadcast too long")
			return
		}
		if !lim.Allow() {
			c.refuse(NoticeRateLimited, ReasonRateLimited)
			return
		}
		s.broadcast(c, m.Text)
	case wire.Hello:
		if c.isV2() || m.Version < wire.Version {
			return // a repeated HELLO, or one that does not speak v2
		}
		feats := make([]string, 0, len(m.Features))
		for _, f := range m.Features {
			if len(feats) == maxFeatures {
				break
			}
			if len(f) <= maxFeatureLen {
				feats = append(feats, f)
			}
		}
		s.hello(c, feats)
		c.logf(slog.LevelDebug, "hello", "version", m.Version, "features", feats)
		if c.heartbeat {
			rd.IdleTimeout = s.cfg.HeartbeatTimeout
		}
	case wire.Ping:
		if c.isV2() {
			if c.send(wire.Encode(wire.Pong{Token: m.Token}), false) {
				s.delivered.Add(1)
			}
		}
	case wire.Pong:
		// Reading it reset the idle timer; nothing else to do.
	case wire.Register, wire.Port:
		c.refuse(NoticeBadCommand, "already registered")
	default:
		c.refuse(NoticeUnknown, "unexpected "+m.Verb())
	}
}

// isV2 reports whether c said HELLO. Only c's serve goroutine writes c.v2
// and the feature flags, so it may read them without s.mu.
func (c *conn) isV2() bool { return c.v2 }

// refuse turns down one request without closing: NOTICE to a v2 client that
// negotiated it; base clients get nothing, as ERROR would end their session.
func (c *conn) refuse(code, text string) {
	c.s.countDropped(code)
	c.logf(slog.LevelDebug, "refused", "code", code, "text", text)
	if c.notice { // see isV2
		if c.send(wire.Encode(wire.Notice{Code: code, Text: text}), false) {
			c.s.delivered.Add(1)
		}
	}
}

// readError maps a read error to a close reason and ERROR text.
func (c *conn) readError(err error, st stage) (reason ClosedState, errText string) {
	if r := c.closeReason(); r != ClosedUnknown {
		return r, "" // we closed it
	}
	switch {
	case errors.Is(err, io.EOF):
		return ClosedClient, ""
	case isTimedOut(err):
		return ClosedTimedOut, ""
	case wire.IsProtocolError(err):
		return ClosedBadFrame, ReasonBadFrame + ": " + err.Error()
	case isTimeout(err):
		switch {
		case st.registering():
			return ClosedRegisterTimeout, ReasonRegisterTimeout
		case c.heartbeat: // see isV2
			return ClosedHeartbeat, ReasonHeartbeat
		default:
			return ClosedBadFrame, ReasonBadFrame + ": incomplete frame"
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ClosedClient, ""
	case isReset(err):
		return ClosedReset, ""
	}
	return ClosedReadFailed, ""
}
