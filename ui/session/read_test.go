package session

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/server"
	"peerchat/server/servertest"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// readConn is a fakeConn that records read receipts (Reader).
type readConn struct{ *fakeConn }

func (c readConn) MarkRead(nick string, id uint64) error { c.call("read %s %d", nick, id); return nil }

// newReadRig is a rig whose Conn sends read receipts, dialled with them on.
func newReadRig(t *testing.T, store Store, mod func(*Config), peers ...string) *rig {
	t.Helper()
	return newRigWith(t, store, func(c *Config) {
		c.Conn = readConn{c.Conn.(*fakeConn)}
		c.ReadReceipts = true
		if mod != nil {
			mod(c)
		}
	}, peers...)
}

// reads returns the MarkRead calls so far.
func (r *rig) reads() []string {
	return slices.DeleteFunc(r.calls(), func(c string) bool { return !strings.HasPrefix(c, "read ") })
}

func chatMsg(from string, id uint64, text string) client.Event {
	return client.Event{Kind: client.EventChatMsg, From: from, Peer: from, ID: id, Text: text, Time: t0}
}

// TestMarkRead marks read the newest message with an id of the thread the
// user sees (focused window, thread shown), once per such message, and
// nothing the user does not see.
func TestMarkRead(t *testing.T) {
	r := newReadRig(t, nil, nil, "bruno", "chen")
	want := func(step string, calls ...string) {
		t.Helper()
		r.sync()
		if got := r.reads(); !slices.Equal(got, calls) {
			t.Fatalf("%s: MarkRead calls %q, want %q", step, got, calls)
		}
	}
	r.conn.push(chatMsg("bruno", 7, "hi"))
	want("not looked at")
	r.svc.SetOpen("bruno", true)
	want("window not focused")
	r.svc.SetFocused(true)
	want("seen", "read bruno 7")
	for range 5 { // a frame each
		r.svc.SetFocused(true)
		r.svc.SetOpen("bruno", true)
	}
	want("frames again", "read bruno 7")
	r.conn.push(chatMsg("bruno", 8, "one"), chatMsg("bruno", 9, "two"), chatMsg("bruno", 0, "a base peer's"))
	want("two while open", "read bruno 7", "read bruno 9")
	r.conn.push(chatMsg("chen", 40, "elsewhere"))
	want("another thread", "read bruno 7", "read bruno 9")
	r.svc.SetFocused(false)
	r.conn.push(chatMsg("bruno", 10, "while away"))
	want("unfocused", "read bruno 7", "read bruno 9")
	r.svc.SetFocused(true)
	want("focus back", "read bruno 7", "read bruno 9", "read bruno 10")
	r.svc.SetOpen(model.Everyone, true)
	r.svc.SetOpen("chen", false) // no thread pane (a phone's people list)
	want("hidden", "read bruno 7", "read bruno 9", "read bruno 10")
	r.svc.SetOpen("chen", true)
	want("chen", "read bruno 7", "read bruno 9", "read bruno 10", "read chen 40")
}

// TestReadReceipt: a read receipt marks our message and every earlier one
// of ours that is sent, stored or delivered read, in the model and the
// history; a pending one, a failed one and later ones stay; nothing
// makes a read message step back.
func TestReadReceipt(t *testing.T) {
	st := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	defer st.Close()
	r := newReadRig(t, historystore.New(st), nil, "bruno")
	for _, text := range []string{"one", "two", "three", "four", "five"} {
		r.svc.Send("bruno", text)
	}
	r.conn.push(
		client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 1},
		client.Event{Kind: client.EventStored, Peer: "bruno", ID: 2},
		client.Event{Kind: client.EventSent, Peer: "bruno", ID: 4},
		client.Event{Kind: client.EventSent, Peer: "bruno", ID: 5},
	)
	r.sync()
	check := func(step string, want ...delivery.State) {
		t.Helper()
		var got []delivery.State
		for _, m := range r.m.Thread("bruno").Messages {
			got = append(got, m.State)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: model %v, want %v", step, got, want)
		}
		if got := storedStates(t, st, "bruno"); !slices.Equal(got, want) {
			t.Fatalf("%s: history %v, want %v", step, got, want)
		}
	}
	P, S, St, D, R := delivery.Pending, delivery.Sent, delivery.Stored, delivery.Delivered, delivery.Read
	check("before", D, St, P, S, S)
	r.conn.push(client.Event{Kind: client.EventRead, Peer: "Bruno", ID: 4})
	r.sync()
	check("read up to four", R, R, P, R, S)
	r.conn.push(
		client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 4}, // late
		client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 2},
		client.Event{Kind: client.EventSent, Peer: "bruno", ID: 3},
		client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 5},
	)
	r.sync()
	check("late deliveries", R, R, S, R, D)
	// Delivered and read in one batch.
	r.conn.push(client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 3},
		client.Event{Kind: client.EventRead, Peer: "bruno", ID: 5},
		client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 3})
	r.sync()
	check("all read", R, R, R, R, R)
}

// TestReadAcrossRuns: a receipt for messages of an earlier run marks them
// read in the model and the history, those loaded at start and older
// ones; the newest message the peer sent before is marked read once the
// user sees the thread.
func TestReadAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st := openHistory(t, path)
	r := newReadRig(t, historystore.New(st), nil, "bruno")
	r.svc.Send("bruno", "old one")
	r.svc.Send("bruno", "old two")
	r.conn.push(chatMsg("bruno", 77, "hello"))
	r.sync()
	r.svc.Send("bruno", "new one")
	r.conn.push(client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 1},
		client.Event{Kind: client.EventStored, Peer: "bruno", ID: 2},
		client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 3})
	r.sync()
	r.svc.Close()
	st.Close()

	st = openHistory(t, path)
	defer st.Close()
	r = newReadRig(t, historystore.New(st), func(c *Config) { c.Page = 2 }, "bruno")
	r.conn.nextID = 100
	r.sync()
	D, St, R := delivery.Delivered, delivery.Stored, delivery.Read
	if got := storedStates(t, st, "bruno"); !slices.Equal(got, []delivery.State{D, St, 0, D}) {
		t.Fatalf("history before %v", got)
	}
	r.svc.SetFocused(true)
	r.svc.SetOpen("bruno", true)
	r.sync()
	if got := r.reads(); !slices.Equal(got, []string{"read bruno 77"}) {
		t.Fatalf("MarkRead calls %q", got)
	}
	r.conn.push(client.Event{Kind: client.EventRead, Peer: "bruno", ID: 3})
	r.sync()
	if got := storedStates(t, st, "bruno"); !slices.Equal(got, []delivery.State{R, R, 0, R}) {
		t.Fatalf("history after %v", got)
	}
	th := r.m.Thread("bruno")
	if m := th.Messages[len(th.Messages)-1]; m.Text != "new one" || m.State != R {
		t.Fatalf("model after %+v", m)
	}
	// A late delivery of the stored one does not undo it.
	r.conn.push(client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 2})
	r.sync()
	if got := storedStates(t, st, "bruno"); !slices.Equal(got, []delivery.State{R, R, 0, R}) {
		t.Fatalf("history after late delivery %v", got)
	}
}

// TestDuplicateAcrossRuns: a message that comes again with the same
// (peer, id) after a restart (resent by its peer, whose ack was lost, or
// by the server's mailbox) is shown and stored once.
func TestDuplicateAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st := openHistory(t, path)
	r := newRig(t, historystore.New(st), "bruno")
	r.conn.push(chatMsg("bruno", 5, "hello"))
	r.sync()
	r.svc.Close()
	st.Close()

	st = openHistory(t, path)
	defer st.Close()
	r = newRig(t, historystore.New(st), "bruno")
	again := chatMsg("bruno", 5, "hello")
	again.Route = client.RouteMailbox
	r.conn.push(again)
	r.sync()
	r.conn.push(chatMsg("Bruno", 5, "hello"), chatMsg("chen", 5, "same id, another peer"), chatMsg("bruno", 6, "new"))
	r.sync()
	texts := func(thread string) []string {
		var out []string
		for _, m := range r.m.Thread(thread).Messages {
			if m.Kind == model.KindText {
				out = append(out, m.Text)
			}
		}
		return out
	}
	if got := texts("bruno"); !slices.Equal(got, []string{"hello", "new"}) {
		t.Fatalf("shown %q", got)
	}
	if got := texts("chen"); !slices.Equal(got, []string{"same id, another peer"}) {
		t.Fatalf("chen's %q", got)
	}
	hs, err := st.Load("bruno", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, h := range hs {
		if h.Kind == history.KindMessage {
			stored = append(stored, h.Text)
		}
	}
	if !slices.Equal(stored, []string{"hello", "new"}) {
		t.Fatalf("stored %q", stored)
	}
	if th := r.m.Thread("bruno"); th.Unread != 1 {
		t.Fatalf("unread %d, want 1 (the new one)", th.Unread)
	}
}

// TestReadReceiptsNet runs read receipts between a session and a real
// peer on loopback, both with them on: the message the user sees is
// marked read to its sender, and the peer's receipt makes ours Read in
// the history.
func TestReadReceiptsNet(t *testing.T) {
	ts := servertest.NewServer(t, server.Config{Name: "receipts"})
	st := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	defer st.Close()
	dialR := func(nick string, notify func()) *client.Client {
		cfg := client.DefaultConfig(ts.Addr, nick)
		cfg.ListenAddr, cfg.Notify, cfg.ReadReceipts = "127.0.0.1", notify, true
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		c, err := client.Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sig := NewSignal()
	ana := dialR("ana", sig.Notify)
	wake := make(chan struct{}, 1)
	svc := New(Config{Conn: ana, Signal: sig, Store: historystore.New(st), ReadReceipts: true,
		Invalidate: func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		}})
	defer svc.Close()
	bruno := dialR("bruno", nil)
	defer bruno.Close()
	// Until a peer's CAPS are in, a client takes it for a base peer: its
	// invite would go by the base flow and its messages as CHAT_MSG,
	// which has no id to be marked read (PROTOCOL.md §3.4).
	waitFeatures(t, bruno, "ana")
	waitFeatures(t, ana, "bruno")

	if err := bruno.Invite("ana"); err != nil {
		t.Fatal(err)
	}
	waitInvite := time.After(waitTimeout)
	for !slices.ContainsFunc(svc.Drain(nil), func(c model.Change) bool { return c.Op == model.OpInvite }) {
		select {
		case <-wake:
		case <-waitInvite:
			t.Fatal("no chat request")
		}
	}
	svc.Accept("bruno")
	waitEvent(t, bruno, client.EventChatOpen, "ana")
	id, err := bruno.Send("ana", "hello")
	if err != nil {
		t.Fatal(err)
	}
	waitHello := time.After(waitTimeout)
	for !slices.ContainsFunc(svc.Drain(nil), func(c model.Change) bool { return c.Op == model.OpAdd && c.Msg.Text == "hello" }) {
		select {
		case <-wake:
		case <-waitHello:
			t.Fatal("the message did not arrive")
		}
	}
	svc.SetFocused(true)
	svc.SetOpen("bruno", true) // the user looks at it
	if ev := waitEvent(t, bruno, client.EventRead, "ana"); ev.ID != id {
		t.Fatalf("bruno's read receipt names %d, want %d", ev.ID, id)
	}

	svc.Send("bruno", "hi back")
	ev := waitEvent(t, bruno, client.EventChatMsg, "ana")
	if err := bruno.MarkRead("ana", ev.ID); err != nil {
		t.Fatal(err)
	}
	// The receipt is marked in the model (OpRead) and, in the same
	// batch, queued for the history; Close writes what is queued.
	waitRead := time.After(waitTimeout)
	for !slices.ContainsFunc(svc.Drain(nil), func(c model.Change) bool { return c.Op == model.OpRead && c.Thread == "bruno" }) {
		select {
		case <-wake:
		case <-waitRead:
			t.Fatal("our message is not marked read")
		}
	}
	svc.Close()
	hs, err := st.Load("bruno", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(hs, func(h history.Message) bool { return h.Text == "hi back" }); i < 0 || hs[i].State != delivery.Read {
		t.Fatalf("our message is not read in the history: %+v", hs)
	}
}

// waitFeatures waits until c lists peer with the features of its CAPS.
// No event tells of them: the peer table is polled.
func waitFeatures(t *testing.T, c *client.Client, peer string) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for !slices.ContainsFunc(c.Peers(), func(p client.Peer) bool { return model.Key(p.Nick) == model.Key(peer) && p.Features != nil }) {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: no CAPS for %s within %v", c.Nick(), peer, waitTimeout)
		}
	}
}
