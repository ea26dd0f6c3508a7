package ui

import (
	"image"
	"strings"
	"testing"
	"time"

	"gioui.org/io/input"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"

	"peerchat/ui/model"
)

// longNick is a nickname too long for a row of the sidebar.
const longNick = "Wolfeschlegelsteinhausenberger7"

// rowOf returns the node of the people list's row of the person nick: the
// button whose label (or a label inside it) starts with the start of nick.
func (h *harness) rowOf(nick string) input.SemanticNode {
	h.t.Helper()
	head := nick[:5]
	var has func(n input.SemanticNode) bool
	has = func(n input.SemanticNode) bool {
		if strings.HasPrefix(n.Desc.Label, head) {
			return true
		}
		for _, c := range n.Children {
			if has(c) {
				return true
			}
		}
		return false
	}
	return h.findNode("the row of "+nick, func(n input.SemanticNode) bool {
		return n.Desc.Class == semantic.Button && n.Desc.Bounds.Min.X < 10 && has(n)
	})
}

// labels returns every label under n, n's first.
func labels(n input.SemanticNode) []string {
	var out []string
	if n.Desc.Label != "" {
		out = append(out, n.Desc.Label)
	}
	for _, c := range n.Children {
		out = append(out, labels(c)...)
	}
	return out
}

// TestPeopleRowLongNameAndMuted: a name too long for its row loses its
// middle, not its end, and shows whole in a tooltip when the mouse rests
// on it; the row of a muted chat shows the muted mark (issue 9, defect 13
// and missing 6).
func TestPeopleRowLongNameAndMuted(t *testing.T) {
	be := &fakeBackend{peers: []string{longNick, "bruno"}}
	h := newHarness(t, be, 1280, 800)
	h.connect("ana")
	c := h.chat()

	ls := labels(h.rowOf(longNick))
	name := ""
	for _, l := range ls {
		if strings.HasPrefix(l, "Wolfe") {
			name = l
		}
	}
	if !strings.HasPrefix(name, "Wolfe") || !strings.Contains(name, "…") || !strings.HasSuffix(name, "berger7") {
		t.Fatalf("row of %s labelled %q, want the name shortened in its middle", longNick, ls)
	}
	if strings.Contains(strings.Join(labels(h.rowOf("bruno")), "\n"), "Muted") {
		t.Fatal("bruno's row shows the muted mark before being muted")
	}

	// The whole name in a tooltip, after the mouse rests on the name.
	r := h.rowOf(longNick).Desc.Bounds
	h.mouse(pointer.Move, 0, r.Min.Add(image.Pt(100, r.Dy()/3))) // on the name
	h.frame()
	h.now = h.now.Add(tipHoverDelay + tipFade + 10*time.Millisecond)
	h.frame()
	h.frame()
	if !strings.Contains(h.screenText(), longNick+"\n") {
		t.Fatalf("no tooltip with the whole name %q; screen:\n%s", longNick, h.screenText())
	}

	c.setChatMuted(model.Key("bruno"), true)
	h.frame()
	if got := labels(h.rowOf("bruno")); !strings.Contains(strings.Join(got, "\n"), "Muted") {
		t.Fatalf("bruno's row after muting his chat: %q, want the muted mark", got)
	}
	c.setChatMuted(model.Key("bruno"), false)
	h.frame()
	if got := labels(h.rowOf("bruno")); strings.Contains(strings.Join(got, "\n"), "Muted") {
		t.Fatalf("bruno's row after unmuting: %q, still muted", got)
	}
}

// TestServerAddressKeepsPort: the server's address under the user's name
// in the sidebar shows whole at phone and desktop sizes, next to the
// header's three buttons; an address too long for its place loses its
// middle, never its port.
func TestServerAddressKeepsPort(t *testing.T) {
	for _, sz := range sizes {
		for _, addr := range []string{"192.168.1.2:12345", "peerchat-server.third-floor.office.example.com:12345"} {
			t.Run(sz.name+"-"+addr, func(t *testing.T) {
				h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, sz.w, sz.h)
				cs := h.connectScreen()
				cs.nick.SetText("ana")
				cs.addr.SetText(addr)
				cs.start(false)
				h.waitFor("the chat screen", func() bool { return h.chat() != nil })
				h.settle(h.be.session())
				shown := ""
				for _, n := range h.semanticNodes() {
					if l := n.Desc.Label; strings.HasPrefix(l, addr[:6]) {
						shown = l
					}
				}
				short := len(addr) < 20
				switch {
				case short && shown != addr:
					t.Fatalf("server shown as %q, want %q whole", shown, addr)
				case !short && (!strings.Contains(shown, "…") || !strings.HasSuffix(shown, ":12345")):
					t.Fatalf("server shown as %q, want it shortened in its middle, with its port", shown)
				}
			})
		}
	}
}

// TestOwnLongNameShortened: the user's own name in the sidebar's header,
// too long for its place beside the buttons, loses its middle, not its end.
func TestOwnLongNameShortened(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
	h.connect(longNick)
	shown := ""
	for _, n := range h.semanticNodes() {
		if l := n.Desc.Label; strings.HasPrefix(l, "Wolfe") && n.Desc.Bounds.Max.X < 320 {
			shown = l
		}
	}
	if !strings.Contains(shown, "…") || !strings.HasSuffix(shown, "berger7") {
		t.Fatalf("own name shown as %q, want it shortened in its middle", shown)
	}
}
