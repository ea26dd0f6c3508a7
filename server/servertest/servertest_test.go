package servertest_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/servertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// registerBase registers nick the base way on addr and returns the
// connection after WELCOME.
func registerBase(t *testing.T, addr, nick string) (net.Conn, *wire.Reader) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, servertest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(servertest.Timeout))
	for _, m := range []wire.Message{wire.Register{Nick: nick, UDPPort: 1}, wire.Port{Nick: nick, TCPPort: 2}} {
		if err := wire.WriteMessage(nc, m); err != nil {
			t.Fatal(err)
		}
	}
	rd := wire.NewReader(nc, 1<<16)
	p, err := rd.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mustParse(t, p).(wire.Welcome); !ok {
		t.Fatalf("got %q, want WELCOME", p)
	}
	return nc, rd
}

func mustParse(t *testing.T, p []byte) wire.Message {
	t.Helper()
	m, err := wire.Parse(p)
	if err != nil {
		t.Fatalf("parse %q: %v", p, err)
	}
	return m
}

func TestCloseRestart(t *testing.T) {
	ts := servertest.NewServer(t, server.Config{Name: "st"})
	if !ts.AddrPort.Addr().IsLoopback() || ts.AddrPort.Port() == 0 || ts.AddrPort.String() != ts.Addr {
		t.Fatalf("Addr %q, AddrPort %v", ts.Addr, ts.AddrPort)
	}
	nc, rd := registerBase(t, ts.Addr, "ana")
	if n := ts.Server().NumPeers(); n != 1 {
		t.Fatalf("NumPeers = %d, want 1", n)
	}

	ts.Close()
	if ts.Server() != nil {
		t.Fatal("Server() != nil after Close")
	}
	p, err := rd.ReadFrame()
	if err != nil {
		t.Fatalf("read after Close: %v", err)
	}
	if e, ok := mustParse(t, p).(wire.Error); !ok || e.Reason != server.ReasonShutdown {
		t.Fatalf("got %q, want ERROR %s", p, server.ReasonShutdown)
	}
	if _, err := rd.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Fatalf("read after ERROR: %v, want EOF", err)
	}
	nc.Close()
	if c, err := net.Dial("tcp", ts.Addr); err == nil {
		c.Close()
		t.Fatal("dial succeeded while closed")
	}
	ts.Close() // a second Close does nothing

	ts.Restart()
	registerBase(t, ts.Addr, "ana")
	if n := ts.Server().NumPeers(); n != 1 {
		t.Fatalf("NumPeers after Restart = %d, want 1", n)
	}
	ts.Restart() // restarting a running server closes it first
	registerBase(t, ts.Addr, "bob")
}
