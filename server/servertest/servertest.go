// Package servertest runs a real PeerChat server on loopback for tests, in
// the manner of net/http/httptest.
//
//	ts := servertest.NewServer(t, server.Config{Name: "test"})
//	c := dial(ts.Addr)            // "127.0.0.1:<port>"
//	...
//	ts.Close()                    // the server goes away (clients hear ERROR server shutting down)
//	ts.Restart()                  // and comes back on the same port
//
// The server listens on 127.0.0.1 on a port the kernel chooses, and is shut
// down at the end of the test (tb.Cleanup).
package servertest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"peerchat/server"
)

// Timeout bounds every wait of a Server: a graceful shutdown, and waiting
// for its port to be free again at Restart.
const Timeout = 5 * time.Second

// Server is a server.Server serving on 127.0.0.1 for one test. Its methods
// are safe for concurrent use; Close and Restart report failures with
// tb.Fatalf, so call them from the test's goroutine.
type Server struct {
	// Addr is the server's address, "127.0.0.1:<port>". It stays the same
	// across Restart.
	Addr string
	// AddrPort is Addr parsed.
	AddrPort netip.AddrPort

	tb  testing.TB
	cfg server.Config

	mu   sync.Mutex
	srv  *server.Server // nil while closed
	done chan error     // Serve's result for srv
}

// NewServer starts a server configured by cfg on 127.0.0.1 on a free port,
// and shuts it down when the test ends. A nil cfg.Logger discards logs.
func NewServer(tb testing.TB, cfg server.Config) *Server {
	tb.Helper()
	ts := &Server{tb: tb, cfg: cfg}
	ts.start("127.0.0.1:0")
	tb.Cleanup(ts.Close)
	return ts
}

// Server returns the running server.Server (for Peers, Stats, Info), or nil
// while closed. Restart makes a new one.
func (ts *Server) Server() *server.Server {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.srv
}

// Close shuts the server down gracefully (server.Server.Shutdown: every
// client hears ERROR server shutting down, then its connection closes) and
// returns once Serve has returned and the port is free. Closing a closed
// Server does nothing.
func (ts *Server) Close() {
	ts.tb.Helper()
	ts.mu.Lock()
	srv, done := ts.srv, ts.done
	ts.srv, ts.done = nil, nil
	ts.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		ts.tb.Errorf("servertest: shutdown: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, server.ErrServerClosed) {
			ts.tb.Errorf("servertest: Serve: %v", err)
		}
	case <-time.After(Timeout):
		ts.tb.Fatalf("servertest: Serve did not return within %v of Shutdown", Timeout)
	}
}

// Restart closes the server if it is running, then starts a new
// server.Server with the same Config on the same address. It waits up to
// Timeout for the port to be free.
func (ts *Server) Restart() {
	ts.tb.Helper()
	ts.Close()
	ts.start(ts.Addr)
}

// start listens on addr (waiting for it to be free) and serves there.
func (ts *Server) start(addr string) {
	ts.tb.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(Timeout); ; {
		if ln, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling for the port to be free again
	}
	if err != nil {
		ts.tb.Fatalf("servertest: %v", err)
	}
	srv, err := server.New(ts.cfg)
	if err != nil {
		ln.Close()
		ts.tb.Fatalf("servertest: %v", err)
	}
	if ts.Addr == "" { // the first start; Restart keeps the address
		ts.Addr = ln.Addr().String()
		ts.AddrPort = netip.MustParseAddrPort(ts.Addr)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	ts.mu.Lock()
	ts.srv, ts.done = srv, done
	ts.mu.Unlock()
}
