package client

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/wire"
)

// baseServer is a test double of a base-only server: REGISTER, PORT,
// NICKNAME_TAKEN, JOINED, LEFT and BROADCAST relayed verbatim; no WELCOME.
type baseServer struct {
	t       *testing.T
	welcome []string // if not nil: say WELCOME 2 with these features
	ln      net.Listener
	addr    string
	mu      sync.Mutex
	clients map[string]*framed
	wg      sync.WaitGroup
}

func startBaseServer(t *testing.T, welcome ...string) *baseServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &baseServer{t: t, welcome: welcome, ln: ln, addr: ln.Addr().String(), clients: make(map[string]*framed)}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.clients {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *baseServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.serve(newFramed(c))
	}
}

func (s *baseServer) read(f *framed) wire.Message {
	p, err := f.r.ReadFrame()
	if err != nil {
		return nil
	}
	m, _ := wire.Parse(p)
	return m
}

func (s *baseServer) serve(f *framed) {
	defer s.wg.Done()
	defer f.Close()
	reg, ok := s.read(f).(wire.Register)
	if !ok {
		return
	}
	port, ok := s.read(f).(wire.Port)
	if !ok {
		return
	}
	ip := f.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
	joined := wire.Encode(wire.Joined{Nick: reg.Nick, IP: ip, UDPPort: reg.UDPPort, TCPPort: port.TCPPort})
	s.mu.Lock()
	if s.clients[reg.Nick] != nil {
		s.mu.Unlock()
		wire.WriteMessage(f, wire.NicknameTaken{})
		return
	}
	if s.welcome != nil {
		wire.WriteMessage(f, wire.Welcome{Version: 2, Features: s.welcome})
	}
	for _, c := range s.clients {
		c.Write(joined)
		cip := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
		f.Write(wire.Encode(wire.Joined{Nick: c.nick, IP: cip, UDPPort: c.udp, TCPPort: c.tcp}))
	}
	f.nick, f.udp, f.tcp = reg.Nick, reg.UDPPort, port.TCPPort
	s.clients[reg.Nick] = f
	s.mu.Unlock()
	for {
		m := s.read(f)
		if m == nil {
			break
		}
		if b, ok := m.(wire.Broadcast); ok {
			s.mu.Lock()
			for _, c := range s.clients {
				wire.WriteMessage(c, b)
			}
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	delete(s.clients, reg.Nick)
	for _, c := range s.clients {
		wire.WriteMessage(c, wire.Left{Nick: reg.Nick})
	}
	s.mu.Unlock()
}

// basePeer is a test double of a base-only client: it registers with the
// nick unquoted, never answers WELCOME, ignores datagrams, and chats with
// CHAT_REQUEST / CHAT_ACCEPT / CHAT_MSG "nick" / LEFT_CHAT.
type basePeer struct {
	t    *testing.T
	nick string
	srv  *framed
	ln   net.Listener
	udp  net.PacketConn
	wg   sync.WaitGroup
}

func startBasePeer(t *testing.T, server, nick string) *basePeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", server)
	if err != nil {
		t.Fatal(err)
	}
	p := &basePeer{t: t, nick: nick, srv: newFramed(c), ln: ln, udp: udp}
	reg := "REGISTER " + nick + " " + strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port)
	c.Write(wire.AppendFrame(nil, []byte(reg)))
	c.Write(wire.Encode(wire.Port{Nick: nick, TCPPort: ln.Addr().(*net.TCPAddr).Port}))
	p.wg.Add(1)
	go func() { // drain the server link, ignoring everything
		defer p.wg.Done()
		for {
			if _, err := p.srv.r.ReadFrame(); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		c.Close()
		ln.Close()
		udp.Close()
		p.wg.Wait()
	})
	return p
}

func (p *basePeer) acceptChat() *framed {
	p.t.Helper()
	p.ln.(*net.TCPListener).SetDeadline(deadline())
	c, err := p.ln.Accept()
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { c.Close() })
	return newFramed(c)
}

func TestBasePeer(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	old := startBasePeer(t, ts.Addr, "old")
	a.waitPeers("old")

	t.Run("ours invites", func(t *testing.T) {
		if err := a.Invite("old"); err != nil {
			t.Fatal(err)
		}
		f := old.acceptChat()
		if m := f.next(t); wire.Payload(m) != "CHAT_REQUEST ana" {
			t.Fatalf("got %q", wire.Payload(m))
		}
		f.send(t, wire.ChatAccept{Nick: "old"})
		a.wait(EventChatOpen, peerIs("old"))
		id, err := a.Send("old", "hello old")
		if err != nil {
			t.Fatal(err)
		}
		if m := f.next(t); wire.Payload(m) != `CHAT_MSG "ana" hello old` {
			t.Fatalf("got %q", wire.Payload(m))
		}
		if e := a.wait(EventSent, func(e Event) bool { return e.ID == id }); !e.Final {
			t.Fatalf("EventSent to a base peer without Final: %+v", e)
		}
		f.Write(wire.AppendFrame(nil, []byte(`CHAT_MSG "old" hi ana`)))
		if e := a.wait(EventChatMsg, nil); e.Text != "hi ana" || e.From != "old" {
			t.Fatalf("got %+v", e)
		}
		if got := a.kindsOf(id); got != "sent" {
			t.Fatalf("events for a message to a base peer: %s, want sent", got)
		}
		f.send(t, wire.LeftChat{Nick: "old"}) // and keep the socket open
		a.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLeft })
	})

	t.Run("base invites", func(t *testing.T) {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.tcpPort)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		f := newFramed(c)
		f.send(t, wire.ChatRequest{Nick: "old"})
		a.wait(EventInvite, peerIs("old"))
		if err := a.Accept("old"); err != nil {
			t.Fatal(err)
		}
		if m := f.next(t); wire.Payload(m) != "CHAT_ACCEPT ana" {
			t.Fatalf("got %q", wire.Payload(m))
		}
		a.wait(EventChatOpen, peerIs("old"))
		f.Write(wire.AppendFrame(nil, []byte(`CHAT_MSG old unquoted`)))
		if e := a.wait(EventChatMsg, nil); e.Text != "unquoted" {
			t.Fatalf("got %+v", e)
		}
		// A repeated CHAT_MSG2 is acknowledged twice and delivered once.
		for range 2 {
			f.Write(wire.AppendFrame(nil, []byte(`CHAT_MSG2 7 1700000000000 "old" twice`)))
			if m := f.next(t); wire.Payload(m) != "CHAT_ACK 7" {
				t.Fatalf("got %q", wire.Payload(m))
			}
		}
		if e := a.wait(EventChatMsg, nil); e.Text != "twice" || e.ID != 7 || e.Time.UnixMilli() != 1700000000000 {
			t.Fatalf("got %+v", e)
		}
		if n := a.count(EventChatMsg); n != 3 { // "hi ana", "unquoted", "twice"
			t.Fatalf("%d messages, want 3", n)
		}
		if _, err := a.Send("old", "bye"); err != nil {
			t.Fatal(err)
		}
		if m := f.next(t); wire.Payload(m) != `CHAT_MSG "ana" bye` {
			t.Fatalf("got %q", wire.Payload(m))
		}
		a.LeaveChat("old")
		if m := f.next(t); wire.Payload(m) != "LEFT_CHAT ana" {
			t.Fatalf("got %q", wire.Payload(m))
		}
	})

	// We never sent the base peer a datagram (it would show it as text).
	old.udp.SetReadDeadline(deadlineSoon())
	if _, _, err := old.udp.ReadFrom(make([]byte, 2048)); err == nil {
		t.Error("the base peer got a datagram")
	}
}

func TestBaseServer(t *testing.T) {
	checkGoroutines(t)
	s := startBaseServer(t)
	a := dial(t, testConfig(s.addr, "ana"))
	b := dial(t, testConfig(s.addr, "bob"))
	a.waitPeers("bob")
	b.waitPeers("ana")
	if _, err := Dial(context.Background(), testConfig(s.addr, "bob")); !errors.Is(err, ErrNicknameTaken) {
		t.Fatalf("second bob: %v", err)
	}
	// A base server relays BROADCAST verbatim and names nobody. Our own
	// echo is recognised by the core (its id, our nick); anyone else's keeps
	// its text whole and an unknown sender, even when the text starts with a
	// peer's nick: "gary: lunch?" is not from gary, and "bob: plain" from
	// ana is not from bob.
	id, err := a.Broadcast("bob: plain")
	if err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventBroadcast, nil); e.Text != "bob: plain" || e.From != "ana" || e.ID != id {
		t.Fatalf("ana's echo: %+v, want id %d from ana", e, id)
	}
	if e := b.wait(EventBroadcast, nil); e.Text != "bob: plain" || e.From != "" || e.ID != 0 || e.Seq != 0 {
		t.Fatalf("bob got %+v", e)
	}
	if _, err := b.Broadcast("ana: lunch?"); err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventBroadcast, nil); e.Text != "ana: lunch?" || e.From != "" || e.ID != 0 {
		t.Fatalf("ana got %+v", e)
	}
	// The same text as one of ours, from someone else, after our echo: not ours.
	id2, err := a.Broadcast("same")
	if err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventBroadcast, nil); e.Text != "same" || e.ID != id2 {
		t.Fatalf("ana's echo: %+v", e)
	}
	if _, err := b.Broadcast("same"); err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventBroadcast, nil); e.Text != "same" || e.From != "" || e.ID != 0 {
		t.Fatalf("bob's copy taken for ours: %+v", e)
	}
	openChat(t, a, b)
	id, err = a.Send("bob", "over base")
	if err != nil {
		t.Fatal(err)
	}
	if e := b.wait(EventChatMsg, nil); e.Text != "over base" || e.ID != 0 {
		t.Fatalf("got %+v", e)
	}
	// Written (✓), never acknowledged: a base peer's message is Sent, not
	// Delivered.
	if e := a.wait(EventSent, func(e Event) bool { return e.ID == id }); !e.Final {
		t.Fatalf("EventSent to a base peer without Final: %+v", e)
	}
	if _, err := b.Send("ana", "reply"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventChatMsg, nil)
	if got := a.kindsOf(id); got != "sent" {
		t.Fatalf("events for a message over base: %s, want sent", got)
	}
	b.Close()
	a.wait(EventChatClosed, func(e Event) bool { return e.Reason == ReasonLeft })
	a.wait(EventPeerLeft, peerIs("bob"))
}

// scriptedServer is a listener whose connections the test plays the server
// on, frame by frame.
type scriptedServer struct {
	ln    net.Listener
	conns chan *framed
}

func startScripted(t *testing.T) *scriptedServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &scriptedServer{ln: ln, conns: make(chan *framed, 2)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(s.conns)
				return
			}
			s.conns <- newFramed(c)
		}
	}()
	return s
}

// dialV2 dials the scripted server with cfg (whose Server it sets), answers
// the registration with WELCOME 2 features and returns the client and its
// connection once the client said HELLO.
func (s *scriptedServer) dialV2(t *testing.T, cfg Config, features ...string) (*tc, *framed) {
	cfg.Server = s.ln.Addr().String()
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
	t.Cleanup(func() { f.Close() })
	f.expect(t, wire.VerbPort)
	f.send(t, wire.Welcome{Version: 2, Features: features})
	a := <-dialed
	if a == nil {
		t.FailNow()
	}
	t.Cleanup(func() { a.Close() })
	if h := f.expect(t, wire.VerbHello).(wire.Hello); h.Version != 2 {
		t.Fatalf("hello %+v", h)
	}
	return a, f
}

// TestHeartbeatSilence: a v2 server that agreed on heartbeats and then goes
// silent (Wi-Fi gone, the server's machine asleep) is detected by its
// silence; the client pings it meanwhile and reconnects when it is back.
func TestHeartbeatSilence(t *testing.T) {
	checkGoroutines(t)
	srv := startScripted(t)
	cfg := testConfig("", "ana")
	cfg.HeartbeatEvery = 50 * time.Millisecond
	cfg.ServerSilence = 300 * time.Millisecond
	a, f := srv.dialV2(t, cfg, wire.FeatureHeartbeat, "future")
	f.send(t, wire.Ping{Token: "t1"})
	if p := f.expect(t, wire.VerbPong).(wire.Pong); p.Token != "t1" {
		t.Fatalf("pong %+v", p)
	}
	f.expect(t, wire.VerbPing) // the client probes the quiet server
	a.wait(EventServerLost, nil)
	a.wait(EventReconnecting, nil)
	g := <-srv.conns
	defer g.Close()
	g.expect(t, wire.VerbPort)
	g.send(t, wire.Welcome{Version: 2})
	a.wait(EventReconnected, nil)
}

// TestFallbackToBaseFlow: on a v2 server that relays no CAPS, a peer that
// does not answer UDP invites (here: every datagram is lost) is reached with
// the base flow after FallbackAfter.
func TestFallbackToBaseFlow(t *testing.T) {
	checkGoroutines(t)
	s := startBaseServer(t, wire.FeatureHeartbeat)
	cfg := testConfig(s.addr, "ana")
	var sent atomic.Int32
	cfg.hooks = &hooks{sendUDP: func([]byte, netip.AddrPort) bool { sent.Add(1); return false }}
	cfg.FallbackAfter = 200 * time.Millisecond
	a := dial(t, cfg)
	b := dial(t, testConfig(s.addr, "bob"))
	a.waitPeers("bob")
	b.waitPeers("ana")
	start := time.Now()
	openChat(t, a, b)
	if d := time.Since(start); d < cfg.FallbackAfter {
		t.Errorf("opened after %v, before the fallback", d)
	}
	if sent.Load() == 0 {
		t.Error("no UDP invite tried first")
	}
	if _, err := b.Send("ana", "via base"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventChatMsg, nil)
}

// TestCrossedInvites: both invite each other at once; one chat opens.
func TestCrossedInvites(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitCaps("bob")
	b.waitCaps("ana")
	if err := a.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	if err := b.Invite("ana"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventChatOpen, nil)
	b.wait(EventChatOpen, nil)
	if _, err := a.Send("bob", "crossed"); err != nil {
		t.Fatal(err)
	}
	b.wait(EventChatMsg, nil)
}

// TestChatAcceptChecked: A keeps an incoming chat socket only for a nonce it
// issued to that nick, from that nick's address.
func TestChatAcceptChecked(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	var nonce atomic.Value
	cfg := testConfig(ts.Addr, "ana")
	cfg.hooks = &hooks{sendUDP: func(b []byte, _ netip.AddrPort) bool {
		if m, err := wire.Parse(b); err == nil {
			nonce.Store(m.(wire.ChatInvite).Nonce)
		}
		return false // bob never sees it: the test answers in his place
	}}
	a := dial(t, cfg)
	b := dial(t, testConfig(ts.Addr, "bob"))
	a.waitCaps("bob")
	if err := a.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(waitTimeout); nonce.Load() == nil; {
		if time.Now().After(deadline) {
			t.Fatal("no invite sent")
		}
		time.Sleep(5 * time.Millisecond) // polling the hook
	}
	n := nonce.Load().(string)
	aAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(a.tcpPort))
	for _, tt := range []struct {
		name, from string
		m          wire.Message
	}{
		{"wrong nonce", "127.0.0.1", wire.ChatAccept{Nick: "bob", Nonce: "nope"}},
		{"no nonce", "127.0.0.1", wire.ChatAccept{Nick: "bob"}},
		{"wrong nick", "127.0.0.1", wire.ChatAccept{Nick: "cy", Nonce: n}},
		{"wrong address", "127.0.0.2", wire.ChatAccept{Nick: "bob", Nonce: n}},
		{"garbage", "127.0.0.1", wire.ChatMsg{Nick: "bob", Text: "hi"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}}
			c, err := d.Dial("tcp", aAddr)
			if err != nil {
				t.Skip(err)
			}
			defer c.Close()
			f := newFramed(c)
			f.send(t, tt.m)
			if m := f.next(t); m.Verb() != wire.VerbError {
				t.Fatalf("got %q, want ERROR", wire.Payload(m))
			}
		})
	}
	if a.Chat("bob") != ChatInviting {
		t.Fatalf("state %v after refusals", a.Chat("bob"))
	}
	// The right answer opens the chat.
	c, err := net.Dial("tcp", aAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	newFramed(c).send(t, wire.ChatAccept{Nick: "bob", Nonce: n})
	a.wait(EventChatOpen, peerIs("bob"))
	_ = b
}

// TestPendingSocketsBounded: sockets that never say anything take at most
// maxSilent slots; each one more pushes out the oldest, and Close ends the
// rest.
func TestPendingSocketsBounded(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, testConfig(ts.Addr, "ana"))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(a.tcpPort))
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	waitSilent := func(want uint64) {
		t.Helper()
		for deadline := time.Now().Add(waitTimeout); ; {
			a.Client.mu.Lock()
			n, seq := len(a.silent), a.silentSeq
			a.Client.mu.Unlock()
			if seq == want {
				if n != min(int(want), maxSilent) {
					t.Fatalf("%d silent sockets, want %d", n, min(int(want), maxSilent))
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d sockets accepted, want %d", seq, want)
			}
			time.Sleep(5 * time.Millisecond) // polling the client
		}
	}
	for range maxSilent {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitSilent(maxSilent)
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, extra)
	waitSilent(maxSilent + 1)
	// The oldest was closed to make room; the newcomer is kept.
	conns[0].SetReadDeadline(deadline())
	if _, err := conns[0].Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("oldest socket not closed: %v", err)
	}
	a.Client.mu.Lock()
	_, kept := a.silent[a.lookupSilent(extra)]
	a.Client.mu.Unlock()
	if !kept {
		t.Fatal("the newest socket was not kept")
	}
}

// lookupSilent returns the client's end of the socket whose other end is
// conn, among the silent ones. The caller holds c.mu.
func (c *Client) lookupSilent(conn net.Conn) net.Conn {
	for s := range c.silent {
		if s.RemoteAddr().String() == conn.LocalAddr().String() {
			return s
		}
	}
	return nil
}

// TestLinkCheck: ReconnectNow on a link that looks up checks it with a PING;
// a server that answers keeps the link, one that stays silent is dropped and
// the client registers again at once (a phone resuming with a dead socket).
func TestLinkCheck(t *testing.T) {
	checkGoroutines(t)
	srv := startScripted(t)
	cfg := testConfig("", "ana")
	cfg.HeartbeatEvery = time.Hour // only the link check pings
	cfg.ServerSilence = time.Hour
	a, f := srv.dialV2(t, cfg, wire.FeatureHeartbeat)

	a.ReconnectNow()
	ping := f.expect(t, wire.VerbPing).(wire.Ping)
	f.send(t, wire.Pong{Token: ping.Token})
	// The answer ends the check: the next ReconnectNow checks again.
	frames := make(chan wire.Message, 16)
	go func() {
		defer close(frames)
		for {
			p, err := f.r.ReadFrame()
			if err != nil {
				return
			}
			m, _ := wire.Parse(p)
			frames <- m
		}
	}()
	tick := time.NewTicker(20 * time.Millisecond) // ReconnectNow again until the check is over
	defer tick.Stop()
	timeout := time.After(waitTimeout)
	for checked := false; !checked; {
		a.ReconnectNow()
		select {
		case m := <-frames:
			checked = m != nil && m.Verb() == wire.VerbPing
		case <-tick.C:
		case <-timeout:
			t.Fatal("no second link check")
		}
		if a.count(EventServerLost) > 0 {
			t.Fatalf("link dropped although the server answered:\n%s", a.history())
		}
	}
	// This time the server stays silent.
	start := time.Now()
	a.wait(EventServerLost, nil)
	g := <-srv.conns
	defer g.Close()
	g.expect(t, wire.VerbPort)
	g.send(t, wire.Welcome{Version: 2})
	a.wait(EventReconnected, nil)
	if d := time.Since(start); d > DefaultLinkCheck+time.Second {
		t.Fatalf("registered again %v after the check, want within %v", d, DefaultLinkCheck+time.Second)
	}
}
