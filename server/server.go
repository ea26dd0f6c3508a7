// Package server is the PeerChat registry and broadcast server: clients
// register a nickname and their peer-to-peer ports, learn about each other
// with JOINED and LEFT, and relay broadcasts. It speaks the base vocabulary to
// every client and v2 (heartbeats, BCAST, CAPS, NOTICE) to clients that
// answered WELCOME with HELLO. The wire contract is docs/PROTOCOL.md.
//
// Keys (docs/PROTOCOL.md §2.6): a Server with Config.Identity offers the
// keys feature. A client that takes it gets SKEY, proves its key with
// IDENT, gets SIDENT and the KEY of every peer that proved one; its nick is
// then held by its key (Config.Nicks, NickStore) for Config.NickHold after
// it was last connected: a REGISTER for a held nick completes only once the
// newcomer proves the same key (else NICKNAME_TAKEN). Its SBROADCASTs are
// checked against its key and relayed as SBCAST to keys clients (BCAST and
// BROADCAST to others).
//
// Relay, mailbox and missed broadcasts (docs/PROTOCOL.md §2.7–§2.9),
// offered with keys to clients that proved a key: RELAY frames are
// forwarded to another such client (relay.go), never closing it for
// overflow; MBOX_PUT items are stored for a key in Config.Mail (MailStore,
// fsync'ed before MBOX_OK), delivered after the recipient's SIDENT in
// order and deleted by MBOX_ACK, with MBOX_DELIVERED to their sender
// (mail.go, mailstore.go); broadcasts get server-wide ids (BID) and the
// last ones are kept for SINCE (replay.go).
//
// Ordering: one mutex (Server.mu) orders registration, the JOINED snapshot,
// the JOINED and LEFT fan-outs and broadcasts, so every registered client
// hears about every other exactly once, and hears LEFT only for peers it
// heard JOINED for. Frames are encoded once and shared by all recipients;
// each connection has a bounded outbound queue (QueueBytes; a client that
// stays behind it, or whose write takes over WriteTimeout, is disconnected),
// written only while it holds something: by a small pool of writer
// goroutines that never wait for a full socket, and by a goroutine of the
// connection's own while its socket is full (conn.go, writers.go). So no
// client can stall another, and an idle connection holds one goroutine, its
// reader, and no buffer.
//
// Files: lifecycle.go (Serve, Shutdown, accept, heartbeats), registry.go
// (registration and fan-out), conn.go (a connection's queue and writer),
// writers.go (the pool of writer goroutines), reader.go (frames in),
// protocol.go (the per-connection protocol state machine), replace.go
// (replacing a silent holder of a nick), closed.go (why connections end),
// nicks.go (the nicks held by keys), relay.go, mail.go and mailstore.go
// (the mailbox), replay.go (missed broadcasts), bfile.go (pictures to
// Everyone, docs/PROTOCOL.md §2.10: streamed to the images clients,
// bounded by their queues, a text line for the others).
//
// Reconnection: a REGISTER for a nick held by a heartbeat client from the
// same IP address PINGs the holder and waits Config.ReplaceGrace; a holder
// that stays silent is closed (ClosedReplaced, LEFT to everyone) and the
// newcomer takes the nick (which, if it is held by a key, it must then
// prove). Any other duplicate gets NICKNAME_TAKEN at once.
package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/identity"
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
	Now               func() time.Time // clock for timestamps and nick holds; nil means time.Now
	// Identity is the server's own key pair (docs/PROTOCOL.md §2.6); with
	// one, WELCOME lists the keys feature. nil: no keys feature, no
	// nicks held by keys, no signed broadcasts (a server of before it).
	Identity *identity.Identity
	// Nicks keeps the nicks held by keys (with Identity); the caller opens
	// it (OpenNickStore) and closes it after Serve has returned. nil: they
	// are kept in memory, for this Server's life only.
	Nicks *NickStore
	// NickHold is how long a nick stays held by its key after its holder
	// was last connected; DefaultNickHold.
	NickHold time.Duration
	// RelayRate bounds the bytes per second (of RELAYED payloads) one
	// client may relay (docs/PROTOCOL.md §2.7); DefaultRelayRate.
	RelayRate rate.Limit
	// RelayBurst is the bytes one client may relay at once above
	// RelayRate; DefaultRelayBurst, and at least PayloadLimit.
	RelayBurst int
	// Mail keeps the mailbox and the kept broadcasts (with Identity); the
	// caller opens it (OpenMailStore) and closes it after Serve has
	// returned. nil: Serve keeps them in a temporary one, for its run
	// only.
	Mail *MailStore
	// MailItems and MailBytes bound what is stored for one recipient;
	// DefaultMailItems, DefaultMailBytes.
	MailItems int
	MailBytes int64
	// MailTotal bounds the bytes of all stored items; DefaultMailTotal.
	MailTotal int64
	// MailAge is how long an item waits for its recipient before it is
	// deleted (its sender hears MBOX_REFUSED expired); DefaultMailAge.
	MailAge time.Duration
	// ReplayCount and ReplayAge bound the broadcasts kept for SINCE
	// (docs/PROTOCOL.md §2.9): the newest ReplayCount, none older than
	// ReplayAge; DefaultReplayCount, DefaultReplayAge.
	ReplayCount int
	ReplayAge   time.Duration
	// ImageBytes is the largest picture a client may post to Everyone
	// (docs/PROTOCOL.md §2.10); DefaultImageBytes.
	ImageBytes int64
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
	if c.RelayRate <= 0 {
		c.RelayRate = DefaultRelayRate
	}
	if c.RelayBurst <= 0 {
		c.RelayBurst = DefaultRelayBurst
	}
	c.RelayBurst = max(c.RelayBurst, c.PayloadLimit)
	if c.MailItems <= 0 {
		c.MailItems = DefaultMailItems
	}
	if c.MailBytes <= 0 {
		c.MailBytes = DefaultMailBytes
	}
	if c.MailTotal <= 0 {
		c.MailTotal = DefaultMailTotal
	}
	if c.MailAge <= 0 {
		c.MailAge = DefaultMailAge
	}
	if c.ReplayCount <= 0 {
		c.ReplayCount = DefaultReplayCount
	}
	if c.ReplayAge <= 0 {
		c.ReplayAge = DefaultReplayAge
	}
	if c.ImageBytes <= 0 {
		c.ImageBytes = DefaultImageBytes
	}
	if c.NickHold <= 0 {
		c.NickHold = DefaultNickHold
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
	Key      identity.PublicIdentity // the key it proved (IDENT); zero if none
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
	Closed     map[ClosedState]uint64 // connections closed (refused at accept included), by reason
	Dropped    map[string]uint64      // refused requests that did not close the connection, by Notice code

	Relayed      uint64            // RELAYED frames queued
	RelayedBytes uint64            // their bytes, headers included
	RelayFailed  map[string]uint64 // RELAY_FAIL sent, by reason (wire.RelayOffline, …)

	MailStored  uint64            // mailbox items stored
	MailAcked   uint64            // mailbox items acknowledged by their recipients (and deleted)
	MailExpired uint64            // mailbox items deleted unacknowledged at MailAge
	MailRefused map[string]uint64 // MBOX_REFUSED sent to a put, by reason (wire.MboxFull, …)

	Replayed uint64 // broadcasts sent again in answer to SINCE

	Images     uint64 // pictures posted to Everyone (bfile.go)
	ImageDrops uint64 // pictures dropped for one recipient (BIMG_DROP)
}

// Server is a PeerChat server. Its methods are safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger

	welcome []byte // WELCOME frame, shared

	// With Config.Identity: keys is set, pub is the server's public
	// identity, and nicks the bindings (Config.Nicks or one in memory).
	keys    bool
	pub     identity.PublicIdentity
	nicks   *NickStore
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
	writers  writerPool // started by Serve, stopped when it returns

	nextID                        atomic.Uint64
	flushing                      atomic.Int32 // broadcasts writing to their recipients now
	accepted, refused, joins      atomic.Uint64
	leaves, broadcasts, delivered atomic.Uint64
	bytesIn, bytesOut             atomic.Uint64
	closed                        [numClosedStates]atomic.Uint64
	statMu                        sync.Mutex
	dropped                       map[string]uint64 // guarded by statMu
	relayFailed                   map[string]uint64 // guarded by statMu
	relayed, relayedBytes         atomic.Uint64
	mailRefused                   map[string]uint64 // guarded by statMu
	mailStored, mailAcked         atomic.Uint64
	mailExpired                   atomic.Uint64

	// mail is Config.Mail, or a temporary store during Serve (mailTemp).
	mail     *MailStore
	mailTemp bool
	mailOps  chan pendingMail // puts and acks for mailLoop

	// Missed broadcasts (replay.go). Guarded by s.mu: bid, bidCeil, kept.
	bid, bidCeil uint64  // the last broadcast id, and the last reserved on disk
	kept         []*kept // the kept broadcasts, oldest first (at most 2×ReplayCount)
	bmu          sync.Mutex
	bpend        []*kept // guarded by bmu: kept broadcasts not written yet
	bWake        chan struct{}
	replayed     atomic.Uint64

	// Pictures to Everyone (bfile.go). imgSeq is guarded by s.mu.
	imgSeq             uint64
	images, imageDrops atomic.Uint64
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
	feats := features
	if cfg.Identity != nil {
		feats = append(slices.Clip(feats), wire.FeatureKeys, wire.FeatureRelay, wire.FeatureMailbox, wire.FeatureReplay)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		welcome:  wire.Encode(wire.Welcome{Version: wire.Version, Features: feats}),
		errShut:  wire.Encode(wire.Error{Reason: ReasonShutdown}),
		peers:    make(map[string]*conn),
		conns:    make(map[*conn]struct{}),
		perIP:    make(map[netip.Addr]int),
		done:     make(chan struct{}),
		refusing: make(chan struct{}, maxRefusing),
		dropped:  make(map[string]uint64),
	}
	s.relayFailed = make(map[string]uint64)
	s.mailRefused = make(map[string]uint64)
	s.mail = cfg.Mail
	s.mailOps = make(chan pendingMail, maxPendingMail)
	s.bWake = make(chan struct{}, 1)
	if cfg.Identity != nil {
		s.keys, s.pub, s.nicks = true, cfg.Identity.Public(), cfg.Nicks
		if s.nicks == nil {
			s.nicks = newMemNickStore()
		}
	}
	s.writers.n = numWriters()
	return s, nil
}

// Key returns the server's public identity (Config.Identity), or the zero
// PublicIdentity when it has none.
func (s *Server) Key() identity.PublicIdentity { return s.pub }

// Name returns the server's name.
func (s *Server) Name() string { return s.cfg.Name }

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
		if c.proved { // c.pub is not written after proved is set
			out[i].Key = c.pub
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
	st.Closed = make(map[ClosedState]uint64)
	for r := range s.closed {
		if n := s.closed[r].Load(); n > 0 {
			st.Closed[ClosedState(r)] = n
		}
	}
	s.statMu.Lock()
	st.Dropped = make(map[string]uint64, len(s.dropped))
	for k, v := range s.dropped {
		st.Dropped[k] = v
	}
	st.RelayFailed = make(map[string]uint64, len(s.relayFailed))
	for k, v := range s.relayFailed {
		st.RelayFailed[k] = v
	}
	st.MailRefused = make(map[string]uint64, len(s.mailRefused))
	for k, v := range s.mailRefused {
		st.MailRefused[k] = v
	}
	st.MailStored = s.mailStored.Load()
	st.MailAcked = s.mailAcked.Load()
	st.MailExpired = s.mailExpired.Load()
	st.Replayed = s.replayed.Load()
	st.Images = s.images.Load()
	st.ImageDrops = s.imageDrops.Load()
	st.Relayed = s.relayed.Load()
	st.RelayedBytes = s.relayedBytes.Load()
	s.statMu.Unlock()
	return st
}

// countDropped counts a refused request (a Notice code).
func (s *Server) countDropped(code string) {
	s.statMu.Lock()
	s.dropped[code]++
	s.statMu.Unlock()
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
