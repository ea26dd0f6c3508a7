package ui

import (
	"fmt"
	"image"
	"net"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/unit"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/wire"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

func hasCall(s *fakeSession, want string) bool {
	return slices.Contains(s.Calls(), want)
}

// TestTypeNickAndConnect focuses the nickname field with Tab, types a
// nickname, and connects with Enter.
func TestTypeNickAndConnect(t *testing.T) {
	base := runtime.NumGoroutine()
	be := &fakeBackend{servers: lanServers}
	h := newHarness(t, be, 360, 780)
	h.frame()
	cs := h.connectScreen()
	h.click(image.Pt(180, 156)) // the nickname field
	if !h.focused(&cs.nick) {
		t.Fatal("nickname field not focused by a click")
	}
	h.typeText(&cs.nick, "ana")
	if got := cs.nick.Text(); got != "ana" {
		t.Fatalf("nick field %q after typing, want %q", got, "ana")
	}
	cs.addr.SetText("192.168.1.2") // no port: the default is added
	h.key(key.NameReturn, 0)
	h.waitFor("the chat screen", func() bool { return h.chat() != nil })
	s := be.session()
	if s.nick != "ana" || s.server != "192.168.1.2:12345" {
		t.Fatalf("connected as %q to %q, want ana to 192.168.1.2:12345", s.nick, s.server)
	}
	got, err := LoadSettings(h.plat.dir)
	if err != nil || got.Nick != "ana" || got.Server != "192.168.1.2:12345" {
		t.Fatalf("settings %+v, %v", got, err)
	}
	h.a.Close()
	if !s.closed {
		t.Error("session not closed with the App")
	}
	waitGoroutines(t, base)
}

// TestNickValidation checks the connect screen refuses a bad nickname
// without dialing, and explains a taken one with a suggestion.
func TestNickValidation(t *testing.T) {
	tests := []struct {
		nick      string
		taken     bool
		wantDial  bool
		wantSuggs string
	}{
		{nick: "has space", wantDial: false},
		{nick: `quo"te`, wantDial: false},
		{nick: "ana", taken: true, wantDial: true, wantSuggs: "ana2"},
		{nick: "bob9", taken: true, wantDial: true, wantSuggs: "bob10"},
	}
	for _, tt := range tests {
		t.Run(tt.nick, func(t *testing.T) {
			be := &fakeBackend{}
			if tt.taken {
				be.connErr = ErrNickTaken
			}
			h := newHarness(t, be, 360, 780)
			cs := h.connectScreen()
			cs.nick.SetText(tt.nick)
			cs.addr.SetText("10.0.0.1:12345")
			cs.start(false)
			h.waitFor("the answer", func() bool { return !cs.busy })
			if tt.wantDial != (cs.err != nil && tt.taken) && tt.wantDial {
				t.Fatalf("err %v", cs.err)
			}
			if !tt.wantDial && cs.err == nil {
				t.Fatal("bad nickname accepted")
			}
			if cs.suggestion != tt.wantSuggs {
				t.Fatalf("suggestion %q, want %q", cs.suggestion, tt.wantSuggs)
			}
			if tt.taken {
				// The suggestion button connects with the new nickname.
				cs.suggestBtn.Click()
				h.waitFor("the chat screen", func() bool { return h.chat() != nil })
				if got := be.session().nick; got != tt.wantSuggs {
					t.Fatalf("connected as %q, want %q", got, tt.wantSuggs)
				}
			}
		})
	}
}

// TestOpenThreadAndSend clicks a person with no chat open and types at
// once: Enter sends, and the send itself asks for the chat (the client
// core's Send invites, as the fake does), with no button to click first.
// The composer stays while the request waits; once the chat opens, Enter
// sends, Shift+Enter makes a newline.
func TestOpenThreadAndSend(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno", "chen"}, invites: true}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	// Desktop: header 65, Everyone row 64, "PEOPLE" label, then 64 dp rows.
	h.click(image.Pt(150, 195))
	c := h.chat()
	if c.current != "bruno" {
		t.Fatalf("current thread %q after clicking the first person, want bruno", c.current)
	}
	ed := &c.view("bruno").composer.editor
	if !h.focused(ed) {
		t.Fatal("the composer of a peer with no chat does not take the focus")
	}
	if txt := h.screenText(); !strings.Contains(txt, "Sending asks bruno for a private chat") {
		t.Fatalf("no hint of what sending does: %q", txt)
	}
	h.typeText(ed, "hi, got a minute?")
	h.key(key.NameReturn, 0)
	if !hasCall(s, "send bruno hi, got a minute?") {
		t.Fatalf("Enter on a thread with no chat: calls %q, want the send", s.Calls())
	}
	if hasCall(s, "invite bruno") {
		t.Fatalf("the UI invited beside the send: calls %q", s.Calls())
	}
	h.settle(s)
	th := c.m.Thread("bruno")
	if th.Chat != client.ChatInviting {
		t.Fatalf("chat %v after the send, want the request the send made", th.Chat)
	}
	if i := slices.IndexFunc(th.Messages, func(m model.Message) bool { return m.Mine }); i < 0 ||
		th.Messages[i].State != delivery.Pending || th.Messages[i].Text != "hi, got a minute?" {
		t.Fatalf("messages %+v, want ours, pending", th.Messages)
	}
	// While the request waits, the composer says so and takes more.
	if txt := h.screenText(); !strings.Contains(txt, "Your messages go out once bruno accepts") {
		t.Fatalf("no word of the request: %q", txt)
	}
	h.typeText(ed, "it's about the deploy")
	h.key(key.NameReturn, 0)
	if !hasCall(s, "send bruno it's about the deploy") || ed.Text() != "" {
		t.Fatalf("second message while the request waits: calls %q, composer %q", s.Calls(), ed.Text())
	}
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	h.click(image.Pt(700, 768)) // the composer
	h.typeText(ed, "one")
	h.key(key.NameReturn, key.ModShift)
	h.typeText(ed, "two")
	h.key(key.NameReturn, 0)
	if !hasCall(s, "send bruno one\ntwo") {
		t.Fatalf("calls %q, want a send of two lines", s.Calls())
	}
	last := th.Messages[len(th.Messages)-1]
	if !last.Mine || last.State != delivery.Pending || last.ID != 3 {
		t.Fatalf("last message %+v", last)
	}
	h.push(s, client.Event{Kind: client.EventSent, Peer: "bruno", ID: 3})
	if got := th.Messages[len(th.Messages)-1].State; got != delivery.Sent {
		t.Fatalf("state %v once written, want Sent", got)
	}
	h.push(s, client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 3})
	if got := th.Messages[len(th.Messages)-1].State; got != delivery.Delivered {
		t.Fatalf("state %v after the ack, want Delivered", got)
	}
	if c.view("bruno").composer.editor.Text() != "" {
		t.Fatal("composer not cleared")
	}
}

// TestBroadcastFeed sends to everyone and sees the echo confirm it.
func TestBroadcastFeed(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	h.click(image.Pt(700, 768))
	h.typeText(&h.chat().view(model.Everyone).composer.editor, "hello all")
	h.key(key.NameEnter, 0)
	if !hasCall(s, "broadcast hello all") {
		t.Fatalf("calls %q", s.Calls())
	}
	feed := h.chat().m.Thread(model.Everyone)
	if st := feed.Messages[len(feed.Messages)-1].State; st != delivery.Pending {
		t.Fatalf("state %v before the echo, want Pending", st)
	}
	h.push(s, client.Event{Kind: client.EventBroadcast, From: "ana", Text: "hello all", Time: fixedNow, ID: 1})
	if n, st := len(feed.Messages), feed.Messages[len(feed.Messages)-1].State; n != 1 || st != delivery.Delivered {
		t.Fatalf("%d messages, last %v after the echo, want 1 Delivered", n, st)
	}
}

// TestAcceptRequest accepts an invite from the card on the phone layout.
func TestAcceptRequest(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno", "Dana"}}
	h := newHarness(t, be, 360, 780)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventInvite, From: "Dana", Expires: fixedNow.Add(20 * time.Second)},
		client.Event{Kind: client.EventInvite, From: "bruno", Expires: fixedNow.Add(5 * time.Second)})
	if n := len(h.chat().m.Invites); n != 2 {
		t.Fatalf("%d invites queued, want 2", n)
	}
	h.click(image.Pt(259, 169)) // Accept on the first card
	if !hasCall(s, "accept Dana") {
		t.Fatalf("calls %q, want accept Dana", s.Calls())
	}
	c := h.chat()
	if c.current != model.Key("Dana") || !c.showThread {
		t.Fatalf("thread %q shown=%v after accepting, want Dana's", c.current, c.showThread)
	}
	// The other request expires on its own.
	h.now = fixedNow.Add(6 * time.Second)
	h.frame()
	if n := len(c.m.Invites); n != 0 {
		t.Fatalf("%d invites after expiry, want 0", n)
	}
	if hasCall(s, "accept bruno") || hasCall(s, "decline bruno") {
		t.Fatal("the expired request was answered")
	}
}

// TestPhoneBack opens a thread on the phone layout and goes back with the
// back key, Esc, and the back button.
func TestPhoneBack(t *testing.T) {
	tests := []struct {
		name string
		back func(h *harness)
	}{
		{"android-back", func(h *harness) { h.key(key.NameBack, 0) }},
		{"escape", func(h *harness) { h.key(key.NameEscape, 0) }},
		{"button", func(h *harness) { h.click(image.Pt(32, 32)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &fakeBackend{peers: []string{"bruno"}}
			h := newHarness(t, be, 360, 780)
			h.connect("ana")
			c := h.chat()
			if c.showThread {
				t.Fatal("phone starts on the thread, want the people list")
			}
			h.click(image.Pt(150, 97)) // Everyone
			if !c.showThread || c.current != model.Everyone {
				t.Fatalf("after clicking Everyone: shown=%v current=%q", c.showThread, c.current)
			}
			tt.back(h)
			if c.showThread {
				t.Fatal("still on the thread after back")
			}
			if h.chat() != c {
				t.Fatal("back left the chat screen")
			}
		})
	}
}

// TestReconnectBanner shows the banner and retries on demand.
func TestReconnectBanner(t *testing.T) {
	be := &fakeBackend{}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventReconnecting, Attempt: 1, RetryIn: 5 * time.Second})
	if h.chat().m.Conn.State != model.Reconnecting {
		t.Fatal("no reconnecting state")
	}
	h.click(image.Pt(1220, 24)) // "Retry now" at the right of the banner
	if !hasCall(s, "reconnect") {
		t.Fatalf("calls %q, want reconnect", s.Calls())
	}
	h.push(s, client.Event{Kind: client.EventReconnected, Text: "192.168.1.2:12345"})
	if h.chat().m.Conn.State != model.Connected {
		t.Fatal("still reconnecting")
	}
}

// memHistory is a History in memory, stored like historystore does: private
// threads under the folded nickname, messages numbered from 1. Safe for
// concurrent use.
type memHistory struct {
	mu      sync.Mutex
	threads map[string][]model.Message
	saved   []string
	updated []delivery.State
	loads   int // Load calls
}

func memName(thread string) string {
	if thread == model.Everyone {
		return thread
	}
	return wire.FoldNick(thread)
}

func (h *memHistory) Threads() ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k, ms := range h.threads {
		if k != model.Everyone && len(ms) > 0 {
			out = append(out, k)
		}
	}
	return out, nil
}

func (h *memHistory) Load(thread string, before uint64, n int) ([]model.Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.loads++
	ms := h.threads[memName(thread)]
	end := len(ms)
	if before != 0 {
		end = sort.Search(len(ms), func(i int) bool { return ms[i].Seq >= before })
	}
	return slices.Clone(ms[max(0, end-n):end]), nil
}

func (h *memHistory) Write(ws []historystore.Write) error {
	for _, w := range ws {
		switch w.Op {
		case historystore.Append:
			h.append(w.Thread, w.Msg)
		case historystore.SetState:
			h.mu.Lock()
			h.updated = append(h.updated, w.Msg.State)
			h.mu.Unlock()
		case historystore.Delete:
			h.mu.Lock()
			delete(h.threads, memName(w.Thread))
			h.mu.Unlock()
		}
	}
	return nil
}

// append stores m at the end of thread.
func (h *memHistory) append(thread string, m model.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.threads == nil {
		h.threads = map[string][]model.Message{}
	}
	name := memName(thread)
	m.Seq = uint64(len(h.threads[name]) + 1)
	h.threads[name] = append(h.threads[name], m)
	h.saved = append(h.saved, thread+": "+m.Text)
}

// TestHistory seeds the threads from History and records new messages in it.
func TestHistory(t *testing.T) {
	hist := &memHistory{threads: map[string][]model.Message{
		model.Everyone: {{From: "chen", Text: "from last week", Time: fixedNow.AddDate(0, 0, -7), Seq: 1}},
		"gus":          {{From: "ana", Text: "see you", Time: fixedNow.AddDate(0, 0, -2), Seq: 1, State: delivery.Delivered}},
	}}
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 1280, 800, func(c *Config) { c.History = hist })
	s := h.connect("ana")
	c := h.chat()
	if got := c.m.Thread(model.Everyone).Messages; len(got) != 1 || got[0].Text != "from last week" {
		t.Fatalf("feed %+v", got)
	}
	if g := c.m.Thread("gus").Messages; len(g) != 1 || !g[0].Mine || c.m.Online("gus") {
		t.Fatalf("gus %+v", g)
	}
	h.push(s, client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "new", Time: fixedNow})
	if !slices.Contains(hist.saved, ": new") {
		t.Fatalf("saved %q", hist.saved)
	}
}

// TestEscapeKeepsSession checks that Esc on the desktop layout, where there is
// nothing to go back to, does not disconnect.
func TestEscapeKeepsSession(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	c := h.chat()
	h.key(key.NameEscape, 0)
	h.key(key.NameBack, 0)
	if h.chat() != c || s.closed {
		t.Fatal("Esc left the chat screen")
	}
}

// TestEscapeClosesThreadDesktop: on a wide window Esc closes a private
// thread and shows the Everyone feed (there is no empty thread pane), and
// never leaves the server.
func TestEscapeClosesThreadDesktop(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	c := h.chat()
	c.open("bruno")
	h.frame()
	h.key(key.NameEscape, 0)
	if c.current != model.Everyone {
		t.Fatalf("after Esc the thread shown is %q, want the Everyone feed", c.current)
	}
	h.key(key.NameEscape, 0)
	if h.chat() != c || s.closed || c.current != model.Everyone {
		t.Fatal("a second Esc on the feed did something")
	}
}

// TestOpenLink clicks a link in a message and sees the platform asked to open it.
func TestOpenLink(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "https://example.com/agenda is up", Time: fixedNow})
	// The only message sits at the bottom of the feed, right of the sidebar
	// and the avatar, its text line just above the time.
	h.click(image.Pt(450, 688))
	opened := func() []string {
		h.plat.mu.Lock()
		defer h.plat.mu.Unlock()
		return append([]string(nil), h.plat.opened...)
	}
	h.waitFor("the link handed to the platform", func() bool { return len(opened()) > 0 }) // off the UI goroutine
	if o := opened(); len(o) != 1 || o[0] != "https://example.com/agenda" {
		t.Fatalf("opened %q, want the link", o)
	}
}

// TestUnread counts unread messages for the window title.
func TestUnread(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 360, 780)
	if h.a.Unread() != 0 {
		t.Fatal("unread before connecting")
	}
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "one", Time: fixedNow},
		client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "two", Time: fixedNow})
	// The title counts private messages only (the feed has its own badge).
	if n := h.a.Unread(); n != 1 {
		t.Fatalf("unread %d, want 1 (phone shows the people list)", n)
	}
	if n := h.chat().m.Thread(model.Everyone).Unread; n != 1 {
		t.Fatalf("feed unread %d, want 1", n)
	}
	h.chat().open("bruno")
	h.frame()
	if n := h.a.Unread(); n != 0 {
		t.Fatalf("unread %d after opening bruno, want 0", n)
	}
}

// update runs the chat screen's update alone, as the start of a frame does
// before anything is drawn.
func (h *harness) update() {
	h.ops.Reset()
	gtx := layout.Context{
		Ops: &h.ops, Now: h.now,
		Metric:      unit.Metric{PxPerDp: h.scale, PxPerSp: h.scale},
		Constraints: layout.Exact(h.px()),
		Source:      h.router.Source(),
	}
	h.chat().update(gtx)
}

// TestNoPhantomBadge: a message that arrives in the open thread, scrolled
// to its end, is read before the frame draws anything: neither the people
// row's badge nor the window title counts it, even for one frame (defect 9).
func TestNoPhantomBadge(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 1280, 800)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "bruno", Time: fixedNow})
	h.chat().open("bruno")
	h.frame()
	s.push(client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "hi", Time: fixedNow})
	deadline := time.After(10 * time.Second)
	for {
		h.update()
		if t := h.chat().m.Lookup("bruno"); t != nil && len(t.Messages) > 0 && t.Messages[len(t.Messages)-1].Text == "hi" {
			break
		}
		select {
		case <-h.inv:
		case <-deadline:
			t.Fatal("the message did not reach the model")
		}
	}
	if n := h.chat().m.Lookup("bruno").Unread; n != 0 {
		t.Fatalf("the open thread counts %d unread before drawing", n)
	}
	if n := h.a.Unread(); n != 0 {
		t.Fatalf("window title counts %d unread", n)
	}
}

// TestPhoneCardsInFlow checks that chat requests on the phone push the people
// list down instead of covering it: every row stays clickable.
func TestPhoneCardsInFlow(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno", "chen", "Dana", "émile"}}
	h := newHarness(t, be, 360, 780)
	s := h.connect("ana")
	h.push(s, client.Event{Kind: client.EventInvite, From: "Dana", Expires: fixedNow.Add(20 * time.Second)},
		client.Event{Kind: client.EventInvite, From: "émile", Expires: fixedNow.Add(9 * time.Second)})
	c := h.chat()
	// Two cards of about 145 dp each, then Everyone, the PEOPLE caption,
	// the rows of Dana and émile (their requests sort them first) and
	// bruno's row (see testdata/screens/invite-phone-light.png).
	h.click(image.Pt(150, 618))
	if c.current != "bruno" || !c.showThread {
		t.Fatalf("clicking bruno's row opened %q (shown=%v)", c.current, c.showThread)
	}
	if len(c.cards.items) != 2 {
		t.Fatalf("%d cards over bruno's thread, want 2", len(c.cards.items))
	}
	h.key(key.NameBack, 0)
	h.click(image.Pt(259, 317)) // Accept on the second card
	if !hasCall(s, "accept émile") || c.current != model.Key("émile") {
		t.Fatalf("calls %q, thread %q, want émile accepted and shown", s.Calls(), c.current)
	}
}

// TestBackLeavesAtRoot sends Android's back key the way the window does and
// checks who handles it: the thread goes back to the people list; at the
// people list and on the connect screen the key is left to the system, which
// closes the app.
func TestBackLeavesAtRoot(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 360, 780)
	back := func() bool {
		h.frame()
		h.router.WakeupTime() // forget the frame's own wakeup
		h.router.Queue(key.Event{Name: key.NameBack})
		_, handled := h.router.WakeupTime()
		h.frame()
		return handled
	}
	if back() {
		t.Fatal("back handled on the connect screen, want it left to the system")
	}
	h.connect("ana")
	c := h.chat()
	c.open("bruno")
	if !back() {
		t.Fatal("back not handled on a thread")
	}
	if c.showThread || h.chat() != c {
		t.Fatalf("after back: thread shown=%v, chat screen kept=%v", c.showThread, h.chat() == c)
	}
	if back() {
		t.Fatal("back handled on the people list, want it left to the system")
	}
	if h.chat() != c {
		t.Fatal("back at the root disconnected")
	}
}

// TestTooltip rests the mouse on an icon button and sees its tooltip show
// after the delay, and go when the mouse leaves.
func TestTooltip(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
	h.connect("ana")
	tip := &h.chat().people.menu.tip
	move := func(p image.Point) {
		h.router.Queue(pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pointf(p, h.scale)})
		h.frame()
	}
	move(image.Pt(240, 32)) // the settings button
	if tip.vis.Visible() {
		t.Fatal("tooltip shown at once, want after a delay")
	}
	h.now = h.now.Add(tipHoverDelay + time.Millisecond)
	h.frame()
	if !tip.vis.Visible() {
		t.Fatal("no tooltip after resting on the button")
	}
	h.now = h.now.Add(tipFade + time.Millisecond)
	h.frame() // faded in
	move(image.Pt(700, 400))
	h.now = h.now.Add(tipFade + time.Millisecond)
	h.frame() // the fade ends
	h.frame()
	if tip.vis.Visible() {
		t.Fatal("tooltip still shown after the mouse left")
	}
}

// TestTooltipLeaveEarly leaves an icon button while its tooltip fades in:
// the tooltip goes.
func TestTooltipLeaveEarly(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
	h.connect("ana")
	tip := &h.chat().people.menu.tip
	h.router.Queue(pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pointf(image.Pt(240, 32), h.scale)})
	h.frame()
	h.now = h.now.Add(tipHoverDelay + time.Millisecond)
	h.frame()
	h.router.Queue(pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pointf(image.Pt(700, 400), h.scale)})
	h.frame()
	h.now = h.now.Add(time.Second)
	h.frame()
	if tip.vis.Visible() {
		t.Fatal("tooltip stayed after the mouse left while it faded in")
	}
}

// TestConnectErrorText: a server that cannot be reached, or whose name does
// not resolve, is explained in a sentence, never with the Go error chain
// (defect 11: "connect to …: server unreachable: dial tcp: lookup …").
func TestConnectErrorText(t *testing.T) {
	raw := fmt.Errorf("connect to nohost:12345 as %q: %w: %w", "ana", client.ErrServerUnreachable,
		&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nohost", IsNotFound: true}})
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: %w", ErrUnreachable, raw), "Can't reach nohost:12345."},
		{fmt.Errorf("%w: %w", ErrUnknownHost, raw), "No computer named “nohost”"},
	} {
		be := &fakeBackend{connErr: tt.err}
		h := newHarness(t, be, 360, 780)
		cs := h.connectScreen()
		cs.nick.SetText("ana")
		cs.addr.SetText("nohost:12345")
		cs.start(false)
		h.waitFor("the answer", func() bool { return !cs.busy })
		got := cs.explain()
		if !strings.HasPrefix(got, tt.want) || strings.Contains(got, "dial") || strings.Contains(got, "lookup") || strings.Contains(got, "unreachable") {
			t.Errorf("explained as %q, want %q… without the error chain", got, tt.want)
		}
	}
}
