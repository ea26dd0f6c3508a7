package ui

import (
	"fmt"
	"image"
	"time"

	"gioui.org/io/input"
	"gioui.org/io/pointer"
	"gioui.org/layout"

	"peerchat/ui/model"
)

// The screenshot scenarios of the message list and the composer (see
// scenarios in screens_test.go).

// selectionScenario: a word selected in a message (desktop) and the
// message menu open on it; on a phone, the menu a long press opened.
var selectionScenario = scenario{"selection-menu", func(h *harness) {
	h.be.peers = crowd[:5]
	s := h.connect("ana")
	h.push(s, feedEvents()...)
	c := h.chat()
	c.open(model.Everyone)
	h.frame()
	h.frame()
	if h.sizeDp.X < 600 {
		b := h.findNode("the message", func(n input.SemanticNode) bool { return n.Desc.Description == "Message from farah" }).Desc.Bounds
		p := pointf(b.Min.Add(image.Pt(60, b.Dy()/2)), h.scale)
		h.router.Queue(pointer.Event{Kind: pointer.Press, Source: pointer.Touch, Position: p, PointerID: 1})
		h.frame()
		h.now = h.now.Add(longPress + time.Millisecond)
		h.frame()
		h.router.Queue(pointer.Event{Kind: pointer.Release, Source: pointer.Touch, Position: p, PointerID: 1})
		h.frame()
		return
	}
	r := h.messageText("farah")
	p := image.Pt(r.Min.X+r.Dx()/3, r.Min.Y+10) // "Thai"
	for range 2 {
		h.mouse(pointer.Press, pointer.ButtonPrimary, p)
		h.mouse(pointer.Release, 0, p)
	}
	h.frame()
	h.mouse(pointer.Press, pointer.ButtonSecondary, p)
	h.mouse(pointer.Release, 0, p)
	h.frame()
}}

// completionScenario: "@" typed in the composer offers the people online.
var completionScenario = scenario{"mention-complete", func(h *harness) {
	h.be.peers = crowd[:5]
	s := h.connect("ana")
	h.push(s, feedEvents()...)
	c := h.chat()
	c.open(model.Everyone)
	h.frame()
	h.frame()
	h.typeText(&c.view(model.Everyone).composer.editor, "Thanks @")
	h.frame()
}}

// dividerScenario: a thread opened at its first unread message, under the
// "New messages" divider; one of them mentions the user.
var dividerScenario = scenario{"new-messages", func(h *harness) {
	h.be.peers = crowd[:5]
	s := h.connect("ana")
	h.push(s, threadEvents()[:12]...)
	c := h.chat()
	c.open("bruno")
	c.view("bruno").list.Position.BeforeEnd = false // read to the end
	h.waitFor("bruno's thread read", func() bool { return c.m.Thread("bruno").Unread == 0 })
	c.open(model.Everyone)
	h.frame()
	evs := chatMsgs("bruno", 14, at(13, 30), func(i int) string {
		if i == 3 {
			return "@ana you were right about the uid"
		}
		return fmt.Sprint("Step ", i+1, " of the fix is done")
	})
	h.push(s, evs...)
	c.open("bruno")
	h.frame()
}}

// openRead opens the thread with peer scrolled to its end, its messages
// read, as after reading them: the scenarios about something else than
// the "New messages" divider show the end of their thread.
func openRead(h *harness, peer string) {
	c := h.chat()
	c.open(peer)
	ts := c.view(peer)
	ts.hasDivider = false
	ts.list.Position = layout.Position{}
}
