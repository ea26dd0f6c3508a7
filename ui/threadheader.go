package ui

import (
	"image"
	"strings"

	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/widget"
	"gioui.org/widget/material"
	"gioui.org/x/component"
	"github.com/go-text/typesetting/segmenter"
	"golang.org/x/exp/shiny/materialdesign/icons"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// threadHeader is the state of the thread header's own controls: mute,
// leave as an icon (phone) and the tooltip of a name too long to show
// whole.
type threadHeader struct {
	mute      iconButtonState
	leaveIcon iconButtonState // Leave chat (Cancel request) on a phone, where the text does not fit
	titleTip  tipArea
	routeTip  tipArea // the tooltip of the open chat's route
	// Verify opens the safety number (verify.go): a text button on the
	// desktop, an icon on a phone.
	verify     widget.Clickable
	verifyIcon iconButtonState
	// muted says that the open thread's notifications are off; the chat
	// screen sets it each frame from the settings.
	muted bool
	// On a phone, Mute and Delete history are in a menu under ⋮ (more),
	// so that the name and its status keep their room.
	more              iconButtonState
	menuOpen          bool
	menuFor           string // the thread whose header opened the menu
	muteItem, delItem widget.Clickable
	menuScrim         widget.Clickable // around the menu: a click closes it
}

// headerIcons are the icons of the thread header, parsed once.
var headerIcons = struct {
	muted, unmuted, leave, cancel, relay, direct *widget.Icon
}{
	muted:   mustIcon(icons.SocialNotificationsOff),
	unmuted: mustIcon(icons.SocialNotificationsNone),
	leave:   mustIcon(icons.ActionExitToApp),
	cancel:  mustIcon(icons.NavigationCancel),
	relay:   mustIcon(icons.ActionDNS), // a server, as a message's Stored mark
	direct:  mustIcon(icons.ActionSwapHoriz),
}

// header draws the peer, their state and the thread's actions: mute, leave
// the private chat or cancel our request for one (leaveAction: a text
// button on the desktop, an icon with a tooltip on a phone), delete the
// history.
func (p threadPaneStyle) header(gtx C) D {
	th, t, hs := p.th, p.thread, &p.pane.head
	return barHeader(gtx, th, func(gtx C) D {
		var children []layout.FlexChild
		if p.Narrow {
			children = append(children, layout.Rigid(func(gtx C) D {
				return iconButton(gtx, th, &p.pane.back, p.ic.back, th.Pal.Text, colorT{}, "Back")
			}))
		} else {
			children = append(children, layout.Rigid(layout.Spacer{Width: 8}.Layout))
		}
		title, status := threadStatus(p.m, t)
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
						return nameLabel(gtx, th, &hs.titleTip, th.bold(sizeTitle, th.Pal.Text, title))
					}),
					layout.Rigid(func(gtx C) D {
						c := th.Pal.Muted
						if t.Chat == client.ChatOpen {
							c = th.Pal.Success
						}
						c = statusColor(th, t, c) // verify.go
						return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
							layout.Rigid(func(gtx C) D {
								if !hs.muted {
									return D{}
								}
								return layout.Inset{Right: 4}.Layout(gtx, func(gtx C) D { return mutedMark(gtx, th) })
							}),
							layout.Rigid(func(gtx C) D { return lockMark(gtx, th, t) }),
							layout.Rigid(func(gtx C) D { return routeMark(gtx, th, &hs.routeTip, t, c) }),
							layout.Flexed(1, func(gtx C) D {
								l := th.label(sizeCaption, c, status)
								l.MaxLines = 1
								if r, ok := routeText(t); ok && labelWidth(gtx, l) > gtx.Constraints.Max.X {
									// A phone: the route matters more than
									// "encrypted", which the lock says.
									l.Text = r
									if labelWidth(gtx, l) > gtx.Constraints.Max.X && t.Route == client.RouteRelay {
										l.Text = "via server"
									}
								}
								return l.Layout(gtx)
							}),
						)
					}),
				)
			}),
		)
		if canVerify(t) { // verify.go
			children = append(children, layout.Rigid(func(gtx C) D {
				if p.Narrow {
					b := newIconButton(th, &hs.verifyIcon, secIcons.verify, th.Pal.Accent, colorT{}, "Verify")
					b.Tip = tipEnd
					return b.Layout(gtx)
				}
				return smallButton(gtx, th, &hs.verify, "Verify", th.Pal.Accent)
			}))
		}
		if label, ic, ok := leaveAction(t); ok {
			children = append(children, layout.Rigid(func(gtx C) D {
				if p.Narrow {
					b := newIconButton(th, &hs.leaveIcon, ic, th.Pal.Danger, colorT{}, label)
					b.Tip = tipEnd
					return b.Layout(gtx)
				}
				return smallButton(gtx, th, &p.pane.leave, label, th.Pal.Danger)
			}))
		}
		if p.Narrow {
			children = append(children, layout.Rigid(p.moreMenu))
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx, children...)
		}
		children = append(children, layout.Rigid(func(gtx C) D {
			ic, desc := headerIcons.unmuted, "Mute notifications"
			if hs.muted {
				ic, desc = headerIcons.muted, "Unmute notifications"
			}
			b := newIconButton(th, &hs.mute, ic, th.Pal.Muted, colorT{}, desc)
			b.Tip = tipEnd
			return b.Layout(gtx)
		}))
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

// leaveAction returns the header's action that ends the private chat of
// t, if any: "Leave chat" while it is open, "Cancel request" while our
// request waits for the peer (both session.Service.Leave), with the icon
// a phone shows in place of the text.
func leaveAction(t *model.Thread) (label string, ic *widget.Icon, ok bool) {
	if t.Peer == model.Everyone {
		return "", nil, false
	}
	switch t.Chat {
	case client.ChatOpen:
		return "Leave chat", headerIcons.leave, true
	case client.ChatInviting:
		return "Cancel request", headerIcons.cancel, true
	}
	return "", nil, false
}

// moreMenu draws ⋮ and, when open, the menu of the actions that do not
// fit a phone's header, over everything under it.
func (p threadPaneStyle) moreMenu(gtx C) D {
	th, hs := p.th, &p.pane.head
	b := newIconButton(th, &hs.more, p.ic.more, th.Pal.Muted, colorT{}, "More actions")
	b.Tip = tipEnd
	d := b.Layout(gtx)
	if !hs.menuOpen {
		return d
	}
	m := op.Record(gtx.Ops)
	// A click anywhere else closes the menu.
	big := image.Rect(-1<<14, -1<<14, 1<<14, 1<<14)
	st := op.Offset(big.Min).Push(gtx.Ops)
	hs.menuScrim.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Close the menu").Add(gtx.Ops)
		return D{Size: big.Size()}
	})
	st.Pop()
	mute := "Mute notifications"
	if hs.muted {
		mute = "Unmute notifications"
	}
	items := []layout.FlexChild{layout.Rigid(func(gtx C) D { return menuItem(gtx, th, &hs.muteItem, mute) })}
	if p.CanDelete {
		items = append(items, layout.Rigid(func(gtx C) D { return menuItem(gtx, th, &hs.delItem, "Delete history") }))
	}
	mgtx := gtx
	mgtx.Constraints = layout.Constraints{Min: image.Pt(gtx.Dp(220), 0), Max: image.Pt(gtx.Dp(220), gtx.Dp(400))}
	cm := op.Record(gtx.Ops)
	md := layout.UniformInset(4).Layout(mgtx, func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx, items...)
	})
	call := cm.Stop()
	off := op.Offset(image.Pt(d.Size.X-md.Size.X, d.Size.Y)).Push(gtx.Ops)
	cardBack(gtx, th, clip.UniformRRect(image.Rectangle{Max: md.Size}, gtx.Dp(10))) // msgmenu.go
	call.Add(gtx.Ops)
	off.Pop()
	op.Defer(gtx.Ops, m.Stop())
	return d
}

// unconfirmedStatus is what the feed's header says while the server has
// not answered (model.Unconfirmed, issue 9 defect 5), in place of a count
// of the people here, which is not known.
const unconfirmedStatus = "No answer from the server yet"

// threadStatus returns the title of thread t and the line under it.
func threadStatus(m *model.Model, t *model.Thread) (title, status string) {
	title = t.Name()
	if t.Peer == model.Everyone {
		title = "Everyone"
		n, known := m.OnlineCount()
		n++
		switch {
		case m.Conn.State == model.Unconfirmed:
			status = unconfirmedStatus
		case !known:
			status = "Not connected: who is here is unknown"
		case n == 1:
			status = "Just you so far"
		default:
			status = itoa(n) + " people here, you included"
		}
		return title, status
	}
	status = "offline"
	switch {
	case m.Conn.State == model.Unconfirmed:
		status = "status unknown: no answer from the server yet"
	case !m.PresenceKnown():
		status = "status unknown while not connected"
	case m.Online(t.Peer):
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
	if s, ok := encryptionStatus(t); ok { // verify.go
		status = s
	}
	if r, ok := routeText(t); ok {
		switch status {
		case "encrypted chat":
			status = "encrypted"
		case "private chat · connected":
			status = "private chat"
		}
		status += " · " + r
	}
	return title, status
}

// routeText returns the route of t's open private chat as its header
// says it: "direct" or "through the server"; ok is false while no chat is
// open, the client core has not said, or a changed key holds the chat.
func routeText(t *model.Thread) (text string, ok bool) {
	if t.Peer == model.Everyone || t.Chat != client.ChatOpen || t.Sec.KeyChanged {
		return "", false
	}
	switch t.Route {
	case client.RouteDirect:
		return "direct", true
	case client.RouteRelay:
		return "through the server", true
	}
	return "", false
}

// routeMark draws, before the status line of an open private chat, the
// icon of its route (routeText) in color c, with a tooltip that says what
// it means; screen readers read the tooltip's text.
func routeMark(gtx C, th *Theme, tip *tipArea, t *model.Thread, c colorT) D {
	if _, ok := routeText(t); !ok {
		return D{}
	}
	ic, desc := headerIcons.direct, "Direct: messages go straight to "+t.Name()+"'s device"
	if t.Route == client.RouteRelay {
		ic, desc = headerIcons.relay, "Through the server: "+t.Name()+" cannot be reached directly, so the server passes on the messages, sealed: it cannot read them"
	}
	tt := component.DesktopTooltip(th.Theme, desc)
	if th.Touch {
		tt = component.MobileTooltip(th.Theme, desc)
	}
	return tip.Layout(gtx, tt, 0, func(gtx C) D {
		return layout.Inset{Right: 4}.Layout(gtx, func(gtx C) D {
			sz := gtx.Sp(sizeSmall)
			gtx.Constraints = layout.Exact(image.Pt(sz, sz))
			defer clip.Rect{Max: image.Pt(sz, sz)}.Push(gtx.Ops).Pop()
			semantic.LabelOp(desc).Add(gtx.Ops)
			return ic.Layout(gtx, c)
		})
	})
}

// nameLabel lays out the one-line label l, a name: a name too long for
// the width is shortened in its middle ("Wolfesch…berger"), so that both
// its start and its end, which often tell two names apart, show, and the
// whole name shows in a tooltip (tip).
func nameLabel(gtx C, th *Theme, tip *tipArea, l material.LabelStyle) D {
	l.MaxLines = 1
	full := l.Text
	short, cut := middleEllipsis(gtx, l, gtx.Constraints.Max.X)
	if !cut {
		return l.Layout(gtx)
	}
	l.Text = short
	t := component.DesktopTooltip(th.Theme, full)
	if th.Touch {
		t = component.MobileTooltip(th.Theme, full)
	}
	return tip.Layout(gtx, t, 0, l.Layout)
}

// labelWidth returns the width of l's text on one line, unconstrained.
// What it measures is not drawn.
func labelWidth(gtx C, l material.LabelStyle) int {
	gtx.Constraints = layout.Constraints{Max: image.Pt(1<<24, 1<<24)}
	m := op.Record(gtx.Ops)
	d := l.Layout(gtx)
	m.Stop()
	return d.Size.X
}

// middleEllipsis returns l's text shortened in its middle with "…" to fit
// in maxW px on one line, and whether it had to be. It measures with the
// theme's shaper; what it measures is not drawn.
func middleEllipsis(gtx C, l material.LabelStyle, maxW int) (string, bool) {
	width := func(s string) int {
		l := l
		l.Text = s
		gtx := gtx
		gtx.Constraints = layout.Constraints{Max: image.Pt(1<<24, 1<<24)}
		m := op.Record(gtx.Ops)
		d := l.Layout(gtx)
		m.Stop()
		return d.Size.X
	}
	if maxW <= 0 || width(l.Text) <= maxW {
		return l.Text, false
	}
	gs := graphemes(l.Text) // never split an emoji or a letter and its accent
	cut := func(keep int) string {
		head := (keep + 1) / 2
		return strings.Join(gs[:head], "") + "…" + strings.Join(gs[len(gs)-(keep-head):], "")
	}
	// The most clusters kept that fit: lo fits (or is 1), hi does not.
	lo, hi := 1, len(gs)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if width(cut(mid)) <= maxW {
			lo = mid
		} else {
			hi = mid
		}
	}
	return cut(lo), true
}

// graphemes splits s into its grapheme clusters (runes if it cannot).
func graphemes(s string) []string {
	var seg segmenter.Segmenter
	if err := seg.InitWithString(s); err != nil {
		return strings.Split(s, "")
	}
	var out []string
	for it := seg.GraphemeIterator(); it.Next(); {
		out = append(out, string(it.Grapheme().Text))
	}
	return out
}
