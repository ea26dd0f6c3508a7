package model

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/wire"
)

var t0 = time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)

func newModel() *Model { return New("ana", "10.0.0.1:12345", func() time.Time { return t0 }) }

func peer(nick string, online bool) Change {
	return Change{Op: OpPeer, Thread: Key(nick), Nick: nick, Online: online}
}

func add(thread string, msg Message) Change { return Change{Op: OpAdd, Thread: thread, Msg: msg} }

// TestPeople lists people online first, then by folded nickname, keeps
// them sorted through joins and leaves, and never lists us.
func TestPeople(t *testing.T) {
	m := newModel()
	for _, c := range []Change{
		peer("Zoë", true), peer("bruno", true), peer("Ana", true), peer("chen", true),
		peer("Bruno", false), peer("dora", false), peer("émile", true), peer("chen", true),
		{Op: OpSeed, Thread: "dora", Nick: "dora", Msgs: []Message{{Key: 99, Text: "old"}}}, peer("gus", false),
	} {
		m.Apply(c)
	}
	var got []string
	for _, p := range m.People {
		got = append(got, fmt.Sprintf("%s/%v", p.Nick, p.Online))
	}
	want := []string{"chen/true", "Zoë/true", "émile/true", "Bruno/false", "dora/false"}
	if !slices.Equal(got, want) {
		t.Fatalf("people %v, want %v", got, want)
	}
	if !m.Online(Key("ZOË")) || m.Online("bruno") || m.Online("nobody") {
		t.Fatal("Online is wrong")
	}
	if !slices.IsSortedFunc(m.People, comparePeople) {
		t.Fatal("not sorted")
	}
}

// TestPeopleBatches keeps People sorted and each person listed once through
// batches that mix joins, leaves and returns, small and large.
func TestPeopleBatches(t *testing.T) {
	m := newModel()
	online := map[string]bool{}
	for round := range 40 {
		var cs []Change
		for i := range 1 + (round*37)%60 {
			nick := fmt.Sprintf("P%03d", (round*53+i*31)%150)
			on := (round+i)%3 != 0
			if _, listed := online[Key(nick)]; on || listed {
				online[Key(nick)] = on
			}
			cs = append(cs, peer(nick, on))
		}
		m.Apply(cs...)
		if !slices.IsSortedFunc(m.People, comparePeople) {
			t.Fatalf("round %d: not sorted", round)
		}
		if len(m.People) != len(online) {
			t.Fatalf("round %d: %d people, want %d", round, len(m.People), len(online))
		}
		for _, p := range m.People {
			if p.Online != online[p.Key] {
				t.Fatalf("round %d: %s online %v", round, p.Key, p.Online)
			}
		}
	}
}

// TestThreadKeys keys threads by folded nickname and shows the nickname.
func TestThreadKeys(t *testing.T) {
	m := newModel()
	m.Apply(peer("Bruno", true))
	m.Apply(add("bruno", Message{From: "Bruno", Text: "hi"}))
	m.Apply(Change{Op: OpAdd, Thread: "bruno", Nick: "BRUNO", Msg: Message{From: "BRUNO", Text: "hi again"}})
	th := m.Lookup("bruno")
	if th == nil || len(th.Messages) != 2 || th.Unread != 2 || th.Name() != "BRUNO" {
		t.Fatalf("thread %+v", th)
	}
	if len(m.Threads()) != 1 || m.UnreadTotal() != 2 {
		t.Fatalf("threads %d, unread %d", len(m.Threads()), m.UnreadTotal())
	}
	m.MarkRead("bruno")
	if m.UnreadTotal() != 0 {
		t.Fatal("MarkRead")
	}
}

// TestStateAndSeed changes delivery states by Key and puts history pages
// before what a thread shows.
func TestStateAndSeed(t *testing.T) {
	m := newModel()
	m.Apply(add(Everyone, Message{Key: 7, From: "ana", Text: "hi", Mine: true, State: delivery.Pending, ID: 3}))
	m.Apply(Change{Op: OpState, Thread: Everyone, Msg: Message{Key: 7, ID: 3, State: delivery.Delivered, Seq: 12}})
	feed := m.Thread(Everyone)
	if got := feed.Messages[0]; got.State != delivery.Delivered || got.Seq != 12 || got.Text != "hi" || feed.Unread != 0 {
		t.Fatalf("message %+v, unread %d", got, feed.Unread)
	}
	old := []Message{{Key: 1, From: "gus", Text: "old", Time: t0.Add(-time.Hour), Seq: 1}}
	m.Apply(Change{Op: OpSeed, Thread: "gus", Nick: "Gus", Msgs: old, More: true})
	th := m.Lookup("gus")
	if th == nil || !th.More || th.Name() != "Gus" || len(th.Messages) != 1 || !th.LastSeen.Equal(old[0].Time) {
		t.Fatalf("seeded %+v", th)
	}
	if i := m.person("gus"); i < 0 || m.People[i].Online {
		t.Fatal("seeding a thread does not list its peer offline")
	}
	m.Apply(Change{Op: OpClear, Thread: "gus"})
	if len(th.Messages) != 0 || th.More {
		t.Fatal("Clear")
	}
}

// TestInvites shows requests with the expiry the client core gave, and
// stops showing them when it is past.
func TestInvites(t *testing.T) {
	now := t0
	m := New("ana", "", func() time.Time { return now })
	m.Apply(Change{Op: OpInvite, Invite: Invite{From: "Bruno", Key: "bruno", Since: t0, Expires: t0.Add(30 * time.Second)}})
	m.Apply(Change{Op: OpInvite, Invite: Invite{From: "chen", Key: "chen", Since: t0, Expires: t0.Add(5 * time.Second)}})
	m.Apply(Change{Op: OpChat, Thread: "bruno", Chat: client.ChatInvited})
	if len(m.Invites) != 2 || m.Lookup("bruno").Chat != client.ChatInvited || m.Lookup("bruno").Name() != "Bruno" {
		t.Fatalf("invites %+v", m.Invites)
	}
	now = t0.Add(5 * time.Second)
	if !m.Expire() || len(m.Invites) != 1 || m.Invites[0].From != "Bruno" {
		t.Fatalf("after expiry %+v", m.Invites)
	}
	m.Apply(Change{Op: OpDropInvite, Thread: "bruno"})
	m.Apply(Change{Op: OpChat, Thread: "bruno", Chat: client.ChatNone, Reason: client.ReasonLost})
	if len(m.Invites) != 0 || m.Lookup("bruno").Closed != client.ReasonLost {
		t.Fatal("drop invite, close chat")
	}
	m.Apply(Change{Op: OpChat, Thread: "bruno", Chat: client.ChatInviting, Time: t0.Add(time.Minute)})
	if th := m.Lookup("bruno"); th.Chat != client.ChatInviting || !th.Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("inviting %+v", th)
	}
}

// TestUnknownSender keeps a base server's broadcast without a sender.
func TestUnknownSender(t *testing.T) {
	m := newModel()
	m.Apply(add(Everyone, Message{Text: "gary: lunch?"}))
	msg := m.Thread(Everyone).Messages[0]
	if !msg.UnknownSender() || msg.Text != "gary: lunch?" {
		t.Fatalf("message %+v", msg)
	}
}

func TestMentions(t *testing.T) {
	for _, tt := range []struct {
		text string
		want bool
	}{
		{"@ana can you look?", true}, {"thanks Ana!", true}, {"ANA?", true}, {"ana", true},
		{"banana bread", false}, {"anab", false}, {"", false}, {"an", false},
	} {
		if got := Mentions(tt.text, "ana"); got != tt.want {
			t.Errorf("Mentions(%q) = %v", tt.text, got)
		}
	}
	if Mentions("ana", "") {
		t.Error("empty nick mentioned")
	}
}

// joins are the Changes of n peers joining: listed, and a line in the feed.
func joins(n int) []Change {
	cs := make([]Change, 0, 2*n)
	for i := range n {
		nick := fmt.Sprintf("peer%04d", (i*7919)%n) // not in order
		cs = append(cs, peer(nick, true), add(Everyone, Message{Key: uint64(i + 1), Kind: KindSystem, Text: nick + " joined", Time: t0}))
	}
	return cs
}

// BenchmarkJoin1000 applies 1,000 joins in a row to a Model, drained in
// one frame: the UI's part of a join storm.
func BenchmarkJoin1000(b *testing.B) {
	cs := joins(1000)
	b.ReportAllocs()
	for b.Loop() {
		m := newModel()
		m.Apply(cs...)
	}
}

// BenchmarkJoin1000Frames applies 1,000 joins, each in a frame of its own
// (the people list is sorted after each).
func BenchmarkJoin1000Frames(b *testing.B) {
	cs := joins(1000)
	b.ReportAllocs()
	for b.Loop() {
		m := newModel()
		for i := 0; i < len(cs); i += 2 {
			m.Apply(cs[i : i+2]...)
		}
	}
}

// TestJoinAllocs checks that a join costs no allocation per peer already
// listed: 1,000 joins allocate about as much as growing two slices.
func TestJoinAllocs(t *testing.T) {
	cs := joins(1000)
	allocs := testing.AllocsPerRun(5, func() {
		m := newModel()
		for i := 0; i < len(cs); i += 2 {
			m.Apply(cs[i : i+2]...)
		}
	})
	// The people index (a map with 1,000 keys) and the slices grow; nothing
	// is allocated per join, let alone per peer listed.
	if allocs > 150 {
		t.Fatalf("%v allocations for 1,000 joins", allocs)
	}
}

func TestInviteLifetime(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if got := (Invite{Since: at, Expires: at.Add(10 * time.Second)}).Lifetime(); got != 10*time.Second {
		t.Errorf("lifetime %v, want 10s", got)
	}
	if got := (Invite{Expires: at}).Lifetime(); got != wire.DefaultInviteTTL {
		t.Errorf("lifetime without Since %v, want %v", got, wire.DefaultInviteTTL)
	}
}

// TestPresenceUnknownWhileDisconnected: during an outage nobody is known to
// be online (defect 8: green dots and "3 people here" while reconnecting),
// and the list is current again once reconnected.
func TestPresenceUnknownWhileDisconnected(t *testing.T) {
	m := newModel()
	m.Apply(peer("bruno", true), peer("chen", true))
	if n, known := m.OnlineCount(); n != 2 || !known || !m.Online("bruno") {
		t.Fatalf("connected: %d online, known %v", n, known)
	}
	for _, st := range []ConnState{Reconnecting, Lost} {
		m.Apply(Change{Op: OpConn, Conn: Conn{State: st}})
		if _, known := m.OnlineCount(); known || m.PresenceKnown() || m.Online("bruno") {
			t.Fatalf("state %v: presence still shown as known", st)
		}
	}
	m.Apply(Change{Op: OpConn, Conn: Conn{State: Connected}})
	if !m.Online("bruno") || !m.PresenceKnown() {
		t.Fatal("reconnected: presence not known again")
	}
}

// TestOrderedUnreadFirst: with 60 people sorted by name, the one with
// unread private messages comes first, then open chats and recent
// conversations, most recent first, then everyone else by name (defect 3);
// the title's count is the private unreads only.
func TestOrderedUnreadFirst(t *testing.T) {
	m := newModel()
	var cs []Change
	for i := range 60 {
		cs = append(cs, peer(fmt.Sprintf("p%02d", i), true))
	}
	cs = append(cs, peer("Zoë", true),
		add(Everyone, Message{From: "p00", Text: "for all", Time: t0}),
		add("p50", Message{From: "p50", Text: "old", Mine: true, Time: t0.Add(-time.Hour)}),
		add("p40", Message{From: "p40", Text: "newer", Mine: true, Time: t0.Add(-time.Minute)}),
		Change{Op: OpChat, Thread: "p30", Nick: "p30", Chat: client.ChatOpen},
		add(Key("Zoë"), Message{From: "Zoë", Text: "psst", Time: t0.Add(-2 * time.Hour)}),
		add(Key("Zoë"), Message{From: "Zoë", Text: "psst", Time: t0.Add(-2 * time.Hour)}))
	m.Apply(cs...)
	var got []string
	for _, p := range m.Ordered(nil)[:6] {
		got = append(got, p.Nick)
	}
	if want := []string{"Zoë", "p30", "p40", "p50", "p00", "p01"}; !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
	if n := m.UnreadPrivate(); n != 2 {
		t.Fatalf("private unread %d, want 2", n)
	}
	if n := m.UnreadTotal(); n != 3 {
		t.Fatalf("unread total %d, want 3", n)
	}
}

// TestUnconfirmedPresenceUnknown: while the server has not answered
// (Unconfirmed), nobody is known to be here, which is not an empty room;
// once it is Connected the list counts.
func TestUnconfirmedPresenceUnknown(t *testing.T) {
	m := New("ana", "s", nil)
	m.Apply(Change{Op: OpConn, Conn: Conn{State: Unconfirmed}})
	if n, known := m.OnlineCount(); known || n != 0 || m.PresenceKnown() {
		t.Fatalf("unconfirmed: %d online, known %v", n, known)
	}
	m.Apply(Change{Op: OpConn, Conn: Conn{State: Connected}},
		Change{Op: OpPeer, Thread: "bruno", Nick: "bruno", Online: true})
	if n, known := m.OnlineCount(); !known || n != 1 || !m.Online("bruno") {
		t.Fatalf("connected: %d online, known %v", n, known)
	}
}

// TestRouteAndSeq: an open chat keeps its route until it closes; a state
// change of a message known only by its history number (an earlier run's)
// reaches it.
func TestRouteAndSeq(t *testing.T) {
	m := New("ana", "s", nil)
	m.Apply(Change{Op: OpChat, Thread: "bruno", Nick: "bruno", Chat: client.ChatOpen, Route: client.RouteRelay})
	if r := m.Thread("bruno").Route; r != client.RouteRelay {
		t.Fatalf("route %v", r)
	}
	m.Apply(Change{Op: OpChat, Thread: "bruno", Chat: client.ChatNone, Reason: client.ReasonLost, Route: client.RouteRelay})
	if r := m.Thread("bruno").Route; r != client.RouteNone {
		t.Fatalf("route %v after the chat closed", r)
	}
	m.Seed("bruno", "bruno", []Message{{Key: 7, Seq: 12, From: "ana", Mine: true, ID: 3, State: delivery.Stored}}, false)
	m.Apply(Change{Op: OpState, Thread: "bruno", Msg: Message{Seq: 12, ID: 3, State: delivery.Delivered}})
	if st := m.Thread("bruno").Messages[0].State; st != delivery.Delivered {
		t.Fatalf("state %v", st)
	}
}

// TestRead marks our messages read up to the one named, by order in the
// thread: Sent, Stored and Delivered ones; pending, failed and received
// ones and those after it stay as they are.
func TestRead(t *testing.T) {
	m := newModel()
	states := []delivery.State{delivery.Delivered, delivery.Failed, delivery.Stored, delivery.Pending, delivery.Sent, delivery.Delivered, delivery.Sent}
	for i, st := range states {
		m.Apply(add("bruno", Message{Key: uint64(i + 1), From: "ana", Mine: true, ID: uint64(50 + i), State: st}))
	}
	m.Apply(add("bruno", Message{Key: 20, From: "bruno", ID: 55}))
	m.Apply(Change{Op: OpRead, Thread: "bruno", Msg: Message{ID: 999}}) // unknown: nothing
	m.Apply(Change{Op: OpRead, Thread: "bruno", Msg: Message{ID: 55}})
	var got []delivery.State
	for _, msg := range m.Thread("bruno").Messages {
		got = append(got, msg.State)
	}
	want := []delivery.State{delivery.Read, delivery.Failed, delivery.Read, delivery.Pending, delivery.Read, delivery.Read, delivery.Sent, delivery.Received}
	if !slices.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
}
