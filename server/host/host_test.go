package host

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/core/client"
	"peerchat/core/discovery"
	"peerchat/core/identity"
	"peerchat/core/wire"
	"peerchat/server"
)

const waitTimeout = 5 * time.Second

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuffer is a slog sink safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// loopback is a Config that binds only loopback and announces nothing.
func loopback(name string) Config {
	return Config{
		Server:        server.Config{Name: name},
		Addr:          "127.0.0.1:0",
		DiscoveryAddr: "127.0.0.1:0",
		NoAnnounce:    true,
	}
}

func probe(t *testing.T, h *Host) []discovery.Found {
	t.Helper()
	d := h.DiscoveryAddr()
	if d == nil {
		t.Fatal("no discovery responder")
	}
	ap := d.(*net.UDPAddr).AddrPort()
	found, err := discovery.Probe(context.Background(), discovery.ProbeConfig{
		Port: int(ap.Port()), Timeout: 300 * time.Millisecond, NoBroadcast: true, Extra: []netip.AddrPort{ap},
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestStartProbeShutdown hosts a server with our own client, finds it with
// a discovery probe, and shuts it down: a raw client hears the shutdown and
// every goroutine ends (TestMain).
func TestStartProbeShutdown(t *testing.T) {
	cfg := loopback("unit host")
	cc := client.DefaultConfig("", "ana")
	cc.ListenAddr = "127.0.0.1"
	cfg.Client = &cc
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	h, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Client == nil || h.Client.Nick() != "ana" {
		t.Fatalf("own client %v", h.Client)
	}
	tcp := h.ListenAddr().(*net.TCPAddr).AddrPort()
	if h.Addr() != tcp.String() || len(h.Addrs()) != 1 || h.Addrs()[0] != tcp {
		t.Fatalf("Addr %q Addrs %v, listening on %v", h.Addr(), h.Addrs(), tcp)
	}
	if h.Announced() {
		t.Fatal("announced with NoAnnounce")
	}

	found := probe(t, h)
	if len(found) != 1 || found[0].Name != "unit host" || found[0].Peers != 1 || found[0].Addr != tcp {
		t.Fatalf("Probe = %+v, want unit host with 1 peer at %v", found, tcp)
	}

	nc, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	wire.WriteFrame(nc, []byte("REGISTER bob 1"))
	wire.WriteFrame(nc, []byte("PORT bob 2"))
	rd := wire.NewReader(nc, 1<<16)
	rd.IdleTimeout = waitTimeout
	for {
		p, err := rd.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(p), "JOINED ana ") {
			break
		}
	}

	select {
	case <-h.Done():
		t.Fatal("Done before Shutdown")
	default:
	}
	// bob reads like a client: until the server's last word, then closes.
	notice := make(chan string, 1)
	go func() {
		defer nc.Close()
		for {
			p, err := rd.ReadFrame()
			if err != nil {
				notice <- err.Error()
				return
			}
			if strings.HasPrefix(string(p), "ERROR ") {
				notice <- string(p)
				return
			}
		}
	}()
	sctx, scancel := context.WithTimeout(context.Background(), waitTimeout)
	defer scancel()
	if err := h.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := <-notice; n != "ERROR server shutting down" {
		t.Fatalf("bob got %q, want ERROR server shutting down", n)
	}
	select {
	case <-h.Done():
	default:
		t.Fatal("Done open after Shutdown")
	}
	if err := h.Err(); err != nil {
		t.Fatalf("Err after Shutdown: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestTaken: a taken TCP address fails Start, or moves to a free port with
// AnyPort; a taken discovery address only skips the responder.
func TestTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyUDP, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyUDP.Close()

	cfg := loopback("taken")
	cfg.Addr = busy.Addr().String()
	if h, err := Start(context.Background(), cfg); err == nil {
		h.Close()
		t.Fatal("Start on a taken address succeeded without AnyPort")
	}

	var logs logBuffer
	cfg.AnyPort = true
	cfg.DiscoveryAddr = busyUDP.LocalAddr().String()
	cfg.Logger = logs.logger()
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	got := h.ListenAddr().(*net.TCPAddr)
	if got.Port == busy.Addr().(*net.TCPAddr).Port || !got.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("listening on %v, busy is %v", got, busy.Addr())
	}
	if h.DiscoveryAddr() != nil {
		t.Fatalf("responder on %v although its address is taken", h.DiscoveryAddr())
	}
	for _, want := range []string{"address taken, listening on a free port", "discovery responder skipped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	nc, err := net.Dial("tcp", h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

// TestClientRefused: when our own client cannot register, Start fails with
// its error and leaves nothing running (TestMain checks goroutines; the
// port is free again).
func TestClientRefused(t *testing.T) {
	cfg := loopback("refused")
	cc := client.DefaultConfig("", "no spaces allowed")
	cfg.Client = &cc
	_, err := Start(context.Background(), cfg)
	var ne *client.NickError
	if !errors.As(err, &ne) {
		t.Fatalf("Start = %v, want a *client.NickError", err)
	}
}

// TestAnnounceConfig checks what Start asks the announcer for, without
// sending anything, and that a failing announcer is skipped.
func TestAnnounceConfig(t *testing.T) {
	var got discovery.AnnounceConfig
	announce = func(c discovery.AnnounceConfig) (*discovery.Announcer, error) {
		got = c
		return nil, errors.New("no multicast in this test")
	}
	defer func() { announce = discovery.Announce }()
	var logs logBuffer
	cfg := loopback("Announced name")
	cfg.NoAnnounce = false
	cfg.NoDiscovery = true
	cfg.Logger = logs.logger()
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tcp := h.ListenAddr().(*net.TCPAddr).AddrPort()
	if got.Instance != "Announced name" || got.Port != int(tcp.Port()) ||
		len(got.IPs) != 1 || got.IPs[0] != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("announced %+v, want Announced name at %v", got, tcp)
	}
	if got.Iface == nil || got.Iface.Flags&net.FlagLoopback == 0 {
		t.Fatalf("a server on loopback announced on %v, not on the loopback interface", got.Iface)
	}
	if h.Announced() || !strings.Contains(logs.String(), "mDNS announcement skipped") {
		t.Fatalf("failed announcement: Announced %v, log:\n%s", h.Announced(), logs.String())
	}
	if h.DiscoveryAddr() != nil {
		t.Fatal("responder with NoDiscovery")
	}
}

func TestConnectAddrs(t *testing.T) {
	ap := netip.MustParseAddrPort
	if got := connectAddrs(ap("10.1.2.3:77")); len(got) != 1 || got[0] != ap("10.1.2.3:77") {
		t.Errorf("bound to one IP: %v", got)
	}
	if got := connectAddrs(ap("[::ffff:10.1.2.3]:77")); len(got) != 1 || got[0] != ap("10.1.2.3:77") {
		t.Errorf("mapped IPv4: %v", got)
	}
	got := connectAddrs(ap("0.0.0.0:77"))
	if len(got) == 0 {
		t.Fatal("no address for an unspecified listener")
	}
	for _, a := range got {
		if a.Port() != 77 || a.Addr().IsUnspecified() {
			t.Errorf("unspecified listener: %v", got)
		}
	}
}

// watcher reads one client's events in order.
type watcher struct {
	t       *testing.T
	c       *client.Client
	backlog []client.Event
}

// wait returns the next event of kind, skipping others, failing t after
// waitTimeout.
func (w *watcher) wait(kind client.EventKind) client.Event {
	w.t.Helper()
	return w.waitAll(kind)[kind]
}

// waitAll returns the first event of each of kinds, in whatever order they
// come, skipping others, failing t after waitTimeout.
func (w *watcher) waitAll(kinds ...client.EventKind) map[client.EventKind]client.Event {
	w.t.Helper()
	got := make(map[client.EventKind]client.Event)
	timeout := time.After(waitTimeout)
	for {
		for len(w.backlog) > 0 && len(got) < len(kinds) {
			e := w.backlog[0]
			w.backlog = w.backlog[1:]
			if _, dup := got[e.Kind]; !dup && slices.Contains(kinds, e.Kind) {
				got[e.Kind] = e
			}
		}
		if len(got) == len(kinds) {
			return got
		}
		w.backlog = w.c.Poll(nil)
		if len(w.backlog) > 0 {
			continue
		}
		select {
		case <-w.c.Events():
		case <-timeout:
			w.t.Fatalf("%s: got %v, not all of %v within %v", w.c.Nick(), got, kinds, waitTimeout)
		}
	}
}

// TestShutdownLeavesChats: our own client is a full client (a guest opens a
// private chat with it), and Shutdown closes it first, so the guest hears
// that it left the chat before the server goes.
func TestShutdownLeavesChats(t *testing.T) {
	cfg := loopback("chat host")
	cfg.NoDiscovery = true
	hc := client.DefaultConfig("", "host")
	hc.ListenAddr = "127.0.0.1"
	cfg.Client = &hc
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	gc := client.DefaultConfig(h.Addr(), "guest")
	gc.ListenAddr = "127.0.0.1"
	gc.Reconnect = false
	g, err := client.Dial(context.Background(), gc)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	hw, gw := &watcher{t: t, c: h.Client}, &watcher{t: t, c: g}
	hw.wait(client.EventPeerJoined)
	if err := h.Client.Invite("guest"); err != nil {
		t.Fatal(err)
	}
	gw.wait(client.EventInvite)
	if err := g.Accept("host"); err != nil {
		t.Fatal(err)
	}
	gw.wait(client.EventChatOpen)
	hw.wait(client.EventChatOpen)

	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	// The chat and the server link are two sockets: either may be read
	// first.
	got := gw.waitAll(client.EventChatClosed, client.EventServerLost)
	if r := got[client.EventChatClosed].Reason; r != client.ReasonLeft {
		t.Fatalf("guest: chat closed %v, want %v", r, client.ReasonLeft)
	}
}

// TestDataDir: with DataDir the server's key and nick database live there
// (the database is closed at Shutdown); without it the server has a key of
// its own for the run.
func TestDataDir(t *testing.T) {
	dir := t.TempDir()
	cfg := loopback("keys")
	cfg.NoDiscovery = true
	cfg.DataDir = dir
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := h.Server.Key()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	id, err := identity.Load(dir)
	if err != nil || key.IsZero() || id.Public() != key {
		t.Fatalf("key %v, identity.json %v", key, err)
	}
	ns, err := server.OpenNickStore(dir) // closed by Shutdown: not locked
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()

	cfg.DataDir = ""
	h, err = Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if k := h.Server.Key(); k.IsZero() || k == key {
		t.Fatalf("key without DataDir: %v", k)
	}
}
