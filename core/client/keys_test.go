package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/e2e"
	"peerchat/core/identity"
	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/servertest"
)

// newIdentity returns a fresh device identity.
func newIdentity(t testing.TB) *identity.Identity {
	t.Helper()
	id, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// keyedConfig is testConfig with a fresh identity and in-memory pins.
func keyedConfig(addr, nick string) Config {
	cfg := testConfig(addr, nick)
	id, err := identity.Generate(nil)
	if err != nil {
		panic(err)
	}
	cfg.Identity = id
	cfg.Pins = identity.NewMemoryPins()
	cfg.ServerPins = identity.NewMemoryPins()
	return cfg
}

// waitKey waits until c knows the key the server announced for nick.
func (c *tc) waitKey(nick string) identity.PublicIdentity {
	c.t.Helper()
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); {
		for _, p := range c.Peers() {
			if p.Nick == nick && !p.Key.IsZero() && p.Features != nil {
				return p.Key
			}
		}
		time.Sleep(5 * time.Millisecond) // polling the peer table
	}
	c.t.Fatalf("%s: no KEY for %s", c.Nick(), nick)
	return identity.PublicIdentity{}
}

// TestEncryptedChat: two keyed clients of a keys server: the server's key is
// pinned, each learns the other's key from KEY, the chat opens encrypted
// (new key, unverified), messages are delivered both ways, the safety
// numbers agree, and marking verified shows at the next chat.
func TestEncryptedChat(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	acfg, bcfg := keyedConfig(ts.Addr, "alice"), keyedConfig(ts.Addr, "bob")
	a, b := dial(t, acfg), dial(t, bcfg)
	e := a.wait(EventServerKey, nil)
	if e.KeyResult != identity.New || e.Key != ts.Identity().Public() {
		t.Fatalf("server key event %+v", e)
	}
	if a.ServerKind() != ServerV2 {
		t.Fatalf("server kind %v", a.ServerKind())
	}
	if k := a.waitKey("bob"); k != bcfg.Identity.Public() {
		t.Fatalf("announced key of bob %v", k)
	}
	b.waitKey("alice")
	openChat(t, a, b)
	for _, c := range []*tc{a, b} {
		if !c.Encrypted(map[*tc]string{a: "bob", b: "alice"}[c]) {
			t.Fatalf("%s: chat not encrypted", c.Nick())
		}
	}
	id, err := a.Send("bob", "secret hello")
	if err != nil {
		t.Fatal(err)
	}
	if m := b.wait(EventChatMsg, nil); m.Text != "secret hello" {
		t.Fatalf("got %q", m.Text)
	}
	a.wait(EventDelivered, func(e Event) bool { return e.ID == id })
	b.Send("alice", "and back")
	a.wait(EventChatMsg, func(e Event) bool { return e.Text == "and back" })

	sa, err := a.SafetyNumber("bob")
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := b.SafetyNumber("alice")
	if sa != sb || len(sa) != 71 {
		t.Fatalf("safety numbers %q %q", sa, sb)
	}
	if err := a.SetVerified("bob", true); err != nil {
		t.Fatal(err)
	}
	if ki, ok := a.PeerKey("bob"); !ok || !ki.Verified || ki.Changed || ki.Key != bcfg.Identity.Public() {
		t.Fatalf("PeerKey %+v %v", ki, ok)
	}
	if _, err := a.SafetyNumber("nobody"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("safety number of nobody: %v", err)
	}
}

// TestEncryptedChatOpenEvent: EventChatOpen says encrypted, new and
// unverified the first time, same and verified once verified.
func TestEncryptedChatOpenEvent(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a, b := dial(t, keyedConfig(ts.Addr, "alice")), dial(t, keyedConfig(ts.Addr, "bob"))
	a.waitKey("bob")
	b.waitKey("alice")
	openChat(t, a, b)
	a.hmu.Lock()
	var open Event
	for _, e := range a.all {
		if e.Kind == EventChatOpen {
			open = e
		}
	}
	a.hmu.Unlock()
	if !open.Encrypted || open.Verified || open.KeyResult != identity.New {
		t.Fatalf("first open %+v", open)
	}
	a.SetVerified("bob", true)
	settledDirect(a, b)
	a.LeaveChat("bob")
	b.wait(EventChatClosed, nil)
	a.wait(EventChatClosed, nil)
	if err := a.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, nil)
	b.Accept("alice")
	open = a.wait(EventChatOpen, nil)
	if !open.Encrypted || !open.Verified || open.KeyResult != identity.Same {
		t.Fatalf("second open %+v", open)
	}
}

// TestSignedBroadcast: a keyed client's broadcast arrives SigValid at
// another keyed client, and its own echo is recognised; an unkeyed
// client's is SigNone.
func TestSignedBroadcast(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a, b := dial(t, keyedConfig(ts.Addr, "alice")), dial(t, keyedConfig(ts.Addr, "bob"))
	c := dial(t, testConfig(ts.Addr, "carol"))
	b.waitKey("alice")
	a.waitPeers("bob", "carol")
	id, err := a.Broadcast("signed hi")
	if err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventBroadcast, func(e Event) bool { return e.ID == id }); e.Signature != SigValid {
		t.Fatalf("own echo %+v", e)
	}
	if e := b.wait(EventBroadcast, func(e Event) bool { return e.Text == "signed hi" }); e.Signature != SigValid || e.From != "alice" {
		t.Fatalf("at bob %+v", e)
	}
	if e := c.wait(EventBroadcast, func(e Event) bool { return e.Text == "signed hi" }); e.Signature != SigNone {
		t.Fatalf("at carol (no keys) %+v", e)
	}
	c.Broadcast("plain")
	if e := b.wait(EventBroadcast, func(e Event) bool { return e.Text == "plain" }); e.Signature != SigNone {
		t.Fatalf("plain at bob %+v", e)
	}
}

// TestBasePeerPlaintext: a keyed client's chat with a client without keys
// is plaintext, labelled so; with RequireEncryption it is refused.
func TestBasePeerPlaintext(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, keyedConfig(ts.Addr, "alice"))
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitCaps("bob")
	b.waitCaps("alice")
	openChat(t, a, b)
	if a.Encrypted("bob") {
		t.Fatal("chat with an unkeyed peer says encrypted")
	}
	a.hmu.Lock()
	for _, e := range a.all {
		if e.Kind == EventChatOpen && e.Encrypted {
			t.Errorf("open event says encrypted: %+v", e)
		}
	}
	a.hmu.Unlock()
	a.Send("bob", "plain")
	b.wait(EventChatMsg, nil)

	rcfg := keyedConfig(ts.Addr, "rita")
	rcfg.RequireEncryption = true
	r := dial(t, rcfg)
	r.waitCaps("bob")
	if err := r.Invite("bob"); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("invite of an unkeyed peer with RequireEncryption: %v", err)
	}
	if _, err := r.Send("bob", "x"); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("send to an unkeyed peer with RequireEncryption: %v", err)
	}
	// bob invites rita: refused.
	b.waitCaps("rita")
	if err := b.Invite("rita"); err != nil {
		t.Fatal(err)
	}
	if e := r.wait(EventError, peerIs("bob")); !errors.Is(e.Err, ErrNotEncrypted) {
		t.Fatalf("rita's error %+v", e)
	}
	b.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonDeclined })
	// rita and alice: encrypted, allowed.
	r.waitKey("alice")
	a.waitKey("rita")
	openChat(t, r, a)
	if !r.Encrypted("alice") {
		t.Fatal("rita-alice not encrypted")
	}
}

// TestUnkeyedServer: keyed clients on a server without keys: registration,
// broadcasts (unsigned, SigNone) and chats (encrypted, trust on first use,
// since both announced e2e in CAPS) work.
func TestUnkeyedServer(t *testing.T) {
	checkGoroutines(t)
	ts := servertest.NewServerWith(t, server.Config{Name: "test"}, servertest.Options{NoKeys: true})
	a, b := dial(t, keyedConfig(ts.Addr, "alice")), dial(t, keyedConfig(ts.Addr, "bob"))
	a.waitCaps("bob")
	b.waitCaps("alice")
	id, err := a.Broadcast("hi")
	if err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventBroadcast, func(e Event) bool { return e.ID == id }); e.Signature != SigNone {
		t.Fatalf("echo %+v", e)
	}
	openChat(t, a, b)
	if !a.Encrypted("bob") {
		t.Fatal("not encrypted")
	}
	a.Send("bob", "x")
	b.wait(EventChatMsg, nil)
	if a.count(EventServerKey) != 0 {
		t.Fatal("server key event from a server without keys")
	}
}

// TestBaseServerWithKeys: a keyed client on a base server (no WELCOME):
// everything works as before, chats plaintext.
func TestBaseServerWithKeys(t *testing.T) {
	checkGoroutines(t)
	s := startBaseServer(t)
	a := dial(t, keyedConfig(s.addr, "alice"))
	b := dial(t, keyedConfig(s.addr, "bob"))
	a.waitPeers("bob")
	openChat(t, a, b)
	if a.Encrypted("bob") {
		t.Fatal("encrypted on a base server")
	}
	a.Send("bob", "hi")
	b.wait(EventChatMsg, nil)
	id, _ := a.Broadcast("all")
	if e := a.wait(EventBroadcast, func(e Event) bool { return e.ID == id }); e.Signature != SigNone {
		t.Fatalf("echo %+v", e)
	}
}

// tap records every byte its clients' sockets carry, in both directions.
type tap struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *tap) seen() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.buf.Bytes())
}

// tapHook returns a conn hook that routes every connection the client
// dials or accepts through a recording pipe: what the client writes and
// reads passes the tap.
func tapHook(p *tap) *hooks {
	return &hooks{conn: func(c net.Conn) net.Conn { return &tappedConn{Conn: c, p: p} }}
}

type tappedConn struct {
	net.Conn
	p *tap
}

func (c *tappedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.p.mu.Lock()
	c.p.buf.Write(b[:n])
	c.p.mu.Unlock()
	return n, err
}

func (c *tappedConn) Write(b []byte) (int, error) {
	c.p.mu.Lock()
	c.p.buf.Write(b)
	c.p.mu.Unlock()
	return c.Conn.Write(b)
}

// TestNoPlaintextOnTheWire: a tap on both clients' sockets (server link
// and chat sockets, both directions) finds none of the private messages'
// text when the chat is encrypted; the same tap finds it in a plaintext
// chat (so the test can fail).
func TestNoPlaintextOnTheWire(t *testing.T) {
	checkGoroutines(t)
	for _, keyed := range []bool{true, false} {
		ts := startServer(t)
		p := &tap{}
		acfg, bcfg := keyedConfig(ts.Addr, "alice"), keyedConfig(ts.Addr, "bob")
		if !keyed {
			acfg, bcfg = testConfig(ts.Addr, "alice"), testConfig(ts.Addr, "bob")
		}
		acfg.hooks, bcfg.hooks = tapHook(p), tapHook(p)
		a, b := dial(t, acfg), dial(t, bcfg)
		a.waitCaps("bob")
		b.waitCaps("alice")
		openChat(t, a, b)
		const one, two = "attack at dawn, said alice", "bring the cake, said bob"
		id, _ := a.Send("bob", one)
		b.wait(EventChatMsg, func(e Event) bool { return e.Text == one })
		a.wait(EventDelivered, func(e Event) bool { return e.ID == id })
		id, _ = b.Send("alice", two)
		a.wait(EventChatMsg, func(e Event) bool { return e.Text == two })
		b.wait(EventDelivered, func(e Event) bool { return e.ID == id })
		settledDirect(a, b)
		a.LeaveChat("bob")
		b.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLeft })
		seen := p.seen()
		for _, secret := range []string{one, two, "dawn", "cake"} {
			if found := bytes.Contains(seen, []byte(secret)); found == keyed {
				t.Errorf("keyed=%v: %q on the wire: %v", keyed, secret, found)
			}
		}
		if keyed && !bytes.Contains(seen, []byte(e2e.VerbData+" ")) {
			t.Errorf("no E2E frame seen by the tap")
		}
		if keyed && bytes.Contains(seen, []byte(wire.VerbLeftChat)) {
			t.Errorf("LEFT_CHAT in clear on an encrypted chat")
		}
		a.Close()
		b.Close()
	}
}

// settledDirect waits until both a and b have their chat with each other
// on the direct socket. A test that leaves the chat does so after it: a
// LEFT_CHAT written on the relay while the peer is already moving to the
// direct socket is lost (a known window of a few milliseconds after an
// encrypted chat opens through both paths).
func settledDirect(a, b *tc) {
	for _, x := range []*tc{a, b} {
		for x.Route(x.peerOf(a, b)) != RouteDirect {
			x.wait(EventRoute, nil)
		}
	}
}

// corruptConn alters the chat frames its client writes once armed:
// mode "alter" flips a bit inside the next E2E frame, "replay" writes the
// next E2E frames twice.
type corruptConn struct {
	net.Conn
	armed *atomic.Bool
	mode  string
}

func (c *corruptConn) Write(b []byte) (int, error) {
	if !bytes.Contains(b, []byte(e2e.VerbData+" ")) || bytes.Contains(b, []byte(e2e.VerbHandshake)) || !c.armed.CompareAndSwap(true, false) {
		return c.Conn.Write(b)
	}
	out := bytes.Clone(b)
	switch c.mode {
	case "alter":
		out[len(out)-12] ^= 0x01 // inside the tag: still valid pack7
	case "replay":
		out = append(out, b...)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// TestTamperedFrames: a chat frame altered or replayed on the way closes the
// encrypted chat at the receiver with the e2e error as the reason.
func TestTamperedFrames(t *testing.T) {
	checkGoroutines(t)
	for mode, want := range map[string]error{"alter": e2e.ErrAltered, "replay": e2e.ErrReplayed} {
		t.Run(mode, func(t *testing.T) {
			ts := startServer(t)
			var armed atomic.Bool
			acfg := keyedConfig(ts.Addr, "alice")
			acfg.NoRelay = true // the socket tampered with is the chat's
			acfg.hooks = &hooks{conn: func(c net.Conn) net.Conn { return &corruptConn{Conn: c, armed: &armed, mode: mode} }}
			a, b := dial(t, acfg), dial(t, keyedConfig(ts.Addr, "bob"))
			a.waitKey("bob")
			b.waitKey("alice")
			openChat(t, a, b)
			armed.Store(true)
			a.Send("bob", "first")
			e := b.wait(EventChatClosed, peerIs("alice"))
			if e.Reason != ReasonLost || !errors.Is(e.Err, want) {
				t.Fatalf("bob's chat closed %+v, want lost with %v", e, want)
			}
			if mode == "replay" && b.count(EventChatMsg) != 1 {
				t.Fatalf("replay: %d messages delivered, want 1", b.count(EventChatMsg))
			}
			a.wait(EventChatClosed, peerIs("bob"))
		})
	}
}

// TestPeerKeyChange: bob comes back with another device key: alice, who
// pinned (and verified) his old one, is told (EventKeyChanged, Verified),
// her message waits without an invite, and goes once she accepts the key.
func TestPeerKeyChange(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	acfg := keyedConfig(ts.Addr, "alice")
	old := newIdentity(t).Public()
	acfg.Pins.Accept("bob", old, time.Now())
	acfg.Pins.SetVerified("bob", old, true)
	a := dial(t, acfg)
	bcfg := keyedConfig(ts.Addr, "bob")
	b := dial(t, bcfg)
	e := a.wait(EventKeyChanged, peerIs("bob"))
	if e.Key != bcfg.Identity.Public() || e.OldKey != old || !e.Verified || !errors.Is(e.Err, ErrKeyChanged) {
		t.Fatalf("key changed event %+v", e)
	}
	if ki, _ := a.PeerKey("bob"); !ki.Changed || ki.Key != old {
		t.Fatalf("PeerKey %+v", ki)
	}
	a.waitCaps("bob")
	if err := a.Invite("bob"); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("invite while held: %v", err)
	}
	id, err := a.Send("bob", "held")
	if err != nil {
		t.Fatal(err)
	}
	if a.Chat("bob") != ChatNone {
		t.Fatalf("chat %v while held", a.Chat("bob"))
	}
	if _, err := a.SafetyNumber("bob"); err != nil { // of the old key
		t.Fatal(err)
	}
	if err := a.AcceptKey("bob"); err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	if m := b.wait(EventChatMsg, nil); m.Text != "held" {
		t.Fatalf("got %q", m.Text)
	}
	a.wait(EventDelivered, func(e Event) bool { return e.ID == id })
	if ki, _ := a.PeerKey("bob"); ki.Changed || ki.Verified || ki.Key != bcfg.Identity.Public() {
		t.Fatalf("PeerKey after accept %+v", ki)
	}
	if err := a.AcceptKey("bob"); !errors.Is(err, ErrNoKeyChange) {
		t.Fatalf("second AcceptKey: %v", err)
	}
}

// TestServerKeyChange: the server comes back with another key: the client
// reconnects, reports EventServerKey Changed, refuses to broadcast and to
// invite until AcceptServerKey, then works.
func TestServerKeyChange(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	acfg := keyedConfig(ts.Addr, "alice")
	a, b := dial(t, acfg), dial(t, keyedConfig(ts.Addr, "bob"))
	first := a.wait(EventServerKey, nil)
	ts.Close()
	if err := os.Remove(filepath.Join(ts.DataDir, "identity.json")); err != nil {
		t.Fatal(err)
	}
	ts.Restart()
	e := a.wait(EventServerKey, func(e Event) bool { return e.KeyResult == identity.Changed })
	if e.OldKey != first.Key || e.Key != ts.Identity().Public() || !errors.Is(e.Err, ErrServerKeyChanged) {
		t.Fatalf("server key event %+v (first %v)", e, first.Key)
	}
	a.wait(EventReconnected, nil)
	if _, err := a.Broadcast("x"); !errors.Is(err, ErrServerKeyChanged) {
		t.Fatalf("broadcast while held: %v", err)
	}
	a.waitKey("bob")
	if err := a.Invite("bob"); !errors.Is(err, ErrServerKeyChanged) {
		t.Fatalf("invite while held: %v", err)
	}
	if err := a.AcceptServerKey(); err != nil {
		t.Fatal(err)
	}
	if p, ok := acfg.ServerPins.Get(ts.Addr); !ok || p.Key != e.Key {
		t.Fatalf("server pin %+v", p)
	}
	b.wait(EventReconnected, nil) // bob is back: he hears the broadcast
	id, err := a.Broadcast("after")
	if err != nil {
		t.Fatal(err)
	}
	if e := b.wait(EventBroadcast, func(e Event) bool { return e.Text == "after" }); e.Signature != SigValid {
		t.Fatalf("at bob %+v", e)
	}
	a.wait(EventBroadcast, func(e Event) bool { return e.ID == id })
}

// keysServer plays a keys server for one client on a scripted connection:
// it registers the client, proves the key srv (sig, when not nil, replaces
// the SIDENT signature), and lists one peer, "bob", at 127.0.0.1 with the
// given UDP port, features ack and e2e, announced with key announce.
func keysServer(t *testing.T, s *scriptedServer, cfg Config, srv *identity.Identity, badSig bool) (*tc, *framed, error) {
	t.Helper()
	cfg.Server = s.ln.Addr().String()
	type result struct {
		c   *Client
		err error
	}
	dialed := make(chan result, 1)
	go func() {
		c, err := Dial(context.Background(), cfg)
		dialed <- result{c, err}
	}()
	f := <-s.conns
	t.Cleanup(func() { f.Close() })
	reg := f.expect(t, wire.VerbRegister).(wire.Register)
	f.expect(t, wire.VerbPort)
	f.send(t, wire.Welcome{Version: 2, Features: []string{wire.FeatureBcast, wire.FeatureCaps, wire.FeatureNotice, wire.FeatureKeys}})
	f.expect(t, wire.VerbHello)
	nonce := []byte("server-nonce-16b")
	f.send(t, wire.ServerKey{Key: srv.Public().String(), Nonce: nonce})
	id := f.expect(t, wire.VerbIdent).(wire.Ident)
	ck, err := identity.ParsePublic(id.Key)
	if err != nil {
		t.Fatal(err)
	}
	r := identity.Registration{ServerNonce: nonce, ClientNonce: id.Nonce, Nick: reg.Nick, Server: srv.Public(), Client: ck}
	if !r.VerifyClient(id.Sig) {
		t.Fatal("bad IDENT signature")
	}
	sig := r.SignServer(srv)
	if badSig {
		sig[0] ^= 1
	}
	f.send(t, wire.ServerIdent{Sig: sig})
	res := <-dialed
	if res.err != nil {
		return nil, f, res.err
	}
	c := &tc{Client: res.c, t: t}
	t.Cleanup(func() { c.Close() })
	return c, f, nil
}

// fakeBob plays bob's device (key id) for alice: it waits for her invite
// datagram, connects back, says CHAT_ACCEPT and runs the handshake.
type fakeBob struct {
	udp *net.UDPConn
	id  *identity.Identity
}

func newFakeBob(t *testing.T, id *identity.Identity) *fakeBob {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	return &fakeBob{udp: udp, id: id}
}

func (b *fakeBob) port() int { return b.udp.LocalAddr().(*net.UDPAddr).Port }

// answer accepts alice's next invite and returns the handshake's outcome.
func (b *fakeBob) answer(t *testing.T) (*e2e.Session, error) {
	t.Helper()
	buf := make([]byte, wire.MaxDatagram)
	b.udp.SetReadDeadline(deadline())
	n, _, err := b.udp.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wire.Parse(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	inv := m.(wire.ChatInvite)
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(inv.TCPPort)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	wire.WriteMessage(conn, wire.ChatAccept{Nick: "bob", Nonce: inv.Nonce})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return e2e.Handshake(ctx, conn, nil, e2e.Config{
		Role: e2e.Initiator, Local: b.id, Prologue: prologue(inv.Nonce, "alice", "bob"),
		Expect: func(identity.PublicIdentity) error { return nil },
	})
}

// TestManInTheMiddle: a server announces a key of its own (mallory's) for
// bob and answers alice's invite as bob with it. With bob's real key
// pinned, alice is told of the change and nothing opens; without a pin the
// chat opens, shown as a new unverified key (and that key is pinned). A
// server that announces bob's real key but answers with another is caught
// by the handshake: refused, EventKeyChanged with a pin, ErrKeyMismatch
// without.
func TestManInTheMiddle(t *testing.T) {
	checkGoroutines(t)
	srvID, real, mallory := newIdentity(t), newIdentity(t), newIdentity(t)
	for _, tt := range []struct {
		name     string
		pinned   bool
		announce *identity.Identity
	}{
		{"announced-pinned", true, mallory},
		{"announced-unpinned", false, mallory},
		{"proved-pinned", true, real},
		{"proved-unpinned", false, real},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startScripted(t)
			cfg := keyedConfig("", "alice")
			if tt.pinned {
				cfg.Pins.Accept("bob", real.Public(), time.Now())
			}
			bob := newFakeBob(t, mallory)
			a, f, err := keysServer(t, s, cfg, srvID, false)
			if err != nil {
				t.Fatal(err)
			}
			f.send(t, wire.Joined{Nick: "bob", IP: netip.MustParseAddr("127.0.0.1"), UDPPort: bob.port(), TCPPort: 9})
			f.send(t, wire.Caps{Nick: "bob", Features: []string{wire.FeatureAck, wire.FeatureE2E}})
			f.send(t, wire.Key{Nick: "bob", Key: tt.announce.Public().String()})
			a.waitKey("bob")
			switch tt.name {
			case "announced-pinned":
				e := a.wait(EventKeyChanged, peerIs("bob"))
				if e.Key != mallory.Public() || e.OldKey != real.Public() {
					t.Fatalf("event %+v", e)
				}
				if err := a.Invite("bob"); !errors.Is(err, ErrKeyChanged) {
					t.Fatalf("invite: %v", err)
				}
				return
			case "announced-unpinned":
				if err := a.Invite("bob"); err != nil {
					t.Fatal(err)
				}
				if _, err := bob.answer(t); err != nil {
					t.Fatal(err)
				}
				e := a.wait(EventChatOpen, peerIs("bob"))
				if !e.Encrypted || e.Verified || e.KeyResult != identity.New || e.Key != mallory.Public() {
					t.Fatalf("open %+v", e)
				}
				if p, _ := cfg.Pins.Get("bob"); p.Key != mallory.Public() || p.Verified {
					t.Fatalf("pin %+v", p)
				}
			default: // proved
				if err := a.Invite("bob"); err != nil {
					t.Fatal(err)
				}
				if _, err := bob.answer(t); err == nil {
					t.Fatal("handshake with a wrong key succeeded")
				}
				e := a.wait(EventChatClosed, peerIs("bob"))
				if tt.pinned {
					if !errors.Is(e.Err, ErrKeyChanged) {
						t.Fatalf("closed %+v", e)
					}
					if k := a.wait(EventKeyChanged, peerIs("bob")); k.Key != mallory.Public() || k.OldKey != real.Public() {
						t.Fatalf("key changed %+v", k)
					}
					if _, err := a.Send("bob", "held"); err != nil {
						t.Fatal(err)
					}
					if a.Chat("bob") != ChatNone {
						t.Fatal("invited while held")
					}
				} else if !errors.Is(e.Err, ErrKeyMismatch) {
					t.Fatalf("closed %+v", e)
				}
				if a.count(EventChatOpen) != 0 {
					t.Fatal("chat opened")
				}
			}
		})
	}
}

// TestBadServerIdent: a server whose SIDENT does not verify is refused.
func TestBadServerIdent(t *testing.T) {
	checkGoroutines(t)
	s := startScripted(t)
	cfg := keyedConfig("", "alice")
	cfg.Reconnect = false
	_, _, err := keysServer(t, s, cfg, newIdentity(t), true)
	if !errors.Is(err, ErrServerIdent) {
		t.Fatalf("dial: %v, want ErrServerIdent", err)
	}
}

// TestSilentServer: a port that takes REGISTER and PORT and never says a
// word is reported ServerUnconfirmed, and a broadcast there fails after
// EchoTimeout instead of waiting forever (issue 9, defect 5).
func TestSilentServer(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	addr := fakeServer(t, func(c net.Conn) {
		io.Copy(io.Discard, c)
		<-release
	})
	defer close(release)
	cfg := testConfig(addr, "alice")
	cfg.Reconnect = false
	cfg.EchoTimeout = 200 * time.Millisecond
	a := dial(t, cfg)
	if e := a.wait(EventRegistered, nil); e.Server != ServerUnconfirmed {
		t.Fatalf("registered %+v", e)
	}
	if a.ServerKind() != ServerUnconfirmed {
		t.Fatal(a.ServerKind())
	}
	id, err := a.Broadcast("anyone?")
	if err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventSendFailed, nil); e.ID != id || !errors.Is(e.Err, ErrNoEcho) {
		t.Fatalf("failed %+v", e)
	}
	a.Close()
}

// TestSignatureStates: SBCAST from a keyed peer verifies (SigValid), a
// forged one does not (SigBad), and a plain BCAST from a keyed peer is
// SigMissing; from a peer without key, SigNone.
func TestSignatureStates(t *testing.T) {
	checkGoroutines(t)
	s := startScripted(t)
	srvID, bob := newIdentity(t), newIdentity(t)
	a, f, err := keysServer(t, s, keyedConfig("", "alice"), srvID, false)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("127.0.0.1")
	f.send(t, wire.Joined{Nick: "bob", IP: ip, UDPPort: 9, TCPPort: 9})
	f.send(t, wire.Joined{Nick: "carl", IP: ip, UDPPort: 9, TCPPort: 9})
	f.send(t, wire.Key{Nick: "bob", Key: bob.Public().String()})
	sent := time.UnixMilli(1764100000123)
	sb := identity.SignedBroadcast{Server: srvID.Public(), From: "bob", Sent: sent, Text: "signed"}
	f.send(t, wire.SignedBcast{Seq: 1, Time: sent, From: "bob", Sent: sent, Sig: sb.Sign(bob), Text: "signed"})
	f.send(t, wire.SignedBcast{Seq: 2, Time: sent, From: "bob", Sent: sent, Sig: sb.Sign(bob), Text: "forged"})
	f.send(t, wire.Bcast{Seq: 3, Time: sent, From: "bob", Text: "unsigned"})
	f.send(t, wire.Bcast{Seq: 4, Time: sent, From: "carl", Text: "carl"})
	f.send(t, wire.SignedBcast{Seq: 5, Time: sent, From: "carl", Sent: sent, Sig: sb.Sign(bob), Text: "signed"})
	for text, want := range map[string]SigState{"signed": SigValid, "forged": SigBad, "unsigned": SigMissing, "carl": SigNone} {
		if e := a.wait(EventBroadcast, func(e Event) bool { return e.Text == text }); e.Signature != want {
			t.Errorf("%q: %v, want %v", text, e.Signature, want)
		}
	}
	if e := a.wait(EventBroadcast, func(e Event) bool { return e.From == "carl" && e.Text == "signed" }); e.Signature != SigBad {
		t.Errorf("carl's signed: %v", e.Signature)
	}
}

// TestListenerExpectsHandshake: when both announced e2e, a chat whose first
// frame after CHAT_ACCEPT is not E2E_HS (a downgrade to plaintext) is
// closed, never opened.
func TestListenerExpectsHandshake(t *testing.T) {
	checkGoroutines(t)
	s := startScripted(t)
	bobID := newIdentity(t)
	a, f, err := keysServer(t, s, keyedConfig("", "alice"), newIdentity(t), false)
	if err != nil {
		t.Fatal(err)
	}
	bob := newFakeBob(t, bobID)
	f.send(t, wire.Joined{Nick: "bob", IP: netip.MustParseAddr("127.0.0.1"), UDPPort: bob.port(), TCPPort: 9})
	f.send(t, wire.Caps{Nick: "bob", Features: []string{wire.FeatureAck, wire.FeatureE2E}})
	f.send(t, wire.Key{Nick: "bob", Key: bobID.Public().String()})
	a.waitKey("bob")
	if err := a.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, wire.MaxDatagram)
	bob.udp.SetReadDeadline(deadline())
	n, _, err := bob.udp.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := wire.Parse(buf[:n])
	inv := m.(wire.ChatInvite)
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(inv.TCPPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wire.WriteMessage(conn, wire.ChatAccept{Nick: "bob", Nonce: inv.Nonce})
	wire.WriteMessage(conn, wire.ChatMsg2{ID: 1, Time: time.Now(), Nick: "bob", Text: "plain"})
	e := a.wait(EventChatClosed, peerIs("bob"))
	if !errors.Is(e.Err, e2e.ErrHandshake) {
		t.Fatalf("closed %+v, want ErrHandshake", e)
	}
	if a.count(EventChatOpen) != 0 || a.count(EventChatMsg) != 0 {
		t.Fatal("the plaintext chat opened")
	}
}

// TestNoSocketWriteUnderLockEncrypted: the handshake (both roles) and the
// sealed chat frames are written without Client.mu held.
func TestNoSocketWriteUnderLockEncrypted(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	var self atomic.Pointer[Client]
	var writes, locked atomic.Int32
	cfg := keyedConfig(ts.Addr, "ana")
	cfg.hooks = &hooks{conn: func(c net.Conn) net.Conn {
		return &lockedConn{c, func() {
			if c := self.Load(); c != nil {
				writes.Add(1)
				if heldDuringWrite(c) {
					locked.Add(1)
				}
			}
		}}
	}}
	a := dial(t, cfg)
	self.Store(a.Client)
	b := dial(t, keyedConfig(ts.Addr, "bob"))
	a.waitKey("bob")
	b.waitKey("ana")
	openChat(t, a, b) // ana listens: responder
	a.Send("bob", "one")
	b.wait(EventChatMsg, nil)
	a.LeaveChat("bob")
	b.wait(EventChatClosed, nil)
	openChat(t, b, a) // ana dials: initiator
	if !a.Encrypted("bob") {
		t.Fatal("not encrypted")
	}
	a.Send("bob", "two")
	b.wait(EventChatMsg, func(e Event) bool { return e.Text == "two" })
	if writes.Load() < 6 {
		t.Fatalf("checked %d writes", writes.Load())
	}
	if n := locked.Load(); n != 0 {
		t.Fatalf("%d socket writes while holding Client.mu", n)
	}
}

// TestLateWelcome: a v2 server whose WELCOME comes after
// DefaultRegisterGrace is first taken as unconfirmed, then answered with
// HELLO and known as v2.
func TestLateWelcome(t *testing.T) {
	checkGoroutines(t)
	s := startScripted(t)
	cfg := testConfig(s.ln.Addr().String(), "alice")
	cfg.Reconnect = false
	dialed := make(chan *tc, 1)
	go func() {
		c, err := Dial(context.Background(), cfg)
		if err != nil {
			t.Error(err)
			close(dialed)
			return
		}
		dialed <- &tc{Client: c, t: t}
	}()
	f := <-s.conns
	defer f.Close()
	f.expect(t, wire.VerbPort)
	a := <-dialed // after the grace: nothing said
	if a == nil {
		t.FailNow()
	}
	defer a.Close()
	if e := a.wait(EventRegistered, nil); e.Server != ServerUnconfirmed {
		t.Fatalf("registered %+v", e)
	}
	f.send(t, wire.Welcome{Version: 2, Features: []string{wire.FeatureBcast}})
	f.expect(t, wire.VerbHello)
	if k := a.ServerKind(); k != ServerV2 {
		t.Fatalf("kind %v after a late WELCOME", k)
	}
}
