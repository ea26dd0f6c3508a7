package client

import (
	"net"
	"os"
	"sync"
	"time"

	"peerchat/core/e2e"
	"peerchat/core/wire"
)

// writeTimeout bounds one write on a server or chat socket; closeTimeout
// bounds the last flush before a socket is closed on purpose.
const (
	writeTimeout = 10 * time.Second
	closeTimeout = time.Second
)

// link is the sending half of a framed TCP connection: callers append frames
// to an unbounded buffer without blocking, and one writer goroutine writes
// them out in batches. The receiving half is a wire.Reader owned by one
// reader goroutine of the Client. link is safe for concurrent use.
type link struct {
	conn net.Conn
	// written, when set, is called by the writer goroutine (without locks
	// held) with the ids of messages whose bytes were handed to the kernel.
	written func(ids []uint64)
	// sess, when set (before run starts), seals every frame: an encrypted chat.
	sess *e2e.Session

	mu      sync.Mutex
	out     []byte
	ends    []int // with sess: out holds bare payloads, each ending at ends[i]
	ids     []uint64
	closing bool // close once out is flushed
	closed  bool
	// halfClose: a close once flushed only shuts our sending side; the
	// reader closes the socket at the peer's end (the server link).
	halfClose bool
	drained   chan struct{} // closed by the writer after a write, if not nil (waitBacklog)
	wake      chan struct{}
	done      chan struct{}
}

// backlog returns how many bytes are queued and not yet handed to the
// writer goroutine.
func (l *link) backlog() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.out)
}

// waitBacklog waits until at most max bytes are queued, the link is
// closed (ErrNotConnected), or d passed (os.ErrDeadlineExceeded). It must
// not be called with locks held that the link's writer needs.
func (l *link) waitBacklog(max int, d time.Duration) error {
	var t *time.Timer
	for {
		l.mu.Lock()
		if l.closing || l.closed {
			l.mu.Unlock()
			return ErrNotConnected
		}
		if len(l.out) <= max {
			l.mu.Unlock()
			return nil
		}
		if l.drained == nil {
			l.drained = make(chan struct{})
		}
		ch := l.drained
		l.mu.Unlock()
		if t == nil {
			t = time.NewTimer(d)
			defer t.Stop()
		}
		select {
		case <-ch:
		case <-l.done:
			return ErrNotConnected
		case <-t.C:
			return os.ErrDeadlineExceeded
		}
	}
}

func newLink(conn net.Conn, written func([]uint64)) *link {
	return &link{conn: conn, written: written, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// send queues m as one frame; id, if non-zero, is reported to written once
// the frame is written. It never blocks and reports false if the link is
// closing. (A function, not a method, so that m is not boxed.)
func send[M wire.Message](l *link, m M, id uint64) bool {
	l.mu.Lock()
	if l.closing || l.closed {
		l.mu.Unlock()
		return false
	}
	if l.sess != nil { // sealed by the writer goroutine, off the callers' locks
		l.out = m.AppendPayload(l.out)
		l.ends = append(l.ends, len(l.out))
	} else {
		l.out = wire.AppendMessage(l.out, m)
	}
	if id != 0 {
		l.ids = append(l.ids, id)
	}
	l.mu.Unlock()
	l.signal()
	return true
}

// send queues m; see send.
func (l *link) send(m wire.Message, id uint64) bool { return send(l, m, id) }

// closeAfter queues m (if not nil), then closes the connection once
// everything queued has been written (or closeTimeout passed).
func (l *link) closeAfter(m wire.Message) {
	l.mu.Lock()
	if !l.closing && !l.closed {
		switch {
		case m == nil:
		case l.sess != nil:
			l.out = m.AppendPayload(l.out)
			l.ends = append(l.ends, len(l.out))
		default:
			l.out = wire.AppendMessage(l.out, m)
		}
		l.closing = true
	}
	l.mu.Unlock()
	l.signal()
}

// close closes the connection at once, dropping anything unwritten.
func (l *link) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.conn.Close()
	l.signal()
}

func (l *link) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run is the writer goroutine. It returns once the link is closed.
func (l *link) run() {
	defer close(l.done)
	graceful := false
	defer func() {
		if graceful && l.halfClose {
			// Our side is done: say so (FIN) and let the reader see the
			// peer's end, which closes the socket; a close with data
			// still unread would reset it, and the peer could lose what
			// we wrote last.
			if hc, ok := l.conn.(interface{ CloseWrite() error }); ok && hc.CloseWrite() == nil {
				return
			}
		}
		l.conn.Close()
	}()
	var buf, sealed []byte
	var ids []uint64
	var ends []int
	for range l.wake {
		for {
			l.mu.Lock()
			buf, l.out = l.out, buf[:0]
			ids, l.ids = l.ids, ids[:0]
			ends, l.ends = l.ends, ends[:0]
			closing, closed := l.closing, l.closed
			if l.drained != nil {
				close(l.drained)
				l.drained = nil
			}
			l.mu.Unlock()
			if closed {
				return
			}
			if len(buf) == 0 {
				if closing {
					graceful = true
					return
				}
				break
			}
			if l.sess != nil {
				var err error
				if sealed, err = l.seal(sealed[:0], buf, ends); err != nil {
					l.mu.Lock()
					l.closed = true
					l.mu.Unlock()
					return
				}
				buf, sealed = sealed, buf
			}
			d := writeTimeout
			if closing {
				d = closeTimeout
			}
			l.conn.SetWriteDeadline(time.Now().Add(d))
			if _, err := l.conn.Write(buf); err != nil {
				l.mu.Lock()
				l.closed = true
				l.mu.Unlock()
				return
			}
			if len(ids) > 0 && l.written != nil {
				l.written(ids)
			}
		}
	}
}

// seal appends to dst the E2E frames of the payloads in buf, the i-th
// ending at ends[i].
func (l *link) seal(dst, buf []byte, ends []int) ([]byte, error) {
	start := 0
	for _, end := range ends {
		var err error
		if dst, err = l.sess.Seal(dst, buf[start:end]); err != nil {
			return dst, err
		}
		start = end
	}
	return dst, nil
}
