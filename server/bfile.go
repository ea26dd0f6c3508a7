package server

import (
	"log/slog"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/transfer"
	"peerchat/core/wire"
)

// Pictures to Everyone (docs/PROTOCOL.md §2.10). A client that listed
// images posts a picture with BIMG_POST, BIMG_DATA chunks and BIMG_END.
// The server assembles nothing: it streams each chunk, as it comes, to the
// images clients registered when the post began (BIMG under a server id,
// then BIMG_DATA), on their ordinary queues but, like relayed frames, only
// while a queue holds less than relayShare bytes: a recipient that falls
// behind is dropped from that picture (BIMG_DROP overflow, queued even over
// the bound, as it is tiny and comes once) and never closed for it. So a
// post costs the server one chunk of memory per recipient at most on top of
// what the queues hold anyway, whatever the picture's size, and a slow
// client slows nobody. The sender is paced by its relay byte rate
// (RelayRate, RelayBurst): the server stops reading it until its tokens
// come (TCP pushes back), instead of refusing. A post counts as one
// broadcast against the broadcast rate, and one post per client is under
// way at a time.
//
// At BIMG_END the picture takes its place among the broadcasts, under
// s.mu: it gets the next broadcast sequence number; its recipients get
// BIMG_END <id> <seq>, the sender BIMG_OK <fid> <seq>, and every other
// client (base, v2 without images, images clients that registered during
// the post) the text line "posted a picture: <name>" from the sender as a
// broadcast of the form it gets. With replay only that text line is kept
// (and given a BID, sent before BIMG_END and BIMG_OK to replay clients
// too): a client that missed a picture hears of it, but the server keeps
// no picture.

// imgState is a connection's part of the images feature.
type imgState struct {
	on   bool     // listed images in HELLO; guarded by s.mu like the other features
	post *imgPost // the post under way; only serve touches it
}

// imgPost is a post under way.
type imgPost struct {
	fid, sid string // the sender's id, and the server's for the recipients
	name     string // sanitised
	size     int64
	off      int64   // the bytes forwarded so far
	recips   []*conn // the recipients still getting it
	dropped  map[*conn]bool
}

// imageText is the text line that stands for a picture for clients that do
// not get it.
func imageText(name string) string { return "posted a picture: " + name }

// imagePost starts c's post m, or refuses it with BIMG_FAIL.
func (c *conn) imagePost(m wire.ImagePost, lim *rate.Limiter) {
	s := c.s
	fail := ""
	switch {
	case c.img.post != nil:
		fail = wire.ImageBusy
	case m.Size > s.cfg.ImageBytes:
		fail = wire.ImageTooLarge
	case !wire.IsImageType(m.MIME):
		fail = wire.ImageBad
	case !lim.Allow():
		fail = wire.ImageRateLimited
	}
	if fail != "" {
		c.imageFail(m.ID, fail)
		return
	}
	s.mu.Lock()
	if !c.registered {
		s.mu.Unlock()
		return
	}
	s.imgSeq++
	p := &imgPost{fid: m.ID, sid: strconv.FormatUint(s.imgSeq, 10), name: transfer.SanitizeName(m.Name), size: m.Size}
	head := wire.Encode(wire.Image{ID: p.sid, From: c.nick, Time: s.cfg.Now(), Size: m.Size, SHA256: m.SHA256, MIME: m.MIME, Name: p.name})
	for _, r := range s.list {
		if r != c && r.img.on {
			p.recips = append(p.recips, r)
		}
	}
	s.mu.Unlock()
	c.img.post = p
	if !c.imageForward(head) {
		c.imageAbort("")
		return
	}
	c.logf(slog.LevelDebug, "image post", "fid", m.ID, "id", p.sid, "size", m.Size, "recipients", len(p.recips))
}

// imageData forwards a chunk of c's post, after waiting for c's relay
// tokens.
func (c *conn) imageData(m wire.ImageData) {
	s := c.s
	p := c.img.post
	if p == nil || p.fid != m.ID {
		c.refuse(NoticeBadCommand, "image data without its post")
		return
	}
	n := wire.ImageDataLen(m.Data)
	if m.Offset != p.off || n > p.size-p.off {
		c.imageAbort(wire.ImageBad)
		return
	}
	frame := wire.Encode(wire.ImageData{ID: p.sid, Offset: m.Offset, Data: m.Data})
	if len(frame)-wire.HeaderLen > s.cfg.PayloadLimit {
		c.imageAbort(wire.ImageTooLong)
		return
	}
	if !c.imageWait(len(frame)) {
		return // shutting down
	}
	p.off += n
	if !c.imageForward(frame) {
		c.imageAbort("")
	}
}

// imageEnd publishes c's post, complete, in the order of broadcasts.
func (c *conn) imageEnd(m wire.ImageEnd) {
	s := c.s
	p := c.img.post
	if p == nil || p.fid != m.ID || m.Seq != 0 {
		c.refuse(NoticeBadCommand, "image end without its post")
		return
	}
	if p.off != p.size {
		c.imageAbort(wire.ImageBad)
		return
	}
	c.img.post = nil
	text := imageText(p.name)
	s.mu.Lock()
	if !c.registered {
		s.mu.Unlock()
		return
	}
	s.seq++
	seq := s.seq
	now := s.cfg.Now()
	var k *kept
	if s.keys {
		k = s.keep(c, seq, now, text, nil)
	} else {
		k = &kept{seq: seq, time: now, from: c.nick, text: text}
		k.base = wire.Encode(wire.Broadcast{Text: c.nick + ": " + text})
		k.v2 = wire.Encode(wire.Bcast{Seq: seq, Time: now, From: c.nick, Text: text})
	}
	end := wire.Encode(wire.ImageEnd{ID: p.sid, Seq: seq})
	ok := wire.Encode(wire.ImageOK{ID: p.fid, Seq: seq})
	got := make(map[*conn]bool, len(p.recips))
	for _, r := range p.recips {
		got[r] = true
	}
	var w *wakeList
	for _, r := range s.list {
		if p.dropped[r] {
			continue // it was told the picture will not come
		}
		if s.keys && r.replay && r.proved {
			w = w.force(r, &k.bidFrame)
		}
		switch {
		case r == c:
			w = w.force(r, &ok)
		case got[r]:
			w = w.force(r, &end)
		default:
			w = w.queue(r, k.frameFor(r))
		}
		s.delivered.Add(1)
	}
	s.broadcasts.Add(1)
	s.images.Add(1)
	s.mu.Unlock()
	s.wake(w, false)
	if s.keys {
		s.wakeBcasts()
	}
}

// force queues b to p even over QueueBytes (a small frame, once per
// picture: never a reason to close p), and adds p to w if p needs waking.
func (w *wakeList) force(p *conn, f *[]byte) *wakeList {
	if _, wake := p.enqueue(f, true); wake {
		if w == nil {
			w = wakeLists.Get().(*wakeList)
		}
		*w = append(*w, p)
	}
	return w
}

// imageStall bounds how long one chunk of a post waits for a recipient
// whose queue holds relayShare bytes already before that recipient is
// dropped from the picture (at most half of WriteTimeout, so that a stuck
// recipient is dropped from the picture before it is closed for it);
// it looks again after imagePollMin, then twice as long each time up to
// imagePollMax: soon for a recipient that drains quickly, seldom for one
// that is stuck.
const (
	imageStall   = 2 * time.Second
	imagePollMin = 50 * time.Microsecond
	imagePollMax = 4 * time.Millisecond
)

// imageForward queues frame to every recipient of c's post. A recipient
// whose queue holds relayShare bytes already is waited for (the sender is
// not read meanwhile: it goes at the pace of its slowest recipient) up to
// imageStall, then dropped from the picture. It reports false if the
// server shuts down meanwhile.
func (c *conn) imageForward(frame []byte) bool {
	s := c.s
	p := c.img.post
	share := s.relayShare()
	pending := p.recips
	p.recips = make([]*conn, 0, len(pending))
	var deadline time.Time
	var t *time.Timer
	poll := imagePollMin
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		rest := pending[:0]
		for _, r := range pending {
			switch {
			case r.offer(frame, share):
				p.recips = append(p.recips, r)
				s.delivered.Add(1)
				r.kick()
			case r.isClosing():
				// Gone: it hears nothing more.
			case !deadline.IsZero() && time.Now().After(deadline):
				c.imageDrop(p, r, wire.ImageOverflow)
			default:
				rest = append(rest, r)
			}
		}
		clear(pending[len(rest):])
		pending = rest
		if len(pending) == 0 {
			return true
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(min(imageStall, s.cfg.WriteTimeout/2))
		}
		if t == nil {
			t = time.NewTimer(poll)
		} else {
			t.Reset(poll)
		}
		poll = min(2*poll, imagePollMax)
		select {
		case <-t.C:
		case <-s.done:
			p.recips = append(p.recips, pending...) // told by imageAbort
			return false
		}
	}
}

// isClosing reports whether c takes no more frames.
func (c *conn) isClosing() bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.closing
}

// imageDrop tells r that picture p will not come.
func (c *conn) imageDrop(p *imgPost, r *conn, reason string) {
	if p.dropped == nil {
		p.dropped = make(map[*conn]bool)
	}
	p.dropped[r] = true
	c.s.imageDrops.Add(1)
	if r.send(wire.Encode(wire.ImageDrop{ID: p.sid, Reason: reason}), true) {
		c.s.delivered.Add(1)
	}
	r.logf(slog.LevelDebug, "image dropped", "id", p.sid, "reason", reason)
}

// imageAbort ends c's post: BIMG_FAIL to c (reason), BIMG_DROP cancelled
// to its recipients.
func (c *conn) imageAbort(reason string) {
	p := c.img.post
	if p == nil {
		return
	}
	c.img.post = nil
	for _, r := range p.recips {
		c.imageDrop(p, r, wire.ImageCancelled)
	}
	if reason != "" {
		c.imageFail(p.fid, reason)
	}
}

// imageFail answers BIMG_FAIL for c's post fid.
func (c *conn) imageFail(fid, reason string) {
	c.s.countDropped(reason)
	c.logf(slog.LevelDebug, "image refused", "fid", fid, "reason", reason)
	if c.send(wire.Encode(wire.ImageFail{ID: fid, Reason: reason}), false) {
		c.s.delivered.Add(1)
	}
}

// imageWait takes n bytes of c's relay tokens, waiting for them if need
// be; false if the server shuts down meanwhile.
func (c *conn) imageWait(n int) bool {
	s := c.s
	if c.relayLim == nil {
		c.relayLim = rate.NewLimiter(s.cfg.RelayRate, s.cfg.RelayBurst)
	}
	r := c.relayLim.ReserveN(s.cfg.Now(), n)
	if !r.OK() {
		return true // n above the burst: cannot happen (burst ≥ payload limit)
	}
	d := r.DelayFrom(s.cfg.Now())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// imageLimit is the BIMG_LIMIT frame sent to a client that listed images.
func (s *Server) imageLimit() []byte {
	return wire.Encode(wire.ImageLimit{Bytes: s.cfg.ImageBytes})
}
