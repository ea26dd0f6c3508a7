package ui

import (
	"image"

	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"peerchat/ui/model"
)

// switcherRows is how many entries the switcher shows without scrolling.
const switcherRows = 7

// switcherStyle draws the open quick switcher over the whole window: a
// dimmed backdrop (a click on it closes the switcher) and a card near the
// top with the field and the people and chats that match, the selected one
// highlighted.
type switcherStyle struct {
	th    *Theme
	ic    *iconSet
	m     *model.Model
	state *switcher
	card  *widget.Clickable // takes the clicks on the card, off the backdrop
}

func (s switcherStyle) Layout(gtx C) D {
	th, st := s.th, s.state
	size := gtx.Constraints.Max
	s.state.scrim.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Close the switcher").Add(gtx.Ops)
		paint.FillShape(gtx.Ops, colorT{A: 0x66}, clip.Rect{Max: size}.Op())
		return D{Size: size}
	})
	top := unit.Dp(72)
	if size.X < gtx.Dp(narrowWidth) {
		top = 8
	}
	return layout.Inset{Top: top, Left: 12, Right: 12}.Layout(gtx, func(gtx C) D {
		return layout.N.Layout(gtx, func(gtx C) D {
			gtx = clampWidth(gtx, 480)
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return s.card.Layout(gtx, func(gtx C) D {
				return background(gtx, th, th.Pal.Panel, 14, func(gtx C) D {
					return layout.UniformInset(8).Layout(gtx, func(gtx C) D {
						return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
							layout.Rigid(func(gtx C) D {
								return describe(gtx, "Go to a chat", func(gtx C) D {
									return field(gtx, th, &st.field, "Go to a person or chat…", false)
								})
							}),
							layout.Rigid(layout.Spacer{Height: 4}.Layout),
							layout.Rigid(s.list),
						)
					})
				})
			})
		})
	})
}

// list draws the entries, switcherRows of them at most without scrolling.
func (s switcherStyle) list(gtx C) D {
	th, st := s.th, s.state
	if len(st.items) == 0 {
		return layout.UniformInset(12).Layout(gtx, th.label(sizeSmall, th.Pal.Muted, "Nobody by that name").Layout)
	}
	gtx.Constraints.Max.Y = min(gtx.Constraints.Max.Y, gtx.Dp(56*switcherRows))
	l := material.List(th.Theme, &st.list)
	l.AnchorStrategy = material.Overlay
	return l.Layout(gtx, len(st.items), func(gtx C, i int) D {
		it := st.items[i]
		click := &st.rows[i]
		return click.Layout(gtx, func(gtx C) D {
			semantic.Button.Add(gtx.Ops)
			return layout.Stack{}.Layout(gtx,
				layout.Expanded(func(gtx C) D {
					switch {
					case i == st.sel:
						th.fillRRect(gtx.Ops, th.Pal.Hover, clip.UniformRRect(image.Rectangle{Max: gtx.Constraints.Min}, gtx.Dp(10)))
					case click.Hovered():
						th.fillRRect(gtx.Ops, withAlpha(th.Pal.Hover, 0x99), clip.UniformRRect(image.Rectangle{Max: gtx.Constraints.Min}, gtx.Dp(10)))
					}
					focusRing(gtx, th, click, image.Rectangle{Max: gtx.Constraints.Min}, gtx.Dp(10))
					return D{Size: gtx.Constraints.Min}
				}),
				layout.Stacked(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Constraints.Max.X
					return layout.Inset{Left: 8, Right: 8, Top: 8, Bottom: 8}.Layout(gtx, func(gtx C) D {
						return s.entry(gtx, it)
					})
				}),
			)
		})
	})
}

// entry draws one entry: avatar, name, and what it is.
func (s switcherStyle) entry(gtx C, it switchItem) D {
	th, m := s.th, s.m
	sub := "online"
	switch {
	case it.key == model.Everyone:
		sub = "Messages to everyone on the server"
	case !m.PresenceKnown():
		sub = "status unknown"
	case !m.Online(it.key):
		sub = "offline"
	}
	if t := m.Lookup(it.key); it.key != model.Everyone && t != nil && t.Unread > 0 {
		sub = itoa(t.Unread) + " unread · " + sub
	}
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			if it.key == model.Everyone {
				return iconAvatar(gtx, th, s.ic.people, th.Pal.Accent, 36)
			}
			return avatar(gtx, th, it.name, 36)
		}),
		layout.Rigid(layout.Spacer{Width: 12}.Layout),
		layout.Flexed(1, func(gtx C) D {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					l := th.bold(sizeBody, th.Pal.Text, it.name)
					l.MaxLines = 1
					return l.Layout(gtx)
				}),
				layout.Rigid(func(gtx C) D {
					l := th.label(sizeSmall, th.Pal.Muted, sub)
					l.MaxLines = 1
					return l.Layout(gtx)
				}),
			)
		}),
	)
}

// layoutSwitcher draws the open quick switcher over the chat screen.
func (s *chatScreen) layoutSwitcher(gtx C) {
	switcherStyle{th: s.a.th, ic: &s.a.ic, m: s.m, state: s.switcher, card: &s.switcher.card}.Layout(gtx)
}
