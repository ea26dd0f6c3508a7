package ui

import (
	"slices"
	"strings"

	"gioui.org/io/key"
	"gioui.org/layout"
	"gioui.org/widget"

	"peerchat/core/wire"
	"peerchat/ui/model"
)

// switcherMax is the most people the quick switcher lists.
const switcherMax = 50

// switcher is the state of the quick switcher (Ctrl+K): a field where the
// user types part of a nickname, the people and chats that match, one of
// them selected (↑/↓), Enter opens it. Owned by the UI goroutine.
type switcher struct {
	open  bool
	field widget.Editor
	list  widget.List
	rows  []widget.Clickable
	scrim widget.Clickable // outside the card: closes it
	card  widget.Clickable // the card, which keeps its clicks off scrim
	items []switchItem
	sel   int
	found []model.Person // reused by find
}

// switchItem is one entry of the switcher: a thread to open.
type switchItem struct {
	key, name string
}

func newSwitcher() *switcher {
	sw := &switcher{}
	sw.field.SingleLine, sw.field.Submit = true, true
	sw.list.Axis = layout.Vertical
	return sw
}

// show opens the switcher, empty, with the focus in its field.
func (sw *switcher) show(gtx C, m *model.Model) {
	sw.open = true
	sw.field.SetText("")
	sw.find(m)
	gtx.Execute(focusCmd(&sw.field))
}

// find lists what matches the field: the feed if its name does, then the
// people (model.Model.Find: chats first).
func (sw *switcher) find(m *model.Model) {
	q := strings.TrimSpace(sw.field.Text())
	sw.items = sw.items[:0]
	if q == "" || strings.Contains(wire.FoldNick("everyone"), wire.FoldNick(q)) {
		sw.items = append(sw.items, switchItem{key: model.Everyone, name: "Everyone"})
	}
	sw.found = m.Find(sw.found[:0], q)
	for _, p := range sw.found {
		if len(sw.items) == switcherMax {
			break
		}
		sw.items = append(sw.items, switchItem{key: p.Key, name: p.Nick})
	}
	sw.sel = 0
	sw.list.Position = layout.Position{}
}

// update handles the keys and clicks of the open switcher; open is called
// with the thread chosen, after the switcher closed.
func (sw *switcher) update(gtx C, m *model.Model, open func(key string)) {
	if !sw.open {
		return
	}
	// ↑/↓ before the field's own handling, which would move its caret.
	for {
		ev, ok := gtx.Event(key.Filter{Focus: &sw.field, Name: key.NameUpArrow}, key.Filter{Focus: &sw.field, Name: key.NameDownArrow})
		if !ok {
			break
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press && len(sw.items) > 0 {
			if e.Name == key.NameUpArrow {
				sw.sel = (sw.sel + len(sw.items) - 1) % len(sw.items)
			} else {
				sw.sel = (sw.sel + 1) % len(sw.items)
			}
			sw.reveal()
		}
	}
	choose := -1
	for {
		ev, ok := sw.field.Update(gtx)
		if !ok {
			break
		}
		switch ev.(type) {
		case widget.ChangeEvent:
			sw.find(m)
		case widget.SubmitEvent:
			if sw.sel < len(sw.items) {
				choose = sw.sel
			}
		}
	}
	for len(sw.rows) < len(sw.items) {
		sw.rows = append(sw.rows, widget.Clickable{})
	}
	for i := range sw.items {
		if sw.rows[i].Clicked(gtx) {
			choose = i
		}
	}
	if sw.scrim.Clicked(gtx) {
		sw.open = false
	}
	if choose >= 0 {
		sw.open = false
		open(sw.items[choose].key)
	}
}

// reveal scrolls the list so that the selected entry shows.
func (sw *switcher) reveal() {
	p := &sw.list.Position
	if sw.sel < p.First {
		p.First, p.Offset = sw.sel, 0
	} else if sw.sel >= p.First+p.Count-1 && p.Count > 0 {
		p.First, p.Offset = sw.sel-p.Count+2, 0
	}
}

// nextChat returns the thread that Alt+↑ (delta -1) or Alt+↓ (+1) moves to
// from current in order, the threads of the people list top to bottom;
// current itself at either end. A current not in order moves to the first.
func nextChat(order []string, current string, delta int) string {
	if len(order) == 0 {
		return current
	}
	i := slices.Index(order, current)
	if i < 0 {
		return order[0]
	}
	return order[max(0, min(len(order)-1, i+delta))]
}

// shortcuts handles the chat screen's keyboard shortcuts: Ctrl+K opens the
// quick switcher, Ctrl+F (or Ctrl+Shift+F) the search, Alt+↑/↓ move to the
// chat above or below in the people list; it notes whether a card has the
// focus, which Esc takes off it (chatScreen.Back). It runs before anything is laid
// out, so it gets these keys before a focused field would.
func (s *chatScreen) shortcuts(gtx C) {
	for {
		ev, ok := gtx.Event(
			key.Filter{Name: "K", Required: key.ModShortcut},
			key.Filter{Name: "F", Required: key.ModShortcut, Optional: key.ModShift},
			key.Filter{Name: key.NameUpArrow, Required: key.ModAlt},
			key.Filter{Name: key.NameDownArrow, Required: key.ModAlt},
		)
		if !ok {
			break
		}
		e, ok := ev.(key.Event)
		if !ok || e.State != key.Press {
			continue
		}
		switch e.Name {
		case "K", "F":
			s.focusComposer = false // the field opened takes the focus
		}
		switch e.Name {
		case "K":
			s.switcher.show(gtx, s.m)
		case "F":
			s.switcher.open = false
			if s.narrow {
				s.showThread = false // on a phone the search pane is in the list
			}
			s.search.show(gtx)
		case key.NameUpArrow, key.NameDownArrow:
			d := 1
			if e.Name == key.NameUpArrow {
				d = -1
			}
			if next := nextChat(s.people.order, s.current, d); next != s.current || !s.showThread {
				s.open(next)
			}
		}
	}
	s.switcher.update(gtx, s.m, s.open)
	s.cardKeys.update(gtx, &s.cards)
}

// cardFocus notes whether a card (a chat request, the notice) has the
// keyboard focus, so that Esc takes it off: the keys go back to the
// shortcuts and the thread instead of answering a request.
type cardFocus struct {
	on    bool // a card's button had the focus in the last frame
	clear bool // blur asked to take the focus away
}

// blur takes the focus off the card at the next update.
func (f *cardFocus) blur() { f.on, f.clear = false, true }

// update notes whether a button of the cards has the focus, and takes it
// away if blur was called.
func (f *cardFocus) update(gtx C, d *cardDeck) {
	if f.clear {
		f.clear = false
		gtx.Execute(key.FocusCmd{})
	}
	f.on = gtx.Focused(&d.dismiss.Clickable)
	for _, iv := range d.invites {
		f.on = f.on || gtx.Focused(&iv.accept) || gtx.Focused(&iv.decline) || gtx.Focused(&iv.open)
	}
}
