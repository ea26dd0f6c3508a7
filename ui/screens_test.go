package ui

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"gioui.org/io/key"

	"peerchat/core/client"
	"peerchat/ui/model"
)

var lanServers = []Server{
	{Name: "Office", Addr: "192.168.1.2:12345", Peers: 7, RTT: 2 * time.Millisecond},
	{Name: "ana-laptop", Addr: "192.168.1.34:12345", Peers: 1, RTT: 5 * time.Millisecond},
	{Name: "Kitchen Pi", Addr: "192.168.1.77:12345", Peers: 0, RTT: 9 * time.Millisecond},
}

var crowd = []string{"bruno", "chen", "Dana", "émile", "farah", "gus", "hiro", "ines", "jo", "Kasia", "lee"}

func at(h, m int) time.Time { return time.Date(2026, 11, 25, h, m, 0, 0, time.UTC) }

// feedEvents fills the broadcast feed.
func feedEvents() []client.Event {
	return []client.Event{
		{Kind: client.EventBroadcast, From: "bruno", Text: "Morning all! Coffee machine on floor 2 is fixed ☕", Time: at(9, 2).AddDate(0, 0, -1)},
		{Kind: client.EventBroadcast, From: "chen", Text: "🎉🎉 finally", Time: at(9, 4).AddDate(0, 0, -1)},
		{Kind: client.EventPeerJoined, Peer: "Dana", Time: at(9, 30)},
		{Kind: client.EventBroadcast, From: "Dana", Text: "Standup moved to 10:15 today, same room.", Time: at(9, 31)},
		{Kind: client.EventBroadcast, From: "Dana", Text: "Agenda: https://wiki.example.com/standup/2026-11-25", Time: at(9, 32)},
		{Kind: client.EventBroadcast, From: "émile", Text: "Who took the HDMI adapter from room B? 🙃", Time: at(11, 48)},
		{Kind: client.EventPeerLeft, Peer: "gus", Time: at(12, 5)},
		{Kind: client.EventBroadcast, From: "farah", Text: "Lunch at the Thai place at 12:30, anyone? I can book a table for up to eight people if you tell me before noon-ish 🍜", Time: at(12, 10)},
	}
}

// threadEvents fills the private thread with bruno: many messages, long text, emoji, links.
func threadEvents() []client.Event {
	evs := []client.Event{{Kind: client.EventChatOpen, Peer: "bruno", Time: at(7, 59).AddDate(0, 0, -1)}}
	lines := []string{
		"Hey, got a minute?", "Sure, what's up?", "The deploy script fails on the new box",
		"Which error?", "permission denied on /var/lib/peerchat", "Ah, the service user. Did you run the setup step?",
	}
	for i := 0; i < 30; i++ {
		evs = append(evs, client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: lines[i%len(lines)], Time: at(8, 0).AddDate(0, 0, -1).Add(time.Duration(i) * 7 * time.Minute)})
	}
	evs = append(evs,
		client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "Here is the whole story, because it is a long one: the box came with an old image, the image had a different uid for the service user, and the data directory was created by root before the package ran. Fixing the ownership and restarting did it. Notes are in https://wiki.example.com/ops/peerchat-box if you need them later.", Time: at(13, 58)},
		client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "🚀🔥👍😂🙏", Time: at(13, 59)},
	)
	return evs
}

type scenario struct {
	name  string
	setup func(h *harness)
}

func scenarios() []scenario {
	return append([]scenario{
		selectionScenario, completionScenario, dividerScenario, // msgscreens_test.go
		{"connect-found", func(h *harness) {
			h.be.servers = lanServers
			cs := h.connectScreen()
			cs.nick.SetText("ana")
			cs.addr.SetText("192.168.1.2:12345")
			h.waitFor("probe", func() bool { cs.mu.Lock(); defer cs.mu.Unlock(); return cs.probed })
		}},
		{"connect-keyboard", func(h *harness) {
			// The Connect button reached with Tab draws the focus ring.
			h.be.servers = lanServers
			cs := h.connectScreen()
			cs.nick.SetText("ana")
			cs.addr.SetText("192.168.1.2:12345")
			h.waitFor("probe", func() bool { cs.mu.Lock(); defer cs.mu.Unlock(); return cs.probed })
			for !h.focused(&cs.connectBtn) {
				h.tab(0)
			}
		}},
		{"connect-none", func(h *harness) {
			cs := h.connectScreen()
			cs.nick.SetText("ana")
			h.waitFor("probe", func() bool { cs.mu.Lock(); defer cs.mu.Unlock(); return cs.probed })
		}},
		{"connect-taken", func(h *harness) {
			h.be.servers = lanServers[:1]
			h.be.connErr = fmt.Errorf("register %q: %w", "ana", ErrNickTaken)
			cs := h.connectScreen()
			cs.nick.SetText("ana")
			cs.addr.SetText("192.168.1.2:12345")
			cs.start(false)
			h.waitFor("error", func() bool { cs.mu.Lock(); defer cs.mu.Unlock(); return cs.err != nil && !cs.busy && cs.probed })
		}},
		{"people", func(h *harness) {
			h.be.peers = crowd
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			h.push(s, client.Event{Kind: client.EventChatMsg, From: "chen", Peer: "chen", Text: "are you coming to the demo?", Time: at(14, 20)},
				client.Event{Kind: client.EventChatMsg, From: "chen", Peer: "chen", Text: "it starts in 10", Time: at(14, 21)})
			h.chat().current = model.Everyone
			h.chat().showThread = false
		}},
		{"feed", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			h.chat().open(model.Everyone)
			h.chat().view(model.Everyone).composer.editor.SetText("Count me in for lunch!")
			h.chat().sendText(model.Everyone, "Count me in for lunch 🙋")
			h.push(s, client.Event{Kind: client.EventBroadcast, From: "ana", Text: "Count me in for lunch 🙋", Time: at(14, 29), ID: 1})
		}},
		{"thread", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, threadEvents()...)
			c := h.chat()
			openRead(h, "bruno")
			c.sendText("bruno", "Thanks, that fixed it 🙌")
			c.sendText("bruno", "Pushing the notes now")
			c.sendText("bruno", "and one more thing")
			h.push(s, client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 1},
				client.Event{Kind: client.EventSent, Peer: "bruno", ID: 2},
				client.Event{Kind: client.EventSendFailed, Peer: "bruno", ID: 3, Text: "and one more thing", Err: errors.New("peer did not acknowledge")})
		}},
		{"scrolled", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, threadEvents()...)
			c := h.chat()
			openRead(h, "bruno")
			h.frame()
			tv := c.view("bruno")
			tv.list.Position.First, tv.list.Position.Offset, tv.list.Position.BeforeEnd = 4, 0, true
			h.frame()
			h.push(s, client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "are you there?", Time: at(14, 29)},
				client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "ping", Time: at(14, 30)})
		}},
		{"lost", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, threadEvents()[:8]...)
			openRead(h, "bruno")
			h.push(s, client.Event{Kind: client.EventChatClosed, Peer: "bruno", Reason: client.ReasonLost},
				client.Event{Kind: client.EventError, Err: errors.New("chat with bruno: connection reset by peer")})
		}},
		{"no-chat", func(h *harness) {
			// An online peer with no chat open: the composer takes text at
			// once, and says that sending asks for the chat.
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()[:5]...)
			h.chat().open("chen")
		}},
		{"no-chat-sent", func(h *harness) {
			// The first message sent: it waits for the request it made.
			h.be.peers, h.be.invites = crowd[:5], true
			s := h.connect("ana")
			c := h.chat()
			c.open("chen")
			c.sendText("chen", "Hi! Do you have a minute for the demo?")
			h.settle(s)
			c.view("chen").composer.editor.SetText("It's about the slides")
		}},
		{"request-cancelled", func(h *harness) {
			// Cancel request, while the first message waited for it: the
			// client core fails the message and closes the chat.
			h.be.peers, h.be.invites = crowd[:5], true
			s := h.connect("ana")
			c := h.chat()
			c.open("chen")
			c.sendText("chen", "Hi! Do you have a minute for the demo?")
			h.settle(s)
			h.push(s, client.Event{Kind: client.EventSendFailed, Peer: "chen", ID: 1, Text: "Hi! Do you have a minute for the demo?", Err: client.ErrLeftChat},
				client.Event{Kind: client.EventChatClosed, Peer: "chen", Reason: client.ReasonClosed})
		}},
		{"invite", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()[:5]...)
			h.push(s,
				client.Event{Kind: client.EventInvite, From: "Dana", Time: fixedNow.Add(-7 * time.Second), Expires: fixedNow.Add(23 * time.Second)},
				client.Event{Kind: client.EventInvite, From: "émile", Time: fixedNow.Add(-21 * time.Second), Expires: fixedNow.Add(9 * time.Second)},
			)
			h.chat().current = model.Everyone
		}},
		{"invite-in-thread", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			h.chat().open(model.Everyone)
			h.push(s, client.Event{Kind: client.EventInvite, From: "Dana", Time: fixedNow.Add(-7 * time.Second), Expires: fixedNow.Add(23 * time.Second)})
		}},
		{"delete-history", func(h *harness) {
			h.be.peers = crowd[:5]
			h.a.cfg.History = &memHistory{}
			s := h.connect("ana")
			h.push(s, threadEvents()...)
			c := h.chat()
			openRead(h, "bruno")
			c.pane.confirmDel = true
		}},
		{"settings", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			h.chat().current = model.Everyone
			h.chat().settings.open = true
		}},
		{"leave", func(h *harness) {
			// ✕ reached with the keyboard: the question, Cancel focused.
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			c := h.chat()
			c.current = model.Everyone
			for !h.focused(&c.people.disconnect.Clickable) {
				h.tab(0)
			}
			h.key(key.NameReturn, 0)
			h.frame()
		}},
		{"focus-row", func(h *harness) {
			// A person's row reached with the keyboard.
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			c := h.chat()
			c.current = model.Everyone
			for !h.focused(c.people.row("chen")) {
				h.tab(0)
			}
		}},
		{"long-words", func(h *harness) {
			// Issue 9, defect 2: words longer than a line wrap, nothing is cut.
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, client.Event{Kind: client.EventBroadcast, From: "bruno", Text: longLink, Time: at(14, 2)},
				client.Event{Kind: client.EventBroadcast, From: "chen", Text: "ok " + strings.Repeat("ha", 60) + " 😂", Time: at(14, 3)})
			h.chat().open(model.Everyone)
			h.chat().sendText(model.Everyone, "Mine too: https://example.com/"+strings.Repeat("b", 90)+"?y=2")
		}},
		{"mentions", func(h *harness) {
			// Issue 9, defect 13: @mentions stand out, an emoji-initial name
			// gets its emoji as avatar.
			h.be.peers = append(crowd[:5:5], "👍🏽bob")
			s := h.connect("ana")
			h.push(s, client.Event{Kind: client.EventBroadcast, From: "Dana", Text: "@ana can you check the agenda before 10? @bruno too", Time: at(9, 40)},
				client.Event{Kind: client.EventBroadcast, From: "👍🏽bob", Text: "Mail it to bob@example.com, not @ana.", Time: at(9, 41)},
				client.Event{Kind: client.EventBroadcast, From: "chen", Text: "🚀 shipped, thanks @Dana!", Time: at(9, 42)})
			h.chat().open(model.Everyone)
			h.chat().sendText(model.Everyone, "On it @Dana 👍")
		}},
		{"request-long-name", func(h *harness) {
			// Issue 9, defect 13: the bar under the thread goes above its
			// buttons rather than break a long name.
			h.be.peers = append(crowd[:3:3], "Wolfeschlegelsteinhausenberger")
			s := h.connect("ana")
			h.push(s, client.Event{Kind: client.EventInvite, From: "Wolfeschlegelsteinhausenberger", Time: fixedNow.Add(-7 * time.Second), Expires: fixedNow.Add(23 * time.Second)})
			h.chat().open(model.Key("Wolfeschlegelsteinhausenberger"))
		}},
		{"missed-request", func(h *harness) {
			// Issue 9, defect 4: a request that expired stays in the list.
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()[:5]...)
			h.push(s, client.Event{Kind: client.EventInvite, From: "Dana", Time: at(14, 0), Expires: at(14, 0).Add(30 * time.Second)},
				client.Event{Kind: client.EventInviteExpired, From: "Dana", Time: at(14, 0).Add(30 * time.Second)})
			h.chat().current = model.Everyone
		}},
		{"notify-unavailable", func(h *harness) {
			// Issue 9, defect 10: no notification service, no ON switch.
			h.plat.notifyErr = errors.New("dbus: no session bus")
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			h.chat().current = model.Everyone
			h.chat().settings.open = true
		}},
		{"connect-unknown-host", func(h *harness) {
			// Issue 9, defect 11: a sentence, not the Go error chain.
			h.be.connErr = fmt.Errorf("%w: %w", ErrUnknownHost, errors.New("lookup nohost: no such host"))
			cs := h.connectScreen()
			cs.nick.SetText("ana")
			cs.addr.SetText("nohost:12345")
			cs.start(false)
			h.waitFor("error", func() bool { cs.mu.Lock(); defer cs.mu.Unlock(); return cs.err != nil && !cs.busy && cs.probed })
		}},
		{"reconnecting", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			h.push(s, client.Event{Kind: client.EventServerLost, Err: errors.New("connection reset by peer")},
				client.Event{Kind: client.EventReconnecting, Attempt: 3, RetryIn: 4 * time.Second})
			h.chat().open(model.Everyone)
		}},
		{"server-silent", func(h *harness) {
			// Issue 9, defect 5: a port that took the registration and
			// never answered is not an empty room; a broadcast it never
			// relayed failed.
			s := h.connect("ana")
			h.push(s, client.Event{Kind: client.EventRegistered, Peer: "ana", Text: "192.168.1.2:12345", Server: client.ServerUnconfirmed, Time: at(14, 0)})
			c := h.chat()
			c.sess.Broadcast("Anyone here?")
			h.push(s, client.Event{Kind: client.EventSendFailed, ID: 1, Text: "Anyone here?", Err: fmt.Errorf("%w within 10s", client.ErrNoEcho), Time: at(14, 1)})
			c.open(model.Everyone)
		}},
		{"mute", func(h *harness) {
			// Issue 9, settings: a muted chat says so in its header.
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, threadEvents()...)
			c := h.chat()
			openRead(h, "bruno")
			c.setChatMuted("bruno", true)
		}},
		{"link-failed", func(h *harness) {
			// Issue 9, defect 13: a link that no browser took says so.
			h.plat.openErr = errors.New("xdg-open: no method available")
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			h.chat().open(model.Everyone)
			h.a.openURL("https://wiki.example.com/standup/2026-11-25")
			h.waitFor("the error", func() bool { txt, _ := h.a.toast.current(h.now); return txt != "" })
		}},
		{"long-name-header", func(h *harness) {
			// Issue 9, defect 13: a long name keeps its end in the header;
			// on a phone, Leave chat is an icon beside the subtitle.
			const long = "Wolfeschlegelsteinhausenberger-laptop"
			h.be.peers = append(crowd[:3:3], long)
			s := h.connect("ana")
			h.push(s, client.Event{Kind: client.EventChatOpen, Peer: long},
				client.Event{Kind: client.EventChatMsg, From: long, Peer: long, Text: "hello from the laptop", Time: at(14, 20)})
			h.chat().open(model.Key(long))
		}},
		{"header-menu", func(h *harness) {
			// On a phone, Mute and Delete history are under ⋮.
			h.be.peers = crowd[:5]
			h.a.cfg.History = &memHistory{}
			s := h.connect("ana")
			h.push(s, threadEvents()...)
			c := h.chat()
			c.open("bruno")
			c.pane.head.menuOpen, c.pane.head.menuFor = true, "bruno"
		}},
		{"text-large", func(h *harness) {
			// Issue 9, settings: large text, the settings panel open.
			h.a.settings.TextSize = TextLarge
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, threadEvents()...)
			c := h.chat()
			openRead(h, "bruno")
			c.settings.load(h.a.settings, nil)
			c.settings.open = true
		}},
	}, append(append(append(navScenarios(), securityScenarios()...), relayScenarios()...), fileScenarios()...)...) // search_screens_test.go, security_screens_test.go, relay_screens_test.go, files_screens_test.go
}

var sizes = []struct {
	name string
	w, h int
}{
	{"phone", 360, 780},
	{"desktop", 1280, 800},
}

// TestScreens renders every screen and state at phone and desktop sizes in
// light and dark, writes them as artifacts and compares them with the
// committed references.
func TestScreens(t *testing.T) {
	if testing.Short() {
		t.Skip("screenshots are slow")
	}
	gpus := map[image.Point]*gpuWindow{}
	parent := t
	for _, sz := range sizes {
		for _, dark := range []bool{false, true} {
			theme := "light"
			if dark {
				theme = "dark"
			}
			for _, sc := range scenarios() {
				name := sc.name + "-" + sz.name + "-" + theme
				t.Run(name, func(t *testing.T) {
					h := newHarness(t, &fakeBackend{}, sz.w, sz.h)
					h.env.Dark = dark
					sc.setup(h)
					h.frame()
					h.frame()
					g := gpus[h.px()]
					if g == nil {
						g = newGPU(parent, h.px())
						gpus[h.px()] = g
					}
					checkScreen(t, name, g.render(t, &h.ops))
				})
			}
		}
	}
}
