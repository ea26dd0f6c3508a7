package netbackend

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/identity"
	"peerchat/server"
	"peerchat/server/servertest"
	"peerchat/ui"
	"peerchat/ui/session"
)

// waiter polls a session for events, woken by its notify callback.
type waiter struct {
	t    *testing.T
	s    ui.Session
	wake chan struct{}
	seen []client.Event
}

func newWaiter(t *testing.T) *waiter { return &waiter{t: t, wake: make(chan struct{}, 1)} }

func (w *waiter) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// wait returns the first event of kind (from those not yet returned),
// failing the test after a deadline.
func (w *waiter) wait(kind client.EventKind) client.Event {
	w.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		w.seen = w.s.Poll(w.seen)
		for i, ev := range w.seen {
			if ev.Kind == kind {
				w.seen = append(w.seen[:i:i], w.seen[i+1:]...)
				return ev
			}
		}
		select {
		case <-w.wake:
		case <-deadline:
			w.t.Fatalf("timed out waiting for %v; got %v", kind, w.seen)
		}
	}
}

// TestIdentityWired connects two users, each with its own data directory,
// to a keyed server: the identity and the pins are made there (mode 0600),
// their chat opens end-to-end encrypted, both see the same safety number,
// and a second Backend on the same directory is the same device.
func TestIdentityWired(t *testing.T) {
	ts := servertest.NewServer(t, server.Config{Name: "keys-test"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dirA, dirB := t.TempDir(), t.TempDir()
	required := false
	connect := func(dir, nick string) (*waiter, ui.Session) {
		w := newWaiter(t)
		b := New(Config{ListenAddr: "127.0.0.1", DataDir: dir, RequireEncryption: func() bool { return required }})
		s, err := b.Connect(ctx, ts.Addr, nick, w.notify)
		if err != nil {
			t.Fatalf("connect %s: %v", nick, err)
		}
		w.s = s
		return w, s
	}
	wa, ana := connect(dirA, "ana")
	defer ana.Close()
	wb, bruno := connect(dirB, "bruno")
	defer bruno.Close()
	if ev := wa.wait(client.EventServerKey); ev.KeyResult != identity.New {
		t.Fatalf("server key %v, want new", ev.KeyResult)
	}

	if err := ana.Invite("bruno"); err != nil {
		t.Fatal(err)
	}
	wb.wait(client.EventInvite)
	if err := bruno.Accept("ana"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*waiter{wa, wb} {
		if ev := w.wait(client.EventChatOpen); !ev.Encrypted {
			t.Fatalf("chat opened unencrypted: %+v", ev)
		}
	}
	ka, kb := ana.(session.Keys), bruno.(session.Keys)
	na, err := ka.SafetyNumber("bruno")
	if err != nil {
		t.Fatal(err)
	}
	nb, err := kb.SafetyNumber("ana")
	if err != nil {
		t.Fatal(err)
	}
	if na != nb || len(na) != identity.SafetyDigits+identity.SafetyDigits/5-1 {
		t.Fatalf("safety numbers %q and %q", na, nb)
	}
	if err := ka.SetVerified("bruno", true); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{identity.FileName, identity.PinsFileName, identity.ServerPinsFileName} {
		fi, err := os.Stat(filepath.Join(dirA, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Fatalf("%s: mode %v", f, fi.Mode())
		}
	}

	// The same directory is the same device: same key, the server's key
	// and bruno's pin (verified) remembered.
	ana.Close()
	wa.wait(client.EventChatClosed)
	wb.wait(client.EventChatClosed)
	required = true
	wa2, ana2 := connect(dirA, "ana")
	defer ana2.Close()
	if ev := wa2.wait(client.EventServerKey); ev.KeyResult != identity.Same {
		t.Fatalf("server key %v on reconnection, want same", ev.KeyResult)
	}
	if info, ok := ana2.(session.Keys).PeerKey("bruno"); !ok || !info.Verified {
		t.Fatalf("bruno's pin after restart: %+v %v", info, ok)
	}
	if n, err := ana2.(session.Keys).SafetyNumber("bruno"); err != nil || n != na {
		t.Fatalf("safety number after restart %q (%v), want %q", n, err, na)
	}
}

// TestHostDataDir: a hosted server keeps its key in the ServerDir
// subfolder, apart from the device identity.
func TestHostDataDir(t *testing.T) {
	dir := t.TempDir()
	b := New(Config{ListenAddr: "127.0.0.1", DataDir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := b.Host(ctx, "ana", nil)
	if err != nil {
		t.Skipf("cannot host here: %v", err)
	}
	defer h.Close()
	dev, err := identity.Load(dir)
	if err != nil {
		t.Fatalf("device identity: %v", err)
	}
	srv, err := identity.Load(filepath.Join(dir, ServerDir))
	if err != nil {
		t.Fatalf("server identity: %v", err)
	}
	if dev.Public() == srv.Public() {
		t.Fatal("the hosted server uses the device's key")
	}
}

// TestRequireEncryptionReachesClient: Config.RequireEncryption is read at
// each session's start and becomes client.Config.RequireEncryption, so a
// change of the setting applies to the next connection.
func TestRequireEncryptionReachesClient(t *testing.T) {
	var required atomic.Bool
	b := New(Config{ListenAddr: "127.0.0.1", RequireEncryption: required.Load})
	for _, want := range []bool{false, true, false} {
		required.Store(want)
		cc, err := b.clientConfig("127.0.0.1:1", "ana", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cc.RequireEncryption != want {
			t.Fatalf("client.Config.RequireEncryption %v, want %v", cc.RequireEncryption, want)
		}
		if cc.Identity == nil {
			t.Fatal("no identity: RequireEncryption would refuse every chat")
		}
	}
	if cc, _ := New(Config{}).clientConfig("127.0.0.1:1", "ana", nil); cc.RequireEncryption {
		t.Fatal("RequireEncryption on without the setting")
	}
}

// TestReadReceiptsReachClient: Config.ReadReceipts is read at each
// session's start and becomes client.Config.ReadReceipts (off without it).
func TestReadReceiptsReachClient(t *testing.T) {
	var on atomic.Bool
	b := New(Config{ListenAddr: "127.0.0.1", ReadReceipts: on.Load})
	for _, want := range []bool{false, true, false} {
		on.Store(want)
		cc, err := b.clientConfig("127.0.0.1:1", "ana", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cc.ReadReceipts != want {
			t.Fatalf("client.Config.ReadReceipts %v, want %v", cc.ReadReceipts, want)
		}
	}
	if cc, _ := New(Config{}).clientConfig("127.0.0.1:1", "ana", nil); cc.ReadReceipts {
		t.Fatal("ReadReceipts on without the setting")
	}
}
