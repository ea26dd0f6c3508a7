package ui

import (
	"time"

	"peerchat/core/client"
	"peerchat/core/wire"
	"peerchat/ui/model"
)

// relayScenarios are the screens of relay, mailbox and replay (issue 11):
// a private chat through the server, messages waiting on the server for
// a peer who is away, messages read, delivered and stored, and the
// broadcasts missed while away.
func relayScenarios() []scenario {
	return []scenario{
		{"route-relay", func(h *harness) {
			h.be.keys = true
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s,
				client.Event{Kind: client.EventChatOpen, Peer: "bruno", Encrypted: true, Route: client.RouteRelay, Time: at(14, 0)},
				client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "I'm on the guest Wi-Fi, can you read me?", Route: client.RouteRelay, Time: at(14, 2)})
			c := h.chat()
			openRead(h, "bruno")
			c.sendText("bruno", "Loud and clear 👍")
			h.push(s, client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 1})
		}},
		{"stored", func(h *harness) {
			h.be.keys = true
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			yesterday := func(hh, mm int) time.Time { return at(hh, mm).AddDate(0, 0, -1) }
			h.push(s,
				client.Event{Kind: client.EventChatOpen, Peer: "bruno", Encrypted: true, Route: client.RouteDirect, Time: yesterday(17, 0)},
				client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "Leaving now, see you tomorrow", Time: yesterday(17, 1)},
				client.Event{Kind: client.EventChatClosed, Peer: "bruno", Reason: client.ReasonLeft, Time: yesterday(17, 2)},
				client.Event{Kind: client.EventPeerLeft, Peer: "bruno", Time: yesterday(17, 2)})
			c := h.chat()
			openRead(h, "bruno")
			c.sendText("bruno", "Morning! The review is moved to 11:00")
			c.sendText("bruno", "Can you bring the test phones?")
			c.sendText("bruno", "And the chargers 🔌")
			c.sendText("bruno", "Here is the full list of what we need for the afternoon session, so that you have it when you are back")
			h.push(s,
				client.Event{Kind: client.EventStored, Peer: "bruno", ID: 1, Time: at(9, 1)},
				client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 1, Time: at(9, 40)},
				client.Event{Kind: client.EventStored, Peer: "bruno", ID: 2},
				client.Event{Kind: client.EventStored, Peer: "bruno", ID: 3},
				client.Event{Kind: client.EventSendFailed, Peer: "bruno", ID: 4, Err: &client.MailboxError{Peer: "bruno", Reason: wire.MboxFull}})
		}},
		{"read-receipts", func(h *harness) {
			// Read receipts on both sides: our first two were read (✓✓ in
			// Palette.Read), the third delivered (✓✓), the last waits on
			// the server for bruno, who left.
			h.a.settings.ReadReceipts = true
			h.be.keys = true
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s,
				client.Event{Kind: client.EventChatOpen, Peer: "bruno", Encrypted: true, Route: client.RouteDirect, Time: at(13, 50)},
				client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", ID: 11, Text: "Did you see the release notes?", Time: at(13, 51)})
			c := h.chat()
			openRead(h, "bruno")
			c.sendText("bruno", "Yes, reading them now")
			c.sendText("bruno", "Looks good to me 👍")
			h.push(s,
				client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 1},
				client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 2},
				client.Event{Kind: client.EventRead, Peer: "bruno", ID: 2},
				client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", ID: 12, Text: "Great, shipping after lunch", Time: at(13, 55)})
			c.sendText("bruno", "One more thing: the changelog link is broken")
			h.push(s, client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 3},
				client.Event{Kind: client.EventChatClosed, Peer: "bruno", Reason: client.ReasonLeft, Time: at(13, 58)},
				client.Event{Kind: client.EventPeerLeft, Peer: "bruno", Time: at(13, 58)})
			c.sendText("bruno", "Fixed it, the wiki has the right one now")
			h.push(s, client.Event{Kind: client.EventStored, Peer: "bruno", ID: 4, Time: at(14, 5)})
		}},
		{"missed-broadcasts", func(h *harness) {
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			h.push(s, feedEvents()[:4]...)
			h.push(s,
				client.Event{Kind: client.EventBroadcast, From: "émile", Text: "Who took the HDMI adapter from room B? 🙃", Time: at(11, 48), BID: 57, Missed: true},
				client.Event{Kind: client.EventBroadcast, From: "farah", Text: "Lunch at the Thai place at 12:30, anyone?", Time: at(12, 10), BID: 58, Missed: true},
				client.Event{Kind: client.EventBroadcast, From: "Dana", Text: "@ana the slides are on the shared drive", Time: at(13, 5), BID: 61, Missed: true},
				client.Event{Kind: client.EventBroadcast, From: "chen", Text: "Demo in 10 minutes, room A", Time: at(14, 20), BID: 62})
			h.chat().open(model.Everyone)
		}},
	}
}
