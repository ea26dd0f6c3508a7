package ui

import (
	"errors"
	"image"
	"slices"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// TestNotifications checks which events raise a system notification through
// the Platform, as the session service's policy says, with what the UI tells
// it: the window's focus, the thread on screen, the setting. They are raised
// for a private message, a broadcast that mentions the user, or a chat
// request, unless notifications are off or the window has the focus and
// shows the thread concerned.
func TestNotifications(t *testing.T) {
	msg := client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "psst", Time: fixedNow}
	mention := client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "@ana can you look?", Time: fixedNow}
	word := client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "thanks Ana!", Time: fixedNow}
	baseMention := client.Event{Kind: client.EventBroadcast, Text: "bruno: ana, lunch?", Time: fixedNow} // base server: no sender
	plain := client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "lunch at noon, banana bread", Time: fixedNow}
	invite := client.Event{Kind: client.EventInvite, From: "bruno", Expires: fixedNow.Add(30 * time.Second)}
	tests := []struct {
		name    string
		focused bool
		open    string // the thread on screen
		mute    bool
		ev      client.Event
		want    string // the notification, "" for none
	}{
		{"focused private message", true, "bruno", false, msg, ""},
		{"focused mention", true, model.Everyone, false, mention, ""},
		{"focused request", true, "bruno", false, invite, ""},
		{"focused, another thread", true, model.Everyone, false, msg, "bruno: psst"},
		{"private message", false, "bruno", false, msg, "bruno: psst"},
		{"@mention", false, model.Everyone, false, mention, "bruno mentioned you: @ana can you look?"},
		{"mention as a word", false, model.Everyone, false, word, "bruno mentioned you: thanks Ana!"},
		{"mention through a base server", false, model.Everyone, false, baseMention, "You were mentioned: bruno: ana, lunch?"},
		{"request", false, model.Everyone, false, invite, "bruno wants to chat: Open PeerChat to accept or decline."},
		{"broadcast without mention", false, model.Everyone, false, plain, ""},
		{"muted private message", false, model.Everyone, true, msg, ""},
		{"muted mention", false, model.Everyone, true, mention, ""},
		{"muted request", false, model.Everyone, true, invite, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
			h.a.settings.MuteNotifications = tt.mute // as saved by an earlier run
			s := h.connect("ana")
			h.chat().open(tt.open)
			h.env.Focused = tt.focused
			h.frame()
			h.push(s, tt.ev)
			h.plat.mu.Lock()
			defer h.plat.mu.Unlock()
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if len(h.plat.notes) != len(want) || (len(want) == 1 && h.plat.notes[0] != want[0]) {
				t.Fatalf("notifications %q, want %q", h.plat.notes, want)
			}
		})
	}
}

// TestNotificationSetting turns notifications off in the settings panel and
// finds the setting kept by the next App.
func TestNotificationSetting(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
	h.connect("ana")
	c := h.chat()
	h.click(image.Pt(240, 32)) // the settings button, left of Disconnect
	if !c.settings.open {
		t.Fatal("the settings panel did not open")
	}
	if !c.settings.notifyOn.Value {
		t.Fatal("notifications off by default")
	}
	h.click(image.Pt(286, 98)) // the switch
	if c.settings.notifyOn.Value || !h.a.settings.MuteNotifications {
		t.Fatal("the switch did not turn notifications off")
	}
	h.env.Focused = false
	h.frame()
	h.push(h.be.session(), client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "psst", Time: fixedNow})
	h.plat.mu.Lock()
	if len(h.plat.notes) != 0 {
		t.Errorf("notifications %q after turning them off", h.plat.notes)
	}
	h.plat.mu.Unlock()
	saved, err := LoadSettings(h.plat.dir)
	if err != nil || !saved.MuteNotifications {
		t.Fatalf("saved settings %+v, %v", saved, err)
	}
	h2 := newHarness(t, &fakeBackend{}, 1280, 800)
	h2.plat.dir = h.plat.dir
	h2.a.Close()
	h2.a = New(Config{Backend: h2.be, Platform: h.plat, Now: func() time.Time { return fixedNow }, ProbeEvery: time.Hour})
	t.Cleanup(func() { h2.a.Close() })
	if !h2.a.settings.MuteNotifications {
		t.Fatal("the setting was not kept across a restart")
	}
}

// TestResume checks that coming back to the foreground (the window gets the
// focus back, or the program says so) makes the session reconnect at once.
func TestResume(t *testing.T) {
	tests := []struct {
		name   string
		resume func(h *harness)
	}{
		{"focus", func(h *harness) {
			h.env.Focused = false
			h.frame()
			h.env.Focused = true
			h.frame()
		}},
		{"Resume", func(h *harness) { h.a.Resume() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, &fakeBackend{}, 360, 780)
			s := h.connect("ana")
			h.push(s, client.Event{Kind: client.EventServerLost}, client.Event{Kind: client.EventReconnecting, Attempt: 2, RetryIn: 8 * time.Second})
			h.frame()
			if hasCall(s, "reconnect") {
				t.Fatal("reconnect before resuming")
			}
			tt.resume(h)
			if !hasCall(s, "reconnect") {
				t.Fatalf("calls %q after resuming, want reconnect", s.Calls())
			}
		})
	}
}

// TestNotifyInBackground: the window had the focus with bruno's thread open,
// then lost it (Android put the app in the background) and no frame is drawn
// after that; bruno's message is notified all the same.
func TestNotifyInBackground(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
	s := h.connect("ana")
	h.chat().open("bruno")
	h.env.Focused = true
	h.frame()
	h.a.SetFocused(false) // no frame follows: h.frame is not called again
	s.push(client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "psst", Time: fixedNow})
	notes := func() []string {
		h.plat.mu.Lock()
		defer h.plat.mu.Unlock()
		return slices.Clone(h.plat.notes)
	}
	deadline := time.After(10 * time.Second)
	for len(notes()) == 0 {
		select {
		case <-h.inv: // the service invalidated the window after its turn
		case <-deadline:
			t.Fatal("no notification without frames")
		}
	}
	if got, want := notes(), []string{"bruno: psst"}; !slices.Equal(got, want) {
		t.Fatalf("notifications %q, want %q", got, want)
	}
}

// TestNotificationsUnavailable: when the platform cannot show notifications
// (no D-Bus), the settings panel shows the switch off and says why,
// instead of ON (defect 10); the user's setting is kept for a platform that
// can.
func TestNotificationsUnavailable(t *testing.T) {
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(t, be, 1280, 800)
	h.plat.notifyErr = errors.New("dbus: no session bus")
	h.connect("ana")
	c := h.chat()
	c.settings.open = true
	h.frame()
	if c.settings.notifyOn.Value || !c.settings.unavailable {
		t.Fatalf("switch on=%v unavailable=%v with no notification service", c.settings.notifyOn.Value, c.settings.unavailable)
	}
	if h.a.settings.MuteNotifications {
		t.Fatal("the user's setting was changed")
	}
}
