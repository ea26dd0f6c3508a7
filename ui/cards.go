package ui

import (
	"gioui.org/io/semantic"
	"image"
	"time"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// noticeFor is how long an error notice stays up.
const noticeFor = 8 * time.Second

// inviteState is the widget state of one pending chat request, shared by
// its card and by the gate of its thread.
type inviteState struct {
	accept, decline, open widget.Clickable
}

// cardDeck is the state of the cards of the chat screen: pending chat
// requests and the latest notice. They flow at the top of the people list,
// or above the composer when the phone shows a thread.
type cardDeck struct {
	invites map[string]*inviteState
	dismiss iconButtonState
	items   []layout.Widget // this frame's cards, see collect
}

// invite returns the state of the request of thread key, making it if needed.
func (d *cardDeck) invite(key string) *inviteState {
	if d.invites == nil {
		d.invites = map[string]*inviteState{}
	}
	ic := d.invites[key]
	if ic == nil {
		ic = new(inviteState)
		d.invites[key] = ic
	}
	return ic
}

// inviteAction is what the user did with a chat request.
type inviteAction int

const (
	inviteAccept inviteAction = iota + 1
	inviteDecline
	inviteOpen // the card was clicked: show the thread
)

// update handles the input of the cards: act is called with the thread of
// each request the user answered or opened; it reports whether the notice
// was dismissed.
func (d *cardDeck) update(gtx C, act func(thread string, a inviteAction)) (dismissed bool) {
	for key, ic := range d.invites {
		switch {
		case ic.accept.Clicked(gtx):
			act(key, inviteAccept)
		case ic.decline.Clicked(gtx):
			act(key, inviteDecline)
		case ic.open.Clicked(gtx):
			act(key, inviteOpen)
		}
	}
	return d.dismiss.Clicked(gtx)
}

// collect gathers the pending chat requests of m and its latest notice as
// cards for this frame (d.items), pruning the state of answered requests and
// dropping a notice that is up since noticeFor. The request of shown, the
// thread on screen ("" for none), is left out: the thread itself shows
// Accept and Decline.
func (d *cardDeck) collect(th *Theme, ic *iconSet, m *model.Model, shown string) {
	for key := range d.invites {
		if !hasInvite(m, key) {
			delete(d.invites, key)
		}
	}
	d.items = d.items[:0]
	now := m.Now()
	for _, iv := range m.Invites {
		if iv.Key == shown {
			continue
		}
		c := inviteCardStyle{th: th, state: d.invite(iv.Key), invite: iv, now: now}
		d.items = append(d.items, c.Layout)
	}
	if n := len(m.Notices); n > 0 {
		last := m.Notices[n-1]
		if now.Sub(last.Time) > noticeFor {
			m.Notices = nil
		} else {
			c := noticeCardStyle{th: th, ic: ic, dismiss: &d.dismiss, text: last.Text}
			d.items = append(d.items, c.Layout)
		}
	}
}

// hasInvite reports whether a chat request of thread key waits for an answer.
func hasInvite(m *model.Model, key string) bool {
	for _, iv := range m.Invites {
		if iv.Key == key {
			return true
		}
	}
	if t := m.Lookup(key); t != nil && t.Chat == client.ChatInvited {
		return true
	}
	return false
}

// flowCard lays out card i of d.items in the flow of a pane, full width with
// margins, so that it pushes the content instead of covering it.
func (d *cardDeck) flowCard(gtx C, i int) D {
	in := layout.Inset{Left: 12, Right: 12, Top: 10}
	if i == len(d.items)-1 {
		in.Bottom = 6
	}
	return in.Layout(gtx, d.items[i])
}

// flowCards lays out all of d.items in the flow (phone layout, thread shown).
func (d *cardDeck) flowCards(gtx C) D {
	if len(d.items) == 0 {
		return D{}
	}
	gtx.Constraints.Min.Y = 0
	children := make([]layout.FlexChild, len(d.items))
	for i := range d.items {
		children[i] = layout.Rigid(func(gtx C) D { return d.flowCard(gtx, i) })
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx, children...)
}

// cardStyle draws content on a raised panel with a soft shadow.
type cardStyle struct {
	th      *Theme
	content layout.Widget
}

func (c cardStyle) Layout(gtx C) D {
	th := c.th
	m := op.Record(gtx.Ops)
	d := layout.UniformInset(14).Layout(gtx, c.content)
	call := m.Stop()
	r := gtx.Dp(14)
	for i, a := range []uint8{0x10, 0x0c, 0x08} {
		o := gtx.Dp(unit.Dp(i + 1))
		rect := image.Rectangle{Min: image.Pt(-o, -o+o), Max: d.Size.Add(image.Pt(o, o+o))}
		th.fillRRect(gtx.Ops, argb(uint32(a)<<24), clip.UniformRRect(rect, r+o))
	}
	th.fillRRect(gtx.Ops, th.Pal.Panel, clip.UniformRRect(image.Rectangle{Max: d.Size}, r))
	border(gtx, th, d.Size, th.Pal.Divider, 14, 1)
	call.Add(gtx.Ops)
	return d
}

// inviteCardStyle draws a chat request with its countdown, Accept and Decline.
type inviteCardStyle struct {
	th     *Theme
	state  *inviteState
	invite model.Invite
	now    time.Time
}

func (c inviteCardStyle) Layout(gtx C) D {
	th, iv, st := c.th, c.invite, c.state
	left := max(iv.Expires.Sub(c.now), 0)
	secs := int((left + time.Second - 1) / time.Second)
	return cardStyle{th: th, content: func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx C) D {
				return st.open.Layout(gtx, func(gtx C) D {
					semantic.Button.Add(gtx.Ops)
					semantic.DescriptionOp("Open the chat with " + iv.From).Add(gtx.Ops)
					d := layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Rigid(func(gtx C) D { return avatar(gtx, th, iv.From, avatarSize) }),
						layout.Rigid(layout.Spacer{Width: 12}.Layout),
						layout.Flexed(1, func(gtx C) D {
							return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
								layout.Rigid(th.bold(sizeBody, th.Pal.Text, iv.From+" wants to chat").Layout),
								layout.Rigid(th.label(sizeSmall, th.Pal.Muted, "Request expires in "+itoa(secs)+" s").Layout),
							)
						}),
					)
					g := gtx.Dp(4)
					focusRing(gtx, th, &st.open, outset(image.Rectangle{Max: d.Size}, g), gtx.Dp(8)+g)
					return d
				})
			}),
			layout.Rigid(func(gtx C) D {
				// Countdown bar.
				return layout.Inset{Top: 10, Bottom: 6}.Layout(gtx, func(gtx C) D {
					w := gtx.Constraints.Max.X
					h := gtx.Dp(4)
					paint.FillShape(gtx.Ops, th.Pal.Field, clip.UniformRRect(image.Rect(0, 0, w, h), h/2).Op(gtx.Ops))
					frac := float64(left) / float64(iv.Lifetime())
					frac = min(1, max(0, frac))
					paint.FillShape(gtx.Ops, th.Pal.Accent, clip.UniformRRect(image.Rect(0, 0, int(float64(w)*frac), h), h/2).Op(gtx.Ops))
					return D{Size: image.Pt(w, h)}
				})
			}),
			layout.Rigid(func(gtx C) D {
				return layout.Flex{}.Layout(gtx,
					layout.Flexed(1, func(gtx C) D {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return button(gtx, th, &st.decline, secondary, "Decline")
					}),
					layout.Rigid(layout.Spacer{Width: 8}.Layout),
					layout.Flexed(1, func(gtx C) D {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return button(gtx, th, &st.accept, primary, "Accept")
					}),
				)
			}),
		)
	}}.Layout(gtx)
}

// noticeCardStyle draws a transient error with a dismiss button.
type noticeCardStyle struct {
	th      *Theme
	ic      *iconSet
	dismiss *iconButtonState
	text    string
}

func (c noticeCardStyle) Layout(gtx C) D {
	th := c.th
	return cardStyle{th: th, content: func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(func(gtx C) D {
				gtx.Constraints = layout.Exact(image.Pt(gtx.Dp(20), gtx.Dp(20)))
				return c.ic.failed.Layout(gtx, th.Pal.Danger)
			}),
			layout.Rigid(layout.Spacer{Width: 10}.Layout),
			layout.Flexed(1, th.label(sizeSmall, th.Pal.Text, capital(c.text)).Layout),
			layout.Rigid(func(gtx C) D {
				b := newIconButton(th, c.dismiss, c.ic.close, th.Pal.Muted, colorT{}, "Dismiss")
				b.Tip = tipEnd
				return b.Layout(gtx)
			}),
		)
	}}.Layout(gtx)
}
