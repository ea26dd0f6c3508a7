package server

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// helloAll is the HELLO of a keys client with the relay, mailbox and
// replay features (and no caps, so that fewer frames come).
const helloAll = "HELLO 2 notice keys relay mailbox replay"

// keysClient dials addr, registers nick, says hello and proves id; it
// returns once SIDENT has been read and checked. JOINED, CAPS and KEY
// frames before SKEY are skipped.
func keysClient(t testing.TB, addr, nick string, id *identity.Identity, hello string) *client {
	t.Helper()
	c := dial(t, addr)
	c.send("REGISTER " + nick + " 1")
	c.send("PORT " + nick + " 2")
	c.expect(welcomeKeys)
	c.send(hello)
	for {
		p := c.next()
		if strings.HasPrefix(p, "SKEY ") {
			sk := parse[wire.ServerKey](t, p)
			srv, _ := identity.ParsePublic(sk.Key)
			c.sident(c.ident(nick, id, srv, sk.Nonce, false))
			return c
		}
		if !isNoise(p) {
			t.Fatalf("%s: got %q before SKEY", nick, p)
		}
	}
}

// isNoise reports whether p is a frame about peers (JOINED, LEFT, CAPS,
// KEY, PING), which the tests of the relay, mailbox and replay skip.
func isNoise(p string) bool {
	for _, v := range []string{"JOINED ", "LEFT ", "CAPS ", "KEY ", "PING ", "BIMG_LIMIT "} {
		if strings.HasPrefix(p, v) {
			return true
		}
	}
	return false
}

// data returns the next payload that is not noise.
func (c *client) data() string {
	c.t.Helper()
	for {
		if p := c.next(); !isNoise(p) {
			return p
		}
	}
}

// expectData reads the next payload that is not noise and checks it.
func (c *client) expectData(want string) {
	c.t.Helper()
	if got := c.data(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// TestRelay: relayed frames go both ways between two proved relay
// clients, in order; a relay to nobody, to a base client, to a keys client
// without relay and from a client without relay is refused; a base client
// hears byte for byte what it heard before.
func TestRelay(t *testing.T) {
	cfg := keysConfig(t)
	s, addr := startServer(t, cfg)
	base := dial(t, addr)
	base.send("REGISTER carol 1")
	base.send("PORT carol 2")
	base.expect(welcomeKeys)
	a := keysClient(t, addr, "alice", seedID(t, 2), helloAll)
	b := keysClient(t, addr, "bob", seedID(t, 3), helloAll)
	plain := keysClient(t, addr, "dave", seedID(t, 4), "HELLO 2 notice keys")

	const n = 200
	for i := range n {
		a.send(fmt.Sprintf("RELAY bob ab msg %d  x", i))
		b.send(fmt.Sprintf("RELAY Alice ba msg %d", i))
	}
	for i := range n {
		b.expectData(fmt.Sprintf("RELAYED alice ab msg %d  x", i))
		a.expectData(fmt.Sprintf("RELAYED bob ba msg %d", i))
	}
	a.send("RELAY bob e ")
	b.expectData("RELAYED alice e ")

	a.send("RELAY zed c1 x")
	a.expectData("RELAY_FAIL zed c1 offline")
	a.send("RELAY carol c1 x")
	a.expectData("RELAY_FAIL carol c1 unsupported")
	a.send("RELAY dave c1 x")
	a.expectData("RELAY_FAIL dave c1 unsupported")
	plain.send("RELAY alice c1 x")
	plain.expectData("NOTICE unknown_command unexpected RELAY")
	a.send("RELAY bob bad.chan x")
	a.expectData("NOTICE bad_command malformed RELAY: bad chan")

	st := s.Stats()
	if st.Relayed != 2*n+1 || st.RelayFailed[wire.RelayOffline] != 1 || st.RelayFailed[wire.RelayUnsupported] != 2 {
		t.Fatalf("stats: relayed %d, failed %v", st.Relayed, st.RelayFailed)
	}
	if len(st.Closed) != 0 {
		t.Fatalf("closed: %v", st.Closed)
	}

	// The base client: JOINEDs and a broadcast, nothing else.
	a.send("BROADCAST sync")
	var raw []byte
	for _, p := range []string{"JOINED alice 127.0.0.1 1 2", "JOINED bob 127.0.0.1 1 2",
		"JOINED dave 127.0.0.1 1 2", "BROADCAST alice: sync"} {
		raw = wire.AppendFrame(raw, []byte(p))
	}
	buf := make([]byte, len(raw))
	base.nc.SetReadDeadline(time.Now().Add(waitDeadline))
	if _, err := io.ReadFull(base.nc, buf); err != nil || !bytes.Equal(buf, raw) {
		t.Fatalf("base client got %q (%v), want %q", buf, err, raw)
	}
}

// TestRelayOverflow: relays to a client that does not read fill its
// relay share of the queue, then are dropped with RELAY_FAIL overflow; the
// slow client is not closed, gets what was queued in order, and relays
// work again once it has read.
func TestRelayOverflow(t *testing.T) {
	cfg := keysConfig(t)
	cfg.QueueBytes = 64 << 10
	cfg.RelayRate = 1e12
	_, addr := startServer(t, cfg)
	a := keysClient(t, addr, "alice", seedID(t, 2), helloAll)
	b := keysClient(t, addr, "bob", seedID(t, 3), helloAll)
	b.nc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4096)

	fails := make(chan string, 1)
	go func() {
		rd := wire.NewReader(a.nc, 1<<20)
		rd.IdleTimeout = 2 * waitDeadline
		for {
			p, err := rd.ReadFrame()
			if err != nil {
				close(fails)
				return
			}
			if !isNoise(string(p)) {
				fails <- string(p)
				return
			}
		}
	}()
	pad := strings.Repeat("x", 8<<10)
	sent := 0
	var got string
loop:
	for ; sent < 100_000; sent++ {
		select {
		case got = <-fails:
			break loop
		default:
		}
		a.send(fmt.Sprintf("RELAY bob ab %d %s", sent, pad))
	}
	if got == "" {
		got = <-fails
	}
	if got != "RELAY_FAIL bob ab overflow" {
		t.Fatalf("after %d relays: %q", sent, got)
	}
	// b reads in order whatever was queued: frames in increasing order,
	// some missing (dropped), then what is sent once it has read.
	a.send("RELAY bob ab again")
	last, n := -1, 0
	for ; ; n++ {
		p := b.data()
		if p == "RELAYED alice ab again" {
			break
		}
		var k int
		if _, err := fmt.Sscanf(p, "RELAYED alice ab %d "+pad, &k); err != nil || k <= last {
			t.Fatalf("after %d, got %.40q", last, p)
		}
		last = k
	}
	if n == 0 || n >= sent {
		t.Fatalf("%d of %d relays delivered", n, sent)
	}
	t.Logf("%d of %d relays delivered", n, sent)
}

// TestRelayRate: a sender over its relay rate gets RELAY_FAIL rate.
func TestRelayRate(t *testing.T) {
	cfg := keysConfig(t)
	cfg.PayloadLimit = 1000
	cfg.RelayRate = 1
	cfg.RelayBurst = 1000
	s, addr := startServer(t, cfg)
	a := keysClient(t, addr, "alice", seedID(t, 2), helloAll)
	b := keysClient(t, addr, "bob", seedID(t, 3), helloAll)
	long := strings.Repeat("y", 600)
	a.send("RELAY bob ab " + long)
	b.expectData("RELAYED alice ab " + long)
	a.send("RELAY bob ab " + long)
	a.expectData("RELAY_FAIL bob ab rate")
	a.send("RELAY bob ab " + strings.Repeat("z", 998-len("RELAY bob ab ")))
	a.expectData("RELAY_FAIL bob ab too_long")
	if st := s.Stats(); st.RelayFailed[wire.RelayRate] != 1 || st.RelayFailed[wire.RelayTooLong] != 1 {
		t.Fatalf("stats: %v", st.RelayFailed)
	}
}
