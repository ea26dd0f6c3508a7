// Package server is the PeerChat registry and broadcast server: clients
// register a nickname and their peer-to-peer ports, learn about each other
// with JOINED and LEFT, and relay broadcasts. It speaks the base vocabulary to
// every client and v2 (heartbeats, BCAST, CAPS, NOTICE) to clients that
// answered WELCOME with HELLO. The wire contract is docs/PROTOCOL.md.
//
// Ordering: one mutex (Server.mu) orders registration, the JOINED snapshot,
// the JOINED and LEFT fan-outs and broadcasts, so every registered client
// hears about every other exactly once, and hears LEFT only for peers it
// heard JOINED for. Frames are encoded once and shared by all recipients;
// each connection has a bounded outbound queue drained by its own writer
// goroutine, so no client can stall another.
//
// Reconnection: a REGISTER for a nick held by a heartbeat client from the
// same IP address PINGs the holder and waits Config.ReplaceGrace; a holder
// that stays silent is closed (ReasonReplaced, LEFT to everyone) and the
// newcomer takes the nick. Any other duplicate gets NICKNAME_TAKEN at once.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/wire"
)

// Config configures a Server. Zero values mean the documented defaults
// (const.go).
type Config struct {
	Name              string           // server name announced by discovery; DefaultName
	PayloadLimit      int              // largest payload a client may send; DefaultPayloadLimit
	RegisterTimeout   time.Duration    // accept to complete REGISTER + PORT; DefaultRegisterTimeout
	FrameTimeout      time.Duration    // rest of a frame after its first byte; DefaultFrameTimeout
	MaxClients        int              // simultaneous connections; DefaultMaxClients
	MaxPerIP          int              // simultaneous connections from one IP; DefaultMaxPerIP
	BroadcastRate     rate.Limit       // broadcasts per second per client; DefaultBroadcastRate
	BroadcastBurst    int              // DefaultBroadcastBurst
	HeartbeatInterval time.Duration    // PING period for heartbeat clients; DefaultHeartbeatInterval
	HeartbeatTimeout  time.Duration    // silence that evicts a heartbeat client; DefaultHeartbeatTimeout
	WriteTimeout      time.Duration    // bound on one write to a client; DefaultWriteTimeout
	QueueBytes        int              // outbound queue per client; DefaultQueueBytes
	ReplaceGrace      time.Duration    // wait for a possibly dead holder of a nick; DefaultReplaceGrace
	Logger            *slog.Logger     // nil discards logs
	Now               func() time.Time // clock for timestamps; nil means time.Now
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.PayloadLimit <= 0 {
		c.PayloadLimit = DefaultPayloadLimit
	}
	if c.RegisterTimeout <= 0 {
		c.RegisterTimeout = DefaultRegisterTimeout
	}
	if c.FrameTimeout <= 0 {
		c.FrameTimeout = DefaultFrameTimeout
	}
	if c.MaxClients <= 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.MaxPerIP <= 0 {
		c.MaxPerIP = DefaultMaxPerIP
	}
	if c.BroadcastRate <= 0 {
		c.BroadcastRate = DefaultBroadcastRate
	}
	if c.BroadcastBurst <= 0 {
		c.BroadcastBurst = DefaultBroadcastBurst
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.ReplaceGrace <= 0 {
		c.ReplaceGrace = DefaultReplaceGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// PeerInfo describes one registered client.
type PeerInfo struct {
	Nick     string
	IP       netip.Addr
	UDPPort  int
	TCPPort  int
	Features []string // v2 features from HELLO; nil for a client that never said HELLO
	Since    time.Time
}

// Stats are the server's counters. Conns and Registered are current values;
// the others count since New.
type Stats struct {
	Conns      int    // open connections
	Registered int    // registered clients
	Accepted   uint64 // connections served
	Refused    uint64 // connections refused at accept (limits, shutdown)
	Joins      uint64
	Leaves     uint64
	Broadcasts uint64
	Delivered  uint64 // frames queued to clients
	BytesIn    uint64
	BytesOut   uint64
	Closed     map[string]uint64 // connections closed, by reason
	Dropped    map[string]uint64 // refused requests that did not close the connection, by reason
}

// Server is a PeerChat server. Its methods are safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger

	welcome []byte // WELCOME frame, shared
	errShut []byte // ERROR server shutting down, shared

	mu    sync.RWMutex // orders the registry; see the package comment
	peers map[string]*conn
	list  []*conn // registered clients, in join order until one leaves
	// snap is WELCOME followed by the JOINED of every client in list, in
	// list order, or nil after a leave (rebuilt at the next register).
	// Only appended to: a newcomer's queue shares a prefix of it.
	snap    []byte
	conns   map[*conn]struct{}
	perIP   map[netip.Addr]int
	seq     uint64 // last broadcast sequence number
	ping    uint64 // last heartbeat token
	ln      net.Listener
	serving bool
	closing bool
	done    chan struct{} // closed when closing becomes true
	// refusing holds a token per refused connection in its lingering close.
	refusing chan struct{}
	wg       sync.WaitGroup

	nextID                        atomic.Uint64
	flushing                      atomic.Int32 // broadcasts writing to their recipients now
	accepted, refused, joins      atomic.Uint64
	leaves, broadcasts, delivered atomic.Uint64
	bytesIn, bytesOut             atomic.Uint64
	statMu                        sync.Mutex
	closed, dropped               map[string]uint64
}

// New returns a Server configured by cfg.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if cfg.PayloadLimit > wire.MaxHeaderValue {
		return nil, fmt.Errorf("server: payload limit %d exceeds %d", cfg.PayloadLimit, wire.MaxHeaderValue)
	}
	if cfg.HeartbeatTimeout <= cfg.HeartbeatInterval {
		return nil, fmt.Errorf("server: heartbeat timeout %v must exceed the interval %v", cfg.HeartbeatTimeout, cfg.HeartbeatInterval)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		welcome:  wire.Encode(wire.Welcome{Version: wire.Version, Features: features}),
		errShut:  wire.Encode(wire.Error{Reason: ReasonShutdown}),
		peers:    make(map[string]*conn),
		conns:    make(map[*conn]struct{}),
		perIP:    make(map[netip.Addr]int),
		done:     make(chan struct{}),
		refusing: make(chan struct{}, maxRefusing),
		closed:   make(map[string]uint64),
		dropped:  make(map[string]uint64),
	}
	return s, nil
}

// Name returns the server's name.
func (s *Server) Name() string { return s.cfg.Name }

// Serve accepts connections on ln until ctx is done, Shutdown is called, or ln
// fails, and returns after every connection it accepted is closed. When ctx
// is done, queued frames get DefaultShutdownGrace to drain. Serve returns
// ErrServerClosed after Shutdown, ctx.Err() after ctx is done, or the
// listener's error. A Server serves one listener, once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.serving || s.closing {
		s.mu.Unlock()
		if s.closing {
			return ErrServerClosed
		}
		return ErrServing
	}
	s.serving = true
	s.ln = ln
	s.wg.Add(2)
	s.mu.Unlock()

	go s.heartbeat()
	go func() { // ends at ctx done or at shutdown, whichever comes first
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownGrace)
			defer cancel()
			s.shutdown(sctx, false)
		case <-s.done:
		}
	}()

	s.log.Info("serving", "addr", ln.Addr().String(), "name", s.cfg.Name)
	var err error
	var backoff time.Duration
	for {
		nc, aerr := ln.Accept()
		if aerr != nil {
			if s.isClosing() {
				err = ErrServerClosed
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				break
			}
			var ne net.Error
			if errors.As(aerr, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", aerr, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
				}
				continue
			}
			err = fmt.Errorf("server: accept: %w", aerr)
			sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownGrace)
			s.shutdown(sctx, false)
			cancel()
			break
		}
		backoff = 0
		s.accept(nc)
	}
	s.wg.Wait()
	return err
}

func (s *Server) isClosing() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closing
}

// Shutdown stops accepting, sends every client ERROR server shutting down,
// lets queued frames drain until ctx is done, then closes every connection.
// It returns when every connection is closed: nil if they drained in time,
// ctx.Err() otherwise.
func (s *Server) Shutdown(ctx context.Context) error { return s.shutdown(ctx, true) }

func (s *Server) shutdown(ctx context.Context, wait bool) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.done)
		if s.ln != nil {
			s.ln.Close()
		}
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.log.Info("shutting down", "conns", len(conns))

	for _, c := range conns {
		c.closeAfter(ReasonShutdown, s.errShut)
	}
	drained := make(chan struct{})
	go func() {
		for _, c := range conns {
			<-c.finished
		}
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		for _, c := range conns {
			c.closeNow(ReasonShutdown)
		}
		<-drained
	}
	if wait {
		s.wg.Wait()
	}
	return err
}

// Addr returns the listener's address, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Peers returns a snapshot of the registered clients, oldest first.
func (s *Server) Peers() []PeerInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]PeerInfo, len(s.list))
	for i, c := range s.list {
		out[i] = PeerInfo{
			Nick: c.nick, IP: c.ip, UDPPort: c.udpPort, TCPPort: c.tcpPort,
			Features: slices.Clone(c.feats), Since: c.since,
		}
	}
	slices.SortStableFunc(out, func(a, b PeerInfo) int { return a.Since.Compare(b.Since) })
	return out
}

// NumPeers returns the number of registered clients.
func (s *Server) NumPeers() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.list)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	st := Stats{Conns: len(s.conns), Registered: len(s.list)}
	s.mu.RUnlock()
	st.Accepted = s.accepted.Load()
	st.Refused = s.refused.Load()
	st.Joins = s.joins.Load()
	st.Leaves = s.leaves.Load()
	st.Broadcasts = s.broadcasts.Load()
	st.Delivered = s.delivered.Load()
	st.BytesIn = s.bytesIn.Load()
	st.BytesOut = s.bytesOut.Load()
	s.statMu.Lock()
	st.Closed = make(map[string]uint64, len(s.closed))
	for k, v := range s.closed {
		st.Closed[k] = v
	}
	st.Dropped = make(map[string]uint64, len(s.dropped))
	for k, v := range s.dropped {
		st.Dropped[k] = v
	}
	s.statMu.Unlock()
	return st
}

func (s *Server) count(m map[string]uint64, reason string) {
	s.statMu.Lock()
	m[reason]++
	s.statMu.Unlock()
}

// accept registers nc as a connection or refuses it.
func (s *Server) accept(nc net.Conn) {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		ip = ap.Addr().Unmap()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: DefaultKeepAlive, Interval: DefaultKeepAlive / 3, Count: 3})
	}
	id := s.nextID.Add(1)
	s.mu.Lock()
	var refuse string
	switch {
	case s.closing:
		refuse = ReasonShutdown
	case len(s.conns) >= s.cfg.MaxClients:
		refuse = ReasonTooMany
	case s.perIP[ip] >= s.cfg.MaxPerIP:
		refuse = ReasonTooManyFromIP
	}
	if refuse != "" {
		// Tell the client why, with a lingering close (see
		// conn.lingerClose) when a slot is free, without holding up the
		// accept loop: the kernel's send buffer takes a short frame at once.
		linger := false
		if !s.closing {
			select {
			case s.refusing <- struct{}{}:
				linger = true
				s.wg.Add(1)
			default:
			}
		}
		s.mu.Unlock()
		s.refused.Add(1)
		s.count(s.closed, refuse)
		s.log.Info("refused", "conn", id, "remote", nc.RemoteAddr().String(), "reason", refuse)
		nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		wire.WriteMessage(nc, wire.Error{Reason: refuse})
		cw, ok := nc.(interface{ CloseWrite() error })
		if !linger || !ok || cw.CloseWrite() != nil {
			nc.Close()
			if linger {
				<-s.refusing
				s.wg.Done()
			}
			return
		}
		go func() {
			defer s.wg.Done()
			defer func() { <-s.refusing }()
			nc.SetReadDeadline(time.Now().Add(closeLinger))
			io.Copy(io.Discard, io.LimitReader(nc, lingerBytes))
			nc.Close()
		}()
		return
	}
	c := newConn(s, nc, id, ip)
	s.conns[c] = struct{}{}
	s.accepted.Add(1) // under s.mu, so Accepted and Conns agree
	s.perIP[ip]++
	s.wg.Add(2)
	s.mu.Unlock()
	go c.writeLoop()
	go c.serve()
}

// register makes c a registered client: it queues WELCOME and the JOINED
// snapshot to c in one frame batch, then c's JOINED to everyone else, all
// under s.mu. The snapshot is a shared prefix of s.snap, so the O(N) part
// is queueing JOINED to the N peers. It returns the reason for a refusal,
// or "".
func (s *Server) register(c *conn) string {
	key := wire.FoldNick(c.nick)
	joined := wire.Encode(wire.Joined{Nick: c.nick, IP: c.ip, UDPPort: c.udpPort, TCPPort: c.tcpPort})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ReasonShutdown
	}
	if _, taken := s.peers[key]; taken {
		return ReasonNicknameTaken
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
	c.send(s.snap[:len(s.snap):len(s.snap)], true)
	s.snap = append(s.snap, joined...) // never writes into c's prefix
	for _, p := range s.list {
		p.send(joined, false)
	}
	s.delivered.Add(uint64(len(s.list) + 1))
	c.idx = len(s.list)
	s.list = append(s.list, c)
	s.peers[key] = c
	c.registered = true
	s.joins.Add(1)
	return ""
}

// unregister removes c from the registry and sends its LEFT to everyone who
// heard its JOINED; then it forgets the connection.
func (s *Server) unregister(c *conn) {
	var left []byte
	if c.registered {
		left = wire.Encode(wire.Left{Nick: c.nick})
	}
	s.mu.Lock()
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
		for _, p := range s.list {
			p.send(left, false)
		}
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
func (s *Server) broadcast(c *conn, text string) {
	base := wire.Encode(wire.Broadcast{Text: c.nick + ": " + text})
	s.mu.Lock()
	if !c.registered {
		s.mu.Unlock()
		return
	}
	s.seq++
	var v2 []byte
	kick := c.kick[:0]
	for _, p := range s.list {
		b := base
		if p.bcast {
			if v2 == nil {
				v2 = wire.Encode(wire.Bcast{Seq: s.seq, Time: s.cfg.Now(), From: c.nick, Text: text})
			}
			b = v2
		}
		if _, wake := p.enqueue(b, false); wake {
			kick = append(kick, p)
		}
	}
	n := len(s.list)
	s.delivered.Add(uint64(n))
	s.broadcasts.Add(1)
	s.mu.Unlock()
	// Outside s.mu: write to the idle connections from here rather than
	// wake one writer goroutine per recipient, unless other broadcasts
	// are being written too: then the writers, lagging behind, batch
	// several frames per write, which is cheaper.
	direct := s.flushing.Add(1) == 1
	for i, p := range kick {
		if direct {
			p.flush()
		} else {
			p.signal()
		}
		kick[i] = nil
	}
	s.flushing.Add(-1)
	if cap(kick) > 4*n+64 { // the registry shrank a lot: let it go
		kick = nil
	}
	c.kick = kick[:0]
}

// hello records c's v2 features, sends c the CAPS of every v2 peer and
// every CAPS client the CAPS of c.
func (s *Server) hello(c *conn, feats []string) {
	caps := wire.Encode(wire.Caps{Nick: c.nick, Features: feats})
	s.mu.Lock()
	defer s.mu.Unlock()
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
		}
	}
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

// heartbeat PINGs every heartbeat client each HeartbeatInterval until the
// server shuts down.
func (s *Server) heartbeat() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.mu.Lock()
		s.ping++
		var ping []byte
		for _, p := range s.list {
			if p.heartbeat {
				if ping == nil {
					ping = wire.Encode(wire.Ping{Token: strconv.FormatUint(s.ping, 10)})
				}
				p.send(ping, false)
			}
		}
		s.mu.Unlock()
	}
}

// conn is one client connection. Two goroutines serve it: serve reads and
// handles frames, writeLoop drains the outbound queue.
type conn struct {
	s     *Server
	id    uint64
	nc    net.Conn
	raw   syscall.RawConn // nc's socket for writeNow; nil without fastWrite
	ip    netip.Addr
	log   *slog.Logger
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

	// alive, if set, is closed (and cleared) when serve next reads a frame.
	alive atomic.Pointer[chan struct{}]

	// kick is scratch for broadcast, which only c's serve goroutine runs:
	// the recipients whose queue it found empty.
	kick []*conn

	qmu        sync.Mutex
	q          [][]byte
	qbytes     int
	busy       bool   // a goroutine is writing to nc (the writer or a flush)
	closing    bool   // no more frames are queued
	flushClose bool   // the writer closes the conn once the queue is empty
	reason     string // why the connection closed; the first one wins
	wake       chan struct{}
	writerDone chan struct{}
	finished   chan struct{} // closed when serve has cleaned up
}

func newConn(s *Server, nc net.Conn, id uint64, ip netip.Addr) *conn {
	c := &conn{
		s: s, id: id, nc: nc, ip: ip, start: time.Now(),
		log:        s.log.With("conn", id, "remote", nc.RemoteAddr().String()),
		wake:       make(chan struct{}, 1),
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

// send queues frame b, which the caller must never modify afterwards. It
// never blocks. If the queue would exceed QueueBytes the connection is closed
// (reason queue overflow) and send returns false; force skips that check
// when the queue is empty (a JOINED snapshot may be large).
func (c *conn) send(b []byte, force bool) bool {
	ok, wake := c.enqueue(b, force)
	if wake {
		c.signal()
	}
	return ok
}

// enqueue is send without the wake-up: it reports whether b was queued and
// whether the caller must then call signal or flush (the queue was empty).
func (c *conn) enqueue(b []byte, force bool) (ok, wake bool) {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		return false, false
	}
	if c.qbytes+len(b) > c.s.cfg.QueueBytes && !(force && c.qbytes == 0) {
		c.closing = true
		c.reason = ReasonQueueOverflow
		c.qmu.Unlock()
		c.nc.Close()
		c.signal()
		return false, false
	}
	wake = len(c.q) == 0 // otherwise someone was told already
	c.q = append(c.q, b)
	c.qbytes += len(b)
	c.qmu.Unlock()
	return true, wake
}

// flush writes a queue of one frame from the caller's goroutine with one
// non-blocking write, unless someone is writing already; whatever it cannot
// write at once (a longer queue, a full socket buffer, a passed write
// deadline) is left to the writer goroutine, which it wakes. So it never
// blocks, and frames keep their order: only the goroutine that set busy
// writes to nc.
func (c *conn) flush() {
	c.qmu.Lock()
	if c.busy {
		c.qmu.Unlock()
		return // the writer will look at the queue again
	}
	if len(c.q) != 1 || c.closing || c.raw == nil {
		c.qmu.Unlock()
		c.signal()
		return
	}
	b := c.q[0]
	c.q[0] = nil
	c.q = c.q[:0]
	c.qbytes -= len(b)
	c.busy = true
	c.qmu.Unlock()

	n, err := writeNow(c.raw, b)
	c.s.bytesOut.Add(uint64(n))
	c.qmu.Lock()
	c.busy = false
	if err != nil && n < len(b) && (err == errWouldBlock || !isReset(err)) {
		// Put the rest back in front for the writer, which will wait for
		// the socket, refresh the deadline or see the error itself.
		c.q = append(c.q, nil)
		copy(c.q[1:], c.q)
		c.q[0] = b[n:]
		c.qbytes += len(b) - n
	}
	pending := len(c.q) > 0 || c.closing
	c.qmu.Unlock()
	if err != nil && isReset(err) {
		c.closeNow(ReasonReset)
		return
	}
	if pending {
		c.signal()
	}
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// closeNow closes the connection at once, dropping whatever is queued.
func (c *conn) closeNow(reason string) {
	c.qmu.Lock()
	if c.reason == "" {
		c.reason = reason
	}
	c.closing = true
	c.qmu.Unlock()
	c.nc.Close()
	c.signal()
}

// closeAfter queues final (if not nil), then closes the connection once the
// queue has drained (each write bounded by WriteTimeout).
func (c *conn) closeAfter(reason string, final []byte) {
	c.qmu.Lock()
	if c.closing {
		c.qmu.Unlock()
		return
	}
	if c.reason == "" {
		c.reason = reason
	}
	c.closing = true
	c.flushClose = true
	if final != nil {
		c.q = append(c.q, final)
		c.qbytes += len(final)
	}
	c.qmu.Unlock()
	c.signal()
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
	c.nc.SetReadDeadline(time.Now().Add(closeLinger))
}

// closeReason returns the reason recorded for closing, or "" if none.
func (c *conn) closeReason() string {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.reason
}

// writeLoop writes everything queued in one write per wake-up until the
// connection closes. It leaves the queue alone while a flush is writing
// (busy); that flush wakes it again when it is done.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	defer close(c.writerDone)
	var batch [][]byte
	var deadline time.Time
	for range c.wake {
		for {
			c.qmu.Lock()
			if c.busy {
				c.qmu.Unlock()
				break
			}
			batch, c.q = c.q, batch[:0]
			n := c.qbytes
			c.qbytes = 0
			closing, flush := c.closing, c.flushClose
			c.busy = len(batch) > 0
			c.qmu.Unlock()
			if len(batch) == 0 {
				if closing {
					if flush {
						c.lingerClose()
					}
					return
				}
				break
			}
			// Setting a deadline costs a timer update; refresh it only when
			// less than 3/4 of WriteTimeout is left, so a write always has
			// at least that long.
			if now := time.Now(); deadline.Sub(now) < c.s.cfg.WriteTimeout*3/4 {
				deadline = now.Add(c.s.cfg.WriteTimeout)
				c.nc.SetWriteDeadline(deadline)
			}
			var err error
			if len(batch) == 1 {
				_, err = c.nc.Write(batch[0])
			} else {
				bufs := net.Buffers(batch)
				_, err = bufs.WriteTo(c.nc)
			}
			c.qmu.Lock()
			c.busy = false
			c.qmu.Unlock()
			clear(batch)
			if cap(batch) > 64 {
				batch = nil
			}
			if err != nil {
				reason := ReasonWriteFailed
				switch {
				case isTimedOut(err):
					reason = ReasonTimedOut
				case isTimeout(err):
					reason = ReasonWriteTimeout
				case isReset(err):
					reason = ReasonReset
				}
				c.closeNow(reason)
				return
			}
			c.s.bytesOut.Add(uint64(n))
		}
	}
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

// serve reads and handles frames until the connection ends, then
// unregisters the client and waits for its writer.
func (c *conn) serve() {
	s := c.s
	defer s.wg.Done()
	defer close(c.finished)
	c.log.Debug("open")
	reason, errText := c.readLoop()
	if errText != "" {
		c.closeAfter(reason, wire.Encode(wire.Error{Reason: errText}))
	} else if reason == ReasonNicknameTaken {
		c.closeAfter(reason, wire.Encode(wire.NicknameTaken{}))
	} else {
		c.closeNow(reason)
	}
	final := c.closeReason() // set by closeNow or closeAfter above
	s.count(s.closed, final)
	s.unregister(c)
	<-c.writerDone
	// After a lingering close, read what the client still sends (bounded
	// by the read deadline lingerClose set), so that closing with unread
	// data does not reset the connection before the client has read our
	// last frame.
	io.Copy(io.Discard, io.LimitReader(c.nc, lingerBytes))
	c.nc.Close()
	c.log.Info("closed", "reason", final, "duration", time.Since(c.start).Round(time.Millisecond))
}

// readLoop handles frames until the connection must end, and returns why:
// a reason for logs and stats and, if the client should hear it, the text of
// the ERROR to send.
func (c *conn) readLoop() (reason, errText string) {
	s := c.s
	rd := wire.NewReaderSize(c.nc, s.cfg.PayloadLimit, wire.MinReaderSize)
	rd.FrameTimeout = s.cfg.FrameTimeout
	deadline := time.Now().Add(s.cfg.RegisterTimeout)
	var lim *rate.Limiter
	stage := 0 // 0: want REGISTER, 1: want PORT, 2: registered
	for {
		if stage < 2 {
			rem := time.Until(deadline)
			if rem <= 0 {
				return ReasonRegisterTimeout, ReasonRegisterTimeout
			}
			rd.IdleTimeout = rem
			rd.FrameTimeout = min(s.cfg.FrameTimeout, rem)
		}
		p, err := rd.ReadFrame()
		if err != nil {
			return c.readError(err, stage)
		}
		if a := c.alive.Load(); a != nil && c.alive.CompareAndSwap(a, nil) {
			close(*a) // the client spoke during a probe (see replaceGhost)
		}
		s.bytesIn.Add(uint64(wire.HeaderLen + len(p)))
		m, perr := wire.Parse(p)
		switch stage {
		case 0:
			r, ok := m.(wire.Register)
			if !ok {
				if perr != nil && !errors.Is(perr, wire.ErrUnknownVerb) {
					return ReasonBadCommand, perr.Error()
				}
				return ReasonRegisterFirst, ReasonRegisterFirst
			}
			if err := wire.ValidateNick(r.Nick); err != nil {
				return ReasonBadNick, ReasonBadNick + ": " + err.Error()
			}
			// Waiting for the registry, or for a ghost holder of the
			// nick, is the server's time, not the client's.
			t0 := time.Now()
			free := s.nickFree(c, r.Nick)
			deadline = deadline.Add(time.Since(t0))
			if !free {
				return ReasonNicknameTaken, ""
			}
			c.nick, c.udpPort = r.Nick, r.UDPPort
			stage = 1
		case 1:
			pm, ok := m.(wire.Port)
			if !ok {
				if perr != nil {
					return ReasonBadCommand, "expected PORT: " + perr.Error()
				}
				return ReasonBadCommand, "expected PORT"
			}
			if wire.FoldNick(pm.Nick) != wire.FoldNick(c.nick) {
				return ReasonPortMismatch, ReasonPortMismatch
			}
			c.tcpPort = pm.TCPPort
			if why := s.register(c); why != "" {
				if why == ReasonNicknameTaken {
					return why, ""
				}
				return why, why
			}
			c.log = c.log.With("nick", c.nick)
			c.log.Info("registered", "udp_port", c.udpPort, "tcp_port", c.tcpPort)
			lim = rate.NewLimiter(s.cfg.BroadcastRate, s.cfg.BroadcastBurst)
			rd.IdleTimeout = 0
			rd.FrameTimeout = s.cfg.FrameTimeout
			stage = 2
		default:
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
func (c *conn) handle(m wire.Message, lim *rate.Limiter, rd *wire.Reader) {
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
		c.log.Debug("hello", "version", m.Version, "features", feats)
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
	c.s.count(c.s.dropped, code)
	c.log.Debug("refused", "code", code, "text", text)
	if c.notice { // see isV2
		if c.send(wire.Encode(wire.Notice{Code: code, Text: text}), false) {
			c.s.delivered.Add(1)
		}
	}
}

// readError maps a read error to a close reason and ERROR text.
func (c *conn) readError(err error, stage int) (reason, errText string) {
	if r := c.closeReason(); r != "" {
		return r, "" // we closed it
	}
	switch {
	case errors.Is(err, io.EOF):
		return ReasonClientClosed, ""
	case isTimedOut(err):
		return ReasonTimedOut, ""
	case wire.IsProtocolError(err):
		why := ReasonBadFrame + ": " + err.Error()
		return ReasonBadFrame, why
	case isTimeout(err):
		switch {
		case stage < 2:
			return ReasonRegisterTimeout, ReasonRegisterTimeout
		case c.heartbeat: // see isV2
			return ReasonHeartbeat, ReasonHeartbeat
		default:
			return ReasonBadFrame, ReasonBadFrame + ": incomplete frame"
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonClientClosed, ""
	case isReset(err):
		return ReasonReset, ""
	}
	return ReasonReadFailed, ""
}

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
// if it stays silent it is closed (reason ReasonReplaced, its LEFT queued to
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
		c.log.Info("nickname holder is alive", "holder", h.id)
		return false
	case <-h.finished:
		return true
	case <-s.done:
		return false
	case <-t.C:
	}
	c.log.Info("replacing silent nickname holder", "holder", h.id, "nick", h.nick)
	h.closeNow(ReasonReplaced)
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

// Info returns what discovery answers for this server: its name, TCP port
// (0 before Serve) and number of registered clients, for
// discovery.Respond. Safe for concurrent use.
func (s *Server) Info() wire.ServerInfo {
	si := wire.ServerInfo{Version: wire.Version, Name: s.cfg.Name}
	s.mu.RLock()
	defer s.mu.RUnlock()
	si.Peers = len(s.list)
	if s.ln != nil {
		if ap, err := netip.ParseAddrPort(s.ln.Addr().String()); err == nil {
			si.TCPPort = int(ap.Port())
		}
	}
	return si
}
