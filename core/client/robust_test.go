package client

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/servertest"
)

// lockedConn is a net.Conn whose writes first call check.
type lockedConn struct {
	net.Conn
	check func()
}

func (c *lockedConn) Write(b []byte) (int, error) {
	c.check()
	return c.Conn.Write(b)
}

// heldDuringWrite reports whether c.mu stays locked for 250 ms while the
// calling goroutine is about to write: if the writer holds it, nobody can
// take it until the write is over.
func heldDuringWrite(c *Client) bool {
	for deadline := time.Now().Add(250 * time.Millisecond); !c.mu.TryLock(); {
		if time.Now().After(deadline) {
			return true
		}
		time.Sleep(time.Millisecond) // polling the lock
	}
	c.mu.Unlock()
	return false
}

// TestNoSocketWriteUnderLock: no socket of the Client is written while
// Client.mu is held (a write can block for its whole timeout, and every
// method and network goroutine of the Client waits on that lock): UDP
// invites and rejections, the CHAT_REJECT and the ERROR of a CHAT_REQUEST
// that was declined or expired.
func TestNoSocketWriteUnderLock(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	var self atomic.Pointer[Client]
	var udpWrites, tcpWrites, locked atomic.Int32
	check := func(n *atomic.Int32) {
		if c := self.Load(); c != nil {
			n.Add(1)
			if heldDuringWrite(c) {
				locked.Add(1)
			}
		}
	}
	cfg := testConfig(ts.Addr, "ana")
	cfg.RequestTimeout = 300 * time.Millisecond
	cfg.hooks = &hooks{
		sendUDP: func([]byte, netip.AddrPort) bool { check(&udpWrites); return true },
		conn:    func(c net.Conn) net.Conn { return &lockedConn{c, func() { check(&tcpWrites) }} },
	}
	a := dial(t, cfg)
	self.Store(a.Client)
	b := dial(t, testConfig(ts.Addr, "bob"))
	old := startBasePeer(t, ts.Addr, "old")
	a.waitPeers("bob", "old")
	a.waitCaps("bob")
	b.waitPeers("ana", "old")

	// Our UDP invites (sent by the scheduler), and their rejection.
	if err := a.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("ana"))
	if err := b.Decline("ana"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonDeclined })
	// Their UDP invite, which we decline with a datagram.
	if err := b.Invite("ana"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventInvite, peerIs("bob"))
	if err := a.Decline("bob"); err != nil {
		t.Fatal(err)
	}
	b.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonDeclined })

	// A base CHAT_REQUEST that we decline (CHAT_REJECT on its socket), and
	// one that we let expire (ERROR on its socket).
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(a.tcpPort))
	for _, decline := range []bool{true, false} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		f := newFramed(conn)
		f.send(t, wire.ChatRequest{Nick: old.nick})
		a.wait(EventInvite, peerIs("old"))
		want := wire.VerbError
		if decline {
			want = wire.VerbChatReject
			if err := a.Decline("old"); err != nil {
				t.Fatal(err)
			}
		}
		if m := f.next(t); m.Verb() != want {
			t.Fatalf("got %q, want %s", wire.Payload(m), want)
		}
	}
	if udpWrites.Load() < 2 || tcpWrites.Load() < 2 {
		t.Fatalf("checked %d UDP and %d TCP writes, want 2 or more of each", udpWrites.Load(), tcpWrites.Load())
	}
	if n := locked.Load(); n != 0 {
		t.Fatalf("%d socket writes while holding Client.mu", n)
	}
}

// TestSilentFloodDoesNotDelay: many more silent connections to a client's
// chat port than it keeps waiting neither stop a real peer's chat from
// opening (the peer connects to that port with CHAT_ACCEPT) nor delay the
// client's reconnection to its server.
func TestSilentFloodDoesNotDelay(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	cfg := testConfig(ts.Addr, "ana")
	cfg.ChatDialTimeout = time.Minute // the flood is not timed out during the test
	var chatPort, accepted atomic.Int32
	cfg.hooks = &hooks{conn: func(c net.Conn) net.Conn {
		if c.LocalAddr().(*net.TCPAddr).Port == int(chatPort.Load()) {
			accepted.Add(1)
		}
		return c
	}}
	a := dial(t, cfg)
	chatPort.Store(int32(a.tcpPort))
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitCaps("bob")
	b.waitCaps("ana")

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(a.tcpPort))
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	silent := func() int {
		a.Client.mu.Lock()
		defer a.Client.mu.Unlock()
		return len(a.silent)
	}
	// floodMore opens n more silent connections and waits until the client
	// accepted them all.
	floodMore := func(n int) {
		t.Helper()
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			flood = append(flood, c)
		}
		for deadline := time.Now().Add(waitTimeout); int(accepted.Load()) < len(flood); {
			if time.Now().After(deadline) {
				t.Fatalf("%d sockets accepted, want %d", accepted.Load(), len(flood))
			}
			time.Sleep(5 * time.Millisecond) // polling the client
		}
		if n := silent(); n != maxSilent {
			t.Fatalf("%d silent sockets, want %d", n, maxSilent)
		}
	}
	floodMore(maxSilent + 16)

	// A real chat opens while the flood holds.
	if err := a.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("ana"))
	if err := b.Accept("ana"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventChatOpen, peerIs("bob"))
	b.wait(EventChatOpen, peerIs("ana"))

	// The chat took one of the flood's places: fill them all again. The
	// server restarts: ana is back within the usual backoff.
	floodMore(16)
	ts.Close()
	a.wait(EventServerLost, nil)
	ts.Restart()
	start := time.Now()
	a.wait(EventReconnected, nil)
	d := time.Since(start)
	if d > 2*time.Second {
		t.Fatalf("registered again %v after the server came back, want < 2s", d)
	}
	t.Logf("registered again %v after the server came back, %d silent connections held", d, len(flood))
	if n := silent(); n > maxSilent {
		t.Fatalf("%d silent sockets, want at most %d", n, maxSilent)
	}
}

// TestNotPeerChat: an address that answers something other than the PeerChat
// protocol fails Dial with ErrNotPeerChat; one that closes fails it with
// ErrServerUnreachable; one that stays silent is taken for a base server
// with nobody else registered, until it says something that is not PeerChat.
func TestNotPeerChat(t *testing.T) {
	checkGoroutines(t)
	for _, tt := range []struct {
		name  string
		greet []byte // written on accept; nil: close at once
		is    error
	}{
		{"banner", []byte("SSH-2.0-OpenSSH_9.6\r\n"), ErrNotPeerChat},
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), ErrNotPeerChat},
		{"unknown verb", wire.AppendFrame(nil, []byte("HELLO_THERE 1")), ErrNotPeerChat},
		{"client verb", wire.Encode(wire.ChatMsg{Nick: "x", Text: "y"}), ErrNotPeerChat},
		{"closes", nil, ErrServerUnreachable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, func(c net.Conn) {
				if tt.greet != nil {
					c.Write(tt.greet)
					c.Read(make([]byte, 1)) // until the client closes
				}
			})
			c, err := Dial(context.Background(), testConfig(addr, "ana"))
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("Dial: %v, want %v", err, tt.is)
			}
		})
	}
	t.Run("silent then garbage", func(t *testing.T) {
		release := make(chan struct{})
		addr := fakeServer(t, func(c net.Conn) {
			<-release
			c.Write([]byte("garbage!!!garbage"))
			c.Read(make([]byte, 1))
		})
		a := dial(t, testConfig(addr, "ana"))
		a.wait(EventRegistered, nil)
		close(release)
		if e := a.wait(EventServerLost, nil); !errors.Is(e.Err, ErrNotPeerChat) {
			t.Fatalf("EventServerLost.Err = %v, want ErrNotPeerChat", e.Err)
		}
	})
}

// fakeServer accepts connections on 127.0.0.1 and runs serve on each (in a
// goroutine that the test waits for); it returns the address.
func fakeServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			serve(c)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// TestServerRefusalTyped: only NICKNAME_TAKEN makes a nickname error; any
// other ERROR is the server's reason wrapped in ErrServer, whatever words it
// contains.
func TestServerRefusalTyped(t *testing.T) {
	checkGoroutines(t)
	for _, reason := range []string{"bad nickname: too long", "too many connections from your address"} {
		addr := fakeServer(t, func(c net.Conn) {
			r := wire.NewReader(c, wire.DefaultServerPayload)
			r.ReadFrame()
			r.ReadFrame()
			wire.WriteMessage(c, wire.Error{Reason: reason})
		})
		_, err := Dial(context.Background(), testConfig(addr, "ana"))
		var ne *NickError
		if !errors.Is(err, ErrServer) || errors.Is(err, ErrNicknameTaken) || errors.As(err, &ne) {
			t.Fatalf("ERROR %s: Dial: %v, want ErrServer only", reason, err)
		}
		if !strings.HasSuffix(err.Error(), ": "+reason) {
			t.Fatalf("Dial: %v, does not end with the reason %q", err, reason)
		}
	}
}

// TestBroadcastEchoV2: on a v2 server our echo is known by its sender (us)
// and its place in the order we sent; a broadcast the server refuses
// (NOTICE) or whose echo is lost with the link is reported failed, by id.
func TestBroadcastEchoV2(t *testing.T) {
	checkGoroutines(t)
	srv := startScripted(t)
	a, f := srv.dialV2(t, testConfig("", "ana"), wire.FeatureBcast, wire.FeatureNotice)
	// Until our HELLO reaches it, a v2 server sends the base form, which
	// names the sender (PROTOCOL.md §2.1).
	f.send(t, wire.Broadcast{Text: "bob: base form: with a colon"})
	if e := a.wait(EventBroadcast, nil); e.From != "bob" || e.Text != "base form: with a colon" || e.ID != 0 {
		t.Fatalf("base form from a v2 server: %+v", e)
	}
	var ids []uint64
	for _, text := range []string{"one", "two", "three", "four"} {
		id, err := a.Broadcast(text)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		f.expect(t, wire.VerbBroadcast)
	}
	f.send(t, wire.Bcast{Seq: 1, Time: time.UnixMilli(1), From: "bob", Text: "one"})
	f.send(t, wire.Bcast{Seq: 2, Time: time.UnixMilli(2), From: "ana", Text: "one"})
	f.send(t, wire.Notice{Code: wire.NoticeRateLimited, Text: "slow down"})
	f.send(t, wire.Bcast{Seq: 3, Time: time.UnixMilli(3), From: "ana", Text: "three"})
	if e := a.wait(EventBroadcast, nil); e.From != "bob" || e.ID != 0 {
		t.Fatalf("bob's broadcast: %+v", e)
	}
	if e := a.wait(EventBroadcast, nil); e.From != "ana" || e.ID != ids[0] || e.Text != "one" {
		t.Fatalf("our echo: %+v, want id %d", e, ids[0])
	}
	if e := a.wait(EventSendFailed, nil); e.ID != ids[1] || e.Peer != "" || !errors.Is(e.Err, ErrServer) {
		t.Fatalf("refused broadcast: %+v, want id %d", e, ids[1])
	}
	if e := a.wait(EventBroadcast, nil); e.ID != ids[2] {
		t.Fatalf("our echo: %+v, want id %d", e, ids[2])
	}
	f.Close() // the link drops before the echo of "four"
	if e := a.wait(EventSendFailed, nil); e.ID != ids[3] || e.Text != "four" || !errors.Is(e.Err, ErrNotConnected) {
		t.Fatalf("broadcast lost with the link: %+v, want id %d", e, ids[3])
	}
	if n := a.count(EventError); n != 0 {
		t.Fatalf("%d EventError:\n%s", n, a.history())
	}
}

// TestBroadcastRefusedByServer: a real server that refuses broadcasts over
// its rate answers NOTICE in place of their echo; the core reports exactly
// those as failed, by id, and the others as our echoes.
func TestBroadcastRefusedByServer(t *testing.T) {
	checkGoroutines(t)
	ts := servertest.NewServer(t, server.Config{Name: "test", BroadcastRate: 1e-6, BroadcastBurst: 2})
	a := dial(t, testConfig(ts.Addr, "ana"))
	a.wait(EventRegistered, nil)
	for deadline := time.Now().Add(waitTimeout); ; { // HELLO must have reached the server
		if ps := ts.Server().Peers(); len(ps) == 1 && ps[0].Features != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never saw ana's HELLO")
		}
		time.Sleep(5 * time.Millisecond) // polling the server
	}
	var ids []uint64
	for _, text := range []string{"one", "two", "three", "four"} {
		id, err := a.Broadcast(text)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids[:2] {
		if e := a.wait(EventBroadcast, nil); e.ID != id || e.From != "ana" {
			t.Fatalf("echo %+v, want id %d", e, id)
		}
	}
	for _, id := range ids[2:] {
		if e := a.wait(EventSendFailed, nil); e.ID != id || e.Peer != "" || !errors.Is(e.Err, ErrServer) {
			t.Fatalf("refusal %+v, want id %d", e, id)
		}
	}
}
