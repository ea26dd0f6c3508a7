package ui

import (
	"image"
	"strings"
	"testing"

	"gioui.org/io/input"
	"gioui.org/io/key"

	"peerchat/core/client"
	"peerchat/core/identity"
)

// findNode returns the first node, depth first, for which match holds.
func findNode(n input.SemanticNode, match func(input.SemanticNode) bool) (input.SemanticNode, bool) {
	if match(n) {
		return n, true
	}
	for _, c := range n.Children {
		if f, ok := findNode(c, match); ok {
			return f, true
		}
	}
	return input.SemanticNode{}, false
}

// hasButton reports whether a clickable named name (its description or
// first label) is on screen.
func (h *harness) hasButton(name string) bool {
	h.frame()
	if nodes := h.router.AppendSemantics(nil); len(nodes) > 0 {
		if _, ok := findNode(nodes[0], func(n input.SemanticNode) bool { return interactive(n.Desc) && firstName(n) == name }); ok {
			return true
		}
	}
	return false
}

// clickButton clicks the middle of the button labelled or described name.
func (h *harness) clickButton(name string) {
	h.t.Helper()
	h.frame()
	h.click(center(h.button(name)))
}

// screenText returns every label and description on screen, one a line.
func (h *harness) screenText() string {
	h.frame()
	var sb strings.Builder
	var walk func(n input.SemanticNode)
	walk = func(n input.SemanticNode) {
		for _, s := range []string{n.Desc.Label, n.Desc.Description} {
			if s != "" {
				sb.WriteString(s)
				sb.WriteByte('\n')
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	if nodes := h.router.AppendSemantics(nil); len(nodes) > 0 {
		walk(nodes[0]) // the root: the others are in it
	}
	return sb.String()
}

// keyedChat connects ana, with identities, to a server where bruno is, and
// opens the thread with bruno after evs.
func keyedChat(t *testing.T, w, hgt int, evs ...client.Event) (*harness, *fakeSession) {
	be := &fakeBackend{peers: []string{"bruno", "chen"}, keys: true}
	h := newHarness(t, be, w, hgt)
	s := h.connect("ana")
	h.push(s, evs...)
	h.chat().open("bruno")
	h.frame()
	return h, s
}

// TestVerifyDialog opens the safety number from the thread header's Verify
// and marks the key verified.
func TestVerifyDialog(t *testing.T) {
	for _, size := range []image.Point{{1280, 800}, {360, 780}} {
		h, s := keyedChat(t, size.X, size.Y, client.Event{Kind: client.EventChatOpen, Peer: "bruno", Encrypted: true})
		c := h.chat()
		h.clickButton("Verify")
		if !c.sec.open || c.sec.number != fakeSafety {
			t.Fatalf("%v: dialog open=%v number %q", size, c.sec.open, c.sec.number)
		}
		if txt := h.screenText(); !strings.Contains(txt, "Safety number "+fakeSafety) || !strings.Contains(txt, "44871  90912") {
			t.Fatalf("%v: the number is not on screen: %q", size, txt)
		}
		h.clickButton("Mark as verified")
		if !hasCall(s, "verified bruno true") {
			t.Fatalf("%v: calls %q, want SetVerified", size, s.Calls())
		}
		h.settle(s)
		if !c.m.Thread("bruno").Sec.Verified || !strings.Contains(h.screenText(), "Verified ✓") {
			t.Fatalf("%v: not shown verified: %+v", size, c.m.Thread("bruno").Sec)
		}
		h.clickButton("Close")
		if c.sec.open {
			t.Fatalf("%v: Close left the dialog open", size)
		}
		if !strings.Contains(h.screenText(), "encrypted · verified") {
			t.Fatalf("%v: header does not say verified: %q", size, h.screenText())
		}
		// Esc closes it too.
		h.clickButton("Verify")
		h.key(key.NameEscape, 0)
		if c.sec.open {
			t.Fatalf("%v: Esc left the dialog open", size)
		}
	}
}

// TestKeyChangeBlocksSending: a changed key replaces the composer with the
// notice until Accept new key, which calls AcceptKey; then sending works.
func TestKeyChangeBlocksSending(t *testing.T) {
	for _, wasVerified := range []bool{false, true} {
		h, s := keyedChat(t, 1280, 800,
			client.Event{Kind: client.EventChatOpen, Peer: "bruno", Encrypted: true, Verified: wasVerified},
			client.Event{Kind: client.EventKeyChanged, Peer: "bruno", Verified: wasVerified})
		c := h.chat()
		want := "bruno's key changed"
		if wasVerified {
			want = "bruno's verified key changed!"
		}
		if txt := h.screenText(); !strings.Contains(txt, want) {
			t.Fatalf("verified=%v: no %q on screen: %q", wasVerified, want, txt)
		}
		if c.canSend("bruno") {
			t.Fatalf("verified=%v: can send while the key change waits", wasVerified)
		}
		ed := &c.view("bruno").composer.editor
		ed.SetText("secret")
		h.key(key.NameReturn, 0)
		for _, call := range s.Calls() {
			if strings.HasPrefix(call, "send ") {
				t.Fatalf("verified=%v: sent while blocked: %q", wasVerified, s.Calls())
			}
		}
		h.clickButton("Accept new key")
		if !hasCall(s, "acceptkey bruno") {
			t.Fatalf("verified=%v: calls %q, want AcceptKey", wasVerified, s.Calls())
		}
		h.settle(s)
		if th := c.m.Thread("bruno"); th.Sec.KeyChanged || !c.canSend("bruno") {
			t.Fatalf("verified=%v: still blocked after Accept: %+v", wasVerified, th.Sec)
		}
		h.click(image.Pt(700, 768)) // the composer, back
		h.key(key.NameReturn, 0)
		if !hasCall(s, "send bruno secret") {
			t.Fatalf("verified=%v: calls %q, want the send after Accept", wasVerified, s.Calls())
		}
	}
}

// TestServerKeyChanged shows the warning across the screen; Accept calls
// AcceptServerKey and the warning goes; Disconnect leaves the server.
func TestServerKeyChanged(t *testing.T) {
	changed := client.Event{Kind: client.EventServerKey, KeyResult: identity.Changed, Text: "192.168.1.2:12345"}
	h, s := keyedChat(t, 360, 780, changed)
	if txt := h.screenText(); !strings.Contains(txt, "This server's key changed") {
		t.Fatalf("no warning: %q", txt)
	}
	h.clickButton("Accept new key")
	if !hasCall(s, "acceptserverkey") {
		t.Fatalf("calls %q, want AcceptServerKey", s.Calls())
	}
	h.settle(s)
	if h.chat().m.ServerKeyChanged || strings.Contains(h.screenText(), "This server's key changed") {
		t.Fatal("warning still shown after Accept")
	}

	h, s = keyedChat(t, 1280, 800, changed)
	h.clickButton("Disconnect")
	if h.chat() != nil {
		t.Fatal("Disconnect left the chat screen up")
	}
	if hasCall(s, "acceptserverkey") {
		t.Fatal("Disconnect accepted the key")
	}
}

// TestNotEncryptedLabel: a plaintext chat (a base peer) says "not
// encrypted"; an encrypted one says so; a session without identities says
// nothing and offers no Verify.
func TestNotEncryptedLabel(t *testing.T) {
	h, s := keyedChat(t, 1280, 800, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	if txt := h.screenText(); !strings.Contains(txt, "not encrypted") {
		t.Fatalf("plaintext chat not labelled: %q", txt)
	}
	h.push(s, client.Event{Kind: client.EventChatClosed, Peer: "bruno", Reason: client.ReasonLost},
		client.Event{Kind: client.EventChatOpen, Peer: "bruno", Encrypted: true})
	if txt := h.screenText(); !strings.Contains(txt, "encrypted chat") || strings.Contains(txt, "not encrypted") {
		t.Fatalf("encrypted chat: %q", txt)
	}

	be := &fakeBackend{peers: []string{"bruno"}}
	h = newHarness(t, be, 1280, 800)
	s = h.connect("ana")
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	h.chat().open("bruno")
	if txt := h.screenText(); strings.Contains(txt, "encrypted") {
		t.Fatalf("a session without identities talks of encryption: %q", txt)
	}
	if h.hasButton("Verify") {
		t.Fatal("Verify offered without identities")
	}
}

// TestBroadcastSignatureMark marks a broadcast whose signature is missing
// or bad, and no other.
func TestBroadcastSignatureMark(t *testing.T) {
	h, _ := keyedChat(t, 1280, 800,
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "signed", Signature: client.SigValid},
		client.Event{Kind: client.EventBroadcast, From: "chen", Text: "forged", Signature: client.SigBad},
		client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "unsigned", Signature: client.SigMissing})
	h.chat().open("")
	txt := h.screenText()
	// The space after ⚠ is drawn as a narrower one (fixEmojiSpaces).
	if strings.Count(txt, "signature invalid") != 1 || strings.Count(txt, "signature missing") != 1 {
		t.Fatalf("marks: %q", txt)
	}
}
