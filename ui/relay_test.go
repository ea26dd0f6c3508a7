package ui

import (
	"image"
	"slices"
	"testing"

	"gioui.org/io/input"
	"gioui.org/io/key"

	"peerchat/core/client"
	"peerchat/core/delivery"
)

// TestAwayComposer: a private thread whose peer is away takes messages
// (they wait on the server) when the session has device identities; without
// them it still says the peer is offline and sends nothing.
func TestAwayComposer(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		be := &fakeBackend{peers: []string{"bruno", "chen"}, keys: keyed}
		h := newHarness(t, be, 1280, 800)
		s := h.connect("ana")
		h.push(s, client.Event{Kind: client.EventPeerLeft, Peer: "bruno"})
		c := h.chat()
		c.open("bruno")
		h.frame()
		h.click(image.Pt(700, 768)) // the composer
		h.typeText(&c.view("bruno").composer.editor, "see you tomorrow")
		h.key(key.NameReturn, 0)
		sent := hasCall(s, "send bruno see you tomorrow")
		if sent != keyed {
			t.Fatalf("keyed %v: sent %v; calls %q", keyed, sent, s.Calls())
		}
		if !keyed {
			continue
		}
		h.push(s, client.Event{Kind: client.EventStored, Peer: "bruno", ID: 1})
		th := c.m.Thread("bruno")
		if st := th.Messages[len(th.Messages)-1].State; st != delivery.Stored {
			t.Fatalf("state %v, want Stored", st)
		}
		if th.Chat != client.ChatNone {
			t.Fatalf("chat %v", th.Chat)
		}
	}
}

// TestReplayMark: the newest broadcast id a session sees is kept per
// server, and the next connection to that server asks for what came after
// it (ReplayBackend).
func TestReplayMark(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	h.push(s,
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "one", BID: 41, Time: fixedNow},
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "two", BID: 42, Time: fixedNow})
	marks := &feedMarks{dir: h.plat.dir}
	if got := marks.get("192.168.1.2:12345"); got != 42 {
		t.Fatalf("mark on disk %d, want 42", got)
	}

	be2 := &fakeBackend{peers: []string{"bruno"}}
	h2 := newHarness(t, be2, 1280, 800)
	h2.a.marks = marks
	s2 := h2.connect("ana")
	if !slices.Equal(be.lasts, []uint64{0}) || !slices.Equal(be2.lasts, []uint64{42}) {
		t.Fatalf("ConnectSince given %v then %v, want [0] then [42]", be.lasts, be2.lasts)
	}
	// The server replays from 42 on: what was seen already is not shown twice.
	h2.push(s2,
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "two", BID: 42, Missed: true, Time: fixedNow},
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "three", BID: 43, Missed: true, Time: fixedNow})
	var got []string
	for _, m := range h2.chat().m.Thread("").Messages {
		if m.Away {
			got = append(got, m.Text)
		}
	}
	if !slices.Equal(got, []string{"three"}) {
		t.Fatalf("replayed %q, want [three]", got)
	}
}

// TestStoredLabel: a screen reader reads what the marks of the stored
// scenario mean: the state of a message on the server, the route.
func TestStoredLabel(t *testing.T) {
	for _, sc := range relayScenarios() {
		want := map[string]string{
			"stored":      "On the server — delivered when bruno is back",
			"route-relay": "Through the server: bruno cannot be reached directly, so the server passes on the messages, sealed: it cannot read them",
		}[sc.name]
		if want == "" {
			continue
		}
		h := newHarness(t, &fakeBackend{}, 360, 780)
		sc.setup(h)
		h.frame()
		var found bool
		var walk func(n input.SemanticNode)
		walk = func(n input.SemanticNode) {
			found = found || n.Desc.Label == want
			for _, c := range n.Children {
				walk(c)
			}
		}
		for _, n := range h.router.AppendSemantics(nil) {
			walk(n)
		}
		if !found {
			t.Errorf("%s: no label %q", sc.name, want)
		}
	}
}
