package ui

import (
	"slices"
	"strings"
	"testing"

	"gioui.org/io/input"
	"gioui.org/io/key"

	"peerchat/ui/model"
)

// TestMentionCompletion types "@" and the start of a nickname in the
// composer: the people online who match are offered; Tab, Enter and a
// click complete, ↓ moves the highlight, Esc dismisses, and while the
// offer is open Enter does not send (issue 9, missing 4).
func TestMentionCompletion(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno", "chen", "Dana", "dario"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	c := h.chat()
	c.open(model.Everyone)
	h.frame()
	h.frame()
	ts := c.view(model.Everyone)
	ed := &ts.composer.editor
	ac := &ts.composer.complete
	if !h.focused(ed) {
		t.Fatal("composer not focused")
	}

	h.typeText(ed, "hi @da")
	if !ac.active || !slices.Equal(ac.matches, []string{"Dana", "dario"}) {
		t.Fatalf("after \"@da\": offer open %v with %q, want Dana and dario", ac.active, ac.matches)
	}
	h.key(key.NameDownArrow, 0)
	h.key(key.NameUpArrow, 0)
	h.tab(0)
	if got := ed.Text(); got != "hi @Dana " {
		t.Fatalf("Tab completed to %q, want %q", got, "hi @Dana ")
	}
	if !h.focused(ed) {
		t.Fatal("Tab moved the focus out of the composer while completing")
	}

	h.typeText(ed, "@d")
	h.key(key.NameDownArrow, 0)
	h.key(key.NameReturn, 0)
	if got := ed.Text(); got != "hi @Dana @dario " {
		t.Fatalf("↓ Enter completed to %q, want %q", got, "hi @Dana @dario ")
	}
	if slices.ContainsFunc(s.Calls(), func(c string) bool { return strings.HasPrefix(c, "broadcast") }) {
		t.Fatal("Enter in the offer sent the message")
	}

	h.typeText(ed, "@c")
	h.key(key.NameEscape, 0)
	if ac.active || ed.Text() != "hi @Dana @dario @c" {
		t.Fatalf("after Esc: offer open %v, text %q", ac.active, ed.Text())
	}
	if !h.focused(ed) {
		t.Fatal("Esc took the focus from the composer")
	}
	h.typeText(ed, "h") // still dismissed for this "@"
	if ac.active {
		t.Fatal("the dismissed offer came back")
	}

	h.typeText(ed, " @b")
	b := h.findNode("Mention bruno", func(n input.SemanticNode) bool { return n.Desc.Description == "Mention bruno" }).Desc.Bounds
	h.click(b.Min.Add(b.Size().Div(2)))
	if got := ed.Text(); got != "hi @Dana @dario @ch @bruno " {
		t.Fatalf("a click completed to %q", got)
	}

	// Nobody matches, or a word with an @ inside: nothing offered.
	for _, txt := range []string{" @zz", " mail@da"} {
		h.typeText(ed, txt)
		if ac.active {
			t.Fatalf("%q: offered %q", txt, ac.matches)
		}
	}
	// With the offer closed, Enter sends.
	h.key(key.NameReturn, 0)
	if !hasCall(s, "broadcast hi @Dana @dario @ch @bruno  @zz mail@da") {
		t.Fatalf("Enter did not send; calls %q", s.Calls())
	}
}

// TestMentionCompletionEscPhone: on a phone, Esc (back) dismisses the
// offer, and leaves the thread open.
func TestMentionCompletionEscPhone(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno", "Dana"}}
	h := newHarness(t, be, 360, 780)
	h.connect("ana")
	c := h.chat()
	c.open(model.Everyone)
	h.frame()
	h.frame()
	ts := c.view(model.Everyone)
	h.typeText(&ts.composer.editor, "@d")
	if !ts.composer.complete.active {
		t.Fatal("\"@d\" offers nothing")
	}
	for _, k := range []key.Name{key.NameEscape, key.NameBack} {
		h.key(k, 0)
		if ts.composer.complete.active || !c.showThread {
			t.Fatalf("%s: offer open %v, thread shown %v; want the offer closed, the thread shown", k, ts.composer.complete.active, c.showThread)
		}
		h.typeText(&ts.composer.editor, " @d")
	}
}
