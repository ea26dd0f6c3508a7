// Package server is the PeerChat registry and broadcast server: clients
// register a nickname and their peer-to-peer ports, learn about each other
// with JOINED and LEFT, and relay broadcasts. It speaks the base vocabulary to
// every client and v2 (heartbeats, BCAST, CAPS, NOTICE) to clients that
// answered WELCOME with HELLO. The wire contract is docs/PROTOCOL.md.
package server

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"golang.org/x/time/rate"
)

// Config configures a Server. Zero values mean the documented defaults
// (const.go).
type Config struct {
	Name              string           // server name announced by discovery; DefaultName
	PayloadLimit      int              // DefaultPayloadLimit
	RegisterTimeout   time.Duration    // DefaultRegisterTimeout
	FrameTimeout      time.Duration    // DefaultFrameTimeout
	MaxClients        int              // DefaultMaxClients
	MaxPerIP          int              // DefaultMaxPerIP
	BroadcastRate     rate.Limit       // DefaultBroadcastRate
	BroadcastBurst    int              // DefaultBroadcastBurst
	HeartbeatInterval time.Duration    // DefaultHeartbeatInterval
	HeartbeatTimeout  time.Duration    // DefaultHeartbeatTimeout
	WriteTimeout      time.Duration    // DefaultWriteTimeout
	QueueBytes        int              // DefaultQueueBytes
	Logger            *slog.Logger     // nil discards logs
	Now               func() time.Time // nil means time.Now
}

// PeerInfo describes one registered client.
type PeerInfo struct {
	Nick     string
	IP       netip.Addr
	UDPPort  int
	TCPPort  int
	Features []string // nil until the client says HELLO
	Since    time.Time
}

// Stats are the server's counters since New.
type Stats struct {
	Conns      int // open connections now
	Registered int // registered clients now
	Accepted   uint64
	Joins      uint64
	Leaves     uint64
	Broadcasts uint64
	Delivered  uint64 // frames queued to clients
	BytesIn    uint64
	BytesOut   uint64
	Closed     map[string]uint64 // connections closed, by reason
	Dropped    map[string]uint64 // refused requests that did not close, by reason
}

// Server is a PeerChat server. Its methods are safe for concurrent use.
type Server struct {
	cfg Config
}

// New returns a Server configured by cfg.
func New(cfg Config) (*Server, error) { return &Server{cfg: cfg}, nil }

// Serve accepts connections on ln until ctx is done, Shutdown is called, or ln
// fails. It returns after every connection it accepted is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error { return nil }

// Shutdown stops accepting, lets queued frames drain until ctx is done, then
// closes every connection.
func (s *Server) Shutdown(ctx context.Context) error { return nil }

// Addr returns the listener's address, or nil before Serve.
func (s *Server) Addr() net.Addr { return nil }

// Peers returns a snapshot of the registered clients.
func (s *Server) Peers() []PeerInfo { return nil }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats { return Stats{} }
