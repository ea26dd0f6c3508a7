package ui

import (
	"time"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/widget"

	"peerchat/ui/model"
)

// threadState is the widget state of one thread: its scroll position, its
// composer and the "new messages" divider. It lives as long as the chat
// screen.
type threadState struct {
	list     widget.List
	composer composerState
	// divider is the key of the first message that was unread when the
	// thread was opened (see chatScreen.opening), if hasDivider: the
	// "New messages" line goes above it until another thread is opened.
	divider    uint64
	hasDivider bool
	mentions   mentionCount // of the unread messages, for the jump button's badge
	// flash is the key of the message opened from the search pane, drawn
	// highlighted until flashUntil (set when it is first drawn), so that
	// the user sees which one it is.
	flash      uint64
	flashUntil time.Time
}

// flashFor is how long a message opened from the search pane stays
// highlighted.
const flashFor = 2 * time.Second

// highlight returns the key of the message to draw highlighted, if any,
// and asks for the frame that ends the highlight.
func (ts *threadState) highlight(gtx C) (uint64, bool) {
	if ts.flash == 0 {
		return 0, false
	}
	if ts.flashUntil.IsZero() {
		ts.flashUntil = gtx.Now.Add(flashFor)
	}
	if !gtx.Now.Before(ts.flashUntil) {
		ts.flash, ts.flashUntil = 0, time.Time{}
		return 0, false
	}
	gtx.Execute(op.InvalidateCmd{At: ts.flashUntil})
	return ts.flash, true
}

func newThreadState(touch bool) *threadState {
	ts := new(threadState)
	ts.list.Axis = layout.Vertical
	ts.list.ScrollToEnd = true
	ts.composer.editor.Submit = !touch
	return ts
}

// threadPane is the state of the thread pane's own controls, shared by
// every thread: the header's buttons, the Delete history confirmation and
// the jump to the newest messages.
type threadPane struct {
	back       iconButtonState
	leave      widget.Clickable
	head       threadHeader // the rest of the header (threadheader.go)
	jump       iconButtonState
	del        iconButtonState // Delete history, in the header
	delCancel  widget.Clickable
	delConfirm widget.Clickable
	confirmDel bool // the pane shows the confirmation of Delete history
	menu       msgMenu
	jumpUnread widget.Clickable // to the "New messages" divider
	// jumpShown says that the last frame drew the jump to the newest
	// messages.
	jumpShown bool
}

// threadPaneStyle draws the open thread: header, Delete history
// confirmation, messages with the jump button, then (phone) the cards and
// the composer.
type threadPaneStyle struct {
	th     *Theme
	ic     *iconSet
	m      *model.Model
	pane   *threadPane
	thread *model.Thread
	state  *threadState
	// Messages draws the messages; Composer the bar under them; Cards, if not
	// nil, goes between them (phone layout).
	Messages, Composer, Cards layout.Widget
	// Narrow shows the back button; CanDelete the Delete history button.
	Narrow, CanDelete bool
}

func (p threadPaneStyle) Layout(gtx C) D {
	th := p.th
	paint.FillShape(gtx.Ops, th.Pal.Bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(p.header),
		layout.Rigid(p.confirmDelete),
		layout.Flexed(1, func(gtx C) D {
			return layout.Stack{Alignment: layout.SE}.Layout(gtx,
				layout.Expanded(msgMenuStyle{th: th, state: &p.pane.menu, Content: p.messages}.Layout),
				layout.Expanded(p.jumpToUnread),
				layout.Stacked(p.jumpToEnd),
			)
		}),
		layout.Rigid(func(gtx C) D {
			if p.Cards == nil {
				return D{}
			}
			return p.Cards(gtx)
		}),
		layout.Rigid(p.Composer),
	)
}

// messages draws the messages. A thread opened at its first unread
// message (chatScreen.opening) whose unread messages all show is read at
// once, and the frame drawn again for the badges.
func (p threadPaneStyle) messages(gtx C) D {
	d := p.Messages(gtx)
	if t := p.thread; !p.state.list.Position.BeforeEnd && (t.Unread > 0 || t.Missed > 0) {
		p.m.MarkRead(t.Peer)
		gtx.Execute(op.InvalidateCmd{})
	}
	return d
}

// jumpToEnd draws the button that jumps to the newest messages, with the
// thread's unread count and whether they mention the user, while the
// newest message is out of sight: it never covers it (issue 9, defect 13).
func (p threadPaneStyle) jumpToEnd(gtx C) D {
	th, t, pos := p.th, p.thread, p.state.list.Position
	p.pane.jumpShown = pos.BeforeEnd && pos.First+pos.Count < len(t.Messages)
	if !p.pane.jumpShown {
		return D{}
	}
	return layout.Inset{Right: pad, Bottom: pad}.Layout(gtx, func(gtx C) D {
		return layout.Stack{Alignment: layout.NE}.Layout(gtx,
			layout.Stacked(func(gtx C) D {
				return layout.UniformInset(6).Layout(gtx, func(gtx C) D {
					b := newIconButton(th, &p.pane.jump, p.ic.down, th.Pal.Text, th.Pal.Panel, "Jump to the newest messages")
					b.Tip = tipEnd | tipAbove
					return b.Layout(gtx)
				})
			}),
			layout.Stacked(func(gtx C) D {
				if t.Unread == 0 {
					return D{}
				}
				return unreadBadge(gtx, th, t.Unread, p.state.mentions.get(t, p.m.Me))
			}),
		)
	})
}

// jumpToUnread draws, at the top of the messages, a button back to the
// "New messages" divider while it is above what the list shows.
func (p threadPaneStyle) jumpToUnread(gtx C) D {
	ts := p.state
	if !ts.hasDivider {
		return D{}
	}
	i := messageIndex(p.thread, ts.divider)
	if i < 0 || ts.list.Position.First < i || ts.list.Position.First == i && ts.list.Position.Offset <= 0 {
		return D{}
	}
	return layout.N.Layout(gtx, func(gtx C) D {
		return layout.Inset{Top: 8}.Layout(gtx, func(gtx C) D {
			return pillButton(gtx, p.th, &p.pane.jumpUnread, "↑ New messages")
		})
	})
}

// confirmDelete asks whether to delete the history of the thread.
func (p threadPaneStyle) confirmDelete(gtx C) D {
	if !p.pane.confirmDel {
		return D{}
	}
	th, t := p.th, p.thread
	what := "all messages with " + t.Name()
	if t.Peer == model.Everyone {
		what = "all messages to everyone"
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return background(gtx, th, th.Pal.Panel, 0, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: pad, Right: 8, Top: 8, Bottom: 8}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Flexed(1, th.label(sizeSmall, th.Pal.Text, "Delete "+what+" from this device?").Layout),
						layout.Rigid(func(gtx C) D { return smallButton(gtx, th, &p.pane.delCancel, "Cancel", th.Pal.Accent) }),
						layout.Rigid(func(gtx C) D { return smallButton(gtx, th, &p.pane.delConfirm, "Delete", th.Pal.Danger) }),
					)
				})
			})
		}),
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
	)
}
