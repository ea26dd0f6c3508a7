package servertest_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/core/identity"
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

// keysRegister registers nick on addr with HELLO 2 keys and proves id; it
// returns the server's key from SKEY and the frame that followed IDENT
// (SIDENT checked, or NICKNAME_TAKEN).
func keysRegister(t *testing.T, addr, nick string, id *identity.Identity) (identity.PublicIdentity, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, servertest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(servertest.Timeout))
	rd := wire.NewReader(nc, 1<<16)
	send := func(m wire.Message) {
		t.Helper()
		if err := wire.WriteMessage(nc, m); err != nil {
			t.Fatal(err)
		}
	}
	next := func() wire.Message {
		t.Helper()
		p, err := rd.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, p)
	}
	send(wire.Register{Nick: nick, UDPPort: 1})
	send(wire.Port{Nick: nick, TCPPort: 2})
	if w, ok := next().(wire.Welcome); !ok || !slices.Contains(w.Features, wire.FeatureKeys) {
		t.Fatalf("got %v, want WELCOME with keys", w)
	}
	send(wire.Hello{Version: 2, Features: []string{wire.FeatureKeys}})
	sk, ok := next().(wire.ServerKey)
	if !ok {
		t.Fatal("no SKEY")
	}
	srv, err := identity.ParsePublic(sk.Key)
	if err != nil {
		t.Fatal(err)
	}
	r := identity.Registration{ServerNonce: sk.Nonce, ClientNonce: []byte("client-nonce-16b"), Nick: nick, Server: srv, Client: id.Public()}
	send(wire.Ident{Key: id.Public().String(), Nonce: r.ClientNonce, Sig: r.SignClient(id)})
	switch m := next().(type) {
	case wire.ServerIdent:
		if !r.VerifyServer(m.Sig) {
			t.Fatal("SIDENT does not verify")
		}
		return srv, wire.VerbServerIdent
	case wire.NicknameTaken:
		return srv, wire.VerbNicknameTaken
	default:
		t.Fatalf("got %v after IDENT", m)
	}
	return srv, ""
}

// TestKeysAcrossRestart: the server's key and the nicks held by keys are
// kept in DataDir across Restart; removing identity.json changes the key
// but not the bindings.
func TestKeysAcrossRestart(t *testing.T) {
	ts := servertest.NewServer(t, server.Config{Name: "keys"})
	alice, mallory := mustID(t, 2), mustID(t, 4)
	first := ts.Identity()
	if first == nil {
		t.Fatal("no identity")
	}
	if srv, got := keysRegister(t, ts.Addr, "alice", alice); srv != first.Public() || got != wire.VerbServerIdent {
		t.Fatalf("SKEY key %v (want %v), then %s", srv, first.Public(), got)
	}
	ts.Restart()
	if ts.Identity().Public() != first.Public() {
		t.Fatal("the server's key changed at Restart")
	}
	if _, got := keysRegister(t, ts.Addr, "alice", mallory); got != wire.VerbNicknameTaken {
		t.Fatalf("another key after Restart: %s", got)
	}
	if _, got := keysRegister(t, ts.Addr, "alice", alice); got != wire.VerbServerIdent {
		t.Fatalf("the holder after Restart: %s", got)
	}

	ts.Close()
	if err := os.Remove(filepath.Join(ts.DataDir, identity.FileName)); err != nil {
		t.Fatal(err)
	}
	ts.Restart()
	srv, got := keysRegister(t, ts.Addr, "alice", mallory)
	if srv == first.Public() || srv != ts.Identity().Public() || got != wire.VerbNicknameTaken {
		t.Fatalf("after a new key: SKEY %v, then %s", srv, got)
	}
}

// TestNoKeys: Options.NoKeys serves without the keys feature.
func TestNoKeys(t *testing.T) {
	ts := servertest.NewServerWith(t, server.Config{}, servertest.Options{NoKeys: true})
	if ts.Identity() != nil || !ts.Server().Key().IsZero() {
		t.Fatal("a key with NoKeys")
	}
	nc, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	wire.WriteMessage(nc, wire.Register{Nick: "x", UDPPort: 1})
	wire.WriteMessage(nc, wire.Port{Nick: "x", TCPPort: 1})
	rd := wire.NewReader(nc, 1<<16)
	rd.IdleTimeout = servertest.Timeout
	p, err := rd.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := mustParse(t, p).(wire.Welcome); !ok || slices.Contains(w.Features, wire.FeatureKeys) {
		t.Fatalf("got %q", p)
	}
}

func mustID(t *testing.T, b byte) *identity.Identity {
	t.Helper()
	id, err := identity.FromSeed(bytes.Repeat([]byte{b}, identity.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return id
}
