package ui

import (
	"image"
	"strings"
	"testing"
	"time"

	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// semanticNodes returns every node of the frame's semantic tree.
func (h *harness) semanticNodes() []input.SemanticNode {
	h.frame()
	var all []input.SemanticNode
	var walk func(n input.SemanticNode)
	walk = func(n input.SemanticNode) {
		all = append(all, n)
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, n := range h.router.AppendSemantics(nil) {
		walk(n)
	}
	return all
}

// findNode returns the first node of the semantic tree that ok accepts.
func (h *harness) findNode(what string, ok func(input.SemanticNode) bool) input.SemanticNode {
	h.t.Helper()
	for _, n := range h.semanticNodes() {
		if ok(n) {
			return n
		}
	}
	h.t.Fatalf("no %s on screen", what)
	return input.SemanticNode{}
}

// button returns the bounds (dp, scale 1) of the button labelled or
// described label.
func (h *harness) button(label string) image.Rectangle {
	h.t.Helper()
	var has func(n input.SemanticNode) bool
	has = func(n input.SemanticNode) bool {
		if n.Desc.Label == label {
			return true
		}
		for _, c := range n.Children {
			if has(c) {
				return true
			}
		}
		return false
	}
	return h.findNode("button "+label, func(n input.SemanticNode) bool {
		return n.Desc.Class == semantic.Button && (n.Desc.Description == label || has(n))
	}).Desc.Bounds
}

// center returns the middle of r.
func center(r image.Rectangle) image.Point { return r.Min.Add(r.Size().Div(2)) }

// messageText returns the bounds (in dp, scale 1) of the selectable text
// of the message from sender: the clickable area inside its bubble.
func (h *harness) messageText(sender string) image.Rectangle {
	h.t.Helper()
	find := func() input.SemanticNode {
		return h.findNode("message from "+sender, func(n input.SemanticNode) bool {
			return n.Desc.Description == "Message from "+sender
		})
	}
	// The text is selectable while the mouse is over it.
	h.mouse(pointer.Move, 0, center(find().Desc.Bounds))
	h.frame()
	bubble := find()
	for _, c := range bubble.Children {
		if c.Desc.Gestures&input.ClickGesture != 0 && c.Desc.Description == "" {
			return c.Desc.Bounds
		}
	}
	h.t.Fatalf("the message from %s has no selectable text", sender)
	return image.Rectangle{}
}

// clipboard returns what the last frames wrote to the clipboard.
func (h *harness) clipboard() string {
	h.frame()
	_, b, ok := h.router.WriteClipboard()
	if !ok {
		return ""
	}
	return string(b)
}

func (h *harness) mouse(kind pointer.Kind, btn pointer.Buttons, p image.Point) {
	h.router.Queue(pointer.Event{Kind: kind, Source: pointer.Mouse, Buttons: btn, Position: pointf(p, h.scale)})
}

func feedWith(t *testing.T, w, hgt int, text string) (*harness, *fakeSession) {
	be := &fakeBackend{peers: []string{"bruno", "chen"}}
	h := newHarness(t, be, w, hgt)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventBroadcast, From: "bruno", Text: text, Time: fixedNow})
	h.chat().open(model.Everyone)
	h.frame()
	return h, s
}

// TestDoubleClickWordCopies double-clicks a word of a message and copies
// it with Ctrl+C (issue 9, missing 1).
func TestDoubleClickWordCopies(t *testing.T) {
	h, _ := feedWith(t, 1280, 800, "hello wonderful world")
	r := h.messageText("bruno")
	p := image.Pt(r.Min.X+r.Dx()/2, r.Min.Y+r.Dy()/2) // in "wonderful"
	for range 2 {
		h.mouse(pointer.Press, pointer.ButtonPrimary, p)
		h.mouse(pointer.Release, 0, p)
	}
	h.frame()
	h.key("C", key.ModShortcut)
	if got := h.clipboard(); got != "wonderful" {
		t.Fatalf("copied %q after a double click on a word, want %q", got, "wonderful")
	}
}

// TestDragSelectsAndCopies drags across a message's text, which selects
// it, and copies the selection with Ctrl+C; the spaces after emoji come
// back as spaces.
func TestDragSelectsAndCopies(t *testing.T) {
	const text = "ship it 🚀 today, @chen"
	h, _ := feedWith(t, 1280, 800, text)
	r := h.messageText("bruno")
	y := r.Min.Y + r.Dy()/2
	h.mouse(pointer.Move, 0, image.Pt(r.Min.X+1, y))
	h.mouse(pointer.Press, pointer.ButtonPrimary, image.Pt(r.Min.X+1, y))
	for x := r.Min.X + 20; x < r.Max.X+40; x += 20 {
		h.mouse(pointer.Move, pointer.ButtonPrimary, image.Pt(x, y)) // a drag
		h.frame()
	}
	h.mouse(pointer.Release, 0, image.Pt(r.Max.X+40, y))
	h.frame()
	h.key("C", key.ModShortcut)
	if got := h.clipboard(); got != text {
		t.Fatalf("copied %q after dragging across the text, want %q", got, text)
	}
}

// TestRightClickMenuCopies opens the message menu with a right click and
// copies the whole message with its Copy; Esc closes the menu.
func TestRightClickMenuCopies(t *testing.T) {
	const text = "the whole message, please"
	h, _ := feedWith(t, 1280, 800, text)
	c := h.chat()
	r := h.messageText("bruno")
	p := image.Pt(r.Min.X+10, r.Min.Y+r.Dy()/2)
	h.mouse(pointer.Move, 0, p)
	h.mouse(pointer.Press, pointer.ButtonSecondary, p)
	h.mouse(pointer.Release, 0, p)
	h.frame()
	if !c.pane.menu.open {
		t.Fatal("a right click on a message did not open its menu")
	}
	h.key(key.NameEscape, 0)
	if c.pane.menu.open {
		t.Fatal("Esc did not close the message menu")
	}
	h.mouse(pointer.Press, pointer.ButtonSecondary, p)
	h.mouse(pointer.Release, 0, p)
	h.frame()
	h.click(center(h.button("Copy")))
	if got := h.clipboard(); got != text {
		t.Fatalf("Copy in the menu copied %q, want %q", got, text)
	}
	if c.pane.menu.open {
		t.Fatal("the menu stayed open after Copy")
	}
}

// TestLongPressMenuCopies opens the message menu on a phone with a long
// press, and copies the message with Copy. A short tap opens nothing.
func TestLongPressMenuCopies(t *testing.T) {
	const text = "copy me from the phone"
	h, _ := feedWith(t, 360, 780, text)
	c := h.chat()
	c.showThread = true
	h.frame()
	bubble := h.findNode("the message", func(n input.SemanticNode) bool { return n.Desc.Description == "Message from bruno" })
	p := pointf(bubble.Desc.Bounds.Min.Add(image.Pt(20, bubble.Desc.Bounds.Dy()/2)), h.scale)
	touch := func(kind pointer.Kind) {
		h.router.Queue(pointer.Event{Kind: kind, Source: pointer.Touch, Position: p, PointerID: 1})
	}
	touch(pointer.Press)
	h.frame()
	touch(pointer.Release)
	h.frame()
	h.now = h.now.Add(time.Second)
	h.frame()
	if c.pane.menu.open {
		t.Fatal("a tap opened the message menu")
	}
	touch(pointer.Press)
	h.frame()
	h.now = h.now.Add(longPress + 10*time.Millisecond)
	h.frame()
	if !c.pane.menu.open {
		t.Fatal("a long press did not open the message menu")
	}
	touch(pointer.Release)
	h.frame()
	at := center(h.button("Copy"))
	h.router.Queue(
		pointer.Event{Kind: pointer.Press, Source: pointer.Touch, Position: pointf(at, h.scale), PointerID: 2},
		pointer.Event{Kind: pointer.Release, Source: pointer.Touch, Position: pointf(at, h.scale), PointerID: 2},
	)
	h.frame()
	if got := h.clipboard(); got != text {
		t.Fatalf("Copy after a long press copied %q, want %q", got, text)
	}
}

// TestOneSelectionAtATime selects a word in one message, then in another:
// the first selection is dropped, and Ctrl+C copies the second.
func TestOneSelectionAtATime(t *testing.T) {
	h, s := feedWith(t, 1280, 800, "first message here")
	h.push(s, client.Event{Kind: client.EventBroadcast, From: "chen", Text: "second message there", Time: fixedNow})
	dbl := func(sender string) {
		r := h.messageText(sender)
		p := image.Pt(r.Min.X+r.Dx()/2, r.Min.Y+r.Dy()/2)
		for range 2 {
			h.mouse(pointer.Press, pointer.ButtonPrimary, p)
			h.mouse(pointer.Release, 0, p)
		}
		h.frame()
		h.frame()
	}
	dbl("bruno")
	dbl("chen")
	n := 0
	for _, st := range h.chat().msgs.states {
		if st.sel.SelectionLen() > 0 {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d messages have a selection, want 1", n)
	}
	h.key("C", key.ModShortcut)
	if got := h.clipboard(); strings.TrimSpace(got) != "message" {
		t.Fatalf("copied %q, want the word of the second message", got)
	}
}
