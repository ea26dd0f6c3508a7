package ui

import (
	"image"
	"testing"
	"time"

	"gioui.org/io/event"
	"gioui.org/io/key"
	"gioui.org/io/pointer"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// TestTabEnterKeepsSession reproduces issue 9, defect 1: from the message
// box, Tab three times reaches the sidebar's ✕; Enter there must ask before
// leaving the server, and Enter again (on Cancel) must keep the session.
// Tab to Leave and Enter then leaves.
func TestTabEnterKeepsSession(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno", "chen"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	c := h.chat()
	h.click(image.Pt(700, 768)) // the composer
	if !h.focused(&c.view(model.Everyone).composer.editor) {
		t.Fatal("composer not focused by a click")
	}
	var path []event.Tag
	for range 4 { // ✕ is the fourth Tab stop after the composer
		h.tab(0)
		path = append(path, h.a.th.ringed)
	}
	if !h.focused(&c.people.disconnect.Clickable) {
		t.Fatalf("Tab ×4 from the composer did not reach ✕ (rings drawn on %v)", path)
	}
	h.key(key.NameReturn, 0)
	if h.chat() != c || s.closed {
		t.Fatal("Enter on ✕ left the server without asking")
	}
	if !c.people.confirmLeave {
		t.Fatal("Enter on ✕ did not ask to confirm")
	}
	if !h.focused(&c.people.leaveCancel) {
		t.Fatal("the confirmation did not take the focus on Cancel")
	}
	h.key(key.NameReturn, 0) // Cancel
	if h.chat() != c || s.closed || c.people.confirmLeave {
		t.Fatalf("Enter on Cancel: chat kept=%v closed=%v asking=%v", h.chat() == c, s.closed, c.people.confirmLeave)
	}
	if !h.focused(&c.people.disconnect.Clickable) {
		t.Fatal("Cancel did not give the focus back to ✕")
	}
	// Esc closes the confirmation too.
	h.key(key.NameReturn, 0)
	h.key(key.NameEscape, 0)
	if h.chat() != c || c.people.confirmLeave {
		t.Fatalf("Esc: chat kept=%v asking=%v", h.chat() == c, c.people.confirmLeave)
	}
	// Enter, Tab to Leave, Enter: leaves.
	h.key(key.NameReturn, 0)
	h.tab(0)
	if !h.focused(&c.people.leaveOK) {
		t.Fatal("Tab from Cancel does not reach Leave")
	}
	h.key(key.NameReturn, 0)
	if h.connectScreen() == nil || h.chat() != nil || !s.closed {
		t.Fatal("Leave did not leave the server")
	}
}

// TestClickLeaveAsks clicks ✕, which asks; clicking ✕ again takes the
// question back; Leave leaves.
func TestClickLeaveAsks(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	for _, sz := range sizes {
		t.Run(sz.name, func(t *testing.T) {
			h := newHarness(t, be, sz.w, sz.h)
			s := h.connect("ana")
			c := h.chat()
			x := sz.w - 8 - 24 // the ✕, the header's last button
			if sz.w >= 600 {
				x = 320 - 8 - 24
			}
			h.click(image.Pt(x, 32))
			if h.chat() != c || s.closed || !c.people.confirmLeave {
				t.Fatalf("click on ✕: chat kept=%v closed=%v asking=%v", h.chat() == c, s.closed, c.people.confirmLeave)
			}
			h.click(image.Pt(x, 32))
			if c.people.confirmLeave {
				t.Fatal("a second click on ✕ did not take the question back")
			}
			h.click(image.Pt(x, 32))
			c.people.leaveOK.Click()
			h.frame()
			if h.chat() != nil || !s.closed {
				t.Fatal("Leave did not leave the server")
			}
		})
	}
}

// TestLeaveTooltip rests the mouse on ✕ and sees its tooltip.
func TestLeaveTooltip(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
	h.connect("ana")
	tip := &h.chat().people.disconnect.tip
	h.router.Queue(pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pointf(image.Pt(288, 32), h.scale)})
	h.frame()
	h.now = h.now.Add(tipHoverDelay + time.Millisecond)
	h.frame()
	if !tip.vis.Visible() {
		t.Fatal("no tooltip on ✕")
	}
}

// TestFocusVisible walks every screen with Tab and checks that each element
// that takes the focus draws the focus ring (Theme.ringed names the widget
// whose ring the frame drew), and that Tab reaches every element once per
// round.
func TestFocusVisible(t *testing.T) {
	type screenCase struct {
		name  string
		w, h  int
		setup func(h *harness)
		min   int // focus stops expected at least
	}
	chat := func(h *harness) {
		h.be.peers = crowd
		s := h.connect("ana")
		h.push(s, client.Event{Kind: client.EventInvite, From: "Dana", Expires: fixedNow.Add(20 * time.Second)},
			client.Event{Kind: client.EventChatOpen, Peer: "bruno"},
			client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "hi", Time: fixedNow})
		c := h.chat()
		c.open("bruno")
		c.settings.open = true
	}
	cases := []screenCase{
		{"connect-phone", 360, 780, func(h *harness) {
			cs := h.connectScreen()
			h.waitFor("probe", func() bool { cs.mu.Lock(); defer cs.mu.Unlock(); return cs.probed })
		}, 6},
		{"connect-desktop", 1280, 800, func(h *harness) {
			cs := h.connectScreen()
			h.waitFor("probe", func() bool { cs.mu.Lock(); defer cs.mu.Unlock(); return cs.probed })
		}, 6},
		{"chat-desktop", 1280, 800, chat, 12},
		{"chat-phone", 360, 780, chat, 6},
	}
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			h := newHarness(t, &fakeBackend{servers: lanServers}, sc.w, sc.h)
			h.frame()
			sc.setup(h)
			h.frame()
			seen := map[event.Tag]int{}
			var first event.Tag
			for i := range 100 {
				h.tab(0)
				tag := h.a.th.ringed
				if tag == nil {
					t.Fatalf("Tab %d: the focused element draws no focus ring", i+1)
				}
				if !h.focused(tag) {
					t.Fatalf("Tab %d: a ring is drawn on %T, which has no focus", i+1, tag)
				}
				if tag == first {
					break
				}
				if first == nil {
					first = tag
				}
				seen[tag]++
			}
			if len(seen) < sc.min {
				t.Fatalf("Tab reached %d elements in a round, want at least %d", len(seen), sc.min)
			}
			for tag, n := range seen {
				if n > 1 {
					t.Errorf("%T reached %d times in a round", tag, n)
				}
			}
		})
	}
}

// TestComposerFocusedOnOpen reproduces issue 9, defect 6: the composer
// takes the focus when a thread is opened, and when a chat request
// accepted from the people filter opens, so that typed keys land there.
func TestComposerFocusedOnOpen(t *testing.T) {
	be := &fakeBackend{peers: crowd}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	c := h.chat()
	h.push(s, client.Event{Kind: client.EventInvite, From: "Dana", Expires: fixedNow.Add(20 * time.Second)})
	h.click(image.Pt(160, 100)) // the filter, under the header
	if !h.focused(&c.people.filter) {
		t.Fatal("filter not focused by a click")
	}
	h.typeText(&c.people.filter, "da")
	c.cards.invite(model.Key("Dana")).accept.Click() // as a click would: the focus stays
	h.frame()
	if !hasCall(s, "accept Dana") {
		t.Fatalf("calls %q, want accept Dana", s.Calls())
	}
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "Dana"})
	ed := &c.view(model.Key("Dana")).composer.editor
	if !h.focused(ed) {
		t.Fatal("composer not focused once the accepted chat opened")
	}
	h.typeText(ed, "hi")
	if ed.Text() != "hi" || c.people.filter.Text() != "da" {
		t.Fatalf("typed into the composer %q, the filter %q", ed.Text(), c.people.filter.Text())
	}
	// Clearing the filter shows Everyone again; opening it focuses its composer.
	c.people.filter.SetText("")
	h.frame()
	h.click(image.Pt(150, 160)) // Everyone, under the filter
	if c.current != model.Everyone {
		t.Fatalf("current %q after clicking Everyone", c.current)
	}
	if !h.focused(&c.view(model.Everyone).composer.editor) {
		t.Fatal("Everyone's composer not focused when opened")
	}
}

// TestComposerFocusedOnOpenPhone opens the feed on the phone layout.
func TestComposerFocusedOnOpenPhone(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 360, 780)
	h.connect("ana")
	c := h.chat()
	h.click(image.Pt(150, 97)) // Everyone
	if !c.showThread || !h.focused(&c.view(model.Everyone).composer.editor) {
		t.Fatalf("shown=%v, composer focused=%v", c.showThread, h.focused(&c.view(model.Everyone).composer.editor))
	}
}
