package client

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// isolated makes cfg drop every invite datagram while block is set (nil:
// always): client isolation on the access point, where only the server is
// reachable.
func isolated(cfg Config, block *atomic.Bool) Config {
	h := &hooks{}
	if cfg.hooks != nil {
		*h = *cfg.hooks
	}
	h.sendUDP = func([]byte, netip.AddrPort) bool { return block != nil && !block.Load() }
	cfg.hooks = h
	return cfg
}

// keyedPair starts a server and two keyed clients that know each other's
// keys and features.
func keyedPair(t *testing.T, acfg, bcfg func(addr string) Config) (*tc, *tc) {
	t.Helper()
	ts := startServer(t)
	a, b := dial(t, acfg(ts.Addr)), dial(t, bcfg(ts.Addr))
	a.waitKey(b.Nick())
	b.waitKey(a.Nick())
	a.waitCaps(b.Nick())
	b.waitCaps(a.Nick())
	return a, b
}

// chatMsgs waits for n messages from peer and returns their texts.
func (c *tc) chatMsgs(peer string, n int) []string {
	c.t.Helper()
	var got []string
	for range n {
		got = append(got, c.wait(EventChatMsg, peerIs(peer)).Text)
	}
	return got
}

func seq(prefix string, from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprintf("%s%d", prefix, i))
	}
	return s
}

func sameTexts(t *testing.T, who string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s got %q, want %q (lost, doubled or out of order)", who, got, want)
	}
}

// waitDirect waits until the chat that opens is direct: it may open
// through the server first (on loopback the relay can win the race),
// then move.
func (c *tc) waitDirect() {
	c.t.Helper()
	if e := c.wait(EventChatOpen, nil); e.Route == RouteDirect {
		return
	}
	if e := c.wait(EventRoute, nil); e.Route != RouteDirect {
		c.t.Fatalf("%s: moved to %v, want direct", c.Nick(), e.Route)
	}
}

// TestRelayIsolated: with no datagram getting through (client isolation),
// the first message opens the chat through the server at once; it is end
// to end encrypted, both sides say so (RouteRelay), and messages go both
// ways, each once, in order.
func TestRelayIsolated(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config { return isolated(keyedConfig(addr, "alice"), nil) },
		func(addr string) Config { return isolated(keyedConfig(addr, "bob"), nil) })
	start := time.Now()
	id, err := a.Send("bob", "m0")
	if err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("alice"))
	if err := b.Accept("alice"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*tc{a, b} {
		e := c.wait(EventChatOpen, nil)
		if e.Route != RouteRelay || !e.Encrypted {
			t.Fatalf("%s: chat open %+v, want encrypted through the server", c.Nick(), e)
		}
	}
	a.wait(EventDelivered, func(e Event) bool { return e.ID == id })
	t.Logf("first message delivered through the server %v after it was sent", time.Since(start))
	if r := a.Route("bob"); r != RouteRelay {
		t.Fatalf("alice's route %v", r)
	}
	for i := 1; i < 50; i++ {
		a.Send("bob", fmt.Sprintf("m%d", i))
		b.Send("alice", fmt.Sprintf("r%d", i))
	}
	sameTexts(t, "bob", b.chatMsgs("alice", 50), seq("m", 0, 50))
	sameTexts(t, "alice", a.chatMsgs("bob", 49), seq("r", 1, 50))
}

// TestRelayMovesToDirect: a chat that opened through the server (the
// datagrams were lost) moves to the direct path once a datagram gets
// through, and no message is lost or shown twice across the move.
func TestRelayMovesToDirect(t *testing.T) {
	checkGoroutines(t)
	var blocked atomic.Bool
	blocked.Store(true)
	a, b := keyedPair(t,
		func(addr string) Config {
			cfg := isolated(keyedConfig(addr, "alice"), &blocked)
			cfg.InviteTTL = 20 * time.Second
			return cfg
		},
		func(addr string) Config { return isolated(keyedConfig(addr, "bob"), &blocked) })
	a.Send("bob", "m0")
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	if e := a.wait(EventChatOpen, nil); e.Route != RouteRelay {
		t.Fatalf("opened by %v, want the relay", e.Route)
	}
	for i := 1; i < 20; i++ {
		a.Send("bob", fmt.Sprintf("m%d", i))
	}
	blocked.Store(false) // alice's invite datagram gets through now
	for _, c := range []*tc{a, b} {
		if e := c.wait(EventRoute, nil); e.Route != RouteDirect {
			t.Fatalf("%s moved to %v, want direct", c.Nick(), e.Route)
		}
	}
	for i := 20; i < 40; i++ {
		a.Send("bob", fmt.Sprintf("m%d", i))
	}
	sameTexts(t, "bob", b.chatMsgs("alice", 40), seq("m", 0, 40))
	if r := b.Route("alice"); r != RouteDirect {
		t.Fatalf("bob's route %v", r)
	}
}

// TestDirectBreaksToRelay: when the direct socket of an open chat breaks
// and the peers cannot reach each other any more, the chat comes back
// through the server by itself, and the messages not acknowledged on the
// broken socket arrive once.
func TestDirectBreaksToRelay(t *testing.T) {
	checkGoroutines(t)
	var blocked atomic.Bool
	a, b := keyedPair(t,
		func(addr string) Config { return isolated(keyedConfig(addr, "alice"), &blocked) },
		func(addr string) Config { return isolated(keyedConfig(addr, "bob"), &blocked) })
	a.Send("bob", "m0")
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	for _, c := range []*tc{a, b} {
		c.waitDirect()
	}
	sameTexts(t, "bob", b.chatMsgs("alice", 1), []string{"m0"})
	blocked.Store(true)
	a.mu.Lock()
	a.chats["bob"].l.conn.Close() // the Wi-Fi dropped the socket
	a.mu.Unlock()
	for i := 1; i < 30; i++ {
		a.Send("bob", fmt.Sprintf("m%d", i))
	}
	e := a.wait(EventChatOpen, nil)
	if e.Route != RouteRelay {
		t.Fatalf("reopened by %v, want the relay", e.Route)
	}
	sameTexts(t, "bob", b.chatMsgs("alice", 29), seq("m", 1, 30))
}

// TestMailboxOffline: messages to a peer who is away are stored by the
// server (EventStored), then delivered, in order and once, when it comes
// back with its key; the sender hears of each delivery.
func TestMailboxOffline(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	bcfg := keyedConfig(ts.Addr, "bob")
	a := dial(t, keyedConfig(ts.Addr, "alice"))
	b := dial(t, bcfg)
	a.waitKey("bob")
	b.Close()
	a.wait(EventPeerLeft, peerIs("bob"))
	var ids []uint64
	for i := range 5 {
		id, err := a.Send("bob", fmt.Sprintf("away %d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		a.wait(EventStored, func(e Event) bool { return e.ID == id && e.Peer == "bob" })
	}
	b2 := dial(t, bcfg)
	var got []string
	for range 5 {
		e := b2.wait(EventChatMsg, peerIs("alice"))
		if e.Route != RouteMailbox {
			t.Fatalf("route %v, want mailbox", e.Route)
		}
		got = append(got, e.Text)
	}
	sameTexts(t, "bob", got, seq("away ", 0, 5))
	for _, id := range ids {
		a.wait(EventDelivered, func(e Event) bool { return e.ID == id })
		if k := a.kindsOf(id); k != "stored delivered" {
			t.Fatalf("message %d: %s", id, k)
		}
	}
	if _, err := a.Send("nobody", "x"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("send to an unknown nick: %v, want ErrNoKey", err)
	}
}

// TestMailboxUnanswered: a peer who is online but never answers the chat
// (its app asleep, its user away) gets the message through the mailbox
// once our invite expired; nothing fails.
func TestMailboxUnanswered(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config {
			cfg := keyedConfig(addr, "alice")
			cfg.InviteTTL = 500 * time.Millisecond
			return cfg
		},
		func(addr string) Config { return keyedConfig(addr, "bob") })
	id, _ := a.Send("bob", "are you there?")
	b.wait(EventInvite, peerIs("alice")) // bob never answers
	a.wait(EventStored, func(e Event) bool { return e.ID == id })
	if e := b.wait(EventChatMsg, peerIs("alice")); e.Text != "are you there?" || e.Route != RouteMailbox {
		t.Fatalf("bob got %+v", e)
	}
	a.wait(EventDelivered, func(e Event) bool { return e.ID == id })
	if n := a.count(EventSendFailed); n != 0 {
		t.Fatalf("%d failures", n)
	}
}

// freezable is a conn that stops moving bytes while frozen, as a process
// stopped with SIGSTOP does.
type freezable struct {
	net.Conn
	frozen *atomic.Bool
	thaw   <-chan struct{}
}

func (f *freezable) Read(b []byte) (int, error) {
	if f.frozen.Load() {
		<-f.thaw
	}
	return f.Conn.Read(b)
}

func (f *freezable) Write(b []byte) (int, error) {
	if f.frozen.Load() {
		<-f.thaw
	}
	return f.Conn.Write(b)
}

// TestFrozenPeer: a peer that stops answering (frozen) is found by the
// chat's keepalive within ChatSilence: the chat closes with ErrPeerSilent,
// the message sent meanwhile goes to the mailbox once the new invite
// expires, and it reaches the peer once, when it thaws.
func TestFrozenPeer(t *testing.T) {
	checkGoroutines(t)
	var frozen atomic.Bool
	thaw := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(thaw) }) })
	a, b := keyedPair(t,
		func(addr string) Config {
			cfg := keyedConfig(addr, "alice")
			cfg.ChatPingEvery, cfg.ChatSilence = 100*time.Millisecond, 400*time.Millisecond
			cfg.InviteTTL = 500 * time.Millisecond
			return cfg
		},
		func(addr string) Config {
			cfg := keyedConfig(addr, "bob")
			cfg.hooks = &hooks{conn: func(c net.Conn) net.Conn { return &freezable{Conn: c, frozen: &frozen, thaw: thaw} }}
			return cfg
		})
	openChat(t, a, b)
	frozen.Store(true)
	start := time.Now()
	e := a.wait(EventChatClosed, peerIs("bob"))
	if !errors.Is(e.Err, ErrPeerSilent) {
		t.Fatalf("closed with %v, want ErrPeerSilent", e.Err)
	}
	t.Logf("frozen peer found after %v", time.Since(start).Round(time.Millisecond))
	id, _ := a.Send("bob", "wake up")
	a.wait(EventStored, func(e Event) bool { return e.ID == id })
	once.Do(func() { close(thaw) })
	frozen.Store(false)
	got := b.chatMsgs("alice", 1)
	sameTexts(t, "bob", got, []string{"wake up"})
	a.wait(EventDelivered, func(e Event) bool { return e.ID == id })
}

// TestServerAwayMessageWaits: a message sent while the server is down
// (a chat through it breaks with it) is not failed: it waits and arrives
// once the server is back.
func TestServerAwayMessageWaits(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	mk := func(nick string) Config {
		cfg := isolated(keyedConfig(ts.Addr, nick), nil)
		cfg.InviteTTL = time.Second
		return cfg
	}
	a, b := dial(t, mk("alice")), dial(t, mk("bob"))
	a.waitKey("bob")
	b.waitKey("alice")
	a.waitCaps("bob")
	openChat(t, a, b)
	ts.Close()
	a.wait(EventServerLost, nil)
	id, err := a.Send("bob", "while the server restarts")
	if err != nil {
		t.Fatal(err)
	}
	ts.Restart()
	a.wait(EventReconnected, nil)
	sameTexts(t, "bob", b.chatMsgs("alice", 1), []string{"while the server restarts"})
	a.wait(EventDelivered, func(e Event) bool { return e.ID == id })
	if n := a.count(EventSendFailed); n != 0 {
		t.Fatalf("%d failures", n)
	}
}

// TestMissedBroadcasts: a client that comes back with the id of the last
// broadcast it saw gets those it missed, in order, once each, marked
// Missed; a live one is not.
func TestMissedBroadcasts(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, keyedConfig(ts.Addr, "alice"))
	bcfg := keyedConfig(ts.Addr, "bob")
	b := dial(t, bcfg)
	a.waitPeers("bob")
	a.Broadcast("before")
	e := b.wait(EventBroadcast, func(e Event) bool { return e.Text == "before" })
	if e.BID == 0 || e.Missed {
		t.Fatalf("live broadcast %+v", e)
	}
	b.Close()
	a.wait(EventPeerLeft, peerIs("bob"))
	for i := range 3 {
		a.Broadcast(fmt.Sprintf("missed %d", i))
		a.wait(EventBroadcast, func(ev Event) bool { return ev.Text == fmt.Sprintf("missed %d", i) })
	}
	bcfg.LastBroadcast = e.BID
	b2 := dial(t, bcfg)
	var got []string
	for range 3 {
		e := b2.wait(EventBroadcast, nil)
		if !e.Missed {
			t.Fatalf("replayed broadcast %+v not marked missed", e)
		}
		got = append(got, e.Text)
	}
	sameTexts(t, "bob", got, seq("missed ", 0, 3))
	a.Broadcast("live")
	if e := b2.wait(EventBroadcast, nil); e.Text != "live" || e.Missed {
		t.Fatalf("after the replay: %+v", e)
	}
}

// TestStuckPeerMemory: what a peer does not read waits in the outbox, not
// in the link's buffer: the link never holds more than chatBacklog (and
// one message) however much is sent.
func TestStuckPeerMemory(t *testing.T) {
	checkGoroutines(t)
	var frozen atomic.Bool
	thaw := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(thaw) }) })
	a, b := keyedPair(t,
		func(addr string) Config { return keyedConfig(addr, "alice") },
		func(addr string) Config {
			cfg := keyedConfig(addr, "bob")
			cfg.hooks = &hooks{conn: func(c net.Conn) net.Conn { return &freezable{Conn: c, frozen: &frozen, thaw: thaw} }}
			return cfg
		})
	openChat(t, a, b)
	frozen.Store(true)
	text := strings.Repeat("x", 4096)
	peak := 0
	for range 4000 { // 16 MiB
		a.Send("bob", text)
		a.mu.Lock()
		if ch := a.chats["bob"]; ch != nil && ch.l != nil {
			peak = max(peak, ch.l.backlog())
		}
		a.mu.Unlock()
	}
	if peak > chatBacklog+2*len(text) {
		t.Fatalf("the link held %d bytes, bound %d", peak, chatBacklog)
	}
	t.Logf("link peak %d bytes for 16 MiB sent to a stuck peer", peak)
	once.Do(func() { close(thaw) })
	frozen.Store(false)
	if got := b.chatMsgs("alice", 4000); len(got) != 4000 {
		t.Fatal(len(got))
	}
}

// TestRelayPeerCloses: a peer that closes its client while its chat goes
// through the server says so (LEFT_CHAT through the relay): the other side
// hears it at once, not after a keepalive; what it sends next is stored.
func TestRelayPeerCloses(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config { return isolated(keyedConfig(addr, "alice"), nil) },
		func(addr string) Config { return isolated(keyedConfig(addr, "bob"), nil) })
	openChat(t, a, b)
	if r := a.Route("bob"); r != RouteRelay {
		t.Fatalf("route %v", r)
	}
	b.Close()
	if e := a.wait(EventChatClosed, peerIs("bob")); e.Reason != ReasonLeft {
		t.Fatalf("closed %+v, want left", e)
	}
	id, _ := a.Send("bob", "later")
	a.wait(EventStored, func(e Event) bool { return e.ID == id })
}
