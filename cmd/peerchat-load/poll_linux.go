package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"peerchat/core/wire"
)

// pollSupported reports whether this system has the epoll reader.
const pollSupported = true

// Sizes of the epoll reader.
const (
	// pollEvents is how many ready connections one epoll_wait returns at most.
	pollEvents = 256
	// pollRead is the room one read(2) gets beyond a partial frame kept
	// from the previous read.
	pollRead = 64 << 10
)

// poller reads many client sockets from one goroutine: level-triggered
// epoll, raw non-blocking file descriptors, one read per readiness, frames
// cut with wire.SplitFrame. It owns the descriptors it was given: it alone
// closes them, when their connection ends or when it stops.
type poller struct {
	l    *load
	epfd int
	wake int // eventfd that stop writes to
	done chan struct{}

	mu    sync.Mutex
	conns map[int]*client // by fd: the ones still open
}

// newPoller starts a poller.
func newPoller(l *load) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	p := &poller{l: l, epfd: epfd, wake: wake, done: make(chan struct{}), conns: make(map[int]*client)}
	go p.loop()
	return p, nil
}

// add detaches c's connection from Go's network poller (it duplicates the
// descriptor, then closes the net.Conn) and reads it from now on; c.done is
// closed when the connection has ended and its descriptor is closed.
func (p *poller) add(c *client) error {
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return fmt.Errorf("client %s: %T has no descriptor", c.nick, c.conn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("client %s: %w", c.nick, err)
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return fmt.Errorf("client %s: %w", c.nick, err)
	}
	if derr != nil {
		return fmt.Errorf("client %s: dup: %w", c.nick, derr)
	}
	c.conn.Close() // the duplicate keeps the socket open
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return fmt.Errorf("client %s: %w", c.nick, err)
	}
	c.fdMu.Lock()
	c.fd = fd
	c.fdMu.Unlock()
	p.mu.Lock()
	p.conns[fd] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.end(c, fmt.Errorf("epoll_ctl: %w", err))
		return fmt.Errorf("client %s: %w", c.nick, err)
	}
	return nil
}

// loop waits for ready sockets and reads each once, until stop.
func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, pollEvents)
	buf := make([]byte, 0, wire.HeaderLen+wire.DefaultServerPayload+pollRead)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			p.l.log.Error("epoll_wait", "err", err)
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == -1 {
				return // stop
			}
			p.mu.Lock()
			c := p.conns[int(ev.Fd)]
			p.mu.Unlock()
			if c != nil {
				buf = p.read(c, int(ev.Fd), buf)
			}
		}
	}
}

// read makes one read(2) of c's socket fd and dispatches the frames it
// completes. It returns buf, its scratch space.
func (p *poller) read(c *client, fd int, buf []byte) []byte {
	buf = append(buf[:0], c.rest...)
	k, err := unix.Read(fd, buf[len(buf):cap(buf)])
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return buf
	case err != nil:
		p.end(c, &net.OpError{Op: "read", Net: "tcp", Err: err})
		return buf
	case k == 0:
		err := io.EOF
		if len(buf) > 0 {
			err = io.ErrUnexpectedEOF
		}
		p.end(c, err)
		return buf
	}
	buf = buf[:len(buf)+k]
	off := 0
	for {
		payload, n, err := wire.SplitFrame(buf[off:], wire.DefaultServerPayload)
		if err != nil {
			p.end(c, err)
			return buf
		}
		if n == 0 {
			break
		}
		off += n
		if len(payload) == 0 {
			continue // zero-length frames carry nothing
		}
		if !c.gotFirst {
			storeMax(&p.l.lastFirst, p.l.now())
			c.gotFirst = true
		}
		p.l.dispatch(c, payload)
	}
	c.rest = append(c.rest[:0], buf[off:]...)
	return buf
}

// end forgets c's connection, closes its descriptor and reports err if the
// end was not expected.
func (p *poller) end(c *client, err error) {
	c.fdMu.Lock()
	fd := c.fd
	if fd < 0 {
		c.fdMu.Unlock()
		return
	}
	c.fd = -1
	p.mu.Lock()
	delete(p.conns, fd)
	p.mu.Unlock()
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	unix.Close(fd)
	c.fdMu.Unlock()
	p.l.lost(c, err)
	close(c.done)
}

// stop ends the loop, closes every descriptor still open, then the poller's.
func (p *poller) stop() {
	var one [8]byte
	one[0] = 1 // little-endian 1 (amd64, arm64)
	unix.Write(p.wake, one[:])
	<-p.done
	p.mu.Lock()
	left := make([]*client, 0, len(p.conns))
	for _, c := range p.conns {
		left = append(left, c)
	}
	p.mu.Unlock()
	for _, c := range left {
		p.end(c, io.EOF)
	}
	unix.Close(p.epfd)
	unix.Close(p.wake)
}

// shutdownFD ends c's connection in both directions; its poller then sees
// the end, closes the descriptor and closes c.done. Safe to call at any
// time, more than once.
func (c *client) shutdownFD() {
	c.fdMu.Lock()
	if c.fd >= 0 {
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
	c.fdMu.Unlock()
}

// writeFD writes b to c's descriptor, waiting for room until deadline.
func (c *client) writeFD(b []byte, deadline time.Time) error {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	for len(b) > 0 {
		if c.fd < 0 {
			return net.ErrClosed
		}
		n, err := unix.Write(c.fd, b)
		switch {
		case err == nil:
			b = b[n:]
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			ms := int(time.Until(deadline) / time.Millisecond)
			if ms <= 0 {
				return fmt.Errorf("write: %w", os.ErrDeadlineExceeded)
			}
			fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(fds, ms); err != nil && !errors.Is(err, unix.EINTR) {
				return fmt.Errorf("poll: %w", err)
			}
		default:
			return &net.OpError{Op: "write", Net: "tcp", Err: err}
		}
	}
	return nil
}
