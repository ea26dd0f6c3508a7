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
//
// Each Server has a data directory (DataDir, a fresh tb.TempDir() unless
// Options.DataDir names one) holding the server's key (identity.json) and
// its nicks held by keys (server.NickFile), so it speaks the keys feature
// (docs/PROTOCOL.md §2.6) unless the Config brings its own Identity and
// Nicks or Options.NoKeys is set, and its mailbox and kept broadcasts
// (server.MailFile, §2.8, §2.9) unless the Config brings its own Mail.
// They are read again at each start: bindings, mailbox items and kept
// broadcasts survive Restart, and a test changes the server's key by
// removing DataDir/identity.json between Close and Restart.
package servertest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"peerchat/core/identity"
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
	// DataDir is the server's data directory; it stays the same across
	// Restart.
	DataDir string

	tb   testing.TB
	cfg  server.Config
	opts Options

	mu    sync.Mutex
	srv   *server.Server     // nil while closed
	id    *identity.Identity // srv's key, nil without keys
	nicks *server.NickStore  // opened by start, closed by Close; nil if cfg has one
	mail  *server.MailStore  // likewise
	done  chan error         // Serve's result for srv
}

// Options adjust a Server made by NewServerWith.
type Options struct {
	// DataDir is the server's data directory; "" means a fresh
	// tb.TempDir().
	DataDir string
	// NoKeys serves without a key: WELCOME does not list keys, like a
	// server of before the keys feature. A Config.Identity still wins.
	NoKeys bool
}

// NewServer starts a server configured by cfg on 127.0.0.1 on a free port,
// and shuts it down when the test ends. A nil cfg.Logger discards logs.
// It is NewServerWith with the zero Options: the server has a key and a
// nick database in a fresh data directory.
func NewServer(tb testing.TB, cfg server.Config) *Server {
	tb.Helper()
	return NewServerWith(tb, cfg, Options{})
}

// NewServerWith is NewServer with opts.
func NewServerWith(tb testing.TB, cfg server.Config, opts Options) *Server {
	tb.Helper()
	ts := &Server{tb: tb, cfg: cfg, opts: opts, DataDir: opts.DataDir}
	if ts.DataDir == "" {
		ts.DataDir = tb.TempDir()
	}
	tb.Cleanup(ts.Close) // before start: it may fail half way
	ts.start("127.0.0.1:0")
	return ts
}

// Identity returns the running server's key pair, or nil while closed or
// when it has none.
func (ts *Server) Identity() *identity.Identity {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.id
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
	srv, done, nicks, mail := ts.srv, ts.done, ts.nicks, ts.mail
	ts.srv, ts.done, ts.nicks, ts.mail, ts.id = nil, nil, nil, nil, nil
	ts.mu.Unlock()
	if mail != nil {
		defer func() {
			if err := mail.Close(); err != nil {
				ts.tb.Errorf("servertest: %v", err)
			}
		}()
	}
	if nicks != nil {
		defer func() {
			if err := nicks.Close(); err != nil {
				ts.tb.Errorf("servertest: %v", err)
			}
		}()
	}
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
	cfg := ts.cfg
	var nicks *server.NickStore
	var mail *server.MailStore
	if !ts.opts.NoKeys || cfg.Identity != nil {
		if cfg.Identity == nil {
			if cfg.Identity, err = identity.LoadOrCreate(ts.DataDir); err != nil {
				ln.Close()
				ts.tb.Fatalf("servertest: %v", err)
			}
		}
		if cfg.Nicks == nil {
			if nicks, err = server.OpenNickStore(ts.DataDir); err != nil {
				ln.Close()
				ts.tb.Fatalf("servertest: %v", err)
			}
			cfg.Nicks = nicks
		}
		if cfg.Mail == nil {
			if mail, err = server.OpenMailStore(ts.DataDir); err != nil {
				ln.Close()
				if nicks != nil {
					nicks.Close()
				}
				ts.tb.Fatalf("servertest: %v", err)
			}
			cfg.Mail = mail
		}
	}
	srv, err := server.New(cfg)
	if err != nil {
		ln.Close()
		if nicks != nil {
			nicks.Close()
		}
		if mail != nil {
			mail.Close()
		}
		ts.tb.Fatalf("servertest: %v", err)
	}
	if ts.Addr == "" { // the first start; Restart keeps the address
		ts.Addr = ln.Addr().String()
		ts.AddrPort = netip.MustParseAddrPort(ts.Addr)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	ts.mu.Lock()
	ts.srv, ts.done, ts.nicks, ts.mail, ts.id = srv, done, nicks, mail, cfg.Identity
	ts.mu.Unlock()
}
