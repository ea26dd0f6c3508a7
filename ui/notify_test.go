package ui

import (
	"image"
	"testing"
	"time"

	"peerchat/core/client"
)

// TestNotifications checks which events raise a system notification through
// the Platform: only when the window is unfocused and notifications are on,
// for a private message, a broadcast that mentions the user, or a chat request.
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
		mute    bool
		ev      client.Event
		want    string // the notification, "" for none
	}{
		{"focused private message", true, false, msg, ""},
		{"focused mention", true, false, mention, ""},
		{"focused request", true, false, invite, ""},
		{"private message", false, false, msg, "bruno: psst"},
		{"@mention", false, false, mention, "bruno mentioned you: @ana can you look?"},
		{"mention as a word", false, false, word, "bruno mentioned you: thanks Ana!"},
		{"mention through a base server", false, false, baseMention, "bruno mentioned you: ana, lunch?"},
		{"request", false, false, invite, "bruno wants to chat: Open PeerChat to accept or decline."},
		{"broadcast without mention", false, false, plain, ""},
		{"muted private message", false, true, msg, ""},
		{"muted mention", false, true, mention, ""},
		{"muted request", false, true, invite, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 1280, 800)
			s := h.connect("ana")
			h.env.Focused = tt.focused
			h.a.settings.MuteNotifications = tt.mute
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
	if !c.settings {
		t.Fatal("the settings panel did not open")
	}
	if !c.notifyOn.Value {
		t.Fatal("notifications off by default")
	}
	h.click(image.Pt(286, 98)) // the switch
	if c.notifyOn.Value || !h.a.settings.MuteNotifications {
		t.Fatal("the switch did not turn notifications off")
	}
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
