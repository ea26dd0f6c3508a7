package server

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// welcomeKeys is the WELCOME of a server with a key.
const welcomeKeys = welcome + " keys relay mailbox replay"

// helloKeys is the HELLO of a keys client with every feature.
const helloKeys = "HELLO 2 heartbeat bcast caps notice keys"

// seedID returns the identity of a seed of 32 bytes b.
func seedID(t testing.TB, b byte) *identity.Identity {
	t.Helper()
	id, err := identity.FromSeed(bytes.Repeat([]byte{b}, identity.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// keysConfig is testConfig with a server key (seed 01) and nicks held in
// memory.
func keysConfig(t testing.TB) Config {
	cfg := testConfig()
	cfg.Identity = seedID(t, 1)
	return cfg
}

// payload returns the payload of m's frame.
func payload(m wire.Message) string { return string(m.AppendPayload(nil)) }

// parse parses payload p as a message of type T, failing the test if it is
// not one.
func parse[T wire.Message](t testing.TB, p string) T {
	t.Helper()
	m, err := wire.Parse([]byte(p))
	if err != nil {
		t.Fatalf("parse %q: %v", p, err)
	}
	v, ok := m.(T)
	if !ok {
		t.Fatalf("got %q, want a %T", p, v)
	}
	return v
}

// challenge reads SKEY and returns the server's key and nonce.
func (c *client) challenge() (identity.PublicIdentity, []byte) {
	c.t.Helper()
	sk := parse[wire.ServerKey](c.t, c.next())
	pub, err := identity.ParsePublic(sk.Key)
	if err != nil {
		c.t.Fatalf("SKEY key: %v", err)
	}
	if len(sk.Nonce) != nonceLen {
		c.t.Fatalf("SKEY nonce of %d bytes", len(sk.Nonce))
	}
	return pub, sk.Nonce
}

// ident answers a challenge with IDENT for nick and id, and returns the
// transcript the server must sign. With forge set, the signature covers
// another server nonce.
func (c *client) ident(nick string, id *identity.Identity, server identity.PublicIdentity, nonce []byte, forge bool) identity.Registration {
	c.t.Helper()
	r := identity.Registration{ServerNonce: nonce, ClientNonce: make([]byte, 16), Nick: nick, Server: server, Client: id.Public()}
	rand.Read(r.ClientNonce)
	signed := r
	if forge {
		signed.ServerNonce = bytes.Repeat([]byte{7}, 16)
	}
	c.send(payload(wire.Ident{Key: id.Public().String(), Nonce: r.ClientNonce, Sig: signed.SignClient(id)}))
	return r
}

// sident reads SIDENT and checks the server's signature of r.
func (c *client) sident(r identity.Registration) {
	c.t.Helper()
	si := parse[wire.ServerIdent](c.t, c.next())
	if !r.VerifyServer(si.Sig) {
		c.t.Fatal("SIDENT does not verify")
	}
}

// registerKeys registers nick, reads WELCOME and the JOINED of joined,
// says HELLO with keys, reads the CAPS of caps, then proves id: it checks
// SIDENT and reads the KEY of each of keys. It returns the server's key.
func (c *client) registerKeys(nick string, id *identity.Identity, joined, caps, keys []string) identity.PublicIdentity {
	c.t.Helper()
	c.send("REGISTER " + nick + " 1")
	c.send("PORT " + nick + " 2")
	c.expect(welcomeKeys)
	for _, j := range joined {
		c.expect("JOINED " + j + " 127.0.0.1 1 2")
	}
	c.send(helloKeys)
	for _, p := range caps {
		c.expectPrefix("CAPS " + p + " ")
	}
	srv, nonce := c.challenge()
	r := c.ident(nick, id, srv, nonce, false)
	c.sident(r)
	for _, k := range keys {
		got := parse[wire.Key](c.t, c.next())
		if got.Nick != k {
			c.t.Fatalf("KEY for %q, want %q", got.Nick, k)
		}
	}
	return srv
}

// sync sends a broadcast from c and reads every client's frames up to its
// copy, returning what each got before it.
func syncAll(t *testing.T, from *client, nick string, cs ...*client) [][]string {
	t.Helper()
	from.send("BROADCAST sync")
	out := make([][]string, len(cs))
	for i, c := range cs {
		for {
			p := c.next()
			if strings.HasSuffix(p, nick+" sync") || p == "BROADCAST "+nick+": sync" {
				break
			}
			out[i] = append(out[i], p)
		}
	}
	return out
}

// TestKeysRegistration: a keys client gets SKEY, proves its key, gets a
// SIDENT it can check and the KEY of every proved peer; KEY frames reach
// only proved clients, and a base client and a v2 client without keys get
// exactly what they got before the keys feature.
func TestKeysRegistration(t *testing.T) {
	cfg := keysConfig(t)
	s, addr := startServer(t, cfg)
	alice, bob := seedID(t, 2), seedID(t, 3)

	base := dial(t, addr)
	base.send("REGISTER carol 1")
	base.send("PORT carol 2")
	waitFor(t, "carol registered", func() bool { return s.NumPeers() == 1 })
	plain := dial(t, addr)
	plain.send("REGISTER dave 1")
	plain.send("PORT dave 2")
	plain.expect(welcomeKeys)
	plain.expect("JOINED carol 127.0.0.1 1 2")
	plain.send("HELLO 2 heartbeat bcast caps notice ack")
	waitHello(t, s, "dave")

	a := dial(t, addr)
	srv := a.registerKeys("alice", alice, []string{"carol", "dave"}, []string{"dave"}, nil)
	if srv != cfg.Identity.Public() || s.Key() != srv {
		t.Fatalf("SKEY key %v, server key %v", srv, cfg.Identity.Public())
	}
	b := dial(t, addr)
	b.registerKeys("bob", bob, []string{"carol", "dave", "alice"}, []string{"dave", "alice"}, []string{"alice"})

	got := syncAll(t, a, "alice", a, plain)
	if want := []string{
		"JOINED bob 127.0.0.1 1 2",
		"CAPS bob heartbeat bcast caps notice keys",
		payload(wire.Key{Nick: "bob", Key: bob.Public().String()}),
	}; !slices.Equal(got[0], want) {
		t.Errorf("alice got %q, want %q", got[0], want)
	}
	if want := []string{
		"JOINED alice 127.0.0.1 1 2", "CAPS alice heartbeat bcast caps notice keys",
		"JOINED bob 127.0.0.1 1 2", "CAPS bob heartbeat bcast caps notice keys",
	}; !slices.Equal(got[1], want) {
		t.Errorf("dave (v2 without keys) got %q, want %q", got[1], want)
	}
	// The base client: byte for byte what a server without keys sends it
	// but for WELCOME's list.
	var raw []byte
	for _, p := range []string{welcomeKeys, "JOINED dave 127.0.0.1 1 2", "JOINED alice 127.0.0.1 1 2",
		"JOINED bob 127.0.0.1 1 2", "BROADCAST alice: sync"} {
		raw = wire.AppendFrame(raw, []byte(p))
	}
	buf := make([]byte, len(raw))
	base.nc.SetReadDeadline(time.Now().Add(waitDeadline))
	if _, err := io.ReadFull(base.nc, buf); err != nil || !bytes.Equal(buf, raw) {
		t.Fatalf("base client got %q (%v), want %q", buf, err, raw)
	}
	if got := s.Stats().Closed; len(got) != 0 {
		t.Fatalf("closed: %v", got)
	}
}

// TestKeysNotOffered: a server without a key lists no keys in WELCOME and
// ignores keys in HELLO; IDENT and SBROADCAST are refused with NOTICE.
func TestKeysNotOffered(t *testing.T) {
	_, addr := startServer(t, testConfig())
	c := dial(t, addr)
	c.register("ann", 1, 2)
	c.send(helloKeys)
	id := seedID(t, 2)
	c.send(payload(wire.Ident{Key: id.Public().String(), Nonce: make([]byte, 16), Sig: make([]byte, 64)}))
	c.expect("NOTICE unknown_command unexpected IDENT")
	c.send(payload(wire.SignedBroadcast{Time: time.UnixMilli(1), Sig: make([]byte, 64), Text: "x"}))
	c.expect("NOTICE bad_command signed broadcast without a proved key")
	c.send("BROADCAST hi")
	c.expect("BCAST 1 1700000000123 ann hi")
}

// TestBadIdent: an IDENT whose signature does not verify or whose key does
// not parse ends the connection with ERROR bad identity; one before
// HELLO … keys is refused with a NOTICE.
func TestBadIdent(t *testing.T) {
	s, addr := startServer(t, keysConfig(t))
	id := seedID(t, 2)

	early := dial(t, addr)
	early.send("REGISTER e 1")
	early.send("PORT e 2")
	early.expect(welcomeKeys)
	early.send("HELLO 2 notice")
	early.send(payload(wire.Ident{Key: id.Public().String(), Nonce: make([]byte, 16), Sig: make([]byte, 64)}))
	early.expect("NOTICE unknown_command unexpected IDENT")

	forged := dial(t, addr)
	forged.send("REGISTER f 1")
	forged.send("PORT f 2")
	forged.expect(welcomeKeys)
	forged.expect("JOINED e 127.0.0.1 1 2")
	forged.send("HELLO 2 keys")
	srv, nonce := forged.challenge()
	forged.ident("f", id, srv, nonce, true)
	if got := forged.expectClosed(); !slices.Equal(got, []string{"ERROR bad identity: signature does not verify"}) {
		t.Fatalf("forged IDENT: got %q", got)
	}

	waitFor(t, "f gone", func() bool { return s.NumPeers() == 1 })
	badKey := dial(t, addr)
	badKey.send("REGISTER g 1")
	badKey.send("PORT g 2")
	badKey.expect(welcomeKeys)
	badKey.expect("JOINED e 127.0.0.1 1 2")
	badKey.send("HELLO 2 keys")
	badKey.challenge()
	zero := identity.TextPrefix + strings.Repeat("A", identity.TextLen-len(identity.TextPrefix))
	badKey.send("IDENT " + zero + " " + strings.Repeat("A", 22) + " " + strings.Repeat("A", 86))
	got := badKey.expectClosed()
	if len(got) != 1 || !strings.HasPrefix(got[0], "ERROR bad identity: identity: malformed public identity") {
		t.Fatalf("bad key: got %q", got)
	}
}

// TestSignedBroadcast: a proved client's SBROADCAST reaches keys clients as
// SBCAST with a signature they can check, v2 clients as BCAST and base
// clients as BROADCAST, on one sequence; a forged one is dropped with NOTICE
// bad_command.
func TestSignedBroadcast(t *testing.T) {
	cfg := keysConfig(t)
	_, addr := startServer(t, cfg)
	alice, bob := seedID(t, 2), seedID(t, 3)
	base := dial(t, addr)
	base.send("REGISTER carol 1")
	base.send("PORT carol 2")
	base.expect(welcomeKeys)
	a := dial(t, addr)
	srv := a.registerKeys("alice", alice, []string{"carol"}, nil, nil)
	b := dial(t, addr)
	b.registerKeys("bob", bob, []string{"carol", "alice"}, []string{"alice"}, []string{"alice"})
	plain := dial(t, addr)
	plain.send("REGISTER dave 1")
	plain.send("PORT dave 2")
	plain.expect(welcomeKeys)
	for _, n := range []string{"carol", "alice", "bob"} {
		plain.expect("JOINED " + n + " 127.0.0.1 1 2")
	}
	plain.send("HELLO 2 bcast caps notice")
	plain.expectPrefix("CAPS alice ")
	plain.expectPrefix("CAPS bob ")
	syncAll(t, plain, "dave", a, b, base, plain)

	sent := time.UnixMilli(1764100000123)
	sb := identity.SignedBroadcast{Server: srv, From: "alice", Sent: sent, Text: "hi all"}
	a.send(payload(wire.SignedBroadcast{Time: sent, Sig: sb.Sign(alice), Text: "hi all"}))
	for _, c := range []*client{a, b} {
		m := parse[wire.SignedBcast](t, c.next())
		if m.Seq != 2 || m.From != "alice" || !m.Sent.Equal(sent) || m.Text != "hi all" || !m.Time.Equal(cfg.Now()) {
			t.Fatalf("SBCAST %+v", m)
		}
		if !(identity.SignedBroadcast{Server: srv, From: m.From, Sent: m.Sent, Text: m.Text}).Verify(alice.Public(), m.Sig) {
			t.Fatal("SBCAST signature does not verify")
		}
	}
	plain.expect("BCAST 2 1700000000123 alice hi all")
	base.expect("BROADCAST alice: hi all")

	// Forged (signed by bob's key as alice's) and misattributed (alice's
	// signature for another sender): dropped, only the sender hears why.
	forged := sb
	forged.Text = "pay bob"
	a.send(payload(wire.SignedBroadcast{Time: sent, Sig: forged.Sign(bob), Text: "pay bob"}))
	a.expect("NOTICE bad_command bad broadcast signature")
	b.send(payload(wire.SignedBroadcast{Time: sent, Sig: sb.Sign(alice), Text: "hi all"}))
	b.expect("NOTICE bad_command bad broadcast signature")
	plain.send(payload(wire.SignedBroadcast{Time: sent, Sig: sb.Sign(alice), Text: "hi all"}))
	plain.expect("NOTICE bad_command signed broadcast without a proved key")
	got := syncAll(t, plain, "dave", a, b, base, plain)
	for i, g := range got {
		if len(g) != 0 {
			t.Errorf("client %d got %q after the refused broadcasts", i, g)
		}
	}
}

// TestSignedBroadcastLimits: SBROADCAST obeys BROADCAST's length and rate
// limits, counting the signature's bytes in the relayed frame.
func TestSignedBroadcastLimits(t *testing.T) {
	cfg := keysConfig(t)
	cfg.PayloadLimit = 400
	cfg.BroadcastBurst = 1
	cfg.BroadcastRate = 1e-3
	_, addr := startServer(t, cfg)
	alice := seedID(t, 2)
	a := dial(t, addr)
	srv := a.registerKeys("alice", alice, nil, nil, nil)
	sign := func(text string) string {
		sb := identity.SignedBroadcast{Server: srv, From: "alice", Sent: time.UnixMilli(5), Text: text}
		return payload(wire.SignedBroadcast{Time: sb.Sent, Sig: sb.Sign(alice), Text: text})
	}
	long := strings.Repeat("x", cfg.PayloadLimit-len("alice")-broadcastOverhead-signedOverhead+1)
	a.send(sign(long))
	a.expect("NOTICE too_long broadcast too long")
	a.send(sign(long[1:]))
	parse[wire.SignedBcast](t, a.next())
	a.send(sign("again"))
	a.expect("NOTICE rate_limited rate limited")
	a.send(sign(""))
	a.expect("NOTICE bad_command empty broadcast")
}

// clock is a settable time for Config.Now.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time        { return time.UnixMilli(c.ms.Load()) }
func (c *clock) add(d time.Duration)   { c.ms.Add(d.Milliseconds()) }
func newClock(t time.Time) *clock      { c := &clock{}; c.ms.Store(t.UnixMilli()); return c }
func (c *client) closedWith() []string { c.t.Helper(); return c.expectClosed() }

// leave closes c and waits until the server has let nick go.
func leave(t *testing.T, s *Server, c *client, nick string) {
	t.Helper()
	c.nc.Close()
	waitFor(t, nick+" gone", func() bool {
		return !slices.ContainsFunc(s.Peers(), func(p PeerInfo) bool { return p.Nick == nick })
	})
}

// TestHeldNick: a nick proved by a key is held for it after its holder
// left: a base client, a v2 client without keys, another key and a bad
// signature get NICKNAME_TAKEN (a bystander hears nothing of them); the
// holder's key gets it back, with SIDENT, the snapshots and its JOINED, CAPS
// and KEY to the others.
func TestHeldNick(t *testing.T) {
	for _, persist := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "bbolt"}[persist], func(t *testing.T) {
			cfg := keysConfig(t)
			cfg.RegisterTimeout = time.Second
			if persist {
				ns, err := OpenNickStore(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ns.Close() })
				cfg.Nicks = ns
			}
			s, addr := startServer(t, cfg)
			alice, mallory := seedID(t, 2), seedID(t, 4)
			bob := dial(t, addr)
			bob.registerKeys("bob", seedID(t, 3), nil, nil, nil)
			a := dial(t, addr)
			a.registerKeys("Alice", alice, []string{"bob"}, []string{"bob"}, []string{"bob"})
			leave(t, s, a, "Alice")
			syncAll(t, bob, "bob", bob)

			// A base client: WELCOME, then nothing until the registration
			// time is up.
			c := dial(t, addr)
			c.send("REGISTER alice 1")
			c.send("PORT alice 2")
			start := time.Now()
			if got := c.closedWith(); !slices.Equal(got, []string{welcomeKeys, "NICKNAME_TAKEN"}) {
				t.Fatalf("base client got %q", got)
			}
			if d := time.Since(start); d < cfg.RegisterTimeout/2 {
				t.Errorf("base client refused after %v", d)
			}
			// A v2 client without keys: at its HELLO.
			c = dial(t, addr)
			c.send("REGISTER ALICE 1")
			c.send("PORT ALICE 2")
			c.send("HELLO 2 heartbeat bcast caps notice")
			if got := c.closedWith(); !slices.Equal(got, []string{welcomeKeys, "NICKNAME_TAKEN"}) {
				t.Fatalf("v2 client without keys got %q", got)
			}
			// Another key, and the holder's key with a bad signature.
			for _, forge := range []bool{false, true} {
				id := mallory
				if forge {
					id = alice
				}
				c = dial(t, addr)
				c.send("REGISTER alice 1")
				c.send("PORT alice 2")
				c.expect(welcomeKeys)
				c.send(helloKeys)
				srv, nonce := c.challenge()
				c.ident("alice", id, srv, nonce, forge)
				if got := c.closedWith(); !slices.Equal(got, []string{"NICKNAME_TAKEN"}) {
					t.Fatalf("forge %v: got %q", forge, got)
				}
			}
			if got := syncAll(t, bob, "bob", bob); len(got[0]) != 0 {
				t.Fatalf("bystander heard %q", got[0])
			}
			waitFor(t, "4 connections closed as "+ReasonNickHeld, func() bool { return s.Stats().Closed[ClosedNickHeld] == 4 })

			// The holder, in another case.
			c = dial(t, addr)
			c.send("REGISTER alice 5")
			c.send("PORT alice 6")
			c.expect(welcomeKeys)
			c.send(helloKeys)
			srv, nonce := c.challenge()
			r := c.ident("alice", alice, srv, nonce, false)
			c.sident(r)
			c.expect("JOINED bob 127.0.0.1 1 2")
			c.expect("CAPS bob heartbeat bcast caps notice keys")
			c.expect(payload(wire.Key{Nick: "bob", Key: seedID(t, 3).Public().String()}))
			got := syncAll(t, bob, "bob", bob, c)
			if want := []string{"JOINED alice 127.0.0.1 5 6", "CAPS alice heartbeat bcast caps notice keys",
				payload(wire.Key{Nick: "alice", Key: alice.Public().String()})}; !slices.Equal(got[0], want) {
				t.Fatalf("bob got %q, want %q", got[0], want)
			}
			if len(got[1]) != 0 {
				t.Fatalf("alice got %q", got[1])
			}
			// Registered: it broadcasts, signed.
			sb := identity.SignedBroadcast{Server: srv, From: "alice", Sent: time.UnixMilli(9), Text: "back"}
			c.send(payload(wire.SignedBroadcast{Time: sb.Sent, Sig: sb.Sign(alice), Text: "back"}))
			if m := parse[wire.SignedBcast](t, bob.next()); m.From != "alice" || m.Text != "back" {
				t.Fatalf("bob got %+v", m)
			}
		})
	}
}

// TestHeldNickExpires: a nick is held for NickHold after its holder was last
// connected, then anyone may take it (and bind it to another key).
func TestHeldNickExpires(t *testing.T) {
	cfg := keysConfig(t)
	cfg.NickHold = time.Hour
	clk := newClock(time.UnixMilli(1700000000000))
	cfg.Now = clk.now
	s, addr := startServer(t, cfg)
	a := dial(t, addr)
	a.registerKeys("alice", seedID(t, 2), nil, nil, nil)
	clk.add(2 * time.Hour) // connected for longer than the hold
	leave(t, s, a, "alice")

	clk.add(time.Hour - time.Millisecond)
	c := dial(t, addr)
	c.send("REGISTER alice 1")
	c.send("PORT alice 2")
	c.send("HELLO 2 bcast")
	if got := c.closedWith(); !slices.Equal(got, []string{welcomeKeys, "NICKNAME_TAKEN"}) {
		t.Fatalf("within the hold: got %q", got)
	}
	clk.add(time.Millisecond)
	c = dial(t, addr)
	c.send("REGISTER alice 1") // a base client: WELCOME, then registered
	c.send("PORT alice 2")
	c.expect(welcomeKeys)
	c.send("BROADCAST mine")
	c.expect("BROADCAST alice: mine")
	leave(t, s, c, "alice")

	m := dial(t, addr)
	m.registerKeys("alice", seedID(t, 4), nil, nil, nil)
	leave(t, s, m, "alice")
	b, ok, err := s.nicks.Lookup("ALICE")
	if err != nil || !ok || b.Key != seedID(t, 4).Public() || b.Nick != "alice" || !b.Seen.Equal(clk.now()) {
		t.Fatalf("binding %+v %v %v", b, ok, err)
	}
}

// TestHeldNickReplacesGhost: a silent holder of a held nick is replaced
// only by a newcomer that proves the key.
func TestHeldNickReplacesGhost(t *testing.T) {
	cfg := keysConfig(t)
	cfg.ReplaceGrace = 100 * time.Millisecond
	s, addr := startServer(t, cfg)
	alice := seedID(t, 2)
	ghost := dial(t, addr)
	ghost.registerKeys("phone", alice, nil, nil, nil) // heartbeat; then silent

	c := dial(t, addr)
	c.send("REGISTER phone 3")
	c.send("PORT phone 4")
	c.send("HELLO 2 heartbeat bcast")
	if got := c.closedWith(); !slices.Equal(got, []string{welcomeKeys, "NICKNAME_TAKEN"}) {
		t.Fatalf("newcomer without keys got %q", got)
	}
	if n := s.Stats().Closed[ClosedReplaced]; n != 1 {
		t.Fatalf("closed %v", s.Stats().Closed)
	}
	c = dial(t, addr)
	c.send("REGISTER phone 5")
	c.send("PORT phone 6")
	c.expect(welcomeKeys)
	c.send(helloKeys)
	srv, nonce := c.challenge()
	c.sident(c.ident("phone", alice, srv, nonce, false))
	if p := s.Peers(); len(p) != 1 || p[0].UDPPort != 5 {
		t.Fatalf("peers %+v", p)
	}
}

// TestNickStorePersists: bindings outlive the NickStore, Release forgets
// one, and a second open of a database in use fails with ErrNicksLocked.
func TestNickStorePersists(t *testing.T) {
	dir := t.TempDir()
	ns, err := OpenNickStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := seedID(t, 2).Public()
	seen := time.UnixMilli(1700000000123)
	if err := ns.Bind(Binding{Nick: "Zoë", Key: key, Seen: seen}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenNickStore(dir); !errors.Is(err, ErrNicksLocked) {
		t.Fatalf("second open: %v, want ErrNicksLocked", err)
	}
	// A refresh for another key does not overwrite the binding.
	if err := ns.seen([]Binding{{Nick: "zoë", Key: seedID(t, 3).Public(), Seen: seen.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	ns.Close()
	ns, err = OpenNickStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	b, ok, err := ns.Lookup("ZOË")
	if err != nil || !ok || b.Nick != "Zoë" || b.Key != key || !b.Seen.Equal(seen) {
		t.Fatalf("Lookup = %+v %v %v", b, ok, err)
	}
	if found, err := ns.Release("zoë"); !found || err != nil {
		t.Fatalf("Release = %v %v", found, err)
	}
	if found, err := ns.Release("zoë"); found || err != nil {
		t.Fatalf("second Release = %v %v", found, err)
	}
	if _, ok, _ := ns.Lookup("Zoë"); ok {
		t.Fatal("released binding still there")
	}
}

// TestKeyOnlyAfterSident: a client that negotiated keys but has not proved
// one gets no KEY (but SBCAST); once it proves its key it gets the KEY
// snapshot. Peers reports proved keys only.
func TestKeyOnlyAfterSident(t *testing.T) {
	s, addr := startServer(t, keysConfig(t))
	alice, bob := seedID(t, 2), seedID(t, 3)
	b := dial(t, addr)
	b.send("REGISTER bob 1")
	b.send("PORT bob 2")
	b.expect(welcomeKeys)
	b.send("HELLO 2 bcast keys")
	srvB, nonceB := b.challenge()

	a := dial(t, addr)
	srv := a.registerKeys("alice", alice, []string{"bob"}, []string{"bob"}, nil)
	sb := identity.SignedBroadcast{Server: srv, From: "alice", Sent: time.UnixMilli(3), Text: "signed"}
	a.send(payload(wire.SignedBroadcast{Time: sb.Sent, Sig: sb.Sign(alice), Text: "signed"}))
	b.expect("JOINED alice 127.0.0.1 1 2")
	if m := parse[wire.SignedBcast](t, b.next()); m.From != "alice" || m.Text != "signed" {
		t.Fatalf("bob got %+v", m)
	}
	for _, p := range s.Peers() {
		if want := map[string]identity.PublicIdentity{"alice": alice.Public()}[p.Nick]; p.Key != want {
			t.Fatalf("Peers: %s has key %v", p.Nick, p.Key)
		}
	}
	r := b.ident("bob", bob, srvB, nonceB, false)
	b.sident(r)
	b.expect(payload(wire.Key{Nick: "alice", Key: alice.Public().String()}))
	parse[wire.SignedBcast](t, a.next()) // alice's copy
	a.expect(payload(wire.Key{Nick: "bob", Key: bob.Public().String()}))
}
