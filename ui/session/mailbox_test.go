package session

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/core/wire"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// openHistory opens a history file in dir for one run.
func openHistory(t *testing.T, path string) *history.Store {
	t.Helper()
	st, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// stored returns the delivery states of thread's messages in the history,
// oldest first.
func storedStates(t *testing.T, st *history.Store, thread string) []delivery.State {
	t.Helper()
	hs, err := st.Load(thread, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []delivery.State
	for _, h := range hs {
		if h.Kind == history.KindMessage {
			out = append(out, h.State)
		}
	}
	return out
}

// TestStored follows a message to an away peer: pending, sent, on the
// server (stored, in the history too), then delivered.
func TestStored(t *testing.T) {
	st := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	defer st.Close()
	r := newRig(t, historystore.New(st), "bruno")
	r.conn.push(client.Event{Kind: client.EventPeerLeft, Peer: "bruno"})
	r.svc.Send("bruno", "see you tomorrow")
	r.sync()
	for _, step := range []struct {
		ev   client.Event
		want delivery.State
	}{
		{client.Event{Kind: client.EventSent, Peer: "bruno", ID: 1}, delivery.Sent},
		{client.Event{Kind: client.EventStored, Peer: "Bruno", ID: 1}, delivery.Stored},
		{client.Event{Kind: client.EventSent, Peer: "bruno", ID: 1}, delivery.Stored}, // late: no step back
		{client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 1}, delivery.Delivered},
	} {
		r.conn.push(step.ev)
		r.sync()
		if m := r.lastMsg("bruno"); m.State != step.want {
			t.Fatalf("after %v: %v, want %v", step.ev.Kind, m.State, step.want)
		}
		if got := storedStates(t, st, "bruno"); !slices.Equal(got, []delivery.State{step.want}) {
			t.Fatalf("after %v: history %v, want %v", step.ev.Kind, got, step.want)
		}
	}
	if th := r.m.Lookup("bruno"); th.Chat != client.ChatNone {
		t.Fatalf("a stored message opened the chat: %v", th.Chat)
	}
}

// TestStoredAcrossRuns: the delivery of a message stored in an earlier run
// reaches it, in the model and the history, whether the message is among
// those loaded at start or older; a failure of one not in the history at
// all is shown, not lost.
func TestStoredAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st := openHistory(t, path)
	r := newRig(t, historystore.New(st), "bruno")
	r.svc.Send("bruno", "old one")
	r.conn.push(client.Event{Kind: client.EventStored, Peer: "bruno", ID: 1})
	r.sync()
	for i := range 5 {
		r.conn.push(client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: fmt.Sprint("filler ", i), Time: t0})
	}
	r.sync()
	r.svc.Send("bruno", "new one")
	r.conn.push(client.Event{Kind: client.EventStored, Peer: "bruno", ID: 2})
	r.sync()
	r.svc.Close()
	st.Close()

	st = openHistory(t, path)
	defer st.Close()
	r = newRigWith(t, historystore.New(st), func(c *Config) { c.Page = 3 }, "bruno")
	r.conn.nextID = 100
	r.sync()
	th := r.m.Lookup("bruno")
	if m := r.lastMsg("bruno"); m.Text != "new one" || m.State != delivery.Stored {
		t.Fatalf("after restart %+v", m)
	}
	r.conn.push(client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 2}, // loaded at start
		client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 1}, // older than the page
		client.Event{Kind: client.EventSendFailed, Peer: "bruno", ID: 7, Text: "lost", Err: &client.MailboxError{Peer: "bruno", Reason: wire.MboxExpired}})
	r.sync()
	if m := r.lastMsg("bruno"); m.Text != "lost" || m.State != delivery.Failed || m.Err != FailureText(&client.MailboxError{Reason: wire.MboxExpired}, "bruno") {
		t.Fatalf("unknown failure %+v", m)
	}
	if m := th.Messages[len(th.Messages)-2]; m.Text != "new one" || m.State != delivery.Delivered {
		t.Fatalf("in the model: %+v", m)
	}
	want := []delivery.State{delivery.Delivered, 0, 0, 0, 0, 0, delivery.Delivered, delivery.Failed}
	if got := storedStates(t, st, "bruno"); !slices.Equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
}

// TestRoute keeps the path of each open chat in the model: from
// EventChatOpen, changed by EventRoute, gone when the chat closes.
func TestRoute(t *testing.T) {
	r := newRig(t, nil, "bruno")
	r.conn.push(client.Event{Kind: client.EventChatOpen, Peer: "bruno", Route: client.RouteRelay})
	r.sync()
	th := r.m.Lookup("bruno")
	if th.Chat != client.ChatOpen || th.Route != client.RouteRelay {
		t.Fatalf("open: %v %v", th.Chat, th.Route)
	}
	if m := r.lastMsg("bruno"); m.Text != "Private chat with bruno is open, through the server" {
		t.Fatalf("line %q", m.Text)
	}
	r.conn.push(client.Event{Kind: client.EventRoute, Peer: "Bruno", Route: client.RouteDirect})
	r.sync()
	if th.Route != client.RouteDirect {
		t.Fatalf("moved: %v", th.Route)
	}
	r.conn.push(client.Event{Kind: client.EventRoute, Peer: "bruno", Route: client.RouteRelay})
	r.sync()
	if th.Route != client.RouteRelay {
		t.Fatalf("moved back: %v", th.Route)
	}
	r.conn.push(client.Event{Kind: client.EventChatClosed, Peer: "bruno", Reason: client.ReasonLost})
	r.sync()
	if th.Chat != client.ChatNone || th.Route != client.RouteNone {
		t.Fatalf("closed: %v %v", th.Chat, th.Route)
	}
	// A message the mailbox kept while we were away opens nothing.
	r.conn.push(client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "while you slept", ID: 4, Route: client.RouteMailbox})
	r.sync()
	if m := r.lastMsg("bruno"); !m.Away || th.Chat != client.ChatNone {
		t.Fatalf("mailbox message %+v, chat %v", m, th.Chat)
	}
}

// TestMissedBroadcasts shows replayed broadcasts in order, marked as
// missed, drops those seen in an earlier run, and hands the newest id to
// SaveBroadcast after the batch.
func TestMissedBroadcasts(t *testing.T) {
	var mu sync.Mutex
	var saved []uint64
	r := newRigWith(t, nil, func(c *Config) {
		c.LastBroadcast = 41
		c.SaveBroadcast = func(bid uint64) { mu.Lock(); saved = append(saved, bid); mu.Unlock() }
	}, "bruno")
	r.conn.push(
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "seen before", BID: 41, Missed: true, Time: t0},
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "one", BID: 42, Missed: true, Time: t0},
		client.Event{Kind: client.EventBroadcast, From: "ana", Text: "mine, from before", BID: 44, Missed: true, Time: t0},
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "live", BID: 45, Time: t0},
	)
	r.sync()
	var got []string
	for _, m := range r.m.Thread(model.Everyone).Messages {
		got = append(got, fmt.Sprintf("%s/%v/%v", m.Text, m.Away, m.Mine))
	}
	want := []string{"one/true/false", "mine, from before/true/true", "live/false/false"}
	if !slices.Equal(got, want) {
		t.Fatalf("feed %q, want %q", got, want)
	}
	if b := r.svc.LastBroadcast(); b != 45 {
		t.Fatalf("LastBroadcast %d", b)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(saved, []uint64{45}) {
		t.Fatalf("saved %v, want [45]", saved)
	}
}

// TestAwayFiles: a picture the server replayed (Missed) and a file that
// came through the mailbox (Parked) are marked as having come while the
// user was away, as replayed broadcasts and mailbox messages are; the same
// live are not.
func TestAwayFiles(t *testing.T) {
	r := newRig(t, nil, "bruno", "chen")
	pic := func(id string) *client.FileInfo {
		return &client.FileInfo{ID: id, From: "bruno", Name: id + ".png", Size: 4, MIME: "image/png", Path: "/dl/" + id + ".png"}
	}
	file := func(id string, parked bool) *client.FileInfo {
		return &client.FileInfo{ID: id, Peer: "chen", From: "chen", Name: id + ".pdf", Size: 4, Path: "/dl/" + id + ".pdf", Parked: parked}
	}
	r.conn.push(
		client.Event{Kind: client.EventBroadcast, From: "bruno", BID: 7, Missed: true, File: pic("old"), Time: t0},
		client.Event{Kind: client.EventBroadcast, From: "bruno", BID: 8, File: pic("new"), Time: t0},
		client.Event{Kind: client.EventFileProgress, Peer: "chen", File: file("kept", true), Progress: client.Progress{Done: 2, Total: 4}, Time: t0},
		client.Event{Kind: client.EventFileDone, Peer: "chen", File: file("kept", true), Time: t0},
		client.Event{Kind: client.EventFileDone, Peer: "chen", File: file("live", false), Time: t0},
	)
	r.sync()
	var got []string
	for _, key := range []string{model.Everyone, "chen"} {
		for _, m := range r.m.Thread(key).Messages {
			if m.Kind == model.KindFile {
				got = append(got, fmt.Sprintf("%s/%v/%v", m.File.Name, m.File.Status == model.FileDone, m.Away))
			}
		}
	}
	want := []string{"old.png/true/true", "new.png/true/false", "kept.pdf/true/true", "live.pdf/true/false"}
	if !slices.Equal(got, want) {
		t.Fatalf("files %q, want %q", got, want)
	}
}

// TestFailureText names each definite failure in words, by errors.As and
// errors.Is, through wrapping.
func TestFailureText(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&client.MailboxError{Peer: "bruno", Reason: wire.MboxFull}, "the server's mailbox is full"},
		{fmt.Errorf("send: %w", &client.MailboxError{Peer: "bruno", Reason: wire.MboxExpired}), "bruno did not come back within 7 days (the server's limit)"},
		{fmt.Errorf("mailbox: %w", client.ErrNoKey), "bruno is away and this device never learnt their key"},
		{&client.RelayError{Peer: "bruno", Reason: wire.RelayOffline}, "the server could not pass it on to bruno"},
		{client.ErrPeerSilent, "bruno stopped answering"},
		{errors.New("something else"), "something else"},
	} {
		if got := FailureText(tc.err, "bruno"); got != tc.want {
			t.Errorf("FailureText(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
