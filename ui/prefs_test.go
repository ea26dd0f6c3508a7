package ui

import (
	"errors"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// semNodes returns every node of the last frame's semantic tree.
func (h *harness) semNodes() []input.SemanticNode {
	var out []input.SemanticNode
	var walk func(n input.SemanticNode)
	walk = func(n input.SemanticNode) {
		out = append(out, n)
		for _, c := range n.Children {
			walk(c)
		}
	}
	if nodes := h.router.AppendSemantics(nil); len(nodes) > 0 {
		walk(nodes[0])
	}
	return out
}

// find returns the node described (or labelled) exactly desc, failing the
// test if there is none.
func (h *harness) find(desc string) input.SemanticNode {
	h.t.Helper()
	h.frame()
	var found []input.SemanticNode
	for _, n := range h.semNodes() {
		if n.Desc.Description == desc || n.Desc.Label == desc {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		h.t.Fatalf("nothing on screen named %q", desc)
	}
	for _, n := range found {
		if interactive(n.Desc) {
			return n // the switch, not its title
		}
	}
	// A button named by the text inside it.
	byID := map[input.SemanticID]input.SemanticNode{}
	for _, n := range h.semNodes() {
		byID[n.ID] = n
	}
	for _, n := range found {
		for p, ok := byID[n.ParentID]; ok; p, ok = byID[p.ParentID] {
			if interactive(p.Desc) && p.Desc.Class != semantic.Unknown {
				return p
			}
		}
	}
	return found[0]
}

// has reports whether a node's label or description contains s.
func (h *harness) has(s string) bool {
	h.frame()
	for _, n := range h.semNodes() {
		if strings.Contains(n.Desc.Label, s) || strings.Contains(n.Desc.Description, s) {
			return true
		}
	}
	return false
}

// clickOn clicks the middle of the element named desc, as a user would.
func (h *harness) clickOn(desc string) {
	h.t.Helper()
	b := h.find(desc).Desc.Bounds
	c := b.Min.Add(b.Max).Div(2)
	h.click(image.Pt(int(float32(c.X)/h.scale), int(float32(c.Y)/h.scale)))
}

// TestSettingsPanelPersists changes the theme, the text size, connecting
// at start, refusing unencrypted chats and read receipts in the settings
// panel, and finds
// them applied, told to the program (Config.SettingsChanged) and kept by
// the next App.
func TestSettingsPanelPersists(t *testing.T) {
	var told []Settings // by Config.SettingsChanged
	tell := func(c *Config) { c.SettingsChanged = func(s Settings) { told = append(told, s) } }
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800, tell)
	if len(told) != 1 || told[0].RequireEncryption {
		t.Fatalf("settings told at start %+v, want one, encryption not required", told)
	}
	h.connect("ana")
	h.clickOn("Settings")
	if !h.chat().settings.open {
		t.Fatal("the settings panel did not open")
	}
	if h.a.th.Dark {
		t.Fatal("dark before choosing it")
	}
	h.clickOn("Theme: Dark")
	if !h.a.th.Dark {
		t.Fatal("choosing Dark did not make the theme dark")
	}
	if n := h.find("Theme: Dark"); !n.Desc.Selected || n.Desc.Class != semantic.RadioButton {
		t.Errorf("Theme: Dark: %+v, want a selected radio button", n.Desc)
	}
	h.clickOn("Text size: Large")
	h.clickOn("Connect at start")
	if n := h.find("Refuse unencrypted chats"); n.Desc.Class != semantic.Switch || n.Desc.Selected {
		t.Errorf("Refuse unencrypted chats: %+v, want a switch, off", n.Desc)
	}
	h.clickOn("Refuse unencrypted chats")
	if n := h.find("Send read receipts"); n.Desc.Class != semantic.Switch || n.Desc.Selected {
		t.Errorf("Send read receipts: %+v, want a switch, off", n.Desc)
	}
	h.clickOn("Send read receipts")
	saved, err := LoadSettings(h.plat.dir)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Theme != ThemeDark || saved.TextSize != TextLarge || !saved.AutoConnect || !saved.RequireEncryption || !saved.ReadReceipts {
		t.Fatalf("saved %+v, want dark, large text, connect at start, encryption required, read receipts", saved)
	}
	if last := told[len(told)-1]; !last.RequireEncryption || !last.ReadReceipts {
		t.Fatalf("the program was last told %+v, want encryption required and read receipts", last)
	}
	h.env.Dark = true
	h.clickOn("Theme: Light")
	if h.a.th.Dark {
		t.Fatal("Light chosen, the system's dark preference won")
	}
	h.clickOn("Theme: System")
	if !h.a.th.Dark {
		t.Fatal("System chosen, the system's dark preference was not followed")
	}

	// The next run: the same settings, applied from the first frame.
	saved.Theme = ThemeDark
	if err := SaveSettings(h.plat.dir, saved); err != nil {
		t.Fatal(err)
	}
	be := &fakeBackend{}
	told = nil
	h2 := newHarness(t, be, 1280, 800, func(c *Config) { c.Platform = h.plat }, tell)
	if len(told) != 1 || !told[0].RequireEncryption {
		t.Fatalf("settings told at the next start %+v, want encryption required", told)
	}
	h2.frame()
	if !h2.a.th.Dark {
		t.Error("the theme was not kept across a restart")
	}
	if h2.a.settings.TextSize != TextLarge {
		t.Error("the text size was not kept across a restart")
	}
	// Connect at start: straight to the chat screen, with the last server.
	h2.waitFor("the chat screen at start", func() bool { return h2.chat() != nil })
	if s := be.session(); s.nick != "ana" || s.server != "192.168.1.2:12345" {
		t.Fatalf("connected at start as %q to %q", s.nick, s.server)
	}
}

// TestNoAutoConnect checks that without "Connect at start" the App waits
// on the connect screen, with the last nickname and server filled in.
func TestNoAutoConnect(t *testing.T) {
	plat := &memPlatform{dir: t.TempDir()}
	if err := SaveSettings(plat.dir, Settings{Nick: "ana", Server: "192.168.1.2:12345"}); err != nil {
		t.Fatal(err)
	}
	be := &fakeBackend{}
	h := newHarness(t, be, 1280, 800, func(c *Config) { c.Platform = plat })
	h.frame()
	h.frame()
	if cs := h.connectScreen(); cs.busy || be.session() != nil || h.chat() != nil {
		t.Fatal("connected at start without being asked to")
	}
	if cs := h.connectScreen(); cs.nick.Text() != "ana" || cs.addr.Text() != "192.168.1.2:12345" {
		t.Fatalf("fields %q %q, want the last nickname and server", cs.nick.Text(), cs.addr.Text())
	}
}

// TestTextSizeScales checks that the text size scales text, and only text.
func TestTextSizeScales(t *testing.T) {
	a := &App{th: newTheme()}
	gtx := layout.Context{Metric: unit.Metric{PxPerDp: 2, PxPerSp: 2}}
	for _, tt := range []struct {
		size TextSize
		sp   float32
	}{{TextNormal, 2}, {TextSmall, 2 * 0.875}, {TextLarge, 2 * 1.2}, {"huge", 2}} {
		a.settings.TextSize = tt.size
		g := a.applySettings(gtx, Env{})
		if g.Metric.PxPerSp != tt.sp || g.Metric.PxPerDp != 2 {
			t.Errorf("%q: metric %+v, want %v px per sp and 2 per dp", tt.size, g.Metric, tt.sp)
		}
	}
}

// TestMuteChat mutes a chat from its header (on a phone, from the menu
// under ⋮): the header says so, the setting is kept, and unmuting undoes
// it.
func TestMuteChat(t *testing.T) {
	for _, w := range []int{360, 1280} {
		h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, w, 800)
		s := h.connect("ana")
		h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
		h.chat().open("bruno")
		phone := w < 600
		if phone {
			h.clickOn("More actions")
		}
		h.clickOn("Mute notifications")
		saved, err := LoadSettings(h.plat.dir)
		if err != nil || !saved.Muted("bruno") || saved.Muted(model.Everyone) {
			t.Fatalf("width %d: saved %+v, %v; want bruno muted", w, saved, err)
		}
		if phone {
			if h.chat().pane.head.menuOpen {
				t.Fatal("the menu stayed open after Mute")
			}
			h.clickOn("More actions")
		}
		if n := h.find("Unmute notifications"); n.Desc.Class != semantic.Button {
			t.Errorf("width %d: the mute button is %+v", w, n.Desc)
		}
		h.clickOn("Unmute notifications")
		if saved, _ := LoadSettings(h.plat.dir); saved.Muted("bruno") || len(saved.MutedChats) != 0 {
			t.Fatalf("width %d: saved %+v after unmuting", w, saved)
		}
	}
}

// TestMuteChatSilences: a chat muted from its header raises no
// notification, also in the next run (the setting is kept), while another
// chat still does; unmuted, it does again.
func TestMuteChatSilences(t *testing.T) {
	msg := func(nick, text string) client.Event {
		return client.Event{Kind: client.EventChatMsg, From: nick, Peer: nick, Text: text, Time: fixedNow}
	}
	notes := func(h *harness) []string {
		h.plat.mu.Lock()
		defer h.plat.mu.Unlock()
		n := slices.Clone(h.plat.notes)
		h.plat.notes = nil
		return n
	}
	h := newHarness(t, &fakeBackend{peers: []string{"bruno", "chen"}}, 1280, 800)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	h.chat().open("bruno")
	h.clickOn("Mute notifications")
	h.chat().open(model.Everyone)
	h.env.Focused = false
	h.frame()
	h.push(s, msg("bruno", "muted"), msg("chen", "not muted"))
	if got, want := notes(h), []string{"chen: not muted"}; !slices.Equal(got, want) {
		t.Fatalf("notifications %q, want %q", got, want)
	}

	// The next run, from the saved settings.
	h2 := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
	h2.plat.dir = h.plat.dir
	saved, err := LoadSettings(h.plat.dir)
	if err != nil {
		t.Fatal(err)
	}
	h2.a.settings = saved
	s2 := h2.connect("ana")
	h2.env.Focused = false
	h2.frame()
	h2.push(s2, msg("bruno", "still muted"))
	if got := notes(h2); len(got) != 0 {
		t.Fatalf("notifications %q from a chat muted in the last run", got)
	}

	h.chat().open("bruno")
	h.env.Focused = true
	h.frame()
	h.clickOn("Unmute notifications")
	h.chat().open(model.Everyone)
	h.env.Focused = false
	h.frame()
	h.push(s, msg("bruno", "unmuted"))
	if got, want := notes(h), []string{"bruno: unmuted"}; !slices.Equal(got, want) {
		t.Fatalf("notifications %q, want %q", got, want)
	}
}

func TestSettingsMuted(t *testing.T) {
	var s Settings
	s.SetMuted("chen", true)
	s.SetMuted("ana", true)
	s.SetMuted("ana", true)
	if !s.Muted("ana") || !s.Muted("chen") || s.Muted("bruno") || len(s.MutedChats) != 2 || s.MutedChats[0] != "ana" {
		t.Fatalf("%q", s.MutedChats)
	}
	s.SetMuted("ana", false)
	s.SetMuted("bruno", false)
	if s.Muted("ana") || len(s.MutedChats) != 1 {
		t.Fatalf("%q", s.MutedChats)
	}
}

// TestLinkOpenFails reproduces issue 9, defect 13: a link whose opener
// fails shows an error, which goes after a while or with Dismiss.
func TestLinkOpenFails(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, 1280, 800)
	h.plat.openErr = errors.New("xdg-open: no method available")
	h.connect("ana")
	h.a.openURL("https://example.com/agenda") // as a click on a link does
	h.waitFor("the error", func() bool { return h.has("Couldn't open https://example.com/agenda") })
	h.now = h.now.Add(toastFor)
	h.frame()
	if h.has("Couldn't open") {
		t.Fatal("the error is still shown after its time")
	}
	h.a.openURL("https://example.com/agenda")
	h.waitFor("the error again", func() bool { return h.has("Couldn't open") })
	h.clickOn("Dismiss")
	if h.has("Couldn't open") {
		t.Fatal("Dismiss did not hide the error")
	}
	// A link that opens shows nothing.
	h.plat.mu.Lock()
	h.plat.openErr = nil
	h.plat.mu.Unlock()
	n := len(h.plat.opened)
	h.a.openURL("https://example.com/ok")
	h.waitFor("the link opened", func() bool { h.plat.mu.Lock(); defer h.plat.mu.Unlock(); return len(h.plat.opened) > n })
	if h.has("Couldn't open") {
		t.Fatal("an error for a link that opened")
	}
}

// TestLongNameHeader reproduces issue 9, defect 13: a long name in the
// thread header is shortened in its middle, keeping its end, with the
// whole name in a tooltip; on a phone, Leave chat is an icon that leaves
// the subtitle its room (seen in the screen long-name-header-phone).
func TestLongNameHeader(t *testing.T) {
	const long = "Wolfeschlegelsteinhausenberger-laptop"
	h := newHarness(t, &fakeBackend{peers: []string{long}}, 360, 780)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: long})
	h.chat().open(model.Key(long))
	h.frame()
	var title string
	for _, n := range h.semNodes() {
		if l := n.Desc.Label; strings.HasPrefix(l, "Wolfe") && strings.Contains(l, "…") {
			title = l
		}
	}
	if !strings.HasSuffix(title, "laptop") {
		t.Fatalf("header title %q, want the name shortened in its middle, its end kept", title)
	}
	leave := h.find("Leave chat")
	if leave.Desc.Class != semantic.Button || leave.Desc.Bounds.Dx() > 48 {
		t.Errorf("Leave chat on a phone: %+v, want an icon button", leave.Desc)
	}
	// Hover the title: the whole name.
	b := h.find(title).Desc.Bounds
	p := b.Min.Add(b.Max).Div(2)
	h.router.Queue(pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pointf(p, h.scale)})
	h.frame()
	h.now = h.now.Add(tipHoverDelay + time.Millisecond)
	h.frame()
	h.now = h.now.Add(tipFade)
	h.frame()
	if !h.has(long) {
		t.Fatal("no tooltip with the whole name")
	}
	h.clickOn("Leave chat")
	if calls := s.Calls(); len(calls) == 0 || calls[len(calls)-1] != "leave "+long {
		t.Fatalf("calls %q, want leave", calls)
	}
}

func TestMiddleEllipsis(t *testing.T) {
	th := newTheme()
	gtx := layout.Context{Ops: new(op.Ops), Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}}
	l := th.bold(sizeTitle, th.Pal.Text, "Wolfeschlegelsteinhausenberger")
	got, cut := middleEllipsis(gtx, l, 120)
	if !cut || !strings.Contains(got, "…") || !strings.HasPrefix(got, "Wo") || !strings.HasSuffix(got, "er") {
		t.Fatalf("middleEllipsis = %q, %v", got, cut)
	}
	if got, cut := middleEllipsis(gtx, l, 10000); cut || got != l.Text {
		t.Fatalf("a name that fits: %q, %v", got, cut)
	}
	// Emoji with a skin tone are never split.
	l.Text = strings.Repeat("👍🏽", 20)
	got, cut = middleEllipsis(gtx, l, 120)
	head, tail, ok := strings.Cut(got, "…")
	if !cut || !ok || strings.Count(head, "👍🏽")*len("👍🏽") != len(head) || strings.Count(tail, "👍🏽")*len("👍🏽") != len(tail) {
		t.Fatalf("middleEllipsis split an emoji: %q", got)
	}
}

// TestPhoneHeaderMenu checks the menu of a phone's thread header: Delete
// history from it asks first; Esc and a click outside close it.
func TestPhoneHeaderMenu(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 360, 780, func(c *Config) { c.History = &memHistory{} })
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	c := h.chat()
	c.open("bruno")
	h.frame()
	if h.has("Delete history") || h.has("Mute notifications") {
		t.Fatal("the menu's actions show in a phone's header")
	}
	h.clickOn("More actions")
	if !c.pane.head.menuOpen || !h.has("Delete history") {
		t.Fatal("⋮ did not open the menu")
	}
	h.clickOn("Delete history")
	if c.pane.head.menuOpen || !c.pane.confirmDel {
		t.Fatalf("Delete history: menu open %v, asking %v", c.pane.head.menuOpen, c.pane.confirmDel)
	}
	c.pane.confirmDel = false
	h.clickOn("More actions")
	h.key(key.NameEscape, 0)
	if c.pane.head.menuOpen || !c.showThread {
		t.Fatalf("Esc: menu open %v, thread shown %v; want the menu closed, the thread kept", c.pane.head.menuOpen, c.showThread)
	}
	h.clickOn("More actions")
	h.click(image.Pt(180, 400)) // the messages, outside the menu
	if c.pane.head.menuOpen {
		t.Fatal("a click outside did not close the menu")
	}
}
