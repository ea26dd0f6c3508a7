package server

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/core/wire"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		runChild(dir) // never returns
	}
	goleak.VerifyTestMain(m)
}

// waitDeadline bounds every wait of the tests.
const waitDeadline = 5 * time.Second

// testConfig is a Config with short timeouts and generous rates.
func testConfig() Config {
	return Config{
		Name:              "test",
		RegisterTimeout:   2 * time.Second,
		FrameTimeout:      time.Second,
		MaxPerIP:          5000,
		BroadcastRate:     1e6,
		BroadcastBurst:    1e6,
		HeartbeatInterval: time.Hour,
		HeartbeatTimeout:  2 * time.Hour,
		WriteTimeout:      2 * time.Second,
		Now:               func() time.Time { return time.UnixMilli(1700000000123) },
	}
}

// serve runs a server with cfg on a fresh 127.0.0.1 listener until ctx is
// done or the server is shut down, and returns it, its address and the
// channel Serve's result arrives on.
func serve(t testing.TB, ctx context.Context, cfg Config) (*Server, string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	return s, ln.Addr().String(), done
}

// startServer runs a server on 127.0.0.1 for the test's duration and checks
// at cleanup that Serve returned and no goroutine started since outlived it
// (goleak). (Tests of package server cannot use servertest, which imports
// it.)
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	s, addr, done := serve(t, ctx, cfg)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(waitDeadline):
			t.Error("Serve did not return after cancel")
		}
		goleak.VerifyNone(t, ignore)
	})
	return s, addr
}

// serverGoroutines returns the stacks of the goroutines running the
// server's own code (its methods, not the tests').
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "serverGoroutines(") {
			continue // the caller
		}
		if strings.Contains(g, "peerchat/server.(*Server)") || strings.Contains(g, "peerchat/server.(*conn)") ||
			strings.Contains(g, "peerchat/server.(*writerPool)") {
			out = append(out, g)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// client is a test client that speaks the protocol frame by frame.
type client struct {
	t  testing.TB
	nc net.Conn
	rd *wire.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitDeadline)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, nc)
}

// newClient wraps nc, which it closes at the test's end.
func newClient(t testing.TB, nc net.Conn) *client {
	t.Cleanup(func() { nc.Close() })
	rd := wire.NewReader(nc, 1<<20)
	rd.IdleTimeout = waitDeadline
	rd.FrameTimeout = waitDeadline
	return &client{t: t, nc: nc, rd: rd}
}

// send sends one frame with payload p.
func (c *client) send(p string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(waitDeadline))
	if err := wire.WriteFrame(c.nc, []byte(p)); err != nil {
		c.t.Fatalf("send %q: %v", p, err)
	}
}

// raw sends bytes as they are.
func (c *client) raw(b string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(waitDeadline))
	if _, err := c.nc.Write([]byte(b)); err != nil {
		c.t.Fatalf("write %q: %v", b, err)
	}
}

// next returns the next payload, failing the test after waitDeadline.
func (c *client) next() string {
	c.t.Helper()
	p, err := c.rd.ReadFrame()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return string(p)
}

// expect reads the next payload and checks it is want.
func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// expectPrefix reads the next payload, checks that it starts with prefix,
// and returns it.
func (c *client) expectPrefix(prefix string) string {
	c.t.Helper()
	got := c.next()
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("got %q, want prefix %q", got, prefix)
	}
	return got
}

// expectClosed reads until the server closes the connection, and returns
// the payloads it sent before.
func (c *client) expectClosed() []string {
	c.t.Helper()
	var got []string
	for {
		p, err := c.rd.ReadFrame()
		if err == nil {
			got = append(got, string(p))
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return got
		}
		c.t.Fatalf("waiting for close, got %q then %v", got, err)
	}
}

const welcome = "WELCOME 2 heartbeat bcast caps notice images"

// register registers nick the base way (unquoted, two frames) and reads
// WELCOME.
func (c *client) register(nick string, udp, tcp int) {
	c.t.Helper()
	c.send("REGISTER " + nick + " " + itoa(udp))
	c.send("PORT " + nick + " " + itoa(tcp))
	c.expect(welcome)
}

func itoa(n int) string { return strings.TrimSpace(string(wire.AppendHeader(nil, n))) }

// registerV2 registers nick and says HELLO with every feature.
func (c *client) registerV2(nick string, udp, tcp int) {
	c.t.Helper()
	c.register(nick, udp, tcp)
	c.send("HELLO 2 heartbeat bcast caps notice")
}
