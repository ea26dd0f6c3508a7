package server

import (
	"log/slog"
	"sync"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// A frame for many recipients is queued to each under s.mu (which orders
// it), and written after s.mu is released: the connections whose queue was
// empty and idle are collected in a wakeList, and wake writes to them.

// wakeList is the connections that a fan-out found idle.
type wakeList []*conn

// wakeLists recycles wakeLists, so that fan-outs do not allocate and no
// connection keeps one of registry size.
var wakeLists = sync.Pool{New: func() any { return new(wakeList) }}

// fanOut queues b to every registered client, and returns the ones that
// need waking (nil if none), for wake. s.mu must be held.
func (s *Server) fanOut(b []byte) *wakeList {
	var w *wakeList
	for _, p := range s.list {
		w = w.queue(p, &b)
	}
	return w
}

// queue queues b to p and adds p to w if p needs waking; it returns w,
// taken from wakeLists if it was nil and is needed.
func (w *wakeList) queue(p *conn, f *[]byte) *wakeList {
	if _, wake := p.enqueue(f, false); wake {
		if w == nil {
			w = wakeLists.Get().(*wakeList)
		}
		*w = append(*w, p)
	}
	return w
}

// wake starts writing to the connections in w, and recycles w. Call it
// without s.mu; it never blocks. It starts a writer for each (conn.kick),
// unless direct is set and no other direct fan-out is being written: then it
// writes a single queued frame to an idle connection from the caller's
// goroutine (conn.flush), which is quicker for a lone broadcast. When
// fan-outs follow each other (a burst, a join storm) writers, lagging
// behind, batch several frames per write, which is cheaper.
func (s *Server) wake(w *wakeList, direct bool) {
	if w == nil {
		return
	}
	if direct {
		direct = s.flushing.Add(1) == 1
		defer s.flushing.Add(-1)
	}
	for i, p := range *w {
		if direct {
			p.flush()
		} else {
			p.kick()
		}
		(*w)[i] = nil
	}
	if cap(*w) > 1<<16 {
		return // let an outsized one go
	}
	*w = (*w)[:0]
	wakeLists.Put(w)
}

// register makes c a registered client: it queues WELCOME and the JOINED
// snapshot to c in one frame batch, then c's JOINED to everyone else, all
// under s.mu. The snapshot is a shared prefix of s.snap, so the O(N) part
// is queueing JOINED to the N peers. It returns the reason for a refusal,
// or ClosedUnknown.
//
// With sident set, c registers a nick held by its key (docs/PROTOCOL.md
// §2.6): it had WELCOME, said HELLO … keys and proved c.pub. It is queued
// SIDENT, the JOINED snapshot, then the CAPS and KEY snapshots; everyone
// else c's JOINED, then its CAPS (caps clients) and KEY (proved clients).
func (s *Server) register(c *conn, sident []byte) ClosedState {
	key := wire.FoldNick(c.nick)
	joined := wire.Encode(wire.Joined{Nick: c.nick, IP: c.ip, UDPPort: c.udpPort, TCPPort: c.tcpPort})
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ClosedShutdown
	}
	if _, taken := s.peers[key]; taken {
		s.mu.Unlock()
		return ClosedNicknameTaken
	}
	if s.snap == nil {
		n := len(s.welcome)
		for _, p := range s.list {
			n += len(p.joined)
		}
		s.snap = make([]byte, 0, max(n+len(joined), 4096))
		s.snap = append(s.snap, s.welcome...)
		for _, p := range s.list {
			s.snap = append(s.snap, p.joined...)
		}
	}
	c.key, c.joined, c.since = key, joined, s.cfg.Now()
	c.liveFrom = s.bid + 1
	var w *wakeList
	if sident == nil {
		c.send(s.snap[:len(s.snap):len(s.snap)], true)
		s.snap = append(s.snap, joined...) // never writes into c's prefix
		w = s.fanOut(joined)
		s.delivered.Add(uint64(len(s.list) + 1))
	} else {
		first := s.heldSnapshot(c, sident)
		s.snap = append(s.snap, joined...)
		c.send(first, true)
		s.delivered.Add(1)
		for _, p := range s.list {
			w = w.queue(p, &joined)
			s.delivered.Add(1)
			if p.caps {
				w = w.queue(p, &c.capsFrame)
				s.delivered.Add(1)
			}
			if p.proved {
				w = w.queue(p, &c.keyFrame)
				s.delivered.Add(1)
			}
		}
	}
	c.idx = len(s.list)
	s.list = append(s.list, c)
	s.peers[key] = c
	c.registered = true
	s.joins.Add(1)
	s.mu.Unlock()
	s.wake(w, false)
	return ClosedUnknown
}

// heldSnapshot marks c proved and returns what c hears when its held nick
// is granted: SIDENT, the JOINED snapshot, the CAPS snapshot (if c
// negotiated caps) and the KEY snapshot. s.mu must be held.
func (s *Server) heldSnapshot(c *conn, sident []byte) []byte {
	c.proved = true
	c.keyFrame = wire.Encode(wire.Key{Nick: c.nick, Key: c.pub.String()})
	b := wire.Encode(wire.ServerIdent{Sig: sident})
	b = append(b, s.snap[len(s.welcome):]...) // WELCOME was sent at PORT
	if c.caps {
		for _, p := range s.list {
			b = append(b, p.capsFrame...)
		}
	}
	for _, p := range s.list {
		b = append(b, p.keyFrame...)
	}
	return b
}

// prove records that registered client c proved c.pub: it queues c SIDENT
// and the KEY of every proved peer, and every other proved client c's KEY.
func (s *Server) prove(c *conn, sident []byte) {
	keyFrame := wire.Encode(wire.Key{Nick: c.nick, Key: c.pub.String()})
	first := wire.Encode(wire.ServerIdent{Sig: sident})
	var w *wakeList
	s.mu.Lock()
	if !c.registered {
		s.mu.Unlock()
		return
	}
	c.proved, c.keyFrame = true, keyFrame
	for _, p := range s.list {
		if p == c || !p.proved {
			continue
		}
		first = append(first, p.keyFrame...)
		w = w.queue(p, &keyFrame)
		s.delivered.Add(1)
	}
	c.send(first, true)
	s.delivered.Add(1)
	s.mu.Unlock()
	s.wake(w, false)
}

// holder returns the key that holds nick now (its binding was seen within
// NickHold), or the zero PublicIdentity.
func (s *Server) holder(nick string) identity.PublicIdentity {
	if !s.keys {
		return identity.PublicIdentity{}
	}
	b, ok, err := s.nicks.Lookup(nick)
	if err != nil {
		s.log.Error("nick database", "nick", nick, "err", err)
		return identity.PublicIdentity{}
	}
	if !ok || s.cfg.Now().Sub(b.Seen) >= s.cfg.NickHold {
		return identity.PublicIdentity{}
	}
	return b.Key
}

// bind records that c.pub holds c's nick, seen now.
func (s *Server) bind(c *conn) {
	if err := s.nicks.Bind(Binding{Nick: c.nick, Key: c.pub, Seen: s.cfg.Now()}); err != nil {
		c.logf(slog.LevelError, "nick database", "err", err)
	}
}

// leftAt records when c, if it held its nick by a key, was last connected.
// serve calls it once c is unregistered, before c.finished is closed, so a
// newcomer waiting for c to go (replaceGhost) finds the binding fresh.
func (s *Server) leftAt(c *conn) {
	if c.pub.IsZero() || !c.proved {
		return
	}
	if err := s.nicks.seen([]Binding{{Nick: c.nick, Key: c.pub, Seen: s.cfg.Now()}}); err != nil {
		c.logf(slog.LevelError, "nick database", "err", err)
	}
}

// touchHolders records that every registered holder of a nick is connected
// now, in one write.
func (s *Server) touchHolders() {
	now := s.cfg.Now()
	var bs []Binding
	s.mu.RLock()
	for _, p := range s.list {
		if p.proved {
			bs = append(bs, Binding{Nick: p.nick, Key: p.pub, Seen: now})
		}
	}
	s.mu.RUnlock()
	if err := s.nicks.seen(bs); err != nil {
		s.log.Error("nick database", "err", err)
	}
}

// unregister removes c from the registry and sends its LEFT to everyone who
// heard its JOINED; then it forgets the connection.
func (s *Server) unregister(c *conn) {
	var left []byte
	if c.registered {
		left = wire.Encode(wire.Left{Nick: c.nick})
	}
	var w *wakeList
	s.mu.Lock()
	defer func() { s.wake(w, false) }() // after the unlock
	defer s.mu.Unlock()
	if c.registered {
		c.registered = false
		last := len(s.list) - 1
		s.list[c.idx] = s.list[last]
		s.list[c.idx].idx = c.idx
		s.list[last] = nil
		s.list = s.list[:last]
		delete(s.peers, c.key)
		s.snap = nil
		w = s.fanOut(left)
		s.delivered.Add(uint64(len(s.list)))
		s.leaves.Add(1)
	}
	delete(s.conns, c)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
}

// broadcast relays text from c to every registered client, c included:
// BCAST to clients that negotiated it, BROADCAST "<nick>: <text>" to others.
// A signed broadcast (signed not nil, its signature checked) goes as SBCAST
// to keys clients. Each form is encoded once, when first needed.
func (s *Server) broadcast(c *conn, text string, signed *wire.SignedBroadcast) {
	base := wire.Encode(wire.Broadcast{Text: c.nick + ": " + text})
	s.mu.Lock()
	if !c.registered {
		s.mu.Unlock()
		return
	}
	s.seq++
	var v2, sv2 []byte
	var now time.Time
	var w *wakeList
	var k *kept
	if s.keys {
		now = s.cfg.Now()
		k = s.keep(c, s.seq, now, text, signed)
		base, v2, sv2 = k.base, k.v2, k.sv2
	}
	for _, p := range s.list {
		f := &base
		switch {
		case signed != nil && p.keys:
			if sv2 == nil {
				if now.IsZero() {
					now = s.cfg.Now()
				}
				sv2 = wire.Encode(wire.SignedBcast{Seq: s.seq, Time: now, From: c.nick, Sent: signed.Time, Sig: signed.Sig, Text: text})
			}
			f = &sv2
		case p.bcast:
			if v2 == nil {
				if now.IsZero() {
					now = s.cfg.Now()
				}
				v2 = wire.Encode(wire.Bcast{Seq: s.seq, Time: now, From: c.nick, Text: text})
			}
			f = &v2
		}
		if k != nil && p.replay && p.proved {
			w = w.queue(p, &k.bidFrame)
			s.delivered.Add(1)
		}
		w = w.queue(p, f)
	}
	s.delivered.Add(uint64(len(s.list)))
	s.broadcasts.Add(1)
	s.mu.Unlock()
	s.wake(w, true)
	if k != nil {
		s.wakeBcasts()
	}
}

// setFeatures records c's v2 features (for a client whose registration
// is not complete: nobody hears its CAPS yet).
func (s *Server) setFeatures(c *conn, feats []string) {
	caps := wire.Encode(wire.Caps{Nick: c.nick, Features: feats})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFeaturesLocked(c, feats, caps)
}

// setFeaturesLocked records c's v2 features and CAPS frame. s.mu must be
// held.
func (s *Server) setFeaturesLocked(c *conn, feats []string, caps []byte) {
	c.v2, c.feats, c.capsFrame = true, feats, caps
	for _, f := range feats {
		switch f {
		case wire.FeatureBcast:
			c.bcast = true
		case wire.FeatureCaps:
			c.caps = true
		case wire.FeatureNotice:
			c.notice = true
		case wire.FeatureHeartbeat:
			c.heartbeat = true
		case wire.FeatureKeys:
			c.keys = s.keys // a server without a key does not negotiate it
		case wire.FeatureRelay:
			c.relay = s.keys // as the keys feature: they need it
		case wire.FeatureMailbox:
			c.mailbox = s.keys
		case wire.FeatureReplay:
			c.replay = s.keys
		case wire.FeatureImages:
			c.img.on = true
		}
	}
	if c.img.on {
		c.send(s.imageLimit(), true) // see bfile.go
	}
}

// hello records c's v2 features, sends c the CAPS of every v2 peer and
// every CAPS client the CAPS of c.
func (s *Server) hello(c *conn, feats []string) {
	caps := wire.Encode(wire.Caps{Nick: c.nick, Features: feats})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFeaturesLocked(c, feats, caps)
	var snap []byte
	for _, p := range s.list {
		if p == c || !p.v2 {
			continue
		}
		if c.caps {
			snap = append(snap, p.capsFrame...)
		}
		if p.caps {
			p.send(caps, false)
			s.delivered.Add(1)
		}
	}
	if len(snap) > 0 {
		c.send(snap, true)
		s.delivered.Add(1)
	}
}
