package ui

import (
	"time"

	"gioui.org/gesture"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"peerchat/ui/model"
)

// groupWindow is how close in time consecutive messages of one sender must
// be to share one header.
const groupWindow = 5 * time.Minute

// Gaps between the messages of one group (one sender, close in time).
const (
	groupGap unit.Dp = 2 // between bubbles of text
	// cardGap is above and below a file card or picture: bubbles that
	// large, often as wide as each other, would read as one block 2 dp
	// apart (their outline takes one of them in the light theme).
	cardGap unit.Dp = 6
)

// messageStates holds the widget state of the messages on screen, by
// model.Message.Key. State is made when a message is laid out and dropped
// (prune) when it was not in the last frame, so that it does not grow with
// the history.
type messageStates struct {
	states map[uint64]*messageState
	shown  map[uint64]bool // keys laid out since the last prune
	// selKey is the message whose text last had the keyboard focus: when
	// another takes it, its selection is cleared, so that one selection
	// is kept at a time.
	selKey uint64
	// pressed is the message the last press of this frame fell on, if
	// pressedOK; the message menu (msgMenu) reads it.
	pressed   uint64
	pressedOK bool
}

// get returns the state of message key, making it if needed, and marks it
// shown.
func (ms *messageStates) get(key uint64) *messageState {
	if ms.states == nil {
		ms.states, ms.shown = map[uint64]*messageState{}, map[uint64]bool{}
	}
	st := ms.states[key]
	if st == nil {
		st = new(messageState)
		ms.states[key] = st
	}
	ms.shown[key] = true
	return st
}

// prune drops the state of the messages not laid out since the last prune.
func (ms *messageStates) prune() {
	for k := range ms.states {
		if !ms.shown[k] {
			delete(ms.states, k)
		}
	}
	clear(ms.shown)
}

// update handles the input of the messages: retry is called with the key of
// a message whose Retry was clicked, open with a link that was clicked.
// Ctrl+C on a message's text copies its selection; a press on a message is
// noted for the message menu (pressed).
func (ms *messageStates) update(gtx C, retry func(key uint64), open func(url string)) {
	ms.pressedOK = false
	for k, st := range ms.states {
		if st.retry.Clicked(gtx) {
			retry(k)
		}
		for {
			ev, ok := gtx.Event(pointer.Filter{Target: st, Kinds: pointer.Press | pointer.Enter | pointer.Leave | pointer.Cancel})
			if !ok {
				break
			}
			e, ok := ev.(pointer.Event)
			if !ok {
				continue
			}
			switch e.Kind {
			case pointer.Press:
				ms.pressed, ms.pressedOK = k, true
			case pointer.Enter:
				if e.Source == pointer.Mouse && !st.hover {
					st.hover = true
					gtx.Execute(op.InvalidateCmd{}) // lay the text out as selectable
				}
			case pointer.Leave, pointer.Cancel:
				st.hover = false
			}
		}
		if gtx.Focused(&st.sel) && k != ms.selKey {
			if prev := ms.states[ms.selKey]; prev != nil {
				prev.sel.ClearSelection()
			}
			ms.selKey = k
		}
		for {
			ev, ok := gtx.Event(copyKey(&st.sel))
			if !ok {
				break
			}
			if e, ok := ev.(key.Event); ok && e.State == key.Press {
				if txt := st.sel.SelectedText(); txt != "" {
					copyText(gtx, txt)
				}
			}
		}
		for _, l := range st.links {
			for {
				ev, ok := l.click.Update(gtx.Source)
				if !ok {
					break
				}
				if ev.Kind == gesture.KindClick {
					open(l.url)
				}
			}
		}
	}
}

// messageListStyle draws the messages of a thread in a virtualised list,
// grouped by sender, with day separators and system lines.
type messageListStyle struct {
	th     *Theme
	ic     *iconSet
	thread *model.Thread
	list   *widget.List
	states *messageStates
	now    time.Time // for day names
	// Me is the user's nickname, whose mentions stand out.
	Me string
	// Divider is the key of the message the "New messages" line goes
	// above, if HasDivider.
	Divider    uint64
	HasDivider bool
	// Highlight is the key of the message drawn highlighted (opened from
	// the search pane), if HasHighlight.
	Highlight    uint64
	HasHighlight bool
	// Thumbs decodes the pictures of file messages.
	Thumbs *thumbCache
}

func newMessageList(th *Theme, ic *iconSet, t *model.Thread, list *widget.List, states *messageStates, now time.Time) messageListStyle {
	return messageListStyle{th: th, ic: ic, thread: t, list: list, states: states, now: now}
}

// Layout fills the constraints' maximum.
func (l messageListStyle) Layout(gtx C) D {
	th, t := l.th, l.thread
	gtx.Constraints.Min = gtx.Constraints.Max
	if len(t.Messages) == 0 {
		return layout.Center.Layout(gtx, func(gtx C) D {
			txt := "No messages yet. Say hello to everyone!"
			if t.Peer != model.Everyone {
				txt = "No messages with " + t.Name() + " yet."
			}
			return pill(gtx, th, txt)
		})
	}
	ml := material.List(th.Theme, l.list)
	ml.AnchorStrategy = material.Overlay
	return wheelList(gtx, th, l.list, func(gtx C) D { return l.list_(gtx, ml) })
}

// list_ lays out the messages in ml.
func (l messageListStyle) list_(gtx C, ml material.ListStyle) D {
	th, t := l.th, l.thread
	return ml.Layout(gtx, len(t.Messages), func(gtx C, i int) D {
		msg := &t.Messages[i]
		var prev *model.Message
		if i > 0 {
			prev = &t.Messages[i-1]
		}
		newDay := prev == nil || !sameDate(prev.Time, msg.Time)
		first := newDay || !prev.Said() || prev.From != msg.From || msg.Time.Sub(prev.Time) > groupWindow
		top := groupGap
		switch {
		case first:
			top = 10
		case msg.Kind == model.KindFile || prev.Kind == model.KindFile:
			top = cardGap
		}
		if i == 0 {
			top = 12
		}
		return layout.Inset{Top: top, Left: 12, Right: 12, Bottom: bottomPad(i, len(t.Messages))}.Layout(gtx, func(gtx C) D {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					if !newDay {
						return D{}
					}
					return layout.Inset{Top: 6, Bottom: 10}.Layout(gtx, func(gtx C) D {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return layout.Center.Layout(gtx, func(gtx C) D { return pill(gtx, th, dayLabel(l.now, msg.Time)) })
					})
				}),
				layout.Rigid(func(gtx C) D {
					if !l.HasDivider || msg.Key != l.Divider {
						return D{}
					}
					return newMessagesLine(gtx, th)
				}),
				layout.Rigid(func(gtx C) D {
					if !awayStarts(t, i) {
						return D{}
					}
					return dividerLine(gtx, th, th.Pal.Muted, awayLine)
				}),
				layout.Rigid(func(gtx C) D {
					if msg.Kind == model.KindSystem {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return layout.Center.Layout(gtx, func(gtx C) D {
							return pill(gtx, th, msg.Text+" · "+msg.Time.Format("15:04"))
						})
					}
					var st *messageState
					if needsState(msg) {
						st = l.states.get(msg.Key)
					}
					b := newBubble(th, l.ic, msg, st)
					b.Avatar, b.First, b.Me = t.Peer == model.Everyone, first, l.Me
					if t.Peer != model.Everyone {
						b.Peer = t.Name()
					}
					b.Highlight = l.HasHighlight && msg.Key == l.Highlight
					b.Thumbs = l.Thumbs
					return b.Layout(gtx)
				}),
			)
		})
	})
}

func bottomPad(i, n int) unit.Dp {
	if i == n-1 {
		return 12
	}
	return 0
}

func sameDate(a, b time.Time) bool {
	y1, m1, d1 := a.Date()
	y2, m2, d2 := b.Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// dayLabel names the day of t for separators, as seen at now.
func dayLabel(now, t time.Time) string {
	t = t.In(now.Location())
	switch {
	case sameDate(t, now):
		return "Today"
	case sameDate(t, now.AddDate(0, 0, -1)):
		return "Yesterday"
	case t.Year() == now.Year():
		return t.Format("Monday, 2 January")
	}
	return t.Format("2 January 2006")
}

// pill draws a centered muted line (day separators, system lines).
func pill(gtx C, th *Theme, txt string) D {
	return background(gtx, th, th.Pal.System, 12, func(gtx C) D {
		return layout.Inset{Left: 12, Right: 12, Top: 4, Bottom: 4}.Layout(gtx, func(gtx C) D {
			l := th.label(sizeSmall, th.Pal.Muted, txt)
			l.Alignment = text.Middle
			return l.Layout(gtx)
		})
	})
}

// newMessagesLine draws the "New messages" divider across the width.
func newMessagesLine(gtx C, th *Theme) D {
	return dividerLine(gtx, th, th.Pal.Accent, "New messages")
}

// awayLine is the divider above the messages that came while the user was
// away (model.Message.Away): broadcasts and pictures the server replayed,
// private messages and files its mailbox kept.
const awayLine = "While you were away"

// awayStarts reports whether the message i of t is the first of a run of
// messages (texts or files) that came while the user was away: the
// message of a person before it (system lines aside), if any, did not.
func awayStarts(t *model.Thread, i int) bool {
	if m := &t.Messages[i]; !m.Away || !m.Said() {
		return false
	}
	for j := i - 1; j >= 0; j-- {
		if m := &t.Messages[j]; m.Said() {
			return !m.Away
		}
	}
	return true
}

// dividerLine draws a divider across the width: label between two lines
// of color c.
func dividerLine(gtx C, th *Theme, c colorT, label string) D {
	gtx.Constraints.Min.X = gtx.Constraints.Max.X
	return layout.Inset{Top: 4, Bottom: 10}.Layout(gtx, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Flexed(1, func(gtx C) D { return hline(gtx, c) }),
			layout.Rigid(func(gtx C) D {
				return layout.Inset{Left: 10, Right: 10}.Layout(gtx, th.bold(sizeSmall, c, label).Layout)
			}),
			layout.Flexed(1, func(gtx C) D { return hline(gtx, c) }),
		)
	})
}
