package server

import (
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// stage is where a connection is in the protocol: registration is REGISTER
// then PORT; after them the client is registered until the connection ends.
type stage uint8

const (
	stageRegister   stage = iota // want REGISTER
	stagePort                    // want PORT
	stageHeldHello               // a nick held by a key: WELCOME sent, want HELLO … keys
	stageHeldIdent               // a nick held by a key: SKEY sent, want IDENT with the holder's key
	stageRegistered              // registered: any command of the vocabulary
)

// registering reports whether the client has not completed its
// registration (REGISTER + PORT, and for a held nick the proof of its key),
// so that RegisterTimeout bounds it.
func (st stage) registering() bool { return st < stageRegistered }

// held reports whether the client asked for a nick held by a key and has
// not proved it yet: whatever ends the connection then is NICKNAME_TAKEN.
func (st stage) held() bool { return st == stageHeldHello || st == stageHeldIdent }

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
	} else if reason == ClosedNicknameTaken || reason == ClosedNickHeld {
		c.closeAfter(reason, wire.Encode(wire.NicknameTaken{}))
	} else {
		c.closeNow(reason)
	}
	final := c.closeReason() // set by closeNow or closeAfter above
	s.closed[final].Add(1)
	s.unregister(c)
	c.imageAbort("") // a post under way: its recipients hear it will not come
	s.leftAt(c)
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
	rd.Latest = &c.lingerEnd
	regDeadline := time.Now().Add(s.cfg.RegisterTimeout)
	deadline := regDeadline
	var lim *rate.Limiter
	st := stageRegister
	for {
		if st.registering() {
			rem := time.Until(deadline)
			if rem <= 0 {
				if st.held() {
					return ClosedNickHeld, ""
				}
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
			regDeadline = regDeadline.Add(time.Since(t0))
			deadline = regDeadline
			if !free {
				return ClosedNicknameTaken, ""
			}
			c.nick, c.udpPort = r.Nick, r.UDPPort
			c.holder = s.holder(c.nick)
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
			if !c.holder.IsZero() {
				// Held by a key: the client must prove it first. A keys
				// client answers WELCOME at once; one that stays silent
				// for ReplaceGrace (a base client) is told at once that
				// the nick is taken, not after the registration time.
				c.send(s.welcome, false)
				if d := time.Now().Add(s.cfg.ReplaceGrace); d.Before(deadline) {
					deadline = d
				}
				st = stageHeldHello
				continue
			}
			if why := s.register(c, nil); why != ClosedUnknown {
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
		case stageHeldHello:
			h, ok := m.(wire.Hello)
			if !ok || h.Version < wire.Version || !slices.Contains(h.Features, wire.FeatureKeys) {
				return ClosedNickHeld, ""
			}
			feats := helloFeatures(h)
			s.setFeatures(c, feats)
			c.logf(slog.LevelDebug, "hello", "version", h.Version, "features", feats, "held", true)
			c.sendChallenge()
			deadline = regDeadline
			st = stageHeldIdent
		case stageHeldIdent:
			id, ok := m.(wire.Ident)
			if !ok {
				return ClosedNickHeld, ""
			}
			pub, sident, err := c.checkIdent(id)
			if err != nil || pub != c.holder {
				c.logf(slog.LevelInfo, "held nickname not proved", "err", err)
				return ClosedNickHeld, ""
			}
			c.pub = pub
			if why := s.register(c, sident); why != ClosedUnknown {
				if why == ClosedNicknameTaken {
					return why, ""
				}
				return why, why.String()
			}
			s.bind(c)
			c.mailOnline()
			c.logf(slog.LevelInfo, "registered", "udp_port", c.udpPort, "tcp_port", c.tcpPort, "key", pub.String())
			lim = rate.NewLimiter(s.cfg.BroadcastRate, s.cfg.BroadcastBurst)
			rd.IdleTimeout = 0
			rd.FrameTimeout = s.cfg.FrameTimeout
			if c.heartbeat {
				rd.IdleTimeout = s.cfg.HeartbeatTimeout
			}
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
			if reason, errText := c.handle(m, lim, rd); reason != ClosedUnknown {
				return reason, errText
			}
		}
	}
}

// handle acts on one frame of a registered client. It returns a reason
// (and the text of the ERROR to send, if any) when the connection must end,
// else ClosedUnknown.
func (c *conn) handle(m wire.Message, lim *rate.Limiter, rd *frameReader) (ClosedState, string) {
	s := c.s
	switch m := m.(type) {
	case wire.Broadcast:
		if c.broadcastOK(m.Text, 0, lim) {
			s.broadcast(c, m.Text, nil)
		}
	case wire.SignedBroadcast:
		if !c.proved { // see isV2
			c.refuse(NoticeBadCommand, "signed broadcast without a proved key")
			break
		}
		if !c.broadcastOK(m.Text, signedOverhead, lim) {
			break
		}
		sb := identity.SignedBroadcast{Server: s.pub, From: c.nick, Sent: m.Time, Text: m.Text}
		if !sb.Verify(c.pub, m.Sig) {
			c.refuse(NoticeBadCommand, "bad broadcast signature")
			break
		}
		s.broadcast(c, m.Text, &m)
	case wire.Ident:
		if !c.keys || c.nonce == nil || c.proved { // see isV2
			c.refuse(NoticeUnknown, "unexpected "+m.Verb())
			break
		}
		pub, sident, err := c.checkIdent(m)
		if err != nil {
			return ClosedBadIdentity, ReasonBadIdentity + ": " + err.Error()
		}
		c.pub = pub
		s.bind(c)
		s.prove(c, sident)
		c.mailOnline()
		c.logf(slog.LevelInfo, "key proved", "key", pub.String())
	case wire.Hello:
		if c.isV2() || m.Version < wire.Version {
			break // a repeated HELLO, or one that does not speak v2
		}
		feats := helloFeatures(m)
		s.hello(c, feats)
		c.logf(slog.LevelDebug, "hello", "version", m.Version, "features", feats)
		if c.heartbeat {
			rd.IdleTimeout = s.cfg.HeartbeatTimeout
		}
		if c.keys {
			c.sendChallenge()
		}
	case wire.Ping:
		if c.isV2() {
			if c.send(wire.Encode(wire.Pong{Token: m.Token}), false) {
				s.delivered.Add(1)
			}
		}
	case wire.Pong:
		// Reading it reset the idle timer; nothing else to do.
	case wire.Relay:
		if !c.relay || !c.proved { // see isV2
			c.refuse(NoticeUnknown, "unexpected "+m.Verb())
			break
		}
		c.forward(m)
	case wire.MboxPut:
		if !c.mailbox || !c.proved { // see isV2
			c.refuse(NoticeUnknown, "unexpected "+m.Verb())
			break
		}
		c.mboxPut(m)
	case wire.MboxAck:
		if !c.mailbox || !c.proved { // see isV2
			c.refuse(NoticeUnknown, "unexpected "+m.Verb())
			break
		}
		c.mboxAck(m)
	case wire.MboxReceipt:
		if !c.mailbox || !c.proved { // see isV2
			c.refuse(NoticeUnknown, "unexpected "+m.Verb())
			break
		}
		c.submitMail(&mailOp{receipt: true, rcpt: c.pub, from: m.To, id: m.ID})
	case wire.Since:
		if !c.replay || !c.proved { // see isV2
			c.refuse(NoticeUnknown, "unexpected "+m.Verb())
			break
		}
		c.replayMissed(m.ID)
	case wire.ImagePost, wire.ImageData, wire.ImageEnd: // bfile.go
		if !c.img.on { // see isV2
			c.refuse(NoticeUnknown, "unexpected "+m.Verb())
			break
		}
		switch m := m.(type) {
		case wire.ImagePost:
			c.imagePost(m, lim)
		case wire.ImageData:
			c.imageData(m)
		case wire.ImageEnd:
			c.imageEnd(m)
		}
	case wire.Register, wire.Port:
		c.refuse(NoticeBadCommand, "already registered")
	default:
		c.refuse(NoticeUnknown, "unexpected "+m.Verb())
	}
	return ClosedUnknown, ""
}

// broadcastOK checks a broadcast's text against the rules of BROADCAST (not
// empty; its relayed frame, extra bytes longer than a BCAST, within the
// payload limit; the rate) and refuses it if it breaks one.
func (c *conn) broadcastOK(text string, extra int, lim *rate.Limiter) bool {
	switch {
	case text == "":
		c.refuse(NoticeBadCommand, "empty broadcast")
	// The relayed frame carries the nick, a sequence number and a time:
	// keep it within the payload limit clients use.
	case len(text)+len(c.nick)+broadcastOverhead+extra > c.s.cfg.PayloadLimit:
		c.refuse(NoticeTooLong, "broadcast too long")
	case !lim.Allow():
		c.refuse(NoticeRateLimited, ReasonRateLimited)
	default:
		return true
	}
	return false
}

// helloFeatures returns the features of a HELLO that the server keeps: at
// most maxFeatures, each at most maxFeatureLen bytes.
func helloFeatures(m wire.Hello) []string {
	feats := make([]string, 0, min(len(m.Features), maxFeatures))
	for _, f := range m.Features {
		if len(feats) == maxFeatures {
			break
		}
		if len(f) <= maxFeatureLen {
			feats = append(feats, f)
		}
	}
	return feats
}

// sendChallenge sends SKEY with a fresh nonce, which it keeps for the
// IDENT.
func (c *conn) sendChallenge() {
	c.nonce = make([]byte, nonceLen)
	rand.Read(c.nonce)
	if c.send(wire.Encode(wire.ServerKey{Key: c.s.pub.String(), Nonce: c.nonce}), false) {
		c.s.delivered.Add(1)
	}
}

// checkIdent checks an IDENT against the SKEY challenge c sent: the key
// must parse and the signature verify over the registration transcript
// (identity.Registration). It returns the key and the server's SIDENT
// signature of the same transcript.
func (c *conn) checkIdent(m wire.Ident) (identity.PublicIdentity, []byte, error) {
	pub, err := identity.ParsePublic(m.Key)
	if err != nil {
		return pub, nil, err
	}
	r := identity.Registration{ServerNonce: c.nonce, ClientNonce: m.Nonce, Nick: c.nick, Server: c.s.pub, Client: pub}
	if !r.VerifyClient(m.Sig) {
		return pub, nil, errBadSignature
	}
	return pub, r.SignServer(c.s.cfg.Identity), nil
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
		case st.held():
			return ClosedNickHeld, ""
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
