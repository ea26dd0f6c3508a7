package ui

import (
	"image"
	"strings"
	"time"

	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
	"golang.org/x/exp/shiny/materialdesign/icons"

	"peerchat/core/client"
	"peerchat/core/history"
	"peerchat/ui/model"
)

// filterThreshold is the number of people above which the people list
// offers a filter field.
const filterThreshold = 8

// peoplePane is the widget state of the people pane: the header's buttons,
// the filter and the list of the feed and the people.
type peoplePane struct {
	list     widget.List
	everyone widget.Clickable
	rows     map[string]*widget.Clickable // by thread key
	// tips show the whole name of a row whose name is shortened.
	tips map[string]*tipArea // by thread key
	// meTip and serverTip show the user's whole name and the whole server
	// address in the header when they are shortened.
	meTip, serverTip tipArea
	filter           widget.Editor
	menu             iconButtonState // opens the settings panel
	disconnect       iconButtonState // ✕: asks to leave the server
	// confirmLeave shows the question under the header: Cancel or Leave.
	confirmLeave         bool
	leaveCancel, leaveOK widget.Clickable
	ordered              []model.Person // reused by Layout: model.Ordered
	// order lists the thread keys of the rows as last laid out, top to
	// bottom: the feed, the chats, then everyone else (Alt+↑/↓ follow it).
	order []string
	// search opens the search pane (search.go) in place of the list.
	search   iconButtonState
	searchIc *widget.Icon
	// mentions caches, per thread, how many unread messages mention the
	// user (the rows' "@" badge).
	mentions map[string]*mentionCount
}

func newPeoplePane() *peoplePane {
	p := &peoplePane{rows: map[string]*widget.Clickable{}, tips: map[string]*tipArea{}, searchIc: mustIcon(icons.ActionSearch)}
	p.list.Axis = layout.Vertical
	p.filter.SingleLine = true
	return p
}

// mentionsOf returns how many of thread t's unread messages mention me,
// from a cache recounted only when the thread changed.
func (p *peoplePane) mentionsOf(key string, t *model.Thread, me string) int {
	if t == nil || t.Unread == 0 {
		return 0
	}
	if p.mentions == nil {
		p.mentions = map[string]*mentionCount{}
	}
	c := p.mentions[key]
	if c == nil {
		c = new(mentionCount)
		p.mentions[key] = c
	}
	return c.get(t, me)
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

// tip returns the tooltip of the name of the row of thread key.
func (p *peoplePane) tip(key string) *tipArea {
	t := p.tips[key]
	if t == nil {
		t = new(tipArea)
		p.tips[key] = t
	}
	return t
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
	// Muted reports whether the notifications of a thread are off (the
	// settings' Settings.Muted); nil for none.
	Muted func(thread string) bool
}

func (p peoplePaneStyle) Layout(gtx C) D {
	th, m, st := p.th, p.m, p.state
	paint.FillShape(gtx.Ops, th.Pal.Panel, clip.Rect{Max: gtx.Constraints.Max}.Op())
	people := m.Ordered(st.ordered[:0])
	st.ordered = people
	showFilter := len(people) > filterThreshold
	q := ""
	if showFilter {
		q = history.Fold(strings.TrimSpace(st.filter.Text()))
	}
	var shown []model.Person
	chats := 0 // shown[:chats] are the chats, apart from everyone else
	st.order = append(st.order[:0], model.Everyone)
	for _, pe := range people {
		if q == "" || strings.Contains(history.Fold(pe.Nick), q) {
			shown = append(shown, pe)
			st.order = append(st.order, pe.Key)
			if m.HasChat(pe.Key) {
				chats++
			}
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
			return wheelList(gtx, th, &st.list, func(gtx C) D { return p.list(gtx, l, n, shown, chats, online) })
		}),
	)
}

// list lays out in l the cards, then the chats (the feed, then shown[:chats],
// the people with a private thread, unread first, most recent first), then
// under the caption everyone else, so that the chats and what is unread lead
// however many people are online.
func (p peoplePaneStyle) list(gtx C, l material.ListStyle, n int, shown []model.Person, chats, online int) D {
	th, m, st := p.th, p.m, p.state
	nc := len(p.Cards.items)
	return l.Layout(gtx, n, func(gtx C, i int) D {
		if i < nc {
			return p.Cards.flowCard(gtx, i)
		}
		i -= nc
		// The feed, the chats, the caption, everyone else.
		switch {
		case i > 0 && i <= chats:
			i++ // a chat: shown[i-2]
		case i == chats+1:
			i = 1 // the caption
		case i > chats+1:
			// everyone else: shown[i-2]
		}
		switch i {
		case 0:
			feed := m.Thread(model.Everyone)
			preview := itoa(online) + " people online"
			switch {
			case m.Conn.State == model.Unconfirmed:
				preview = unconfirmedStatus
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
			r := p.row(&st.everyone, model.Everyone, "Everyone", preview, feed, true)
			r.tip = st.tip(model.Everyone)
			r.mentions = st.mentionsOf(model.Everyone, feed, m.Me)
			return r.Layout(gtx)
		case 1:
			return layout.Inset{Left: pad, Top: 14, Bottom: 6}.Layout(gtx, func(gtx C) D {
				txt := "PEOPLE · " + itoa(online) + " ONLINE"
				switch {
				case m.Conn.State == model.Unconfirmed:
					txt = "PEOPLE · NO ANSWER FROM THE SERVER YET"
				case !m.PresenceKnown():
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
		r.tip = st.tip(pe.Key)
		r.mentions = st.mentionsOf(pe.Key, t, m.Me)
		return r.Layout(gtx)
	})
}

func (p peoplePaneStyle) row(click *widget.Clickable, key, name, preview string, t *model.Thread, online bool) personRowStyle {
	return personRowStyle{
		th: p.th, ic: p.ic, click: click, key: key, name: name, preview: preview, thread: t, online: online,
		now: p.m.Now(), Current: p.Current == key, ThreadShown: p.ThreadShown,
		muted: p.Muted != nil && p.Muted(key),
	}
}

// header shows the user, the connection state and the pane's buttons.
func (p peoplePaneStyle) header(gtx C) D {
	th, m := p.th, p.m
	// With a mouse the buttons need not be touch targets: smaller, they
	// leave the server's address room to show whole.
	var size unit.Dp
	if !th.Touch {
		size = 40
	}
	return barHeader(gtx, th, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(layout.Spacer{Width: 4}.Layout),
			layout.Rigid(func(gtx C) D { return avatar(gtx, th, m.Me, avatarSize) }),
			layout.Rigid(layout.Spacer{Width: 12}.Layout),
			layout.Flexed(1, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						return ownArea(gtx, func(gtx C) D {
							return nameLabel(gtx, th, &p.state.meTip, th.bold(sizeBody, th.Pal.Text, m.Me))
						})
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
								// An address too long for the width loses
								// its middle, never its port, and shows
								// whole in a tooltip.
								return ownArea(gtx, func(gtx C) D {
									return nameLabel(gtx, th, &p.state.serverTip, th.label(sizeCaption, th.Pal.Muted, m.Server))
								})
							}),
						)
					}),
				)
			}),
			layout.Rigid(func(gtx C) D {
				b := newIconButton(th, &p.state.search, p.state.searchIc, th.Pal.Muted, colorT{}, "Search messages (Ctrl+F)")
				b.Size = size
				return b.Layout(gtx)
			}),
			layout.Rigid(func(gtx C) D {
				b := newIconButton(th, &p.state.menu, p.ic.more, th.Pal.Muted, colorT{}, "Settings")
				b.Size = size
				return b.Layout(gtx)
			}),
			layout.Rigid(func(gtx C) D {
				b := newIconButton(th, &p.state.disconnect, p.ic.close, th.Pal.Muted, colorT{}, "Leave the server")
				b.Tip, b.Size = tipEnd, size
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
	// muted says that the thread's notifications are off: the row shows
	// the muted icon, as the thread's header does.
	muted bool
	// tip shows the whole name when it is shortened (nameLabel).
	tip *tipArea
	// mentions is how many unread messages mention the user: an "@"
	// badge before the count.
	mentions int
	now      time.Time
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
											if r.tip == nil {
												l.MaxLines = 1
												return l.Layout(gtx)
											}
											return nameLabel(gtx, th, r.tip, l)
										}),
										layout.Rigid(func(gtx C) D {
											if !r.muted {
												return D{}
											}
											return layout.Inset{Left: 4, Right: 4}.Layout(gtx, func(gtx C) D {
												return mutedMark(gtx, th)
											})
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
											return layout.Inset{Left: 6}.Layout(gtx, func(gtx C) D { return unreadBadge(gtx, th, t.Unread+t.Missed, r.mentions) })
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
		if t.Messages[i].Said() {
			return &t.Messages[i]
		}
	}
	return nil
}

// ownArea lays out w in a clip area of its own, so that its label is a
// node of the semantic tree apart from the labels around it (one area
// holds one label).
func ownArea(gtx C, w layout.Widget) D {
	m := op.Record(gtx.Ops)
	d := w(gtx)
	call := m.Stop()
	defer clip.Rect{Max: d.Size}.Push(gtx.Ops).Pop()
	call.Add(gtx.Ops)
	return d
}

// mutedMark draws the icon of a chat whose notifications are off, the
// size of small text, named "Muted" for screen readers.
func mutedMark(gtx C, th *Theme) D {
	sz := gtx.Sp(sizeSmall)
	gtx.Constraints = layout.Exact(image.Pt(sz, sz))
	defer clip.Rect{Max: gtx.Constraints.Max}.Push(gtx.Ops).Pop()
	semantic.LabelOp("Muted").Add(gtx.Ops)
	return headerIcons.muted.Layout(gtx, th.Pal.Muted)
}
