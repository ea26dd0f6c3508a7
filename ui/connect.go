package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gioui.org/layout"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"peerchat/core/wire"
)

// connectScreen asks for a nickname and a server.
type connectScreen struct {
	a *App

	nick, addr   widget.Editor
	connectBtn   widget.Clickable
	hostBtn      widget.Clickable
	cancelBtn    widget.Clickable
	suggestBtn   widget.Clickable
	serverClicks []widget.Clickable
	list         widget.List

	// Probing, filled by the probe goroutine.
	mu       sync.Mutex
	found    []Server
	probed   bool // a probe finished at least once
	probeErr error
	stopProb context.CancelFunc

	// Connecting.
	busy       bool
	hosting    bool
	cancelConn context.CancelFunc
	result     chan connectResult
	err        error
	errNick    string
	errServer  string
	suggestion string
}

type connectResult struct {
	sess   Session
	err    error
	server string
	nick   string
}

func newConnectScreen(a *App) *connectScreen {
	s := &connectScreen{a: a, result: make(chan connectResult, 1)}
	s.nick.SingleLine, s.nick.Submit = true, true
	s.addr.SingleLine, s.addr.Submit = true, true
	s.list.Axis = layout.Vertical
	nick := a.cfg.Nick
	if nick == "" {
		nick = a.settings.Nick
	}
	s.nick.SetText(nick)
	addr := a.cfg.Server
	if addr == "" {
		addr = a.settings.Server
	}
	s.addr.SetText(addr)
	return s
}

func (s *connectScreen) startProbe() {
	if s.stopProb != nil || s.a.cfg.ProbeEvery < 0 || s.a.cfg.Backend == nil {
		return
	}
	ctx, cancel := context.WithCancel(s.a.ctx)
	s.stopProb = cancel
	every := s.a.cfg.ProbeEvery
	s.a.go_(func(context.Context) {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			found, err := s.a.cfg.Backend.Probe(ctx)
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			s.found, s.probeErr, s.probed = found, err, true
			s.mu.Unlock()
			s.a.cfg.Invalidate()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

func (s *connectScreen) stopProbe() {
	if s.stopProb != nil {
		s.stopProb()
		s.stopProb = nil
	}
}

func (s *connectScreen) CanBack() bool { return s.busy }

// Back cancels a connection attempt.
func (s *connectScreen) Back() { s.cancel() }

func (s *connectScreen) Close() {
	s.stopProbe()
	if s.cancelConn != nil {
		s.cancelConn()
	}
}

func (s *connectScreen) cancel() {
	if s.cancelConn != nil {
		s.cancelConn()
	}
}

// normalizeAddr adds the default port to an address typed without one.
func normalizeAddr(addr string) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort(strings.Trim(addr, "[]"), DefaultServerPort)
	}
	return addr
}

// suggestNick proposes another nickname after nick was taken: nick2, nick3…
func suggestNick(nick string) string {
	i := len(nick)
	for i > 0 && nick[i-1] >= '0' && nick[i-1] <= '9' {
		i--
	}
	n := 2
	if i < len(nick) {
		if v, err := strconv.Atoi(nick[i:]); err == nil && v < 1<<30 {
			n = v + 1
		}
	}
	base, suffix := nick[:i], strconv.Itoa(n)
	for utf8.RuneCountInString(base)+len(suffix) > wire.MaxNickLen {
		_, sz := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-sz]
	}
	return base + suffix
}

// start connects (or hosts) with the nickname and address in the fields.
func (s *connectScreen) start(host bool) {
	nick := strings.TrimSpace(s.nick.Text())
	s.errNick = nick
	if err := wire.ValidateNick(nick); err != nil {
		s.err = fmt.Errorf("%w.", capitalErr{err})
		return
	}
	addr := normalizeAddr(s.addr.Text())
	if !host && addr == "" {
		s.err = errors.New("enter a server address, pick a server above, or host one on this device")
		return
	}
	if s.a.cfg.Backend == nil {
		s.err = errors.New("no network backend")
		return
	}
	s.err, s.suggestion = nil, ""
	s.busy, s.hosting = true, host
	ctx, cancel := context.WithTimeout(s.a.ctx, DefaultConnectTimeout)
	s.cancelConn = cancel
	inv := s.a.cfg.Invalidate
	be := s.a.cfg.Backend
	s.a.go_(func(context.Context) {
		defer cancel()
		var sess Session
		var err error
		if host {
			sess, err = be.Host(ctx, nick, inv)
		} else {
			sess, err = be.Connect(ctx, addr, nick, inv)
		}
		if err == nil && ctx.Err() != nil {
			// Cancelled after success: nobody will take the session.
			sess.Close()
			sess, err = nil, ctx.Err()
		}
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", ErrTimeout, err)
		}
		s.result <- connectResult{sess: sess, err: err, server: addr, nick: nick}
		inv()
	})
}

func (s *connectScreen) update(gtx C) {
	select {
	case r := <-s.result:
		s.busy = false
		s.cancelConn = nil
		if r.err != nil {
			s.err, s.errNick, s.errServer = r.err, r.nick, r.server
			if errors.Is(r.err, ErrNickTaken) {
				s.suggestion = suggestNick(r.nick)
			}
			break
		}
		s.a.settings.Nick = r.nick
		if !s.hosting {
			s.a.settings.Server = r.server
		}
		s.a.saveSettings()
		s.stopProbe()
		s.a.push(newChatScreen(s.a, r.sess))
		return
	default:
	}
	for {
		ev, ok := s.nick.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok && !s.busy {
			s.start(false)
		}
		if _, ok := ev.(widget.ChangeEvent); ok && s.err != nil && strings.TrimSpace(s.nick.Text()) != s.errNick {
			s.err, s.suggestion = nil, ""
		}
	}
	for {
		ev, ok := s.addr.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok && !s.busy {
			s.start(false)
		}
	}
	if s.connectBtn.Clicked(gtx) && !s.busy {
		s.start(false)
	}
	if s.hostBtn.Clicked(gtx) && !s.busy {
		s.start(true)
	}
	if s.cancelBtn.Clicked(gtx) {
		s.cancel()
	}
	if s.suggestBtn.Clicked(gtx) && s.suggestion != "" {
		s.nick.SetText(s.suggestion)
		s.start(false)
	}
	s.mu.Lock()
	found := s.found
	s.mu.Unlock()
	for i := range s.serverClicks {
		if i < len(found) && s.serverClicks[i].Clicked(gtx) {
			s.addr.SetText(found[i].Addr)
			if !s.busy {
				s.start(false)
			}
		}
	}
}

// explain turns a connection error into a sentence for people.
func (s *connectScreen) explain() string {
	err := s.err
	addr := s.errServer
	if s.hosting {
		addr = "this device"
	}
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNickTaken):
		return fmt.Sprintf("Someone on %s already uses the nickname “%s”.", addr, s.errNick)
	case errors.Is(err, ErrRefused):
		return fmt.Sprintf("Nothing is accepting connections at %s. Check the address and port, or host a server on this device.", addr)
	case errors.Is(err, ErrTimeout):
		return fmt.Sprintf("%s did not answer in time. Is it on the same network, and is the server running?", addr)
	case errors.Is(err, ErrUnreachable):
		return fmt.Sprintf("Can't reach %s: %v", addr, err)
	case errors.Is(err, context.Canceled):
		return "Cancelled."
	}
	var nickErr interface{ NickReason() string }
	if errors.As(err, &nickErr) {
		return "The server refused this nickname: " + nickErr.NickReason()
	}
	msg := err.Error()
	if len(msg) > 0 {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg
}

func (s *connectScreen) Layout(gtx C) D {
	s.update(gtx)
	if len(s.a.stack) == 0 || s.a.stack[len(s.a.stack)-1] != screen(s) {
		return D{Size: gtx.Constraints.Max}
	}
	if s.stopProb == nil && !s.busy {
		s.startProbe()
	}
	th := s.a.th
	s.mu.Lock()
	found, probed, probeErr := append([]Server(nil), s.found...), s.probed, s.probeErr
	s.mu.Unlock()
	if len(s.serverClicks) < len(found) {
		s.serverClicks = append(s.serverClicks, make([]widget.Clickable, len(found)-len(s.serverClicks))...)
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
		return field(gtx, th, &s.nick, "e.g. ana", gtx.Focused(&s.nick), nickText != "" && nickErr != nil)
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
					rows = append(rows, layout.Rigid(func(gtx C) D { return s.serverRow(gtx, &s.serverClicks[i], sv) }))
				}
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
			})
		})
	}
	add(space(20), s.heading("Or enter an address"), space(6), func(gtx C) D {
		return field(gtx, th, &s.addr, "host:port, e.g. 192.168.1.20:12345", gtx.Focused(&s.addr), false)
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

func (s *connectScreen) serverRow(gtx C, click *widget.Clickable, sv Server) D {
	th := s.a.th
	return click.Layout(gtx, func(gtx C) D {
		return layout.Stack{}.Layout(gtx,
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
						layout.Rigid(func(gtx C) D { return iconAvatar(gtx, th, s.a.ic.wifi, nickColor(sv.Name), avatarSize) }),
						layout.Rigid(layout.Spacer{Width: 12}.Layout),
						layout.Flexed(1, func(gtx C) D {
							return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
								layout.Rigid(func(gtx C) D {
									name := sv.Name
									if name == "" {
										name = sv.Addr
									}
									l := th.bold(sizeBody, th.Pal.Text, name)
									l.MaxLines = 1
									return l.Layout(gtx)
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
	})
}

func capital(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// capitalErr shows a wrapped error's text capitalised, as a sentence.
type capitalErr struct{ err error }

func (e capitalErr) Error() string { return capital(e.err.Error()) }
func (e capitalErr) Unwrap() error { return e.err }
