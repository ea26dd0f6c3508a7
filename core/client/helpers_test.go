package client

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/servertest"
)

// waitTimeout bounds every wait for an event in the tests.
const waitTimeout = 5 * time.Second

// startServer starts a real server on 127.0.0.1 for the test
// (servertest: Close stops it, Restart brings it back on the same port).
func startServer(t testing.TB) *servertest.Server {
	t.Helper()
	return servertest.NewServer(t, server.Config{Name: "test"})
}

// tc is a Client under test with the history of its events.
type tc struct {
	*Client
	t    testing.TB
	hmu  sync.Mutex // guards all and used (not the Client's mu)
	all  []Event
	used []bool
	logs *logSink
}

func testConfig(addr, nick string) Config {
	return Config{
		Server:        addr,
		Nick:          nick,
		ListenAddr:    "127.0.0.1",
		ResendEvery:   50 * time.Millisecond,
		FallbackAfter: 500 * time.Millisecond,
		InviteTTL:     3 * time.Second,
		Reconnect:     true,
	}
}

func dial(t testing.TB, cfg Config) *tc {
	t.Helper()
	logs := &logSink{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(logs)
	}
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("dial %s as %q: %v", cfg.Server, cfg.Nick, err)
	}
	t.Cleanup(func() { c.Close() })
	return &tc{Client: c, t: t, logs: logs}
}

// wait returns the first not yet matched event of kind for which ok (if not
// nil) holds, waiting up to waitTimeout.
func (c *tc) wait(kind EventKind, ok func(Event) bool) Event {
	c.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		c.hmu.Lock()
		c.all = c.Poll(c.all)
		for len(c.used) < len(c.all) {
			c.used = append(c.used, false)
		}
		for i, e := range c.all {
			if !c.used[i] && e.Kind == kind && (ok == nil || ok(e)) {
				c.used[i] = true
				c.hmu.Unlock()
				return e
			}
		}
		c.hmu.Unlock()
		select {
		case <-c.Events():
		case <-deadline.C:
			var logs string
			if c.logs != nil {
				c.logs.mu.Lock()
				logs = strings.Join(c.logs.msgs, "\n  ")
				c.logs.mu.Unlock()
			}
			c.t.Fatalf("%s: no event %v within %v; events: %s\nlogs:\n  %s", c.Nick(), kind, waitTimeout, c.history(), logs)
		}
	}
}

// count returns how many events of kind were seen so far.
func (c *tc) count(kind EventKind) int {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	c.all = c.Poll(c.all)
	n := 0
	for _, e := range c.all {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// kindsOf returns the kinds of the events seen so far that carry id, in
// order ("sent delivered").
func (c *tc) kindsOf(id uint64) string {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	c.all = c.Poll(c.all)
	var ks []string
	for _, e := range c.all {
		if e.ID == id {
			ks = append(ks, e.Kind.String())
		}
	}
	return strings.Join(ks, " ")
}

func (c *tc) history() string {
	var b strings.Builder
	for _, e := range c.all {
		fmt.Fprintf(&b, "\n  %v peer=%q from=%q text=%q reason=%s err=%v id=%d", e.Kind, e.Peer, e.From, e.Text, e.Reason, e.Err, e.ID)
	}
	return b.String()
}

func peerIs(nick string) func(Event) bool {
	return func(e Event) bool { return e.Peer == nick || e.From == nick }
}

// waitPeers waits until c lists exactly the nicks.
func (c *tc) waitPeers(nicks ...string) {
	c.t.Helper()
	want := strings.Join(nicks, ",")
	var got string
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); {
		var ns []string
		for _, p := range c.Peers() {
			ns = append(ns, p.Nick)
		}
		if got = strings.Join(ns, ","); got == want {
			return
		}
		select {
		case <-c.Events():
		case <-time.After(20 * time.Millisecond):
		}
	}
	c.t.Fatalf("%s: peers %q, want %q", c.Nick(), got, want)
}

// waitCaps waits until c knows nick's v2 features (CAPS follow JOINED).
func (c *tc) waitCaps(nick string) {
	c.t.Helper()
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); {
		for _, p := range c.Peers() {
			if p.Nick == nick && p.Features != nil {
				return
			}
		}
		time.Sleep(5 * time.Millisecond) // polling the peer table
	}
	c.t.Fatalf("%s: no CAPS for %s", c.Nick(), nick)
}

// openChat makes a invite b and b accept, and waits for both sides to open.
func openChat(t testing.TB, a, b *tc) {
	t.Helper()
	if err := a.Invite(b.Nick()); err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs(a.Nick()))
	if err := b.Accept(a.Nick()); err != nil {
		t.Fatal(err)
	}
	a.wait(EventChatOpen, peerIs(b.Nick()))
	b.wait(EventChatOpen, peerIs(a.Nick()))
}

// checkGoroutines fails t if goroutines that were not running before it
// are still running after its cleanups (goleak retries while they end).
func checkGoroutines(t testing.TB) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// logSink is a slog.Handler that keeps the messages it receives.
type logSink struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	m := r.Message
	r.Attrs(func(a slog.Attr) bool { m += " " + a.String(); return true })
	l.msgs = append(l.msgs, m)
	l.mu.Unlock()
	return nil
}
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }

// waitLog waits until a message starting with prefix was logged.
func (l *logSink) waitLog(t *testing.T, prefix string) {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); {
		l.mu.Lock()
		for _, m := range l.msgs {
			if strings.HasPrefix(m, prefix) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		time.Sleep(5 * time.Millisecond) // polling the log
	}
	t.Fatalf("no log %q", prefix)
}

// framed is a raw framed TCP connection for the test doubles.
type framed struct {
	net.Conn
	r        *wire.Reader
	nick     string
	udp, tcp int
}

func newFramed(c net.Conn) *framed {
	return &framed{Conn: c, r: wire.NewReader(c, wire.DefaultPeerPayload)}
}

func deadline() time.Time     { return time.Now().Add(waitTimeout) }
func deadlineSoon() time.Time { return time.Now().Add(50 * time.Millisecond) }

func (f *framed) send(t *testing.T, m wire.Message) {
	t.Helper()
	if err := wire.WriteMessage(f.Conn, m); err != nil {
		t.Errorf("write %s: %v", m.Verb(), err)
	}
}

// next returns the next message, failing t after waitTimeout.
func (f *framed) next(t *testing.T) wire.Message {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(waitTimeout))
	p, err := f.r.ReadFrame()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	m, err := wire.Parse(p)
	if err != nil {
		t.Fatalf("parse %q: %v", p, err)
	}
	return m
}

// expect reads messages until one has the verb, skipping others.
func (f *framed) expect(t *testing.T, verb string) wire.Message {
	t.Helper()
	for {
		if m := f.next(t); m.Verb() == verb {
			return m
		} else if m.Verb() == wire.VerbError && verb != wire.VerbError {
			t.Fatalf("got %s while waiting for %s", wire.Payload(m), verb)
		}
	}
}
