package ui

import (
	"fmt"
	"image"
	"strings"

	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"peerchat/core/wire"
)

// layout draws the form: the app's name, the nickname, the servers found,
// an address, the error of the last attempt and the actions.
func (s *connectScreen) layout(gtx C) D {
	th := s.a.th
	s.mu.Lock()
	found, probed, probeErr := append([]Server(nil), s.found...), s.probed, s.probeErr
	s.mu.Unlock()
	if len(s.serverClicks) < len(found) {
		s.serverClicks = append(s.serverClicks, make([]widget.Clickable, len(found)-len(s.serverClicks))...)
	}
	if len(s.serverTips) < len(found) {
		s.serverTips = append(s.serverTips, make([]tipArea, len(found)-len(s.serverTips))...)
	}
	live := gtx
	if s.busy {
		gtx = gtx.Disabled()
	}
	nickText := strings.TrimSpace(s.nick.Text())
	nickErr := wire.ValidateNick(nickText)

	var items []layout.Widget
	add := func(w ...layout.Widget) { items = append(items, w...) }
	space := func(h unit.Dp) layout.Widget { return layout.Spacer{Height: h}.Layout }

	add(space(32), func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(func(gtx C) D { return iconAvatar(gtx, th, s.a.ic.people, th.Pal.Accent, 52) }),
			layout.Rigid(layout.Spacer{Width: 14}.Layout),
			layout.Flexed(1, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(th.bold(sizeHero, th.Pal.Text, "PeerChat").Layout),
					layout.Rigid(th.label(sizeSmall, th.Pal.Muted, "Chat with the people on your network").Layout),
				)
			}),
		)
	}, space(28))

	// Nickname.
	add(s.heading("Your nickname"), space(6), func(gtx C) D {
		return field(gtx, th, &s.nick, "e.g. ana", nickText != "" && nickErr != nil)
	}, func(gtx C) D {
		msg, c := fmt.Sprintf("Up to %d characters, no spaces or quotes.", wire.MaxNickLen), th.Pal.Muted
		if nickText != "" && nickErr != nil {
			msg, c = capital(nickErr.Error())+".", th.Pal.Danger
		}
		return layout.Inset{Top: 4, Left: 4}.Layout(gtx, th.label(sizeCaption, c, msg).Layout)
	}, space(20))

	// Servers on the network.
	add(func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Flexed(1, s.heading("Servers on your network")),
			layout.Rigid(func(gtx C) D {
				txt := "Searching…"
				if probed {
					txt = "Updated live"
				}
				return th.label(sizeCaption, th.Pal.Muted, txt).Layout(gtx)
			}),
		)
	}, space(6))
	if len(found) == 0 {
		add(func(gtx C) D {
			return s.card(gtx, func(gtx C) D {
				return layout.UniformInset(pad).Layout(gtx, func(gtx C) D {
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(th.bold(sizeBody, th.Pal.Text, "No servers found yet").Layout),
						layout.Rigid(layout.Spacer{Height: 4}.Layout),
						layout.Rigid(func(gtx C) D {
							if probeErr != nil {
								return th.label(sizeSmall, th.Pal.Danger, "Can't search the network: "+probeErr.Error()).Layout(gtx)
							}
							return th.label(sizeSmall, th.Pal.Muted, "Start one here and others on your network will find it.").Layout(gtx)
						}),
						layout.Rigid(layout.Spacer{Height: 8}.Layout),
						layout.Rigid(func(gtx C) D {
							gtx.Constraints.Min.X = gtx.Constraints.Max.X
							return button(gtx, th, &s.hostBtn, primary, "Host on this device")
						}),
					)
				})
			})
		})
	} else {
		add(func(gtx C) D {
			return s.card(gtx, func(gtx C) D {
				var rows []layout.FlexChild
				for i, sv := range found {
					if i > 0 {
						rows = append(rows, layout.Rigid(func(gtx C) D {
							return layout.Inset{Left: 64}.Layout(gtx, func(gtx C) D { return hline(gtx, th.Pal.Divider) })
						}))
					}
					rows = append(rows, layout.Rigid(func(gtx C) D { return s.serverRow(gtx, &s.serverClicks[i], &s.serverTips[i], sv) }))
				}
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
			})
		})
	}
	add(space(20), s.heading("Or enter an address"), space(6), func(gtx C) D {
		return field(gtx, th, &s.addr, "host:port, e.g. 192.168.1.20:12345", false)
	}, space(16))

	// Error.
	if s.err != nil {
		add(func(gtx C) D {
			return background(gtx, th, withAlpha(th.Pal.Danger, 0x22), 10, func(gtx C) D {
				return layout.UniformInset(12).Layout(gtx, func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Constraints.Max.X
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(func(gtx C) D {
							return layout.Flex{}.Layout(gtx,
								layout.Rigid(func(gtx C) D {
									gtx.Constraints = layout.Exact(gtx.Constraints.Min.Add(imagePt(gtx.Dp(20), gtx.Dp(20))))
									return s.a.ic.failed.Layout(gtx, th.Pal.Danger)
								}),
								layout.Rigid(layout.Spacer{Width: 8}.Layout),
								layout.Flexed(1, th.label(sizeSmall, th.Pal.Text, s.explain()).Layout),
							)
						}),
						layout.Rigid(func(gtx C) D {
							if s.suggestion == "" {
								return D{}
							}
							return layout.Inset{Top: 8, Left: 28}.Layout(gtx, func(gtx C) D {
								return button(gtx, th, &s.suggestBtn, secondary, "Use “"+s.suggestion+"”")
							})
						}),
					)
				})
			})
		}, space(12))
	}

	// Actions.
	add(func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		if s.busy {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Max = imagePt(gtx.Dp(24), gtx.Dp(24))
					gtx.Constraints.Min = gtx.Constraints.Max
					p := material.Loader(th.Theme)
					p.Color = th.Pal.Accent
					return p.Layout(gtx)
				}),
				layout.Rigid(layout.Spacer{Width: 12}.Layout),
				layout.Flexed(1, func(gtx C) D {
					txt := "Connecting to " + normalizeAddr(s.addr.Text()) + "…"
					if s.hosting {
						txt = "Starting a server on this device…"
					}
					return th.label(sizeSmall, th.Pal.Muted, txt).Layout(gtx)
				}),
				layout.Rigid(func(gtx C) D {
					gtx.Source = live.Source
					return button(gtx, th, &s.cancelBtn, flat, "Cancel")
				}),
			)
		}
		return button(gtx, th, &s.connectBtn, primary, "Connect")
	})
	if len(found) > 0 {
		add(space(4), func(gtx C) D {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return button(gtx, th, &s.hostBtn, flat, "Host on this device instead")
		})
	}
	add(space(32))

	l := material.List(th.Theme, &s.list)
	return wheelList(gtx, th, &s.list, func(gtx C) D {
		return s.items(gtx, l, items)
	})
}

// items lays out the form's items in l.
func (s *connectScreen) items(gtx C, l material.ListStyle, items []layout.Widget) D {
	return l.Layout(gtx, len(items), func(gtx C, i int) D {
		return layout.Inset{Left: pad, Right: pad}.Layout(gtx, func(gtx C) D {
			return layout.N.Layout(gtx, func(gtx C) D {
				gtx = clampWidth(gtx, maxForm)
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return items[i](gtx)
			})
		})
	})
}

func (s *connectScreen) heading(txt string) layout.Widget {
	return func(gtx C) D {
		l := s.a.th.bold(sizeSmall, s.a.th.Pal.Muted, txt)
		return layout.Inset{Left: 4}.Layout(gtx, l.Layout)
	}
}

func (s *connectScreen) card(gtx C, w layout.Widget) D {
	th := s.a.th
	return background(gtx, th, th.Pal.Panel, 12, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return w(gtx)
	})
}

func (s *connectScreen) serverRow(gtx C, click *widget.Clickable, tip *tipArea, sv Server) D {
	th := s.a.th
	return click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		d := layout.Stack{}.Layout(gtx,
			layout.Expanded(func(gtx C) D {
				if click.Hovered() {
					return fill(gtx, th.Pal.Hover)
				}
				return D{Size: gtx.Constraints.Min}
			}),
			layout.Stacked(func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: 12, Right: 12, Top: 10, Bottom: 10}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Rigid(func(gtx C) D { return iconAvatar(gtx, th, s.a.ic.wifi, avatarColor(sv.Name), avatarSize) }),
						layout.Rigid(layout.Spacer{Width: 12}.Layout),
						layout.Flexed(1, func(gtx C) D {
							return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
								layout.Rigid(func(gtx C) D {
									name := sv.Name
									if name == "" {
										name = sv.Addr
									}
									return nameLabel(gtx, th, tip, th.bold(sizeBody, th.Pal.Text, name))
								}),
								layout.Rigid(func(gtx C) D {
									l := th.label(sizeSmall, th.Pal.Muted, sv.Addr)
									l.MaxLines = 1
									return l.Layout(gtx)
								}),
							)
						}),
						layout.Rigid(func(gtx C) D {
							txt := "online"
							switch {
							case sv.Peers < 0:
								txt = ""
							case sv.Peers == 1:
								txt = "1 person"
							default:
								txt = itoa(sv.Peers) + " people"
							}
							l := th.label(sizeSmall, th.Pal.Muted, txt)
							l.Alignment = text.End
							return l.Layout(gtx)
						}),
					)
				})
			}),
		)
		in := gtx.Dp(3)
		focusRing(gtx, th, click, image.Rectangle{Min: image.Pt(in, in), Max: d.Size.Sub(image.Pt(in, in))}, gtx.Dp(10))
		return d
	})
}
