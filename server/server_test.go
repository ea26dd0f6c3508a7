package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBaseClient(t *testing.T) {
	s, addr := startServer(t, testConfig())
	alice := dial(t, addr)
	alice.register("alice", 4000, 5000) // base clients send the nick unquoted

	bob := dial(t, addr)
	bob.send(`REGISTER "bob" 4001`) // ours quote it
	bob.send("PORT bob 5001")
	bob.expect(welcome)
	bob.expect("JOINED alice 127.0.0.1 4000 5000")
	alice.expect("JOINED bob 127.0.0.1 4001 5001")

	alice.send("BROADCAST hello there")
	alice.expect("BROADCAST alice: hello there") // the sender's copy confirms
	bob.expect("BROADCAST alice: hello there")

	// Unknown and v2-only payloads from a base client are ignored, not fatal.
	bob.send("FROBNICATE")
	bob.send("PING 1")
	bob.send("BROADCAST still here")
	alice.expect("BROADCAST bob: still here")
	bob.expect("BROADCAST bob: still here")

	if got := s.Peers(); len(got) != 2 || got[0].Nick != "alice" || got[1].Nick != "bob" || got[1].TCPPort != 5001 {
		t.Fatalf("Peers() = %+v", got)
	}
	bob.nc.Close()
	alice.expect("LEFT bob")
	waitFor(t, "bob unregistered", func() bool { return s.NumPeers() == 1 })
	st := s.Stats()
	if st.Joins != 2 || st.Leaves != 1 || st.Broadcasts != 2 || st.Closed[ClosedClient] != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestV2Client(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.HeartbeatTimeout = 5 * time.Second
	cfg.BroadcastRate, cfg.BroadcastBurst = 0.001, 2
	_, addr := startServer(t, cfg)

	base := dial(t, addr)
	base.register("old", 4000, 5000)
	base.send("HELLO 1 bcast caps notice") // not v2: ignored
	base.send("BROADCAST sync")
	base.expect("BROADCAST old: sync")
	alice := dial(t, addr)
	alice.registerV2("alice", 4001, 5001)
	alice.expect("JOINED old 127.0.0.1 4000 5000")
	base.expect("JOINED alice 127.0.0.1 4001 5001")

	bob := dial(t, addr)
	bob.register("bob", 4002, 5002)
	bob.expect("JOINED old 127.0.0.1 4000 5000")
	bob.expect("JOINED alice 127.0.0.1 4001 5001")
	alice.expect("JOINED bob 127.0.0.1 4002 5002")
	base.expect("JOINED bob 127.0.0.1 4002 5002")
	bob.send("HELLO 2 bcast caps notice future")
	bob.expect("CAPS alice heartbeat bcast caps notice")
	alice.expect("CAPS bob bcast caps notice future")

	// BCAST to v2, BROADCAST "<from>: <text>" to base, one sequence.
	bob.send("BROADCAST hi all")
	bob.expect("BCAST 2 1700000000123 bob hi all")
	alice.expectPrefixSkipping("BCAST 2 1700000000123 bob hi all", "PING ")
	base.expect("BROADCAST bob: hi all")

	// PING from the client gets PONG with its token.
	bob.send("PING abc")
	bob.expect("PONG abc")
	// The server PINGs heartbeat clients.
	alice.expectPrefix("PING ")

	// Refusals are NOTICEs to v2 clients: the limiter's burst is 2.
	bob.send("BROADCAST two")
	bob.expect("BCAST 3 1700000000123 bob two")
	bob.send("BROADCAST three")
	bob.expect("NOTICE rate_limited rate limited")
	bob.send("JUMP")
	bob.expect(`NOTICE unknown_command unknown verb "JUMP"`)
	bob.send("REGISTER bob 1")
	bob.expect("NOTICE bad_command already registered")
	base.expect("BROADCAST bob: two")
}

// expectPrefixSkipping reads payloads, skipping those that start with skip,
// until one that equals want.
func (c *client) expectPrefixSkipping(want, skip string) {
	c.t.Helper()
	for {
		got := c.next()
		if got == want {
			return
		}
		if !strings.HasPrefix(got, skip) {
			c.t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestHeartbeatEvictsSilentClient(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.HeartbeatTimeout = 300 * time.Millisecond
	_, addr := startServer(t, cfg)
	obs := dial(t, addr)
	obs.register("obs", 1, 2) // base: never PINGed, never evicted
	phone := dial(t, addr)
	phone.registerV2("phone", 3, 4)
	obs.expect("JOINED phone 127.0.0.1 3 4")
	start := time.Now()
	phone.expect("JOINED obs 127.0.0.1 1 2")
	// The phone reads but never answers: evicted after HeartbeatTimeout.
	obs.expect("LEFT phone")
	if d := time.Since(start); d < cfg.HeartbeatTimeout-50*time.Millisecond || d > cfg.HeartbeatTimeout+time.Second {
		t.Fatalf("evicted after %v, want about %v", d, cfg.HeartbeatTimeout)
	}
	got := phone.expectClosed()
	if len(got) == 0 || got[len(got)-1] != "ERROR heartbeat timeout" {
		t.Fatalf("phone got %q, want PINGs then ERROR heartbeat timeout", got)
	}

	// A client that answers stays.
	live := dial(t, addr)
	live.registerV2("live", 5, 6)
	obs.expect("JOINED live 127.0.0.1 5 6")
	live.expect("JOINED obs 127.0.0.1 1 2")
	for deadline := time.Now().Add(3 * cfg.HeartbeatTimeout); time.Now().Before(deadline); {
		p := live.expectPrefix("PING ")
		live.send("PONG " + strings.TrimPrefix(p, "PING "))
	}
	obs.send("BROADCAST still?")
	obs.expect("BROADCAST obs: still?")
	live.expectPrefixSkipping("BCAST 1 1700000000123 obs still?", "PING ")
}

func TestDuplicateNickname(t *testing.T) {
	tests := []struct{ holder, dup string }{
		{"ana", "ana"},
		{"Ana", "ana"},
		{"ana", "ANA"},
		{"Jos\u00e9", "Jose\u0301"},    // NFC vs NFD
		{"Stra\u00dfe", "STRASSE"},     // case folding
		{"\u212bngstr", "\u00c5NGSTR"}, // Angstrom sign vs A-ring
	}
	for _, tt := range tests {
		t.Run(tt.holder+"/"+tt.dup, func(t *testing.T) {
			s, addr := startServer(t, testConfig())
			holder := dial(t, addr)
			holder.register(tt.holder, 1, 2)
			// Refused at REGISTER …
			dup := dial(t, addr)
			dup.send(fmt.Sprintf("REGISTER %q 3", tt.dup))
			if got := dup.expectClosed(); !slices.Equal(got, []string{"NICKNAME_TAKEN"}) {
				t.Fatalf("duplicate got %q, want NICKNAME_TAKEN then close", got)
			}
			// … and at PORT, when the holder registered in between.
			other := dial(t, addr)
			other.register("other", 5, 6)
			holder.expect("JOINED other 127.0.0.1 5 6")
			if got := s.Peers(); len(got) != 2 || got[0].Nick != tt.holder {
				t.Fatalf("Peers() = %+v", got)
			}
			// The holder heard nothing about the duplicate and still works.
			other.send("BROADCAST ping " + tt.holder)
			holder.expect("BROADCAST other: ping " + tt.holder)
			holder.send("BROADCAST pong")
			holder.expect("BROADCAST " + tt.holder + ": pong")
			other.expect("JOINED " + tt.holder + " 127.0.0.1 1 2")
			other.expect("BROADCAST other: ping " + tt.holder)
			other.expect("BROADCAST " + tt.holder + ": pong")
		})
	}
}

func TestDuplicateAtPort(t *testing.T) {
	_, addr := startServer(t, testConfig())
	a := dial(t, addr)
	a.send("REGISTER ana 1")
	b := dial(t, addr)
	b.send("REGISTER ANA 3")
	b.send("PORT ANA 4")
	b.expect(welcome)
	a.send("PORT ana 2") // ana was free at REGISTER, taken by PORT
	if got := a.expectClosed(); !slices.Equal(got, []string{"NICKNAME_TAKEN"}) {
		t.Fatalf("got %q, want NICKNAME_TAKEN", got)
	}
	c := dial(t, addr)
	c.register("c", 5, 6)
	c.expect("JOINED ANA 127.0.0.1 3 4")
	b.expect("JOINED c 127.0.0.1 5 6") // and no LEFT ana before it
}

func TestRegistrationErrors(t *testing.T) {
	cfg := testConfig()
	cfg.RegisterTimeout = 300 * time.Millisecond
	cfg.FrameTimeout = 200 * time.Millisecond
	cfg.PayloadLimit = 1024
	tests := []struct {
		name string
		raw  string
		want string // last payload before close; "" for none
	}{
		{"silent", "", "ERROR registration timeout"},
		{"bad header", "abc       REGISTER x 1", `ERROR bad frame: bad frame header "abc       ": no length`},
		{"sign in header", "+5        hello", `ERROR bad frame: bad frame header "+5        ": no length`},
		{"oversize", "9999999999", "ERROR bad frame: frame too large: 9999999999 bytes, limit 1024"},
		{"half frame", "20        REGISTER", "ERROR registration timeout"},
		{"invalid utf8", "5         \xff\xfe\xfd\xfc\xfb", "ERROR bad frame: payload is not valid UTF-8"},
		{"before register", frame("BROADCAST hi"), "ERROR register first"},
		{"unknown before register", frame("HELLO 2"), "ERROR register first"},
		{"register without port", frame("REGISTER bob"), `ERROR malformed REGISTER: udp port: not a number: ""`},
		{"nick with quote", frame(`REGISTER a"b 1`), "ERROR malformed REGISTER: quote in nick"},
		{"nick too long", frame("REGISTER " + strings.Repeat("x", 33) + " 1"), "ERROR bad nickname: nickname is longer than 32 characters"},
		{"nick with control", frame("REGISTER a\u0007b 1"), "ERROR bad nickname: nickname contains a control or format character"},
		{"nick with space", frame(`REGISTER "a b" 1`), "ERROR bad nickname: nickname contains whitespace"},
		{"second frame not port", frame("REGISTER bob 1") + frame("BROADCAST x"), "ERROR expected PORT"},
		{"port mismatch", frame("REGISTER bob 1") + frame("PORT eve 2"), "ERROR " + ReasonPortMismatch},
		{"port slow", frame("REGISTER bob 1"), "ERROR registration timeout"},
		{"empty frames only", "0         0         ", "ERROR registration timeout"},
	}
	_, addr := startServer(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			if tt.raw != "" {
				c.raw(tt.raw)
			}
			got := c.expectClosed()
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("got %q, want nothing", got)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("got %q, want [%q]", got, tt.want)
			}
		})
	}
}

// TestPortZero: REGISTER and PORT name ports the client listens on, and
// nobody can reach port 0, so the server refuses either with an ERROR and
// registers no one.
func TestPortZero(t *testing.T) {
	s, addr := startServer(t, testConfig())
	watcher := dial(t, addr)
	watcher.register("watcher", 1, 2)
	for _, tt := range []struct{ name, raw, want string }{
		{"register", frame("REGISTER ana 0"), "ERROR malformed REGISTER: "},
		{"port", frame("REGISTER ana 1") + frame("PORT ana 0"), "ERROR expected PORT: malformed PORT: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			c.raw(tt.raw)
			got := c.expectClosed()
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Fatalf("got %q, want one %q…", got, tt.want)
			}
		})
	}
	if n := s.NumPeers(); n != 1 {
		t.Fatalf("%d peers, want only the watcher", n)
	}
	// The watcher heard no JOINED for ana: the next frame it gets is the
	// JOINED of a later, valid client.
	c := dial(t, addr)
	c.register("bob", 3, 4)
	watcher.expect("JOINED bob 127.0.0.1 3 4")
}

func frame(p string) string { return fmt.Sprintf("%-10d%s", len(p), p) }

func TestConnectionLimits(t *testing.T) {
	cfg := testConfig()
	cfg.MaxClients = 3
	cfg.MaxPerIP = 2
	_, addr := startServer(t, cfg)
	a := dial(t, addr)
	a.register("a", 1, 2)
	b := dial(t, addr)
	b.register("b", 1, 2)
	b.expect("JOINED a 127.0.0.1 1 2")
	c := dial(t, addr)
	if got := c.expectClosed(); !slices.Equal(got, []string{"ERROR " + ReasonTooManyFromIP}) {
		t.Fatalf("third from one IP got %q", got)
	}
	// From another loopback address: the global limit.
	d := dialFrom(t, "127.0.0.2", addr)
	d.register("d", 1, 2)
	e := dialFrom(t, "127.0.0.3", addr)
	if got := e.expectClosed(); !slices.Equal(got, []string{"ERROR " + ReasonTooMany}) {
		t.Fatalf("fourth client got %q", got)
	}
	// A slot frees when a client leaves.
	a.nc.Close()
	b.expect("JOINED d 127.0.0.2 1 2")
	b.expect("LEFT a")
	f := dial(t, addr)
	f.register("f", 1, 2)
}

func dialFrom(t *testing.T, local, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: waitDeadline}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s: %v", local, err)
	}
	return newClient(t, nc)
}

func TestSlowReaderDoesNotStallOthers(t *testing.T) {
	cfg := testConfig()
	cfg.QueueBytes = 64 << 10
	// A write that blocked the fan-out would stall the fast client for
	// the whole WriteTimeout; the bound below is well under it, and well
	// over a scheduling hiccup of a loaded machine under -race.
	cfg.WriteTimeout = 5 * time.Second
	const bound = time.Second
	s, addr := startServer(t, cfg)
	_, fast := slowAndFast(t, addr) // slow never reads
	text := strings.Repeat("x", 4000)
	var worst time.Duration
	left := false
	for i := 0; !left; i++ {
		if i == 20000 {
			t.Fatal("slow client never disconnected")
		}
		start := time.Now()
		fast.send("BROADCAST " + text)
		for {
			p := fast.next()
			if p == "LEFT slow" {
				left = true
				continue
			}
			if p != "BROADCAST fast: "+text {
				t.Fatalf("got %.40q", p)
			}
			break
		}
		worst = max(worst, time.Since(start))
	}
	if worst > bound {
		t.Errorf("slowest broadcast to the fast client took %v, want <= %v", worst, bound)
	}
	waitFor(t, "slow's close counted", func() bool { return s.Stats().Conns == 1 })
	st := s.Stats()
	if st.Closed[ClosedQueueOverflow]+st.Closed[ClosedWriteTimeout] != 1 {
		t.Fatalf("closed = %v, want one queue overflow or write timeout", st.Closed)
	}
	t.Logf("worst broadcast latency %v; slow closed for %v", worst, st.Closed)
}

// TestWriteTimeoutClosesSlowReader: with a queue too large to overflow, a
// client that stops reading is closed by the write deadline, and the others
// go on.
func TestWriteTimeoutClosesSlowReader(t *testing.T) {
	cfg := testConfig()
	cfg.QueueBytes = 64 << 20
	cfg.WriteTimeout = 300 * time.Millisecond
	s, addr := startServer(t, cfg)
	_, fast := slowAndFast(t, addr) // slow never reads
	text := strings.Repeat("w", 60000)
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("slow client never disconnected")
		}
		fast.send("BROADCAST " + text)
		if p := fast.next(); p == "LEFT slow" {
			break
		} else if p != "BROADCAST fast: "+text {
			t.Fatalf("got %.40q", p)
		}
	}
	waitFor(t, "slow's close counted", func() bool { return s.Stats().Conns == 1 })
	if st := s.Stats(); st.Closed[ClosedWriteTimeout] != 1 {
		t.Fatalf("closed = %v, want one write timeout", st.Closed)
	}
}

func TestDeadMidFrame(t *testing.T) {
	cfg := testConfig()
	cfg.FrameTimeout = 500 * time.Millisecond
	tests := []struct {
		name  string
		close bool
	}{
		{"closes", true},
		{"goes silent", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := startServer(t, cfg)
			obs := dial(t, addr)
			obs.register("obs", 1, 2)
			dead := dial(t, addr)
			dead.register("dead", 3, 4)
			obs.expect("JOINED dead 127.0.0.1 3 4")
			start := time.Now()
			dead.raw("30        BROADCAST half")
			if tt.close {
				dead.nc.Close()
			}
			obs.expect("LEFT dead")
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("LEFT after %v, want within 2s", d)
			}
		})
	}
}

// TestIdleConnOneGoroutine: a connection has a writer only while it has
// something to write, so once the frames are out each idle client costs the
// server one goroutine, its reader.
func TestIdleConnOneGoroutine(t *testing.T) {
	const n = 20
	s, addr := startServer(t, testConfig())
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = dial(t, addr)
		cs[i].register(fmt.Sprintf("c%02d", i), 1, 2)
	}
	for _, c := range cs { // everyone has seen everyone else
		for range n - 1 {
			c.expectPrefix("JOINED c")
		}
	}
	for range 5 {
		cs[0].send("BROADCAST x")
	}
	for _, c := range cs {
		for range 5 {
			c.expect("BROADCAST c00: x")
		}
	}
	// Serve, heartbeat, Serve's watcher, the writer pool, and one reader
	// per client.
	want := 3 + s.writers.n + n
	waitFor(t, "writers to end", func() bool { return len(serverGoroutines()) == want })
	for _, g := range serverGoroutines() {
		if strings.Contains(g, "writeLoop") {
			t.Fatalf("a writer is still running:\n%s", g)
		}
	}
}

func TestJoinStorm(t *testing.T) {
	const n = 200
	s, addr := startServer(t, testConfig())
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dial(t, addr)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range clients {
		wg.Go(func() {
			nick := fmt.Sprintf("u%03d", i)
			if err := stormClient(c, nick, n); err != nil {
				errs <- fmt.Errorf("%s: %w", nick, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.NumPeers(); got != n {
		t.Fatalf("%d peers, want %d", got, n)
	}
	// Half leave: each of the rest hears each LEFT once, and nothing else.
	// (A new channel, made before the readers start: the first is closed.)
	leftErrs := make(chan error, n)
	for _, c := range clients[n/2:] {
		c.nc.Close()
	}
	for i, c := range clients[:n/2] {
		wg.Go(func() {
			seen := map[string]bool{}
			for len(seen) < n/2 {
				p, err := c.rd.ReadFrame()
				if err != nil {
					leftErrs <- fmt.Errorf("u%03d: %v after %d LEFT", i, err, len(seen))
					return
				}
				nick, ok := strings.CutPrefix(string(p), "LEFT ")
				if !ok || seen[nick] {
					leftErrs <- fmt.Errorf("u%03d: unexpected %q", i, p)
					return
				}
				seen[nick] = true
			}
		})
	}
	wg.Wait()
	close(leftErrs)
	for err := range leftErrs {
		t.Error(err)
	}
}

// stormClient registers nick and reads until it has seen JOINED for each of
// the other n-1 clients exactly once.
func stormClient(c *client, nick string, n int) error {
	for _, p := range []string{"REGISTER " + nick + " 1", "PORT " + nick + " 2"} {
		if _, err := c.nc.Write([]byte(frame(p))); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for len(seen) < n-1 {
		p, err := c.rd.ReadFrame()
		if err != nil {
			return fmt.Errorf("%v after %d JOINED", err, len(seen))
		}
		if string(p) == welcome {
			continue
		}
		f := strings.Fields(string(p))
		if len(f) != 5 || f[0] != "JOINED" || f[1] == nick || seen[f[1]] {
			return fmt.Errorf("unexpected %q", p)
		}
		seen[f[1]] = true
	}
	return nil
}

func TestShutdown(t *testing.T) {
	cfg := testConfig()
	cfg.WriteTimeout = 10 * time.Second
	cfg.QueueBytes = 64 << 20
	cfg.RegisterTimeout = time.Minute // idle stays unregistered however slow the machine
	s, addr, done := serve(t, context.Background(), cfg)
	a := dial(t, addr)
	a.register("a", 1, 2)
	idle := dial(t, addr) // not registered yet
	stuck := dial(t, addr)
	if tc, ok := stuck.nc.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	stuck.register("stuck", 3, 4)
	a.expect("JOINED stuck 127.0.0.1 3 4")
	big := strings.Repeat("y", 60000)
	for range 200 { // fill stuck's socket buffers and queue
		a.send("BROADCAST " + big)
		a.expect("BROADCAST a: " + big)
	}
	waitFor(t, "3 connections", func() bool { return s.Stats().Conns == 3 })

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := s.Shutdown(ctx)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want deadline exceeded (stuck could not drain)", err)
	}
	if got := a.expectClosed(); !slices.Equal(got, []string{"ERROR " + ReasonShutdown}) {
		t.Errorf("a got %q", got)
	}
	if got := idle.expectClosed(); !slices.Equal(got, []string{"ERROR " + ReasonShutdown}) {
		t.Errorf("idle got %q", got)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	case <-time.After(waitDeadline):
		t.Fatal("Serve did not return")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
	if st := s.Stats(); st.Conns != 0 {
		t.Errorf("%d connections after Shutdown", st.Conns)
	}
}

// TestClose: Close ends every connection at once, queued frames or not,
// and Serve returns ErrServerClosed.
func TestClose(t *testing.T) {
	cfg := testConfig()
	cfg.QueueBytes = 64 << 20
	s, addr, done := serve(t, context.Background(), cfg)
	a := dial(t, addr)
	a.register("a", 1, 2)
	stuck := dial(t, addr) // never reads: its queue cannot drain
	stuck.register("stuck", 3, 4)
	a.expect("JOINED stuck 127.0.0.1 3 4")
	big := strings.Repeat("z", 60000)
	for range 100 {
		a.send("BROADCAST " + big)
		a.expect("BROADCAST a: " + big)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	case <-time.After(waitDeadline):
		t.Fatal("Serve did not return")
	}
	if got := a.expectClosed(); len(got) > 1 || len(got) == 1 && got[0] != "ERROR "+ReasonShutdown {
		t.Errorf("a got %q", got)
	}
	if st := s.Stats(); st.Conns != 0 || st.Closed[ClosedShutdown] != 2 {
		t.Errorf("Stats after Close: %d conns, closed %v", st.Conns, st.Closed)
	}
}

// TestLastFrameAfterBacklog: the client's ERROR is queued behind frames the
// client has not read yet, and the client is still sending, when the server
// closes; it must still arrive (closing a socket with unread input resets
// the connection and drops what the kernel had not sent yet).
func TestLastFrameAfterBacklog(t *testing.T) {
	cfg := testConfig()
	cfg.QueueBytes = 16 << 20
	_, addr := startServer(t, cfg)
	slow := dial(t, addr)
	slow.register("slow", 1, 2)
	talker := dial(t, addr)
	talker.register("talker", 3, 4)
	talker.expect("JOINED slow 127.0.0.1 1 2")
	text := strings.Repeat("t", 1000)
	const n = 1000 // 1 MB for slow, which does not read yet
	for range n {
		talker.send("BROADCAST " + text)
		talker.expect("BROADCAST talker: " + text)
	}
	slow.raw("bad header" + strings.Repeat(frame(strings.Repeat("j", 1000)), 100))
	slow.expect("JOINED talker 127.0.0.1 3 4")
	for range n {
		slow.expect("BROADCAST talker: " + text)
	}
	if got := slow.expectClosed(); !slices.Equal(got, []string{`ERROR bad frame: bad frame header "bad header": no length`}) {
		t.Fatalf("got %q", got)
	}
}

// slowAndFast registers two clients: slow, with a small receive buffer, that
// the test stops reading from, and fast, which has seen slow join.
func slowAndFast(t *testing.T, addr string) (slow, fast *client) {
	t.Helper()
	slow = dial(t, addr)
	if tc, ok := slow.nc.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	slow.register("slow", 1, 2)
	fast = dial(t, addr)
	fast.register("fast", 3, 4)
	fast.expect("JOINED slow 127.0.0.1 1 2")
	return slow, fast
}
