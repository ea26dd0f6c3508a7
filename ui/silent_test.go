package ui

import (
	"fmt"
	"testing"

	"gioui.org/io/key"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/ui/model"
	"peerchat/ui/session"
)

// TestServerSilent reproduces issue 9, defect 5 in the UI: a port that
// accepted the registration and never answered (the core's
// EventRegistered with ServerUnconfirmed) is not shown as an empty room:
// the header says no answer came, the banner says it may not be a
// PeerChat server (without a Retry that could not help), the feed
// explains, and a broadcast it never relays fails. Once the server speaks
// (a JOINED), it is an ordinary room.
func TestServerSilent(t *testing.T) {
	for _, w := range []int{360, 1280} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			h := newHarness(t, &fakeBackend{}, w, 800)
			s := h.connect("ana")
			h.push(s, client.Event{Kind: client.EventRegistered, Peer: "ana", Text: "192.168.1.2:12345", Server: client.ServerUnconfirmed, Time: fixedNow})
			c := h.chat()
			c.open(model.Everyone)
			if c.m.Conn.State != model.Unconfirmed {
				t.Fatalf("conn %+v, want unconfirmed", c.m.Conn)
			}
			if _, status := threadStatus(c.m, c.m.Thread(model.Everyone)); status != unconfirmedStatus {
				t.Errorf("the header says %q, want %q", status, unconfirmedStatus)
			}
			for _, want := range []string{unconfirmedStatus, "it may not be a PeerChat server", session.Unanswered} {
				if !h.has(want) {
					t.Errorf("nothing on screen says %q", want)
				}
			}
			if w > 360 && !h.has("PEOPLE · NO ANSWER FROM THE SERVER YET") {
				t.Error("the people list does not say the server has not answered")
			}
			for _, not := range []string{"Just you so far", "Retry now", "PEOPLE · 0 ONLINE"} {
				if h.has(not) {
					t.Errorf("%q on screen for a server that never answered", not)
				}
			}

			h.typeText(&c.view(model.Everyone).composer.editor, "anyone here?")
			if w < 600 {
				h.clickOn("Send") // on a phone, Enter is a new line
			} else {
				h.key(key.NameEnter, 0)
			}
			if !hasCall(s, "broadcast anyone here?") {
				t.Fatalf("calls %q", s.Calls())
			}
			h.push(s, client.Event{Kind: client.EventSendFailed, ID: 1, Text: "anyone here?", Err: fmt.Errorf("%w within 10s", client.ErrNoEcho)})
			feed := c.m.Thread(model.Everyone)
			if last := feed.Messages[len(feed.Messages)-1]; !last.Mine || last.State != delivery.Failed {
				t.Fatalf("last message %+v, want ours failed", last)
			}

			h.push(s, client.Event{Kind: client.EventPeerJoined, Peer: "bruno", Time: fixedNow})
			if c.m.Conn.State != model.Connected {
				t.Fatalf("conn %+v after the server spoke, want connected", c.m.Conn)
			}
			if _, status := threadStatus(c.m, feed); status != "2 people here, you included" || !h.has(status) {
				t.Errorf("the header says %q after the server spoke", status)
			}
			if h.has("it may not be a PeerChat server") {
				t.Error("the banner stayed after the server answered")
			}
		})
	}
}
