package ui

import (
	"time"

	"gioui.org/io/key"

	"peerchat/core/client"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// navScenarios are the screens of search, the quick switcher and the
// chats list (see scenarios).
func navScenarios() []scenario {
	searched := func(h *harness) *chatScreen {
		hist := searchHistory(h.t, 300)
		long := "I looked everywhere this morning: the drawers, the kitchen, under the desks of the whole second floor, and found the needle next to the coffee machine, of all places. Then I went back to work."
		if err := hist.Write([]historystore.Write{{Op: historystore.Append, Thread: "chen", Msg: model.Message{From: "chen", Text: long, Time: fixedNow.Add(-2 * time.Hour)}}}); err != nil {
			h.t.Fatal(err)
		}
		h.a.cfg.History = hist
		h.be.peers = crowd[:5]
		h.connect("ana")
		c := h.chat()
		h.key("F", key.ModShortcut)
		h.typeText(&c.search.field, "needle")
		h.waitFor("the results", func() bool { return !c.search.running && c.search.query == "needle" })
		return c
	}
	return []scenario{
		{"search", func(h *harness) { searched(h) }},
		{"search-opened", func(h *harness) {
			// The thread opened at the result picked, 290 messages back.
			c := searched(h)
			c.search.picked = &c.search.results[2]
			c.openAt(c.search.results[2])
			h.waitFor("the hit", func() bool { return c.seeking == nil })
		}},
		{"switcher", func(h *harness) {
			h.be.peers = crowd
			s := h.connect("ana")
			h.push(s, feedEvents()...)
			h.push(s, client.Event{Kind: client.EventChatMsg, From: "Kasia", Peer: "Kasia", Text: "are you there?", Time: at(14, 20)})
			c := h.chat()
			c.open(model.Everyone)
			h.key("K", key.ModShortcut)
			h.typeText(&c.switcher.field, "a")
			h.key(key.NameDownArrow, 0)
		}},
		{"recent-chats", func(h *harness) {
			// Issue 9, defect 3: with 61 people online, the chats lead the
			// list, Zoë's unread messages first.
			h.be.peers = sixty()
			s := h.connect("ana")
			h.push(s,
				client.Event{Kind: client.EventChatOpen, Peer: "p30", Time: at(9, 0)},
				client.Event{Kind: client.EventChatMsg, From: "p30", Peer: "p30", Text: "see you at the demo", Time: at(9, 1)},
				client.Event{Kind: client.EventChatMsg, From: "p40", Peer: "p40", Text: "thanks!", Time: at(10, 0)},
				client.Event{Kind: client.EventChatMsg, From: "Zoë", Peer: "Zoë", Text: "psst", Time: at(8, 0)},
				client.Event{Kind: client.EventChatMsg, From: "Zoë", Peer: "Zoë", Text: "are you free at 3?", Time: at(8, 1)},
				client.Event{Kind: client.EventChatMsg, From: "Zoë", Peer: "Zoë", Text: "it is about the budget", Time: at(8, 2)},
			)
			c := h.chat()
			c.m.MarkRead("p30")
			c.m.MarkRead("p40")
			c.current = model.Everyone
			c.showThread = false
		}},
	}
}
