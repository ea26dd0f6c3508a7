package ui

import (
	"fmt"
	"image"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/ui/model"
)

func chatMsgs(from string, n int, t0 time.Time, text func(i int) string) []client.Event {
	var evs []client.Event
	for i := range n {
		evs = append(evs, client.Event{Kind: client.EventChatMsg, From: from, Peer: from, Text: text(i), Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	return evs
}

func (h *harness) hasLabel(label string) bool {
	for _, n := range h.semanticNodes() {
		if n.Desc.Label == label {
			return true
		}
	}
	return false
}

// TestNewMessagesDivider opens a thread with unread messages: the list
// opens at the first of them, under a "New messages" divider; the jump
// to the newest messages reads them; the button back to the divider
// returns there; the divider is gone once another thread was opened
// (issue 9, missing 4).
func TestNewMessagesDivider(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno", "chen"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	c := h.chat()
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	h.push(s, chatMsgs("bruno", 5, at(9, 0), func(i int) string { return fmt.Sprint("read ", i) })...)
	c.open("bruno")
	h.waitFor("bruno's thread read", func() bool { return c.m.Thread("bruno").Unread == 0 })
	c.open(model.Everyone)
	h.frame()
	h.push(s, chatMsgs("bruno", 30, at(10, 0), func(i int) string { return fmt.Sprint("new ", i) })...)
	tb := c.m.Thread("bruno")
	if tb.Unread != 30 {
		t.Fatalf("%d unread, want 30", tb.Unread)
	}
	first := tb.Messages[len(tb.Messages)-30]

	c.open("bruno")
	h.frame()
	h.frame()
	ts := c.view("bruno")
	if !ts.hasDivider || ts.divider != first.Key {
		t.Fatalf("divider on %d (%v), want on the first unread message %d", ts.divider, ts.hasDivider, first.Key)
	}
	if i := messageIndex(tb, first.Key); ts.list.Position.First != i {
		t.Fatalf("the list opened at message %d, want the first unread, %d", ts.list.Position.First, i)
	}
	if !h.hasLabel("New messages") {
		t.Fatal("no \"New messages\" divider drawn")
	}
	if tb.Unread == 0 {
		t.Fatal("the unread messages below the fold were marked read")
	}

	h.click(center(h.button("Jump to the newest messages")))
	h.frame()
	if tb.Unread != 0 || ts.list.Position.BeforeEnd {
		t.Fatalf("after the jump to the end: %d unread, before end %v", tb.Unread, ts.list.Position.BeforeEnd)
	}
	if !ts.hasDivider {
		t.Fatal("the divider went once the messages were read")
	}
	h.click(center(h.button("↑ New messages")))
	h.frame()
	if i := messageIndex(tb, first.Key); ts.list.Position.First != i {
		t.Fatalf("the jump to the first unread went to message %d, want %d", ts.list.Position.First, i)
	}

	c.open(model.Everyone)
	h.frame()
	c.open("bruno")
	h.frame()
	if ts.hasDivider || h.hasLabel("New messages") {
		t.Fatal("the divider is still there after the thread was left")
	}
}

// TestJumpButtonKeepsLastBubble reproduces issue 9, defect 13: on a
// phone, the jump to the newest messages covered the last bubble. It
// shows only while the newest message is out of sight.
func TestJumpButtonKeepsLastBubble(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 360, 780)
	s := h.connect("ana")
	c := h.chat()
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	h.push(s, chatMsgs("bruno", 40, at(9, 0), func(i int) string { return fmt.Sprint("message ", i) })...)
	c.open("bruno")
	h.frame()
	h.frame()
	ts := c.view("bruno")
	ts.list.Position.BeforeEnd = false // at the end
	h.frame()
	n := len(c.m.Thread("bruno").Messages)
	mid := image.Pt(180, 400)
	// A little above the end: the last bubble shows in part.
	ts.list.Position.Offset -= 30
	ts.list.Position.BeforeEnd = true
	h.frame()
	pos := ts.list.Position
	if !pos.BeforeEnd || pos.First+pos.Count < n {
		t.Fatalf("setup: before end %v, messages %d..%d of %d shown", pos.BeforeEnd, pos.First, pos.First+pos.Count, n)
	}
	if c.pane.jumpShown {
		t.Fatal("the jump button shows over the last message, which is in sight")
	}
	for range 10 {
		h.scroll(mid, -200)
	}
	h.frame()
	pos = ts.list.Position
	if pos.First+pos.Count >= n {
		t.Fatalf("setup: the last message is still in sight (%d..%d of %d)", pos.First, pos.First+pos.Count, n)
	}
	if !c.pane.jumpShown {
		t.Fatal("no jump button while the newest messages are out of sight")
	}
}

// TestMentionsCountedApart checks that unread messages that mention the
// user are counted apart (unreadMentions) and shown as an "@" badge.
func TestMentionsCountedApart(t *testing.T) {
	th := &model.Thread{Unread: 3, Messages: []model.Message{
		{Kind: model.KindText, From: "bruno", Text: "@ana old, read"},
		{Kind: model.KindText, From: "bruno", Text: "hello"},
		{Kind: model.KindText, From: "ana", Mine: true, Text: "@ana me"},
		{Kind: model.KindSystem, Text: "chen joined"},
		{Kind: model.KindText, From: "chen", Text: "@Ana look"},
		{Kind: model.KindText, From: "Dana", Text: "ana?"},
	}}
	if got := unreadMentions(th, "ana"); got != 2 {
		t.Fatalf("unreadMentions = %d, want 2", got)
	}
	if got := firstUnread(th); got != 1 {
		t.Fatalf("firstUnread = %d, want 1", got)
	}

	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 360, 780)
	s := h.connect("ana")
	c := h.chat()
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	h.push(s, chatMsgs("bruno", 40, at(9, 0), func(i int) string { return fmt.Sprint("message ", i) })...)
	c.open("bruno")
	h.frame()
	c.view("bruno").list.Position.BeforeEnd = false
	h.frame()
	for range 10 {
		h.scroll(image.Pt(180, 400), -200)
	}
	h.push(s, chatMsgs("bruno", 2, at(11, 0), func(i int) string { return fmt.Sprint("hey @ana ", i) })...)
	found := false
	for _, n := range h.semanticNodes() {
		if n.Desc.Label == "mentions you" {
			found = true
		}
	}
	if !found {
		t.Fatal("no \"@\" badge for unread mentions on the jump button")
	}
}
