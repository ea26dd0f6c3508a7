package session

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/servertest"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// waitTimeout bounds every wait of the network tests.
const waitTimeout = 10 * time.Second

func dial(t *testing.T, addr, nick string, notify func()) *client.Client {
	t.Helper()
	cfg := client.DefaultConfig(addr, nick)
	cfg.ListenAddr = "127.0.0.1"
	cfg.Notify = notify
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitEvent waits until c reports an event of kind (about peer, if not "").
func waitEvent(t *testing.T, c *client.Client, kind client.EventKind, peer string) client.Event {
	t.Helper()
	deadline := time.After(waitTimeout)
	var evs []client.Event
	for {
		evs = c.Poll(evs[:0])
		for _, ev := range evs {
			if ev.Kind == kind && (peer == "" || model.Key(ev.Peer) == model.Key(peer)) {
				return ev
			}
		}
		select {
		case <-c.Events():
		case <-deadline:
			t.Fatalf("%s: no %v event within %v", c.Nick(), kind, waitTimeout)
		}
	}
}

// TestNoFrames runs a session for a whole conversation with a real server
// and a real peer on loopback without ever drawing a frame (Drain is never
// called): every message is in history.db and notified, in order, once.
func TestNoFrames(t *testing.T) {
	ts := servertest.NewServer(t, server.Config{Name: "noframes"})
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	sig := NewSignal()
	ana := dial(t, ts.Addr, "ana", sig.Notify)
	notes := make(chan string, 64)
	flushed := make(chan struct{}, 1)
	svc := New(Config{
		Conn: ana, Signal: sig, Store: historystore.New(st),
		ListWindow: -1, // Bruno registers within the window: announce him
		Notify:     func(title, text string) { notes <- title + ": " + text },
		Invalidate: func() {
			select {
			case flushed <- struct{}{}:
			default:
			}
		},
	})
	closed := false
	defer func() {
		if !closed {
			svc.Close()
		}
	}()
	bruno := dial(t, ts.Addr, "Bruno", nil)
	defer bruno.Close()

	var got []string
	expect := func(want ...string) {
		t.Helper()
		deadline := time.After(waitTimeout)
		for len(got) < len(want) {
			select {
			case n := <-notes:
				got = append(got, n)
			case <-deadline:
				t.Fatalf("notifications %q, want %q", got, want)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("notifications %q, want %q", got, want)
		}
		got = got[:0]
	}

	for _, text := range []string{"@ana first", "second, for all", "ANA: third"} {
		if _, err := bruno.Broadcast(text); err != nil {
			t.Fatal(err)
		}
	}
	expect("Bruno mentioned you: @ana first", "Bruno mentioned you: ANA: third")

	if err := bruno.Invite("ana"); err != nil {
		t.Fatal(err)
	}
	expect("Bruno wants to chat: Open PeerChat to accept or decline.")
	svc.Accept("bruno") // the user taps Accept on the notification's screen
	waitEvent(t, bruno, client.EventChatOpen, "ana")
	for _, text := range []string{"psst 1", "psst 2"} {
		if _, err := bruno.Send("ana", text); err != nil {
			t.Fatal(err)
		}
	}
	expect("Bruno: psst 1", "Bruno: psst 2")

	// Our answer goes out and is acknowledged (✓✓), still without a frame.
	svc.Send("bruno", "hi back")
	if ev := waitEvent(t, bruno, client.EventChatMsg, "ana"); ev.Text != "hi back" {
		t.Fatalf("bruno got %q", ev.Text)
	}
	store := historystore.New(st)
	deadline := time.After(waitTimeout)
	for {
		msgs, err := store.Load("bruno", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(msgs); n > 0 && msgs[n-1].Text == "hi back" && msgs[n-1].State == delivery.Delivered {
			break
		}
		select {
		case <-flushed: // the service wrote another batch
		case <-deadline:
			t.Fatalf("our message not delivered in history: %+v", msgs)
		}
	}

	svc.Close()
	closed = true
	select {
	case n := <-notes:
		t.Fatalf("extra notification %q", n)
	default:
	}

	lines := func(thread string) []string {
		msgs, err := store.Load(thread, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range msgs {
			if m.Kind == model.KindText {
				out = append(out, fmt.Sprintf("%s: %s (%v)", m.From, m.Text, m.State))
			} else {
				out = append(out, "* "+m.Text)
			}
		}
		return out
	}
	wantFeed := []string{"* Bruno joined", "Bruno: @ana first (received)", "Bruno: second, for all (received)", "Bruno: ANA: third (received)"}
	if got := lines(model.Everyone); !slices.Equal(got, wantFeed) {
		t.Errorf("feed in history.db:\n%q\nwant\n%q", got, wantFeed)
	}
	wantChat := []string{
		"* You accepted the chat request from Bruno.",
		"* Private chat with Bruno is open",
		"Bruno: psst 1 (received)",
		"Bruno: psst 2 (received)",
		"ana: hi back (delivered)",
	}
	if got := lines("bruno"); !slices.Equal(got, wantChat) {
		t.Errorf("chat in history.db:\n%q\nwant\n%q", got, wantChat)
	}
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestServerSilent reproduces issue 9, defect 5 through the session with a
// real socket: a TCP port that accepts REGISTER and PORT and never answers
// does not look like an empty room (model.Unconfirmed, explained in the
// feed), a broadcast that it never relays fails, and once the port speaks
// PeerChat (a JOINED) the connection is Connected.
func TestServerSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	speak := make(chan []byte)
	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		go io.Copy(io.Discard, conn) // swallows REGISTER, PORT, broadcasts; ends with conn
		if b, ok := <-speak; ok {
			conn.Write(b)
		}
		io.Copy(io.Discard, conn)
	}()
	defer func() { <-served }()
	defer close(speak)

	sig := NewSignal()
	cfg := client.DefaultConfig(ln.Addr().String(), "ana")
	cfg.ListenAddr, cfg.Notify, cfg.Reconnect = "127.0.0.1", sig.Notify, false
	cfg.EchoTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("a silent port is taken for a base server with an empty room: %v", err)
	}
	inval := make(chan struct{}, 1)
	svc := New(Config{Conn: c, Signal: sig, Invalidate: func() {
		select {
		case inval <- struct{}{}:
		default:
		}
	}})
	defer svc.Close()
	m := model.New("ana", ln.Addr().String(), time.Now)
	var buf []model.Change
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(waitTimeout)
		for {
			buf = svc.Drain(buf[:0])
			m.Apply(buf...)
			if cond() {
				return
			}
			select {
			case <-inval:
			case <-deadline:
				t.Fatalf("%s: not within %v; conn %+v", what, waitTimeout, m.Conn)
			}
		}
	}
	last := func() model.Message {
		msgs := m.Thread(model.Everyone).Messages
		if len(msgs) == 0 {
			return model.Message{}
		}
		return msgs[len(msgs)-1]
	}

	wait("unconfirmed", func() bool { return m.Conn.State == model.Unconfirmed })
	if _, known := m.OnlineCount(); known {
		t.Error("who is here is taken as known from a server that said nothing")
	}
	if l := last(); l.Kind != model.KindSystem || l.Text != Unanswered {
		t.Errorf("the feed says %q, want the explanation", l.Text)
	}

	svc.Broadcast("anyone here?")
	wait("the broadcast failed", func() bool { l := last(); return l.Mine && l.State == delivery.Failed })
	if m.Conn.State != model.Unconfirmed {
		t.Fatalf("conn %+v after the failed broadcast, want still unconfirmed", m.Conn)
	}

	speak <- wire.Encode(wire.Joined{Nick: "bruno", IP: netip.MustParseAddr("127.0.0.1"), UDPPort: 1, TCPPort: 1})
	wait("connected", func() bool { return m.Conn.State == model.Connected })
	wait("bruno listed", func() bool { return m.Online("bruno") })
	if !slices.ContainsFunc(m.Thread(model.Everyone).Messages, func(msg model.Message) bool { return msg.Text == Answered }) {
		t.Error("the feed does not say that the server answered")
	}
}
