package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/identity"
)

// conn is one client connection. Its serve goroutine (protocol.go) reads and
// handles frames for the connection's whole life. Writing follows ergo's
// socket model: send never blocks, it queues frames that were encoded once
// for all their recipients; a writer runs only while the queue holds
// something, so an idle connection holds one goroutine; a last frame
// (ERROR, NICKNAME_TAKEN) is flushed before the connection closes. The
// writer is one of the server's writerPool goroutines, or a lone broadcast
// itself (flush), and a goroutine of the connection's own (writeLoop) only
// while its socket is full.
//
// At most one goroutine writes to nc at a time: the one that set busy (the
// writer, or a flush). Whoever clears busy first looks at the queue again
// and starts a writer if anything is left, so nothing queued is forgotten.
type conn struct {
	s     *Server
	id    uint64
	nc    net.Conn
	raw   syscall.RawConn // nc's socket for writeNow; nil without fastWrite
	ip    netip.Addr
	start time.Time

	// Set by serve before registration; read-only afterwards.
	nick             string
	udpPort, tcpPort int

	// Guarded by s.mu.
	key        string
	joined     []byte // this client's JOINED frame
	capsFrame  []byte // this client's CAPS frame, after HELLO
	since      time.Time
	idx        int // position in s.list
	registered bool
	v2         bool
	feats      []string
	bcast      bool
	caps       bool
	notice     bool
	heartbeat  bool
	keys       bool                    // negotiated the keys feature (the server has an identity)
	proved     bool                    // proved pub with IDENT: gets KEY frames, may SBROADCAST
	pub        identity.PublicIdentity // the key proved; only serve writes it
	keyFrame   []byte                  // this client's KEY frame, once proved
	relay      bool                    // listed relay (with keys)
	mailbox    bool                    // listed mailbox (with keys)
	replay     bool                    // listed replay (with keys)
	liveFrom   uint64                  // the first broadcast id it gets live

	// Owned by serve: the SKEY challenge sent, and the key that holds the
	// nick asked for (zero if it is not held).
	nonce  []byte
	holder identity.PublicIdentity
	// relayLim is the sender's relay rate, made at its first RELAY.
	relayLim *rate.Limiter

	mbmu sync.Mutex
	mb   mailState // guarded by mbmu (mail.go)

	img imgState // pictures to Everyone (bfile.go)

	// alive, if set, is closed (and cleared) when serve next reads a frame.
	alive atomic.Pointer[chan struct{}]
	// lingerEnd is the end of a lingering close (Unix nanoseconds), or 0:
	// serve's frameReader never reads past it (frameReader.Latest).
	lingerEnd atomic.Int64

	qmu        sync.Mutex
	q          []*[]byte // frames shared with their other recipients: 8 bytes an entry
	qbytes     int
	busy       bool          // a goroutine owns writing to nc (the writer or a flush)
	closing    bool          // no more frames are queued
	flushClose bool          // the writer closes the conn once the queue is empty
	reason     ClosedState   // why the connection closed; the first one wins
	deadline   time.Time     // nc's write deadline; only the owner of busy uses it
	writerDone chan struct{} // closed when nothing will be written to nc any more
	finished   chan struct{} // closed when serve has cleaned up
}

// maxIdleQueue is the largest queue array (in frames) a connection keeps
// when its writer ends; a larger one, grown by a burst, is let go.
const maxIdleQueue = 8

func newConn(s *Server, nc net.Conn, id uint64, ip netip.Addr) *conn {
	c := &conn{
		s: s, id: id, nc: nc, ip: ip, start: time.Now(),
		writerDone: make(chan struct{}),
		finished:   make(chan struct{}),
	}
	if sc, ok := nc.(syscall.Conn); ok && fastWrite {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	return c
}

// logEnabled reports whether the server logs at level.
func (c *conn) logEnabled(level slog.Level) bool {
	return c.s.log.Enabled(context.Background(), level)
}

// logf logs msg with the connection's attributes (conn id, remote address,
// nick once known) followed by args. The attributes are made only when the
// level is enabled: an idle connection keeps no logger of its own.
func (c *conn) logf(level slog.Level, msg string, args ...any) {
	if !c.logEnabled(level) {
		return
	}
	attrs := make([]any, 0, 6+len(args))
	attrs = append(attrs, "conn", c.id, "remote", c.nc.RemoteAddr().String())
	if c.nick != "" {
		attrs = append(attrs, "nick", c.nick)
	}
	c.s.log.Log(context.Background(), level, msg, append(attrs, args...)...)
}

// send queues frame b, which the caller must never modify afterwards, and
// starts a writer if none is running. It never blocks. If the queue would
// exceed QueueBytes the connection is closed (ClosedQueueOverflow) and send
// returns false; force skips that check: a snapshot (JOINED, CAPS, KEY),
// sent once per connection and bounded by the registry's size, may be
// large, and may follow another still queued.
func (c *conn) send(b []byte, force bool) bool {
	ok, _ := c.enqueue(&b, force)
	if ok {
		c.kick()
	}
	return ok
}

// enqueue is send without starting a writer: it reports whether b was queued
// and whether the caller must then call flush or kick (the queue was empty
// and nobody is writing). Fan-outs enqueue under s.mu and write after; they
// queue one *[]byte for all recipients.
func (c *conn) enqueue(f *[]byte, force bool) (ok, wake bool) {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		return false, false
	}
	if c.qbytes+len(*f) > c.s.cfg.QueueBytes && !force {
		c.qmu.Unlock()
		c.closeNow(ClosedQueueOverflow)
		return false, false
	}
	wake = len(c.q) == 0 && !c.busy // otherwise someone was told already
	c.q = append(c.q, f)
	c.qbytes += len(*f)
	c.qmu.Unlock()
	return true, wake
}

// claim makes the caller the owner of nc's write side if nobody owns it and
// there is something to do (frames queued, or closing); the caller must then
// hand c to a writer (writerPool.start). c.qmu must be held.
func (c *conn) claim() bool {
	if c.busy || len(c.q) == 0 && !c.closing {
		return false
	}
	c.busy = true
	return true
}

// kick starts a writer if frames are queued and nobody is writing.
func (c *conn) kick() {
	c.qmu.Lock()
	start := c.claim()
	c.qmu.Unlock()
	if start {
		c.s.writers.start(c)
	}
}

// flush writes a queue of one frame from the caller's goroutine with one
// non-blocking write, unless someone is writing already; whatever it cannot
// write at once (a longer queue, a full socket buffer, a passed write
// deadline) is left to a writer, which it starts (writerPool.start). So it
// never blocks, and frames keep their order: only the owner of busy writes
// to nc.
func (c *conn) flush() {
	c.qmu.Lock()
	if c.busy {
		c.qmu.Unlock()
		return // the owner will look at the queue again
	}
	if len(c.q) != 1 || c.closing || c.raw == nil {
		start := c.claim()
		c.qmu.Unlock()
		if start {
			c.s.writers.start(c)
		}
		return
	}
	b := *c.q[0]
	c.q[0] = nil
	c.q = c.q[:0]
	c.qbytes -= len(b)
	c.busy = true
	c.qmu.Unlock()

	n, err := writeNow(c.raw, b)
	c.s.bytesOut.Add(uint64(n))
	if err != nil && isReset(err) {
		c.closeNow(ClosedReset) // busy is ours: the writer started below finishes
	}
	c.qmu.Lock()
	if err != nil && n < len(b) && !c.closing {
		// Put the rest back in front for the writer, which will wait for
		// the socket, refresh the deadline or see the error itself.
		rest := b[n:]
		c.q = append(c.q, nil)
		copy(c.q[1:], c.q)
		c.q[0] = &rest
		c.qbytes += len(b) - n
	}
	c.busy = false
	start := c.claim()
	c.qmu.Unlock()
	if start {
		c.s.writers.start(c)
	}
}

// closeNow closes the connection at once, dropping whatever is queued.
func (c *conn) closeNow(reason ClosedState) {
	c.qmu.Lock()
	if c.reason == ClosedUnknown {
		c.reason = reason
	}
	c.closing = true
	c.flushClose = false
	// Nobody writes: finish here. Otherwise the owner finishes.
	finish := !c.busy
	if finish {
		c.busy = true // for good: nothing is written any more
		c.q, c.qbytes = nil, 0
	}
	c.qmu.Unlock()
	c.nc.Close()
	if finish {
		close(c.writerDone)
	}
}

// closeAfter queues final (if not nil), then closes the connection once the
// queue has drained (each write bounded by WriteTimeout).
func (c *conn) closeAfter(reason ClosedState, final []byte) {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		return
	}
	if c.reason == ClosedUnknown {
		c.reason = reason
	}
	c.closing = true
	c.flushClose = true
	if final != nil {
		c.q = append(c.q, &final)
		c.qbytes += len(final)
	}
	start := c.claim()
	c.qmu.Unlock()
	if start {
		c.s.writers.start(c)
	}
}

// lingerClose ends a connection whose last frame has been written: it
// sends FIN but keeps reading for up to closeLinger, so the client gets that
// frame even if it was still sending (closing a socket with unread input
// sends RST, which can destroy the client's unread data). Without TCP it
// just closes.
func (c *conn) lingerClose() {
	tc, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || tc.CloseWrite() != nil {
		c.nc.Close()
		return
	}
	end := time.Now().Add(closeLinger)
	c.lingerEnd.Store(end.UnixNano()) // before the deadline: see frameReader.Latest
	c.nc.SetReadDeadline(end)
}

// closeReason returns the reason recorded for closing, or ClosedUnknown.
func (c *conn) closeReason() ClosedState {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.reason
}

// writeLoop is a dedicated writer goroutine: its caller has claimed busy.
// It writes everything queued, waiting for the socket when it is full, and
// ends as drain does.
func (c *conn) writeLoop() { c.drain(false) }

// drain writes everything queued, several frames per write when several are
// queued. Its caller has claimed busy. It returns when the queue is empty
// (clearing busy), or, when the connection is closing, once nothing more will
// be written (closing writerDone). With shared set (a writerPool worker) it
// never waits for a full socket: it leaves what is left to a dedicated
// writer goroutine, which it starts.
func (c *conn) drain(shared bool) {
	var batch []*[]byte
	for {
		c.qmu.Lock()
		if c.closing && !c.flushClose {
			c.q, c.qbytes = nil, 0
			c.qmu.Unlock()
			close(c.writerDone) // busy stays set: nobody writes any more
			return
		}
		if len(c.q) == 0 {
			if c.closing { // flushClose: the last frame is out
				c.qmu.Unlock()
				c.lingerClose()
				close(c.writerDone)
				return
			}
			c.busy = false
			if cap(c.q) > maxIdleQueue {
				c.q = nil
			}
			c.qmu.Unlock()
			return
		}
		batch, c.q = c.q, batch[:0]
		n := c.qbytes
		c.qbytes = 0
		c.qmu.Unlock()

		// Setting a deadline costs a timer update; refresh it only when
		// less than 3/4 of WriteTimeout is left, so a write always has
		// at least that long.
		if now := time.Now(); c.deadline.Sub(now) < c.s.cfg.WriteTimeout*3/4 {
			c.deadline = now.Add(c.s.cfg.WriteTimeout)
			c.nc.SetWriteDeadline(c.deadline)
		}
		rest, off, err := c.writeBatch(batch, shared)
		if err == errWouldBlock { // shared: hand the rest over
			left := len(*rest[0]) - off
			for _, f := range rest[1:] {
				left += len(*f)
			}
			first := (*rest[0])[off:]
			c.qmu.Lock()
			q := make([]*[]byte, 0, len(rest)+len(c.q))
			q = append(append(append(q, &first), rest[1:]...), c.q...)
			c.q = q
			c.qbytes += left
			c.qmu.Unlock()
			c.s.bytesOut.Add(uint64(n - left))
			go c.writeLoop() // busy passes to it
			return
		}
		clear(batch)
		if cap(batch) > 64 {
			batch = nil
		}
		if err != nil {
			reason := ClosedWriteFailed
			switch {
			case isTimedOut(err):
				reason = ClosedTimedOut
			case isTimeout(err):
				reason = ClosedWriteTimeout
			case isReset(err):
				reason = ClosedReset
			}
			c.closeNow(reason) // busy is ours: the next round ends the writer
			continue
		}
		c.s.bytesOut.Add(uint64(n))
	}
}

// writeBufSize is the size of the pooled buffers in which writeBatch
// gathers small frames; a frame over a quarter of it is written as it is.
const writeBufSize = 16 << 10

var writeBufs = sync.Pool{New: func() any { return new([writeBufSize]byte) }}

// writeBatch writes frames to nc in order, in as few writes as it can: small
// frames are copied together into a pooled buffer, large ones written as
// they are. (Not net.Buffers: writev's iovec array is kept by the poller
// per connection at the largest size it reached, up to 16 KiB each.) With
// fastWrite the writes are non-blocking and the pooled buffer is not held
// while waiting for a slow client's socket to drain, so that slow clients
// hold no more memory than their queued frames. With noWait set, it returns
// errWouldBlock instead of waiting, with the frames not written yet and the
// bytes of the first of them that were.
func (c *conn) writeBatch(batch []*[]byte, noWait bool) (rest []*[]byte, off int, err error) {
	if len(batch) == 1 && c.raw == nil {
		_, err := c.nc.Write(*batch[0])
		return nil, 0, err
	}
	pooled := writeBufs.Get().(*[writeBufSize]byte)
	defer writeBufs.Put(pooled)
	for len(batch) > 0 {
		buf, i := (*batch[0])[off:], 1 // a large frame goes as it is
		if len(buf) <= writeBufSize/4 {
			buf = append(pooled[:0], buf...)
			for ; i < len(batch) && len(*batch[i]) <= writeBufSize/4 && len(buf)+len(*batch[i]) <= writeBufSize; i++ {
				buf = append(buf, *batch[i]...)
			}
		}
		if c.raw == nil {
			if _, err := c.nc.Write(buf); err != nil {
				return nil, 0, err
			}
			batch, off = batch[i:], 0
			continue
		}
		n, err := writeNow(c.raw, buf)
		batch, off = advance(batch, off, n)
		if err == errWouldBlock {
			if noWait {
				return batch, off, err
			}
			err = waitWritable(c.raw) // bounded by the write deadline
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return nil, 0, nil
}

// advance moves past n more bytes of the frames in batch, of which off
// bytes of the first were written before, and returns the frames left and
// the bytes of the first of them written. The frames are not modified: they
// are shared with other recipients.
func advance(batch []*[]byte, off, n int) ([]*[]byte, int) {
	off += n
	for len(batch) > 0 && off >= len(*batch[0]) {
		off -= len(*batch[0])
		batch = batch[1:]
	}
	return batch, off
}

// isReset reports whether err says the client reset the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// isTimedOut reports whether err says the kernel gave up on the
// connection (TCP keepalive or retransmission timeout: ETIMEDOUT). Such an
// error also reports Timeout() == true, so check it before isTimeout.
func isTimedOut(err error) bool { return errors.Is(err, syscall.ETIMEDOUT) }

// isTimeout reports whether err is a deadline (or other timeout) error.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
