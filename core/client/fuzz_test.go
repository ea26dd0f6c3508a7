package client

import (
	"bytes"
	"flag"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// fuzzClient is a Client with no network: its server link writes into a
// buffer nobody reads.
func fuzzClient(t testing.TB, id ...*identity.Identity) (*Client, *srvConn) {
	cfg := Config{Nick: "me", Server: "fuzz", Notify: func() {}}
	if len(id) > 0 {
		cfg.Identity = id[0]
	}
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	b.Close()
	sc := &srvConn{l: newLink(a, nil), r: wire.NewReader(strings.NewReader(""), 1), regc: make(chan error, 1), done: make(chan struct{})}
	return c, sc
}

func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

var serverSeeds = []string{
	"WELCOME 2 heartbeat bcast caps notice",
	"JOINED ana 127.0.0.1 4000 4001\nCAPS ana heartbeat ack\nLEFT ana",
	"JOINED \"bob\" 127.0.0.1 1 2\nJOINED bob 127.0.0.2 1 2\nJOINED me 127.0.0.1 3 4",
	"NICKNAME_TAKEN",
	"ERROR nickname is too long",
	"BROADCAST ana: hi\nBCAST 7 1700000000000 ana hi there\nBCAST x",
	"PING 12\nPONG 3\nNOTICE rate_limited slow down\nCAPS",
	"BROADCAST me: hi\nBROADCAST hi\nBCAST 1 1 me hi\nBCAST 2 2 ME other\nNOTICE too_long x",
	"WELCOME 2 bcast\nBROADCAST me: me: hi\nBROADCAST ana: hi",
	"JOINED a 999.1.1.1 1 2\nLEFT\nLEFT a b\nWELCOME 0\nWELCOME",
}

var datagramSeeds = []string{
	"CHAT_INVITE ana 4001 n1",
	"CHAT_INVITE ana 4001 n1\nCHAT_INVITE ana 4001 n1\nCHAT_REJECT ana n1",
	"CHAT_INVITE ana 0 n\nCHAT_INVITE ana 70000 n\nCHAT_INVITE ana 1",
	"CHAT_REJECT ana\nCHAT_ACCEPT ana n\nPEERCHAT_DISCOVER 2 x\n\xff\xfe",
}

// FuzzServerFrames feeds a registered client any sequence of server frames
// (one per line), then the same lines as datagrams: it must not panic, and
// Close must still end every goroutine.
func FuzzServerFrames(f *testing.F) {
	if !fuzzing() {
		checkGoroutines(f) // the fuzzing engine runs goroutines of its own
	}
	for _, s := range append(serverSeeds, datagramSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, sc := fuzzClient(t)
		c.mu.Lock()
		c.confirm(sc)
		c.mu.Unlock()
		c.handleServer(sc, []byte("JOINED ana 127.0.0.1 4000 4001"))
		c.Broadcast("hi") // waits for its echo (or refusal) among the frames
		c.Broadcast("me: hi")
		src := netip.MustParseAddrPort("127.0.0.1:4000")
		for _, p := range bytes.Split(in, []byte("\n")) {
			c.handleServer(sc, p)
			c.handleDatagram(p, src)
		}
		c.Peers()
		c.Poll(nil)
		c.Close()
		sc.l.close()
	})
}

// FuzzDatagrams feeds a client any datagrams (one per line) from a listed
// peer's address and from another: no panic, no goroutine left after Close.
func FuzzDatagrams(f *testing.F) {
	if !fuzzing() {
		checkGoroutines(f) // the fuzzing engine runs goroutines of its own
	}
	for _, s := range datagramSeeds {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, listed bool) {
		c, sc := fuzzClient(t)
		c.mu.Lock()
		c.confirm(sc)
		c.mu.Unlock()
		c.handleServer(sc, []byte("JOINED ana 127.0.0.1 4000 4001"))
		src := netip.MustParseAddrPort("127.0.0.1:4000")
		if !listed {
			src = netip.MustParseAddrPort("127.0.0.2:4000")
		}
		for _, p := range bytes.Split(in, []byte("\n")) {
			c.handleDatagram(p, src)
		}
		for _, e := range c.Poll(nil) {
			if !listed && e.Kind == EventInvite {
				t.Fatalf("invite from an unlisted address: %+v", e)
			}
		}
		c.Close()
		sc.l.close()
	})
}

// FuzzFoldKey checks foldKey against wire.FoldNick.
func FuzzFoldKey(f *testing.F) {
	for _, s := range []string{"Ana", "ana", "ÀNA", "Straße", "K", "\u212a", "x_Y-9", "İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, nick string) {
		if got, want := foldKey(nick), wire.FoldNick(nick); got != want {
			t.Fatalf("foldKey(%q) = %q, want %q", nick, got, want)
		}
	})
}

// FuzzKeyedServerFrames feeds a keyed client, registered with a keys server
// that proved its key, any sequence of server frames (one per line): KEY,
// SBCAST, a second SKEY or SIDENT, and everything else. No panic, no
// goroutine left after Close.
func FuzzKeyedServerFrames(f *testing.F) {
	if !fuzzing() {
		checkGoroutines(f)
	}
	seed := func(b byte) *identity.Identity {
		id, err := identity.FromSeed(bytes.Repeat([]byte{b}, identity.SeedSize))
		if err != nil {
			f.Fatal(err)
		}
		return id
	}
	srvID, me, ana := seed(1), seed(2), seed(3)
	sent := time.UnixMilli(1764100000123)
	sb := identity.SignedBroadcast{Server: srvID.Public(), From: "ana", Sent: sent, Text: "hi"}
	payload := func(m wire.Message) string { return string(m.AppendPayload(nil)) }
	for _, s := range []string{
		payload(wire.SignedBcast{Seq: 1, Time: sent, From: "ana", Sent: sent, Sig: sb.Sign(ana), Text: "hi"}),
		payload(wire.SignedBcast{Seq: 2, Time: sent, From: "me", Sent: sent, Sig: sb.Sign(me), Text: "hi"}),
		payload(wire.Key{Nick: "ana", Key: me.Public().String()}) + "\n" + payload(wire.Key{Nick: "me", Key: ana.Public().String()}),
		payload(wire.ServerKey{Key: ana.Public().String(), Nonce: bytes.Repeat([]byte{7}, 16)}),
		payload(wire.ServerIdent{Sig: sb.Sign(srvID)}),
		"BCAST 3 1 ana hi\nBROADCAST ana: hi\nKEY ana pc1.x\nKEY\nSBCAST 1 1 ana 1 x hi",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, sc := fuzzClient(t, me)
		c.handleServer(sc, []byte("WELCOME 2 bcast caps notice keys"))
		c.handleServer(sc, []byte(payload(wire.ServerKey{Key: srvID.Public().String(), Nonce: bytes.Repeat([]byte{9}, 16)})))
		c.mu.Lock()
		sig := sc.reg.SignServer(srvID)
		c.mu.Unlock()
		if err := c.handleServer(sc, []byte(payload(wire.ServerIdent{Sig: sig}))); err != nil {
			t.Fatal(err)
		}
		c.handleServer(sc, []byte("JOINED ana 127.0.0.1 4000 4001"))
		c.handleServer(sc, []byte(payload(wire.Key{Nick: "ana", Key: ana.Public().String()})))
		c.Broadcast("hi")
		for _, p := range bytes.Split(in, []byte("\n")) {
			c.handleServer(sc, p)
		}
		c.PeerKey("ana")
		c.Poll(nil)
		c.Close()
		sc.l.close()
	})
}
