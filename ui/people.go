package ui

import (
	"image"
	"strings"
	"time"

	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// filterThreshold is the number of people above which the people list
// offers a filter field.
const filterThreshold = 8

// peoplePane is the widget state of the people pane: the header's buttons,
// the filter and the list of the feed and the people.
type peoplePane struct {
	list       widget.List
	everyone   widget.Clickable
	rows       map[string]*widget.Clickable // by thread key
	filter     widget.Editor
	menu       iconButtonState // opens the settings panel
	disconnect iconButtonState // ✕: asks to leave the server
	// confirmLeave shows the question under the header: Cancel or Leave.
	confirmLeave         bool
	leaveCancel, leaveOK widget.Clickable
	ordered              []model.Person // reused by Layout: model.Ordered
}

func newPeoplePane() *peoplePane {
	p := &peoplePane{rows: map[string]*widget.Clickable{}}
	p.list.Axis = layout.Vertical
	p.filter.SingleLine = true
	return p
}

// row returns the clickable of the row of thread key, making it if needed.
func (p *peoplePane) row(key string) *widget.Clickable {
	c := p.rows[key]
	if c == nil {
		c = new(widget.Clickable)
		p.rows[key] = c
	}
	return c
}

// update handles clicks on the rows: open is called with the thread to show.
func (p *peoplePane) update(gtx C, open func(peer string)) {
	if p.everyone.Clicked(gtx) {
		open(model.Everyone)
	}
	for key, c := range p.rows {
		if c.Clicked(gtx) {
			open(key)
		}
	}
}

// peoplePaneStyle draws the people pane: the user and the connection in the
// header, the settings panel, the filter, then the cards, the feed and the
// people.
type peoplePaneStyle struct {
	th    *Theme
	ic    *iconSet
	m     *model.Model
	state *peoplePane
	// Current is the open thread, ThreadShown whether it is on screen (see
	// personRowStyle.Selected).
	Current     string
	ThreadShown bool
	Settings    layout.Widget // under the header
	Cards       *cardDeck     // leading the list
}

func (p peoplePaneStyle) Layout(gtx C) D {
	th, m, st := p.th, p.m, p.state
	paint.FillShape(gtx.Ops, th.Pal.Panel, clip.Rect{Max: gtx.Constraints.Max}.Op())
	people := m.Ordered(st.ordered[:0])
	st.ordered = people
	showFilter := len(people) > filterThreshold
	q := ""
	if showFilter {
		q = strings.ToLower(strings.TrimSpace(st.filter.Text()))
	}
	var shown []model.Person
	for _, pe := range people {
		if q == "" || strings.Contains(strings.ToLower(pe.Nick), q) {
			shown = append(shown, pe)
		}
	}
	online, _ := m.OnlineCount()
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(p.header),
		layout.Rigid(p.confirmLeave),
		layout.Rigid(p.Settings),
		layout.Rigid(func(gtx C) D {
			if !showFilter {
				return D{}
			}
			return layout.Inset{Left: 12, Right: 12, Top: 10, Bottom: 4}.Layout(gtx, func(gtx C) D {
				return field(gtx, th, &st.filter, "Filter people", false)
			})
		}),
		layout.Flexed(1, func(gtx C) D {
			// The cards lead the list, pushing the people down.
			nc := len(p.Cards.items)
			n := nc + 2 + len(shown)
			l := material.List(th.Theme, &st.list)
			l.AnchorStrategy = material.Overlay
			return wheelList(gtx, th, &st.list, func(gtx C) D { return p.list(gtx, l, n, shown, online) })
		}),
	)
}

// list lays out the cards, the feed and the people shown in l.
func (p peoplePaneStyle) list(gtx C, l material.ListStyle, n int, shown []model.Person, online int) D {
	th, m, st := p.th, p.m, p.state
	nc := len(p.Cards.items)
	return l.Layout(gtx, n, func(gtx C, i int) D {
		if i < nc {
			return p.Cards.flowCard(gtx, i)
		}
		i -= nc
		switch i {
		case 0:
			feed := m.Thread(model.Everyone)
			preview := itoa(online) + " people online"
			switch {
			case !m.PresenceKnown():
				preview = "Who is here is unknown until reconnected"
			case online == 0:
				preview = "Nobody else here yet"
			case online == 1:
				preview = "1 person online"
			}
			if msg := lastText(feed); msg != nil {
				preview = sender(msg) + ": " + firstLine(msg.Text)
				if msg.Mine {
					preview = "You: " + firstLine(msg.Text)
				}
			}
			return p.row(&st.everyone, model.Everyone, "Everyone", preview, feed, true).Layout(gtx)
		case 1:
			return layout.Inset{Left: pad, Top: 14, Bottom: 6}.Layout(gtx, func(gtx C) D {
				txt := "PEOPLE · " + itoa(online) + " ONLINE"
				if !m.PresenceKnown() {
					txt = "PEOPLE · STATUS UNKNOWN"
				}
				return th.bold(sizeCaption, th.Pal.Muted, txt).Layout(gtx)
			})
		}
		pe := shown[i-2]
		t := m.Lookup(pe.Key)
		preview := "online"
		switch {
		case !m.PresenceKnown():
			preview = "status unknown" // the list is from before the outage
		case !pe.Online:
			preview = "offline"
		}
		if t != nil {
			switch t.Chat {
			case client.ChatInvited:
				preview = "wants to chat with you"
			case client.ChatInviting:
				preview = "waiting for an answer…"
			}
			if msg := lastText(t); msg != nil && t.Chat != client.ChatInvited {
				preview = firstLine(msg.Text)
				if msg.Mine {
					preview = "You: " + preview
				}
			}
			if t.Missed > 0 && t.Chat == client.ChatNone && t.Unread == 0 {
				preview = "Missed chat request"
			}
		}
		r := p.row(st.row(pe.Key), pe.Key, pe.Nick, preview, t, pe.Online && m.PresenceKnown())
		r.unknown = !m.PresenceKnown()
		return r.Layout(gtx)
	})
}

func (p peoplePaneStyle) row(click *widget.Clickable, key, name, preview string, t *model.Thread, online bool) personRowStyle {
	return personRowStyle{
		th: p.th, ic: p.ic, click: click, key: key, name: name, preview: preview, thread: t, online: online,
		now: p.m.Now(), Current: p.Current == key, ThreadShown: p.ThreadShown,
	}
}

// header shows the user, the connection state and the pane's buttons.
func (p peoplePaneStyle) header(gtx C) D {
	th, m := p.th, p.m
	return barHeader(gtx, th, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(layout.Spacer{Width: 4}.Layout),
			layout.Rigid(func(gtx C) D { return avatar(gtx, th, m.Me, avatarSize) }),
			layout.Rigid(layout.Spacer{Width: 12}.Layout),
			layout.Flexed(1, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						l := th.bold(sizeBody, th.Pal.Text, m.Me)
						l.MaxLines = 1
						return l.Layout(gtx)
					}),
					layout.Rigid(func(gtx C) D {
						return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
							layout.Rigid(func(gtx C) D {
								c := th.Pal.Success
								if m.Conn.State != model.Connected {
									c = th.Pal.Warn
								}
								return dot(gtx, th, c, 8)
							}),
							layout.Rigid(layout.Spacer{Width: 6}.Layout),
							layout.Flexed(1, func(gtx C) D {
								l := th.label(sizeCaption, th.Pal.Muted, m.Server)
								l.MaxLines = 1
								return l.Layout(gtx)
							}),
						)
					}),
				)
			}),
			layout.Rigid(func(gtx C) D {
				return iconButton(gtx, th, &p.state.menu, p.ic.more, th.Pal.Muted, colorT{}, "Settings")
			}),
			layout.Rigid(func(gtx C) D {
				b := newIconButton(th, &p.state.disconnect, p.ic.close, th.Pal.Muted, colorT{}, "Leave the server")
				b.Tip = tipEnd
				return b.Layout(gtx)
			}),
		)
	})
}

// confirmLeave asks whether to leave the server, when ✕ was pressed.
func (p peoplePaneStyle) confirmLeave(gtx C) D {
	st := p.state
	if !st.confirmLeave {
		return D{}
	}
	th := p.th
	q := "Leave " + p.m.Server + "?"
	if p.m.Server == "" {
		q = "Leave the server?"
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return background(gtx, th, th.Pal.Panel, 0, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: pad, Right: 8, Top: 10, Bottom: 4}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(th.bold(sizeSmall, th.Pal.Text, q).Layout),
						layout.Rigid(th.label(sizeSmall, th.Pal.Muted, "Your private chats will close.").Layout),
						layout.Rigid(func(gtx C) D {
							gtx.Constraints.Min.X = gtx.Constraints.Max.X
							return layout.E.Layout(gtx, func(gtx C) D {
								return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
									layout.Rigid(func(gtx C) D { return smallButton(gtx, th, &st.leaveCancel, "Cancel", th.Pal.Accent) }),
									layout.Rigid(func(gtx C) D { return smallButton(gtx, th, &st.leaveOK, "Leave", th.Pal.Danger) }),
								)
							})
						}),
					)
				})
			})
		}),
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
	)
}

// personRowStyle draws one entry of the people list: the feed or a person,
// with avatar, presence, the last message or the chat state, its time and
// the unread count.
type personRowStyle struct {
	th      *Theme
	ic      *iconSet
	click   *widget.Clickable
	key     string // the thread: model.Everyone or the nickname
	name    string
	preview string
	thread  *model.Thread // nil if none yet
	online  bool
	unknown bool // presence is not known (the server link is down)
	now     time.Time
	// Current is set on the row of the open thread. It is drawn selected
	// when the thread is on screen, or when the pane is as narrow as the
	// sidebar (the desktop layout).
	Current, ThreadShown bool
}

func (r personRowStyle) Layout(gtx C) D {
	th, t, key, name, online := r.th, r.thread, r.key, r.name, r.online
	selected := r.Current && (r.ThreadShown || gtx.Constraints.Max.X <= gtx.Dp(sidebarWidth)+1)
	return r.click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		d := layout.Stack{}.Layout(gtx,
			layout.Expanded(func(gtx C) D {
				switch {
				case selected:
					return fill(gtx, th.Pal.Hover)
				case r.click.Hovered():
					return fill(gtx, withAlpha(th.Pal.Hover, 0x99))
				}
				return D{Size: gtx.Constraints.Min}
			}),
			layout.Stacked(func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: 12, Right: 12, Top: 10, Bottom: 10}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Rigid(func(gtx C) D {
							if key == model.Everyone {
								return iconAvatar(gtx, th, r.ic.people, th.Pal.Accent, 44)
							}
							return layout.Stack{Alignment: layout.SE}.Layout(gtx,
								layout.Stacked(func(gtx C) D { return avatar(gtx, th, name, 44) }),
								layout.Stacked(func(gtx C) D {
									if !online {
										return D{}
									}
									return background(gtx, th, th.Pal.Panel, 8, func(gtx C) D {
										return layout.UniformInset(2).Layout(gtx, func(gtx C) D { return dot(gtx, th, th.Pal.Success, 10) })
									})
								}),
							)
						}),
						layout.Rigid(layout.Spacer{Width: 12}.Layout),
						layout.Flexed(1, func(gtx C) D {
							return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
								layout.Rigid(func(gtx C) D {
									return layout.Flex{Alignment: layout.Baseline}.Layout(gtx,
										layout.Flexed(1, func(gtx C) D {
											c := th.Pal.Text
											if !online && !r.unknown && key != model.Everyone {
												c = th.Pal.Muted
											}
											l := th.bold(sizeBody, c, name)
											l.MaxLines = 1
											return l.Layout(gtx)
										}),
										layout.Rigid(func(gtx C) D {
											if m := lastText(t); m != nil {
												return th.label(sizeCaption, th.Pal.Muted, shortTime(r.now, m.Time)).Layout(gtx)
											}
											return D{}
										}),
									)
								}),
								layout.Rigid(layout.Spacer{Height: 2}.Layout),
								layout.Rigid(func(gtx C) D {
									return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
										layout.Flexed(1, func(gtx C) D {
											c := th.Pal.Muted
											if t != nil && (t.Chat == client.ChatInvited || t.Missed > 0) {
												c = th.Pal.Accent
											}
											l := th.label(sizeSmall, c, r.preview)
											l.MaxLines = 1
											return l.Layout(gtx)
										}),
										layout.Rigid(func(gtx C) D {
											if t == nil || t.Unread+t.Missed == 0 {
												return D{}
											}
											return layout.Inset{Left: 6}.Layout(gtx, func(gtx C) D { return badge(gtx, th, t.Unread+t.Missed) })
										}),
									)
								}),
							)
						}),
					)
				})
			}),
		)
		in := gtx.Dp(3)
		focusRing(gtx, th, r.click, image.Rectangle{Min: image.Pt(in, in), Max: d.Size.Sub(image.Pt(in, in))}, gtx.Dp(8))
		return d
	})
}

// shortTime formats a message time for the people list, as seen at now.
func shortTime(now, t time.Time) string {
	t = t.In(now.Location())
	switch {
	case sameDate(t, now):
		return t.Format("15:04")
	case now.Sub(t) < 6*24*time.Hour:
		return t.Format("Mon")
	}
	return t.Format("2 Jan")
}

// lastText returns the newest message of t written by a person, or nil.
func lastText(t *model.Thread) *model.Message {
	if t == nil {
		return nil
	}
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if t.Messages[i].Kind == model.KindText {
			return &t.Messages[i]
		}
	}
	return nil
}
