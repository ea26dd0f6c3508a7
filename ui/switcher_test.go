package ui

import (
	"fmt"
	"image"
	"testing"
	"time"

	"gioui.org/io/key"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// sixty returns 60 nicknames, p00 to p59, plus Zoë last by name.
func sixty() []string {
	var ps []string
	for i := range 60 {
		ps = append(ps, fmt.Sprintf("p%02d", i))
	}
	return append(ps, "Zoë")
}

// TestSwitcher opens the quick switcher with Ctrl+K, types part of a nick,
// and Enter opens that person's thread; ↓ selects the next entry; Esc
// closes it without opening anything.
func TestSwitcher(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: sixty()}, 1280, 800)
	h.connect("ana")
	c := h.chat()
	h.key("K", key.ModShortcut)
	if !c.switcher.open || !h.focused(&c.switcher.field) {
		t.Fatalf("Ctrl+K: open %v, field focused %v", c.switcher.open, h.focused(&c.switcher.field))
	}
	h.typeText(&c.switcher.field, "ZO")
	if len(c.switcher.items) != 1 || c.switcher.items[0].key != model.Key("Zoë") {
		t.Fatalf("items %+v for \"ZO\", want Zoë", c.switcher.items)
	}
	h.key(key.NameReturn, 0)
	if c.switcher.open || c.current != model.Key("Zoë") {
		t.Fatalf("Enter: open %v, current %q; want closed on zoë", c.switcher.open, c.current)
	}

	h.key("K", key.ModShortcut)
	h.typeText(&c.switcher.field, "p1")
	h.key(key.NameDownArrow, 0)
	h.key(key.NameDownArrow, 0)
	h.key(key.NameUpArrow, 0)
	h.key(key.NameReturn, 0)
	if c.current != "p11" {
		t.Fatalf("↓↓↑ Enter opened %q, want p11 (the second of p1, p10, p11, …)", c.current)
	}

	h.key("K", key.ModShortcut)
	h.typeText(&c.switcher.field, "p2")
	h.key(key.NameEscape, 0)
	if c.switcher.open || c.current != "p11" {
		t.Fatalf("Esc: open %v, current %q; want closed, still p11", c.switcher.open, c.current)
	}
	// A click outside the card closes it too.
	h.key("K", key.ModShortcut)
	h.click(image.Pt(640, 780))
	if c.switcher.open {
		t.Fatal("a click on the backdrop left the switcher open")
	}
}

// TestAltArrows moves between the chats in the order of the people list
// with Alt+↑/↓, from the composer too.
func TestAltArrows(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno", "chen", "Dana"}}, 1280, 800)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "chen"})
	c := h.chat()
	c.open(model.Everyone)
	h.frame()
	if !h.focused(&c.view(model.Everyone).composer.editor) {
		t.Fatal("the composer is not focused")
	}
	// The list: Everyone, chen (a chat), then bruno and Dana.
	for _, want := range []string{"chen", "bruno", "dana", "dana"} {
		h.key(key.NameDownArrow, key.ModAlt)
		if c.current != want {
			t.Fatalf("Alt+↓ opened %q, want %q", c.current, want)
		}
	}
	for _, want := range []string{"bruno", "chen", model.Everyone, model.Everyone} {
		h.key(key.NameUpArrow, key.ModAlt)
		if c.current != want {
			t.Fatalf("Alt+↑ opened %q, want %q", c.current, want)
		}
	}
}

// TestUnreadChatOnTop: with 61 people online on a phone, Zoë's unread
// private messages lead the list under the feed, above the caption of
// everyone else, most recent chat first; a click opens them.
func TestUnreadChatOnTop(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: sixty()}, 360, 780)
	s := h.connect("ana")
	h.push(s,
		client.Event{Kind: client.EventChatMsg, From: "p30", Peer: "p30", Text: "older", Time: at(9, 0)},
		client.Event{Kind: client.EventChatMsg, From: "p40", Peer: "p40", Text: "newer", Time: at(10, 0)},
		client.Event{Kind: client.EventChatMsg, From: "Zoë", Peer: "Zoë", Text: "psst", Time: at(8, 0)},
	)
	c := h.chat()
	c.m.MarkRead("p30")
	c.m.MarkRead("p40")
	h.frame()
	if got := c.people.order[:4]; fmt.Sprint(got) != fmt.Sprint([]string{model.Everyone, model.Key("Zoë"), "p40", "p30"}) {
		t.Fatalf("list starts %q, want the feed, zoë (unread), p40, p30", got)
	}
	// Phone: header, filter, the feed's row, then Zoë's.
	h.click(image.Pt(150, 64+62+64+32))
	if c.current != model.Key("Zoë") || !c.showThread {
		t.Fatalf("click under the feed opened %q (shown %v), want zoë", c.current, c.showThread)
	}
}

// TestEscLeavesCard: Esc takes the keyboard focus off a chat request's
// card without answering it.
func TestEscLeavesCard(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno", "Dana"}}, 1280, 800)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventInvite, From: "Dana", Time: fixedNow, Expires: fixedNow.Add(30 * time.Second)})
	c := h.chat()
	accept := &c.cards.invite("dana").accept
	for i := 0; !h.focused(accept); i++ {
		if i > 30 {
			t.Fatal("Tab never reached Accept")
		}
		h.tab(0)
	}
	h.key(key.NameEscape, 0)
	if h.focused(accept) {
		t.Fatal("Esc left the focus on Accept")
	}
	if hasCall(s, "accept dana") || hasCall(s, "decline dana") || len(c.m.Invites) != 1 {
		t.Fatalf("Esc answered the request: calls %q", s.Calls())
	}
}
