package ui

import (
	"image"

	"gioui.org/layout"
	"gioui.org/widget"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// composerState is the widget state of a thread's composer.
type composerState struct {
	editor widget.Editor
	send   iconButtonState
}

// update handles the composer's input and reports whether the user asked
// to send: the Send button, or Enter where Enter submits (not on touch
// screens, see Config.Touch).
func (c *composerState) update(gtx C) (submit bool) {
	submit = c.send.Clicked(gtx)
	for {
		ev, ok := c.editor.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			submit = true
		}
	}
	return submit
}

// composerStyle draws the bar under a thread: the message field and Send, or,
// when the thread cannot take messages, Gate instead.
type composerStyle struct {
	th     *Theme
	ic     *iconSet
	state  *composerState
	thread *model.Thread
	Gate   layout.Widget // nil: the field
}

func newComposer(th *Theme, ic *iconSet, state *composerState, t *model.Thread) composerStyle {
	return composerStyle{th: th, ic: ic, state: state, thread: t}
}

func (c composerStyle) Layout(gtx C) D {
	th, t := c.th, c.thread
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
		layout.Rigid(func(gtx C) D {
			return background(gtx, th, th.Pal.Panel, 0, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: 12, Right: 8, Top: 8, Bottom: 8}.Layout(gtx, func(gtx C) D {
					if c.Gate != nil {
						return c.Gate(gtx)
					}
					hint := "Message everyone"
					if t.Peer != model.Everyone {
						hint = "Message " + t.Name()
					}
					ed := &c.state.editor
					return layout.Flex{Alignment: layout.End}.Layout(gtx,
						layout.Flexed(1, func(gtx C) D {
							gtx.Constraints.Max.Y = min(gtx.Constraints.Max.Y, gtx.Dp(160))
							return field(gtx, th, ed, hint, false)
						}),
						layout.Rigid(layout.Spacer{Width: 4}.Layout),
						layout.Rigid(func(gtx C) D {
							b := newIconButton(th, &c.state.send, c.ic.send, th.Pal.OnAccent, th.Pal.Accent, "Send")
							b.Tip = tipEnd | tipAbove
							return b.Layout(gtx)
						}),
					)
				})
			})
		}),
	)
}

// chatGateStyle explains why a private thread cannot take messages and
// offers the way forward: request a chat, or answer the peer's request.
type chatGateStyle struct {
	th      *Theme
	thread  *model.Thread
	online  bool
	request *widget.Clickable // Start private chat, Chat again
	invite  *inviteState      // the peer's pending request, if any
}

func (g chatGateStyle) Layout(gtx C) D {
	th, t := g.th, g.thread
	name := t.Name()
	var msg string
	var action layout.Widget
	switch t.Chat {
	case client.ChatInviting:
		msg = "Waiting for " + name + " to accept your chat request…"
	case client.ChatInvited:
		msg = name + " wants to start a private chat."
		ic := g.invite
		action = func(gtx C) D {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return button(gtx, th, &ic.decline, secondary, "Decline") }),
				layout.Rigid(layout.Spacer{Width: 8}.Layout),
				layout.Rigid(func(gtx C) D { return button(gtx, th, &ic.accept, primary, "Accept") }),
			)
		}
	default:
		if !g.online {
			msg = name + " is offline."
		} else {
			msg = "Private messages go straight to " + name + "."
			if t.Closed == client.ReasonLost {
				msg = "The connection to " + name + " was lost."
			}
			label := "Start private chat"
			if t.Closed != "" {
				label = "Chat again"
			}
			action = func(gtx C) D { return button(gtx, th, g.request, primary, label) }
		}
	}
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return D{Size: image.Pt(0, gtx.Dp(touch))} }),
		layout.Flexed(1, th.label(sizeSmall, th.Pal.Muted, msg).Layout),
		layout.Rigid(func(gtx C) D {
			if action == nil {
				return D{}
			}
			return layout.Inset{Left: 8}.Layout(gtx, action)
		}),
	)
}
