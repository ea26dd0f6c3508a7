package ui

import (
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/widget"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// threadState is the widget state of one thread: its scroll position and
// its composer. It lives as long as the chat screen.
type threadState struct {
	list     widget.List
	composer composerState
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
	request    widget.Clickable // Start private chat, in the composer bar
	leave      widget.Clickable
	jump       iconButtonState
	del        iconButtonState // Delete history, in the header
	delCancel  widget.Clickable
	delConfirm widget.Clickable
	confirmDel bool // the pane shows the confirmation of Delete history
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
	th, t := p.th, p.thread
	paint.FillShape(gtx.Ops, th.Pal.Bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(p.header),
		layout.Rigid(p.confirmDelete),
		layout.Flexed(1, func(gtx C) D {
			return layout.Stack{Alignment: layout.SE}.Layout(gtx,
				layout.Expanded(p.Messages),
				layout.Stacked(func(gtx C) D {
					if !p.state.list.Position.BeforeEnd {
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
								return badge(gtx, th, t.Unread)
							}),
						)
					})
				}),
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

// header draws the peer, their state and the thread's actions.
func (p threadPaneStyle) header(gtx C) D {
	th, t := p.th, p.thread
	return barHeader(gtx, th, func(gtx C) D {
		var children []layout.FlexChild
		if p.Narrow {
			children = append(children, layout.Rigid(func(gtx C) D {
				return iconButton(gtx, th, &p.pane.back, p.ic.back, th.Pal.Text, colorT{}, "Back")
			}))
		} else {
			children = append(children, layout.Rigid(layout.Spacer{Width: 8}.Layout))
		}
		title, status := t.Name(), ""
		if t.Peer == model.Everyone {
			title = "Everyone"
			n, known := p.m.OnlineCount()
			n++
			switch {
			case !known:
				status = "Not connected: who is here is unknown"
			case n == 1:
				status = "Just you so far"
			default:
				status = itoa(n) + " people here, you included"
			}
		} else {
			status = "offline"
			switch {
			case !p.m.PresenceKnown():
				status = "status unknown while not connected"
			case p.m.Online(t.Peer):
				status = "online"
			}
			switch t.Chat {
			case client.ChatOpen:
				status = "private chat · connected"
			case client.ChatInviting:
				status = "waiting for " + title + " to accept…"
			case client.ChatInvited:
				status = "wants to chat with you"
			}
		}
		children = append(children,
			layout.Rigid(func(gtx C) D {
				if t.Peer == model.Everyone {
					return iconAvatar(gtx, th, p.ic.people, th.Pal.Accent, avatarSize)
				}
				return avatar(gtx, th, t.Name(), avatarSize)
			}),
			layout.Rigid(layout.Spacer{Width: 12}.Layout),
			layout.Flexed(1, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						l := th.bold(sizeTitle, th.Pal.Text, title)
						l.MaxLines = 1
						return l.Layout(gtx)
					}),
					layout.Rigid(func(gtx C) D {
						c := th.Pal.Muted
						if t.Chat == client.ChatOpen {
							c = th.Pal.Success
						}
						l := th.label(sizeCaption, c, status)
						l.MaxLines = 1
						return l.Layout(gtx)
					}),
				)
			}),
		)
		if t.Peer != model.Everyone && t.Chat == client.ChatOpen {
			children = append(children, layout.Rigid(func(gtx C) D {
				return smallButton(gtx, th, &p.pane.leave, "Leave chat", th.Pal.Danger)
			}))
		}
		if p.CanDelete {
			children = append(children, layout.Rigid(func(gtx C) D {
				b := newIconButton(th, &p.pane.del, p.ic.del, th.Pal.Muted, colorT{}, "Delete history")
				b.Tip = tipEnd
				return b.Layout(gtx)
			}))
		}
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx, children...)
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
