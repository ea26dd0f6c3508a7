package ui

import (
	"peerchat/core/client"
	"peerchat/core/identity"
	"peerchat/ui/model"
)

// securityScenarios are the screens of device identities (issue 10): the
// verify dialog (before and after Mark as verified), a changed key (verified before, and not), a chat that is
// not encrypted, and a changed server key over the feed with broadcasts
// whose signature is missing or invalid.
func securityScenarios() []scenario {
	// keyed connects ana with identities and opens bruno's thread.
	keyed := func(h *harness, evs ...client.Event) {
		h.be.keys = true
		h.be.peers = crowd[:5]
		s := h.connect("ana")
		h.push(s, evs...)
		h.chat().open("bruno")
	}
	open := func(encrypted, verified bool) []client.Event {
		return []client.Event{
			{Kind: client.EventChatOpen, Peer: "bruno", Encrypted: encrypted, Verified: verified, Time: at(14, 0)},
			{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "Did you get the slides?", Time: at(14, 2)},
		}
	}
	return []scenario{
		{"verify-dialog", func(h *harness) {
			keyed(h, open(true, false)...)
			h.chat().showVerify("bruno")
		}},
		{"verify-dialog-verified", func(h *harness) {
			keyed(h, open(true, true)...)
			c := h.chat()
			if err := c.sess.SetVerified("bruno", true); err != nil {
				h.t.Fatal(err)
			}
			c.showVerify("bruno")
		}},
		{"key-changed", func(h *harness) {
			keyed(h, append(open(true, false), client.Event{Kind: client.EventKeyChanged, Peer: "bruno", Time: at(14, 10)})...)
		}},
		{"key-changed-verified", func(h *harness) {
			keyed(h, append(open(true, true), client.Event{Kind: client.EventKeyChanged, Peer: "bruno", Verified: true, Time: at(14, 10)})...)
		}},
		{"not-encrypted", func(h *harness) {
			keyed(h, open(false, false)...)
		}},
		{"server-key-changed", func(h *harness) {
			keyed(h,
				client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "Lunch at 12:30?", Time: at(12, 1), Signature: client.SigValid},
				client.Event{Kind: client.EventBroadcast, From: "chen", Text: "The printer is fixed", Time: at(12, 5), Signature: client.SigMissing},
				client.Event{Kind: client.EventBroadcast, From: "Dana", Text: "Free cake in the kitchen", Time: at(12, 9), Signature: client.SigBad},
				client.Event{Kind: client.EventServerKey, KeyResult: identity.Changed, Text: "192.168.1.2:12345", Time: at(14, 20)})
			h.chat().open(model.Everyone)
		}},
	}
}
