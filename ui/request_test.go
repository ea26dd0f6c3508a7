package ui

import (
	"slices"
	"testing"

	"gioui.org/io/semantic"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// TestCancelRequest: while our chat request waits for the peer, the thread
// header offers "Cancel request" (an icon button on a phone, text on the
// desktop), which leaves the chat in the client core (client.LeaveChat
// cancels a pending invite); once a chat is open it is "Leave chat".
func TestCancelRequest(t *testing.T) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"phone", 360, 780}, {"desktop", 1280, 800}} {
		t.Run(sz.name, func(t *testing.T) {
			h := newHarness(t, &fakeBackend{peers: crowd[:5], invites: true}, sz.w, sz.h)
			s := h.connect("ana")
			c := h.chat()
			c.open("chen")
			h.frame()
			if h.has("Cancel request") || h.has("Leave chat") {
				t.Fatal("an action that ends a chat before any was asked for")
			}
			c.sendText("chen", "Hi! Do you have a minute for the demo?")
			h.settle(s)
			h.frame()
			b := h.find("Cancel request")
			if b.Desc.Class != semantic.Button {
				t.Fatalf("Cancel request: %+v, want a button", b.Desc)
			}
			if narrow := b.Desc.Bounds.Dx() <= 48; narrow != (sz.name == "phone") {
				t.Errorf("Cancel request %v wide on a %s", b.Desc.Bounds.Dx(), sz.name)
			}
			h.clickOn("Cancel request")
			if calls := s.Calls(); len(calls) == 0 || calls[len(calls)-1] != "leave chen" {
				t.Fatalf("calls %q, want leave chen", calls)
			}
			h.push(s, client.Event{Kind: client.EventChatOpen, Peer: "chen"})
			h.frame()
			if h.has("Cancel request") || !h.has("Leave chat") {
				t.Fatal("an open chat offers Cancel request, not Leave chat")
			}
		})
	}
}

// TestAwayStartsFiles: the "While you were away" divider starts at a
// file or picture that came while the user was away, as at a text, and
// a run of such messages, texts and files mixed, has one divider.
func TestAwayStartsFiles(t *testing.T) {
	f := &model.File{Name: "a.png", Status: model.FileDone}
	th := &model.Thread{Peer: model.Everyone, Messages: []model.Message{
		{Kind: model.KindText, Text: "live"},
		{Kind: model.KindFile, File: f, Away: true},
		{Kind: model.KindSystem, Text: "bruno joined"},
		{Kind: model.KindText, Text: "missed", Away: true},
		{Kind: model.KindFile, File: f, Away: true},
	}}
	var got []bool
	for i := range th.Messages {
		got = append(got, awayStarts(th, i))
	}
	if want := []bool{false, true, false, false, false}; !slices.Equal(got, want) {
		t.Fatalf("awayStarts %v, want %v", got, want)
	}
}
