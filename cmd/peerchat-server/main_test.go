package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/core/discovery"
	"peerchat/core/identity"
	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/host"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (s *syncBuffer) find(msg string) map[string]any {
	for _, l := range s.lines() {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

func TestRunServesDiscoversAndShutsDown(t *testing.T) {
	var logs syncBuffer
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hostc := make(chan *host.Host, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-data", dataDir, "-addr", "127.0.0.1:0", "-discovery-addr", "127.0.0.1:0", "-mdns=false",
			"-name", "unit test", "-log-format", "json", "-log-level", "debug", "-stats-interval", "50ms"},
			&logs, func(h *host.Host) { hostc <- h })
	}()
	var h *host.Host
	select {
	case h = <-hostc:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server did not start")
	}

	addr := h.ListenAddr()
	nc, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	wire.WriteFrame(nc, []byte("REGISTER ann 1"))
	wire.WriteFrame(nc, []byte("PORT ann 2"))
	rd := wire.NewReader(nc, 1<<16)
	rd.IdleTimeout = 5 * time.Second
	if p, err := rd.ReadFrame(); err != nil || !strings.HasPrefix(string(p), "WELCOME 2 ") {
		t.Fatalf("got %q, %v", p, err)
	}

	disc := logs.find("answering discovery probes")
	if disc == nil || h.DiscoveryAddr() == nil || disc["udp"] != h.DiscoveryAddr().String() {
		t.Fatalf("discovery log line %v, responder on %v", disc, h.DiscoveryAddr())
	}
	udp := netip.MustParseAddrPort(disc["udp"].(string))
	found, err := discovery.Probe(ctx, discovery.ProbeConfig{Port: int(udp.Port()), Timeout: 300 * time.Millisecond,
		NoBroadcast: true, Extra: []netip.AddrPort{udp}})
	if err != nil || len(found) != 1 || found[0].Name != "unit test" || found[0].Peers != 1 ||
		found[0].Addr.Port() != uint16(addr.(*net.TCPAddr).Port) {
		t.Fatalf("Probe = %+v, %v", found, err)
	}

	deadline := time.Now().Add(5 * time.Second)
	for logs.find("stats") == nil {
		if time.Now().After(deadline) {
			t.Fatal("no stats line")
		}
		time.Sleep(10 * time.Millisecond)
	}

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return within 5s of the signal")
	}
	t.Logf("shut down in %v", time.Since(start))
	if p, err := rd.ReadFrame(); err != nil || string(p) != "ERROR server shutting down" {
		t.Fatalf("client got %q, %v; want ERROR server shutting down", p, err)
	}
	started := logs.find("peerchat server started")
	if started == nil || started["listen"] == nil {
		t.Fatalf("no startup line: %v", logs.lines())
	}
	closed := logs.find("closed")
	if closed == nil || closed["nick"] != "ann" || closed["reason"] != "server shutting down" || closed["conn"] == nil || closed["duration"] == nil {
		t.Fatalf("per-connection close line: %v", closed)
	}
}

func TestFlags(t *testing.T) {
	var out bytes.Buffer
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"-max-clients", "5", "-broadcast-rate", "2.5", "-queue-bytes", "1000", "-relay-rate", "100", "-mail-items", "7", "-replay-age", "1h"}, true},
		{[]string{"-nope"}, false},
		{[]string{"extra"}, false},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args, &out)
		if (err == nil) != tt.ok {
			t.Errorf("parseFlags(%q) error %v", tt.args, err)
		}
		if err == nil && (o.cfg.MaxClients != 5 || o.cfg.BroadcastRate != 2.5 || o.cfg.QueueBytes != 1000 ||
			o.cfg.RelayRate != 100 || o.cfg.MailItems != 7 || o.cfg.ReplayAge != time.Hour) {
			t.Errorf("parseFlags(%q) = %+v", tt.args, o.cfg)
		}
	}
	for _, f := range []string{"json", "text"} {
		if _, err := newLogger(f, "debug", &out); err != nil {
			t.Error(err)
		}
	}
	if _, err := newLogger("xml", "info", &out); err == nil {
		t.Error("log format xml accepted")
	}
	if _, err := newLogger("text", "loud", &out); err == nil {
		t.Error("log level loud accepted")
	}
}

// TestFlagsDocumented checks that the package documentation lists every
// flag that -h prints, and that -h prints the usage line.
func TestFlagsDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	var out bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if !strings.HasPrefix(out.String(), "Usage: peerchat-server [flags]") {
		t.Errorf("-h starts with %q", strings.SplitN(out.String(), "\n", 2)[0])
	}
	n := 0
	for _, line := range strings.Split(out.String(), "\n") {
		name, ok := strings.CutPrefix(line, "  -")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " ")
		n++
		if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).MatchString(doc) {
			t.Errorf("flag -%s is not in the package documentation", name)
		}
	}
	if n < 20 {
		t.Fatalf("-h listed %d flags:\n%s", n, out.String())
	}
}

// TestRunAddressTaken: a TCP address that cannot be bound is an error, and
// nothing is left running (TestMain).
func TestRunAddressTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var logs syncBuffer
	err = run(context.Background(), []string{"-data", t.TempDir(), "-addr", busy.Addr().String(), "-discovery=false", "-mdns=false"}, &logs,
		func(*host.Host) { t.Error("ready called") })
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("run on a busy address = %v, want a *net.OpError", err)
	}
}

// TestReleaseNick: -release-nick forgets a binding in a stopped server's
// data directory and exits; on a database in use it fails at once with
// server.ErrNicksLocked.
func TestReleaseNick(t *testing.T) {
	dir := t.TempDir()
	ns, err := server.OpenNickStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.FromSeed(bytes.Repeat([]byte{2}, identity.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Bind(server.Binding{Nick: "Alice", Key: id.Public(), Seen: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	start := time.Now()
	err = run(context.Background(), []string{"-data", dir, "-release-nick", "alice"}, &out, nil)
	if !errors.Is(err, server.ErrNicksLocked) {
		t.Fatalf("release while the database is open: %v, want ErrNicksLocked", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("locked database refused after %v", d)
	}
	ns.Close()

	if err := run(context.Background(), []string{"-data", dir, "-release-nick", "ALICE"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-data", dir, "-release-nick", "alice"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if got := out.b.String(); got != "released \"ALICE\"\n\"alice\" was not held by a key\n" {
		t.Fatalf("output %q", got)
	}
	ns, err = server.OpenNickStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if _, ok, err := ns.Lookup("alice"); ok || err != nil {
		t.Fatalf("binding still there (%v)", err)
	}
}

// TestRunDataDir: the server's key is made in -data (mode 0600 file, 0700
// directory), announced in SKEY, and the same at the next start; -nick-hold
// is parsed.
func TestRunDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	key := func() string {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		hostc := make(chan *host.Host, 1)
		done := make(chan error, 1)
		var logs syncBuffer
		go func() {
			done <- run(ctx, []string{"-data", dir, "-addr", "127.0.0.1:0", "-discovery=false", "-mdns=false", "-nick-hold", "1h"},
				&logs, func(h *host.Host) { hostc <- h })
		}()
		var h *host.Host
		select {
		case h = <-hostc:
		case err := <-done:
			t.Fatalf("run: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("server did not start")
		}
		k := h.Server.Key().String()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return k
	}
	k1 := key()
	if k1 == "" {
		t.Fatal("no server key")
	}
	if k2 := key(); k2 != k1 {
		t.Fatalf("key changed across restarts: %s, %s", k1, k2)
	}
	id, err := identity.Load(dir)
	if err != nil || id.Public().String() != k1 {
		t.Fatalf("identity.json: %v", err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", st.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, server.NickFile)); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-nick-hold", "2h"}, io.Discard)
	if err != nil || o.cfg.NickHold != 2*time.Hour {
		t.Fatalf("-nick-hold: %v, %v", o.cfg.NickHold, err)
	}
	if o, _ := parseFlags(nil, io.Discard); o.cfg.NickHold != server.DefaultNickHold || !strings.HasSuffix(o.dataDir, "peerchat-server") {
		t.Fatalf("defaults: hold %v, data %q", o.cfg.NickHold, o.dataDir)
	}
}
