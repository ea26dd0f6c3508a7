package client

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"peerchat/core/wire"
)

func TestDialErrors(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	dial(t, testConfig(ts.Addr, "ana"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name   string
		addr   string
		nick   string
		is     error
		nickEr bool
	}{
		{"taken", ts.Addr, "ana", ErrNicknameTaken, false},
		{"taken folded", ts.Addr, "ANA", ErrNicknameTaken, false},
		{"invalid", ts.Addr, "a b", nil, true},
		{"empty", ts.Addr, "", nil, true},
		{"refused", closed, "bob", ErrServerUnreachable, false},
		{"refused errno", closed, "bob", syscall.ECONNREFUSED, false},
		{"port 0", "127.0.0.1:0", "bob", ErrConfig, false},
		{"no port", "127.0.0.1", "bob", ErrConfig, false},
		{"port too large", "127.0.0.1:65536", "bob", ErrConfig, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Dial(context.Background(), testConfig(tt.addr, tt.nick))
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			var ne *NickError
			if tt.nickEr != errors.As(err, &ne) {
				t.Fatalf("err %v: NickError %v, want %v", err, !tt.nickEr, tt.nickEr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err %v, want %v", err, tt.is)
			}
		})
	}
}

func TestRegisterPeersBroadcast(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	a.wait(EventRegistered, nil)
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.wait(EventPeerJoined, peerIs("bob"))
	b.wait(EventPeerJoined, peerIs("ana"))
	id, err := a.Broadcast("hello all")
	if err != nil {
		t.Fatal(err)
	}
	// Our echo carries the id Broadcast returned; others see no id.
	for c, wantID := range map[*tc]uint64{a: id, b: 0} {
		e := c.wait(EventBroadcast, nil)
		if e.From != "ana" || e.Text != "hello all" || e.ID != wantID {
			t.Errorf("%s got broadcast %+v, want id %d", c.Nick(), e, wantID)
		}
	}
	b.Close()
	a.wait(EventPeerLeft, peerIs("bob"))
	a.waitPeers()
}

func TestChat(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitCaps("bob")
	b.waitCaps("ana")
	openChat(t, a, b)
	if a.Chat("bob") != ChatOpen || b.Chat("ANA") != ChatOpen {
		t.Fatalf("states %v %v", a.Chat("bob"), b.Chat("ana"))
	}
	for i, tt := range []struct {
		from, to *tc
		text     string
	}{
		{a, b, "hi bob"},
		{b, a, "hi ana, ça va?"},
		{a, b, "a \"quoted\" text"},
	} {
		id, err := tt.from.Send(tt.to.Nick(), tt.text)
		if err != nil {
			t.Fatal(i, err)
		}
		e := tt.to.wait(EventChatMsg, peerIs(tt.from.Nick()))
		if e.Text != tt.text || e.ID != id {
			t.Errorf("%d: got %q id %d, want %q id %d", i, e.Text, e.ID, tt.text, id)
		}
		tt.from.wait(EventDelivered, func(e Event) bool { return e.ID == id })
		// ✓ then ✓✓: written, then acknowledged, each reported once.
		if got := tt.from.kindsOf(id); got != "sent delivered" {
			t.Errorf("%d: events for message %d: %s, want sent delivered", i, id, got)
		}
	}
	if err := a.LeaveChat("bob"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonClosed })
	b.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLeft })
	if a.Chat("bob") != ChatNone || b.Chat("ana") != ChatNone {
		t.Fatalf("states after leave %v %v", a.Chat("bob"), b.Chat("ana"))
	}
}

func TestInviteDatagramsLost(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	var dropped atomic.Int32
	cfg := testConfig(ts.Addr, "ana")
	cfg.FallbackAfter = time.Minute // only UDP
	cfg.hooks = &hooks{sendUDP: func(b []byte, to netip.AddrPort) bool {
		return dropped.Add(1) > 3
	}}
	a := dial(t, cfg)
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitPeers("bob")
	b.waitPeers("ana")
	a.waitCaps("bob")
	openChat(t, a, b)
	if n := dropped.Load(); n < 4 {
		t.Fatalf("%d invite datagrams, want > 3", n)
	}
	if b.count(EventInvite) != 1 {
		t.Fatalf("bob saw %d invites, want 1", b.count(EventInvite))
	}
}

func TestForgedInviteIgnored(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitPeers("bob")
	b.waitPeers("ana")
	trap, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("cannot bind 127.0.0.2:", err)
	}
	defer trap.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skip("cannot bind 127.0.0.2:", err)
	}
	defer pc.Close()
	port := trap.Addr().(*net.TCPAddr).Port
	forged := wire.ChatInvite{Nick: "ana", TCPPort: port, Nonce: "forged"}.AppendPayload(nil)
	if _, err := pc.WriteTo(forged, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: b.udpPort}); err != nil {
		t.Fatal(err)
	}
	b.logs.waitLog(t, "invite dropped")
	if b.count(EventInvite) != 0 || b.Chat("ana") != ChatNone {
		t.Fatal("forged invite was taken")
	}
	openChat(t, a, b)
	trap.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Millisecond))
	if c, err := trap.Accept(); err == nil {
		c.Close()
		t.Fatal("bob connected to the forger")
	}
}

func TestInviteDeclinedAndExpired(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	cfg := testConfig(ts.Addr, "ana")
	cfg.InviteTTL = 400 * time.Millisecond
	a := dial(t, cfg)
	cfg = testConfig(ts.Addr, "bob")
	cfg.InviteTTL = 400 * time.Millisecond
	b := dial(t, cfg)
	a.waitPeers("bob")
	b.waitPeers("ana")

	id, err := a.Send("bob", "will be declined")
	if err != nil {
		t.Fatal(err)
	}
	a.wait(EventInviting, peerIs("bob")) // Send invites a peer without a chat
	b.wait(EventInvite, peerIs("ana"))
	if err := b.Decline("ana"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonDeclined })
	f := a.wait(EventSendFailed, nil)
	if f.ID != id || !errors.Is(f.Err, ErrDeclined) {
		t.Fatalf("send failed %+v", f)
	}

	before := time.Now()
	if err := a.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	// Our invite's countdown comes from the core, like theirs.
	e := a.wait(EventInviting, peerIs("bob"))
	if e.Expires.Before(before.Add(cfg.InviteTTL)) || e.Expires.After(after.Add(cfg.InviteTTL)) {
		t.Fatalf("EventInviting.Expires %v, want %v after the Invite", e.Expires.Sub(before), cfg.InviteTTL)
	}
	in := b.wait(EventInvite, peerIs("ana"))
	if in.Expires.IsZero() {
		t.Fatal("EventInvite without Expires")
	}
	b.wait(EventInviteExpired, peerIs("ana"))
	a.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonExpired })
	if a.Chat("bob") != ChatNone || b.Chat("ana") != ChatNone {
		t.Fatal("chat not reset after expiry")
	}
}

func TestRetryWindow(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	cfg := testConfig(ts.Addr, "ana")
	cfg.RetryWindow = 200 * time.Millisecond
	a := dial(t, cfg)
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitPeers("bob")
	id, err := a.Send("bob", "nobody answers")
	if err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, nil) // and never accepts
	f := a.wait(EventSendFailed, nil)
	if f.ID != id || !errors.Is(f.Err, ErrExpired) {
		t.Fatalf("send failed %+v", f)
	}
	if a.Chat("bob") != ChatInviting {
		t.Fatalf("state %v", a.Chat("bob"))
	}
}

// crash closes every chat socket of c without LEFT_CHAT, as a killed
// process would.
func crash(c *tc) {
	c.Client.mu.Lock()
	defer c.Client.mu.Unlock()
	for _, ch := range c.chats {
		if ch.l != nil {
			ch.l.conn.Close()
		}
	}
}

func TestChatLostAndResent(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitPeers("bob")
	b.waitPeers("ana")
	a.waitCaps("bob") // acknowledged messages (a base peer's are never Delivered)
	b.waitCaps("ana")
	openChat(t, a, b)
	crash(b)
	a.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLost })
	b.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLost })

	// A message sent while the chat is down re-invites and is delivered.
	id, err := a.Send("bob", "after the loss")
	if err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("ana"))
	if err := b.Accept("ana"); err != nil {
		t.Fatal(err)
	}
	if e := b.wait(EventChatMsg, nil); e.Text != "after the loss" {
		t.Fatalf("got %q", e.Text)
	}
	a.wait(EventDelivered, func(e Event) bool { return e.ID == id })

	// A message to a peer that leaves before the chat is back fails.
	crash(a)
	a.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLost })
	b.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLost })
	id, err = a.Send("bob", "never")
	if err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("ana"))
	b.Close()
	f := a.wait(EventSendFailed, nil)
	if f.ID != id || !errors.Is(f.Err, ErrPeerLeft) {
		t.Fatalf("send failed %+v", f)
	}
}

func TestServerRestart(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	nicks := []string{"ana", "bob", "cy"}
	var cs []*tc
	for _, n := range nicks {
		cs = append(cs, dial(t, testConfig(ts.Addr, n)))
	}
	others := func(i int) []string {
		var o []string
		for j, n := range nicks {
			if j != i {
				o = append(o, n)
			}
		}
		return o
	}
	for i, c := range cs {
		c.waitPeers(others(i)...)
	}
	openChat(t, cs[0], cs[1])
	joined := make([]int, len(cs))
	for i, c := range cs {
		joined[i] = c.count(EventPeerJoined)
	}
	// A quick restart, then a longer outage: the clients are back within
	// 2 s of the server being reachable, and see the same peers without
	// any PeerLeft/PeerJoined in between.
	for round, down := range []int{0, 3} {
		ts.Close()
		for _, c := range cs {
			c.wait(EventServerLost, nil)
			c.wait(EventReconnecting, func(e Event) bool { return e.Attempt >= down })
		}
		ts.Restart()
		start := time.Now()
		for i, c := range cs {
			c.wait(EventReconnected, nil)
			c.waitPeers(others(i)...)
		}
		for deadline := time.Now().Add(waitTimeout); ts.Server().NumPeers() != len(nicks); {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: server has %d peers", round, ts.Server().NumPeers())
			}
			time.Sleep(5 * time.Millisecond) // polling the server
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("round %d: back after %v, want < 2s", round, d)
		}
	}
	for i, c := range cs {
		if n := c.count(EventPeerLeft); n != 0 {
			t.Errorf("%s: %d PeerLeft", c.Nick(), n)
		}
		if n := c.count(EventPeerJoined); n != joined[i] {
			t.Errorf("%s: %d PeerJoined, want %d", c.Nick(), n, joined[i])
		}
	}
	// The chat survived the server's restart.
	if _, err := cs[0].Send("bob", "still here"); err != nil {
		t.Fatal(err)
	}
	cs[1].wait(EventChatMsg, nil)
	if _, err := cs[2].Broadcast("back"); err != nil {
		t.Fatal(err)
	}
	cs[0].wait(EventBroadcast, nil)
}

func TestNoGoroutineAfterClose(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitPeers("bob")
	openChat(t, a, b)
	a.Invite("bob")
	a.Close()
	b.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLeft })
	b.Close()
	if _, err := a.Broadcast("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Broadcast after Close: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		n        int
		min, max time.Duration
	}{
		{1, 80 * time.Millisecond, 120 * time.Millisecond},
		{2, 160 * time.Millisecond, 240 * time.Millisecond},
		{4, 640 * time.Millisecond, 960 * time.Millisecond},
		{5, 800 * time.Millisecond, 1200 * time.Millisecond},
		{1000, 800 * time.Millisecond, 1200 * time.Millisecond},
	} {
		seen := map[time.Duration]bool{}
		for range 100 {
			d := backoff(tt.n)
			if d < tt.min || d > tt.max {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", tt.n, d, tt.min, tt.max)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("backoff(%d): no jitter", tt.n)
		}
	}
}

func TestSeveralChats(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	peers := []*tc{dial(t, testConfig(ts.Addr, "bob")), dial(t, testConfig(ts.Addr, "cy")), dial(t, testConfig(ts.Addr, "dee"))}
	a.waitPeers("bob", "cy", "dee")
	for _, p := range peers {
		p.waitPeers(append([]string{"ana"}, others(p, peers)...)...)
		a.waitCaps(p.Nick())
	}
	for _, p := range peers {
		if err := a.Invite(p.Nick()); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range peers {
		p.wait(EventInvite, peerIs("ana"))
		if err := p.Accept("ana"); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range peers {
		a.wait(EventChatOpen, peerIs(p.Nick()))
		if _, err := a.Send(p.Nick(), "to "+p.Nick()); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Send("ana", "from "+p.Nick()); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range peers {
		if e := p.wait(EventChatMsg, nil); e.Text != "to "+p.Nick() {
			t.Errorf("%s got %q", p.Nick(), e.Text)
		}
		if e := a.wait(EventChatMsg, peerIs(p.Nick())); e.Text != "from "+p.Nick() {
			t.Errorf("ana got %q from %s", e.Text, p.Nick())
		}
	}
	if err := a.LeaveChat("cy"); err != nil {
		t.Fatal(err)
	}
	peers[1].wait(EventChatClosed, nil)
	if a.Chat("bob") != ChatOpen || a.Chat("dee") != ChatOpen || a.Chat("cy") != ChatNone {
		t.Fatalf("states bob %v cy %v dee %v", a.Chat("bob"), a.Chat("cy"), a.Chat("dee"))
	}
}

func others(self *tc, all []*tc) []string {
	var o []string
	for _, c := range all {
		if c != self {
			o = append(o, c.Nick())
		}
	}
	return o
}

func TestReconnectNowAndNotify(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	var notified atomic.Int32
	cfg := testConfig(ts.Addr, "ana")
	cfg.Notify = func() { notified.Add(1) }
	a := dial(t, cfg)
	a.wait(EventRegistered, nil)
	for deadline := time.Now().Add(waitTimeout); notified.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("Notify never called")
		}
		time.Sleep(5 * time.Millisecond) // polling the counter
	}
	ts.Close()
	// Wait for a backoff at its cap (≥ 800 ms), restart, and skip the wait.
	e := a.wait(EventReconnecting, func(e Event) bool { return e.RetryIn >= 800*time.Millisecond })
	ts.Restart()
	start := time.Now()
	a.ReconnectNow()
	a.wait(EventReconnected, nil)
	if d := time.Since(start); d > e.RetryIn/2 {
		t.Errorf("reconnected after %v, with %v of backoff to skip", d, e.RetryIn)
	}
}

// The server's last ERROR before it closes a registered client is the reason
// of the EventServerLost, not an error of its own.
func TestServerErrorIsTheLossReason(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	ts.Close()
	e := a.wait(EventServerLost, nil)
	if !errors.Is(e.Err, ErrServer) || !strings.Contains(e.Err.Error(), "server shutting down") {
		t.Fatalf("EventServerLost.Err = %v, want the server's reason", e.Err)
	}
	a.wait(EventReconnecting, nil)
	if n := a.count(EventError); n != 0 {
		t.Fatalf("%d EventError beside the loss:\n%s", n, a.history())
	}
}
