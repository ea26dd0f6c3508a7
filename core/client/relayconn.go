package client

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"peerchat/core/wire"
)

// relayConn is one chat stream through the server (docs/PROTOCOL.md §2.7)
// dressed as a net.Conn, so that everything a direct chat runs on a socket
// (the first frame, the Noise handshake, the link's writer, the chat's
// reader) runs on it unchanged. Each frame written becomes one
// RELAY <peer> <chan> <payload> on the server link; each RELAYED for the
// stream becomes one frame to read. It lives as long as the server link it
// was made on: a reconnection breaks it (ErrNotConnected), as does a
// RELAY_FAIL (a *RelayError).
//
// One goroutine reads and one writes, as on a socket; Close, deliver and
// fail may come from any goroutine.
type relayConn struct {
	c    *Client
	srv  *link  // the server link the stream runs on
	peer string // the peer's nick as the server lists it
	key  string // the stream's key in Client.relays
	id   string // <chan>

	wbuf []byte // a partial frame written, waiting for its end (writer only)

	mu       sync.Mutex
	in       []byte // frames received, not yet read
	off      int    // in[off:] is unread
	err      error  // the stream is over: Read returns it once in is drained
	closed   bool
	deadline time.Time
	wake     chan struct{} // 1-buffered: in, err, closed or deadline changed
}

// relayInMax bounds the frames received on one stream and not yet read:
// the chat's reader keeps up with the server's relay rate, so a stream
// that falls this far behind is broken rather than left to grow.
const relayInMax = 8 << 20

// relayBacklog is how many bytes the server link may hold unwritten before
// a relayed stream's writer waits: relayed chats never make the server
// link's buffer grow without bound, and a chat write cannot starve the
// link's own frames for long.
const relayBacklog = 1 << 20

// relayOverhead is what a RELAYED frame adds to the data it carries, at
// most (its verb, a nick of 32 four-byte characters, the stream's name),
// as the server counts it against the relay rate.
const relayOverhead = len("RELAYED  ") + 4*32 + 1 + 32

// relayKey is the key of a stream in Client.relays: the peer's folded nick
// and the stream's name.
func relayKey(fold, id string) string { return fold + " " + id }

// newRelay registers a stream to peer named id on the current server link.
// The caller holds c.mu; c.srv is not nil.
func (c *Client) newRelay(peer, id string) *relayConn {
	rc := &relayConn{c: c, srv: c.srv, peer: peer, key: relayKey(foldKey(peer), id), id: id, wake: make(chan struct{}, 1)}
	c.rmu.Lock()
	old := c.relays[rc.key]
	c.relays[rc.key] = rc
	c.rmu.Unlock()
	if old != nil {
		old.fail(net.ErrClosed)
	}
	return rc
}

// relayed hands a RELAYED frame to its stream; it reports false when no
// stream has that key. The caller holds c.mu.
func (c *Client) relayed(m wire.Relayed) bool {
	c.rmu.Lock()
	rc := c.relays[relayKey(foldKey(m.From), m.Chan)]
	c.rmu.Unlock()
	if rc == nil {
		return false
	}
	rc.deliver(m.Data)
	return true
}

// relayFailed breaks the stream a RELAY_FAIL names. The caller holds c.mu.
func (c *Client) relayFailed(m wire.RelayFail) {
	key := relayKey(foldKey(m.To), m.Chan)
	c.rmu.Lock()
	rc := c.relays[key]
	delete(c.relays, key)
	c.rmu.Unlock()
	if rc != nil {
		rc.fail(&RelayError{Peer: m.To, Reason: m.Reason})
	}
}

// dropRelays breaks every stream of server link l, which is gone. The
// caller holds c.mu.
func (c *Client) dropRelays(l *link) {
	c.rmu.Lock()
	var gone []*relayConn
	for key, rc := range c.relays {
		if rc.srv == l {
			delete(c.relays, key)
			gone = append(gone, rc)
		}
	}
	c.rmu.Unlock()
	for _, rc := range gone {
		rc.fail(fmt.Errorf("relay to %q: %w", rc.peer, ErrNotConnected))
	}
}

// deliver appends one received payload as a frame. Never blocks.
func (rc *relayConn) deliver(data string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.closed || rc.err != nil {
		return
	}
	if len(rc.in)-rc.off+wire.HeaderLen+len(data) > relayInMax {
		rc.err = fmt.Errorf("relay from %q: %w: the chat fell %d bytes behind", rc.peer, ErrRelay, relayInMax)
	} else {
		rc.in = wire.AppendHeader(rc.in, len(data))
		rc.in = append(rc.in, data...)
	}
	rc.signal()
}

// fail ends the stream with err: Read returns it once what was received
// is read, Write at once. Never blocks.
func (rc *relayConn) fail(err error) {
	rc.mu.Lock()
	if rc.err == nil {
		rc.err = err
	}
	rc.mu.Unlock()
	rc.signal()
}

func (rc *relayConn) signal() {
	select {
	case rc.wake <- struct{}{}:
	default:
	}
}

// Read reads received frames' bytes.
func (rc *relayConn) Read(b []byte) (int, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		rc.mu.Lock()
		switch {
		case rc.closed:
			rc.mu.Unlock()
			return 0, net.ErrClosed
		case rc.off < len(rc.in):
			n := copy(b, rc.in[rc.off:])
			rc.off += n
			if rc.off == len(rc.in) {
				rc.in, rc.off = rc.in[:0], 0
			}
			rc.mu.Unlock()
			return n, nil
		case rc.err != nil:
			err := rc.err
			rc.mu.Unlock()
			return 0, err
		}
		dl := rc.deadline
		rc.mu.Unlock()
		var expired <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			expired = timer.C
		}
		select {
		case <-rc.wake:
		case <-expired:
		}
	}
}

// Write sends every complete frame in b as a RELAY; a partial frame waits
// for its end in the next Write. It waits while the server link holds
// relayBacklog bytes unwritten, up to the write deadline.
func (rc *relayConn) Write(b []byte) (int, error) {
	rc.mu.Lock()
	err := rc.err
	if rc.closed {
		err = net.ErrClosed
	}
	rc.mu.Unlock()
	if err != nil {
		return 0, err
	}
	rc.wbuf = append(rc.wbuf, b...)
	rest := rc.wbuf
	for len(rest) >= wire.HeaderLen {
		n, err := wire.ParseHeader(rest[:wire.HeaderLen])
		if err != nil {
			return 0, err
		}
		if int64(len(rest)-wire.HeaderLen) < n {
			break
		}
		if err := rc.srv.waitBacklog(relayBacklog, writeTimeout); err != nil {
			return 0, fmt.Errorf("relay to %q: %w", rc.peer, err)
		}
		if err := rc.c.relayPace.WaitN(rc.c.ctx, min(int(n)+relayOverhead, relayPaceBurst)); err != nil {
			return 0, fmt.Errorf("relay to %q: %w", rc.peer, ErrClosed)
		}
		p := rest[wire.HeaderLen : wire.HeaderLen+int(n)]
		if !send(rc.srv, wire.Relay{To: rc.peer, Chan: rc.id, Data: string(p)}, 0) {
			return 0, fmt.Errorf("relay to %q: %w", rc.peer, ErrNotConnected)
		}
		rest = rest[wire.HeaderLen+int(n):]
	}
	rc.wbuf = append(rc.wbuf[:0], rest...)
	return len(b), nil
}

// Close ends the stream on our side: nothing is said to the peer (a chat
// says LEFT_CHAT before closing, on purpose), and its frames that still
// come are dropped. It takes Client.rmu, never Client.mu: a link closes
// its conn with c.mu held.
func (rc *relayConn) Close() error {
	rc.mu.Lock()
	already := rc.closed
	rc.closed = true
	rc.mu.Unlock()
	rc.signal()
	if !already {
		rc.c.rmu.Lock()
		if rc.c.relays[rc.key] == rc {
			delete(rc.c.relays, rc.key)
		}
		rc.c.rmu.Unlock()
	}
	return nil
}

func (rc *relayConn) SetReadDeadline(t time.Time) error {
	rc.mu.Lock()
	rc.deadline = t
	rc.mu.Unlock()
	rc.signal()
	return nil
}

func (rc *relayConn) SetDeadline(t time.Time) error { return rc.SetReadDeadline(t) }
func (*relayConn) SetWriteDeadline(time.Time) error { return nil }
func (rc *relayConn) LocalAddr() net.Addr           { return relayAddr("") }
func (rc *relayConn) RemoteAddr() net.Addr          { return relayAddr(rc.peer) }

// relayAddr is the address of the far end of a relayed stream: a nick on
// the server.
type relayAddr string

func (relayAddr) Network() string  { return "peerchat-relay" }
func (a relayAddr) String() string { return string(a) }
