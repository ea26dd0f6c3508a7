package ui

import (
	"image"
	"strings"

	"gioui.org/font"
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
	"peerchat/ui/model"
)

// This file, keychange.go and serverkey.go are the screens of device
// identities (issue 10): the verify dialog with the safety number, the
// notice of a peer's changed key, the warning of a changed server key, and
// the marks of encryption and of broadcast signatures.

// secUI is the state of the identity screens of a chat screen.
type secUI struct {
	// The verify dialog, open for thread peer.
	open     bool
	peer     string
	number   string // the safety number, "" with err
	verified bool
	err      string
	mark     widget.Clickable // Mark as verified, or Unmark
	close    widget.Clickable
	scrim    widget.Clickable // the backdrop: a click closes the dialog
	card     widget.Clickable // takes the clicks on the card, off the backdrop

	acceptKey    widget.Clickable // Accept new key, in the key-changed notice
	acceptServer widget.Clickable // Accept, in the server-key warning
	disconnect   widget.Clickable // Disconnect, in the server-key warning
}

// secIcons are the icons of encryption, parsed once.
var secIcons = struct {
	lock, unlocked, verified, warn, verify, check *widget.Icon
}{
	lock:     mustIcon(icons.ActionLock),
	unlocked: mustIcon(icons.ActionLockOpen),
	verified: mustIcon(icons.ActionVerifiedUser),
	warn:     mustIcon(icons.AlertWarning),
	verify:   mustIcon(icons.ActionFingerprint),
	check:    mustIcon(icons.NavigationCheck),
}

// showVerify opens the verify dialog for thread peer: the safety number is
// computed now (a few milliseconds), once.
func (s *chatScreen) showVerify(peer string) {
	v := &s.sec
	v.open, v.peer, v.err = true, peer, ""
	number, verified, err := s.sess.Safety(peer)
	v.number, v.verified = number, verified
	if err != nil {
		v.number, v.err = "", "No key is known for "+s.m.Thread(peer).Name()+" yet: it is pinned when a private chat first opens."
	}
}

// updateSec handles the input of the identity screens and reports whether
// the user disconnected (the screen is closed).
func (s *chatScreen) updateSec(gtx C) (left bool) {
	v := &s.sec
	if (s.pane.head.verify.Clicked(gtx) || s.pane.head.verifyIcon.Clicked(gtx)) && s.current != model.Everyone {
		s.showVerify(s.current)
		if v.err == "" {
			gtx.Execute(focusCmd(&v.mark)) // keys go to the dialog, not the composer
		}
	}
	if v.close.Clicked(gtx) || v.scrim.Clicked(gtx) {
		v.open = false
	}
	if v.mark.Clicked(gtx) && v.open && v.err == "" {
		if err := s.sess.SetVerified(v.peer, !v.verified); err != nil {
			v.err = "Could not save: " + err.Error()
		} else {
			v.verified = !v.verified
		}
	}
	if v.acceptKey.Clicked(gtx) && s.current != model.Everyone {
		_ = s.sess.AcceptKey(s.current) // a failure is shown as a notice
	}
	if v.acceptServer.Clicked(gtx) {
		_ = s.sess.AcceptServerKey()
	}
	if v.disconnect.Clicked(gtx) && s.m.ServerKeyChanged {
		s.a.pop()
		return true
	}
	return false
}

// safetyGroups splits a safety number into its groups of digits.
func safetyGroups(number string) []string { return strings.Fields(number) }

// layoutVerify draws the verify dialog over the chat screen: both
// nicknames, the safety number in 12 groups of 5 digits (three rows of
// four on a phone and on the desktop alike, in a monospace face, large),
// what to do with it, Mark as verified (or Verified ✓ and Unmark) and
// Close.
func (s *chatScreen) layoutVerify(gtx C) D {
	th, v := s.a.th, &s.sec
	size := gtx.Constraints.Max
	v.scrim.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Close the safety number").Add(gtx.Ops)
		paint.FillShape(gtx.Ops, th.Pal.Scrim, clip.Rect{Max: size}.Op())
		return D{Size: size}
	})
	peer := s.m.Thread(v.peer).Name()
	top := unit.Dp(72)
	if size.X < gtx.Dp(narrowWidth) {
		top = 24
	}
	return layout.Inset{Top: top, Left: 12, Right: 12}.Layout(gtx, func(gtx C) D {
		return layout.N.Layout(gtx, func(gtx C) D {
			gtx = clampWidth(gtx, 440)
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return v.card.Layout(gtx, func(gtx C) D {
				return background(gtx, th, th.Pal.Panel, 14, func(gtx C) D {
					return layout.UniformInset(20).Layout(gtx, func(gtx C) D {
						return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
							layout.Rigid(th.bold(sizeTitle, th.Pal.Text, "Verify "+peer).Layout),
							layout.Rigid(layout.Spacer{Height: 12}.Layout),
							layout.Rigid(func(gtx C) D { return s.verifyPair(gtx, peer) }),
							layout.Rigid(layout.Spacer{Height: 16}.Layout),
							layout.Rigid(func(gtx C) D {
								if v.err != "" {
									return th.label(sizeSmall, th.Pal.Danger, v.err).Layout(gtx)
								}
								return layout.Center.Layout(gtx, func(gtx C) D { return safetyNumber(gtx, th, v.number) })
							}),
							layout.Rigid(layout.Spacer{Height: 16}.Layout),
							layout.Rigid(func(gtx C) D {
								if v.err != "" {
									return D{}
								}
								return th.label(sizeSmall, th.Pal.Muted, "Compare this number with the one "+peer+
									" sees on their device, side by side or on a call. If they are the same, nobody is between you.").Layout(gtx)
							}),
							layout.Rigid(layout.Spacer{Height: 12}.Layout),
							layout.Rigid(func(gtx C) D { return s.verifyActions(gtx) }),
						)
					})
				})
			})
		})
	})
}

// verifyPair draws the two people the safety number binds: you and peer.
func (s *chatScreen) verifyPair(gtx C, peer string) D {
	th := s.a.th
	person := func(nick, caption string) layout.Widget {
		return func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return avatar(gtx, th, nick, 32) }),
				layout.Rigid(layout.Spacer{Width: 8}.Layout),
				layout.Rigid(func(gtx C) D {
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(func(gtx C) D {
							l := th.bold(sizeSmall, th.Pal.Text, nick)
							l.MaxLines = 1
							return l.Layout(gtx)
						}),
						layout.Rigid(th.label(sizeCaption, th.Pal.Muted, caption).Layout),
					)
				}),
			)
		}
	}
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Rigid(person(s.m.Me, "you")),
		layout.Rigid(func(gtx C) D {
			return layout.Inset{Left: 12, Right: 12}.Layout(gtx, th.label(sizeSmall, th.Pal.Muted, "and").Layout)
		}),
		layout.Flexed(1, person(peer, "their key")),
	)
}

// safetyNumber draws number's groups in a monospace face, large, four to
// a row, or three where four do not fit (phones): 12 groups make whole
// rows either way.
func safetyNumber(gtx C, th *Theme, number string) D {
	groups := safetyGroups(number)
	digits := func(txt string) material.LabelStyle {
		l := th.label(unit.Sp(22), th.Pal.Text, txt)
		l.Font.Typeface = "Go Mono"
		l.Font.Weight = font.Medium
		l.MaxLines = 1
		return l
	}
	perRow := 4
	m := op.Record(gtx.Ops)
	mgtx := gtx
	mgtx.Constraints = layout.Constraints{Max: image.Pt(1<<24, 1<<24)}
	if digits("00000  00000  00000  00000").Layout(mgtx).Size.X > gtx.Constraints.Max.X {
		perRow = 3
	}
	m.Stop()
	var rows []layout.FlexChild
	for i := 0; i < len(groups); i += perRow {
		row := groups[i:min(i+perRow, len(groups))]
		if i > 0 {
			rows = append(rows, layout.Rigid(layout.Spacer{Height: 6}.Layout))
		}
		rows = append(rows, layout.Rigid(digits(strings.Join(row, "  ")).Layout))
	}
	return describe(gtx, "Safety number "+number, func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical, Alignment: layout.Middle}.Layout(gtx, rows...)
	})
}

// verifyActions draws Mark as verified (or Verified ✓ with Unmark) and
// Close.
func (s *chatScreen) verifyActions(gtx C) D {
	th, v := s.a.th, &s.sec
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Flexed(1, func(gtx C) D {
			if v.err != "" {
				return D{Size: image.Pt(gtx.Constraints.Min.X, 0)}
			}
			if !v.verified {
				return layout.W.Layout(gtx, func(gtx C) D { return button(gtx, th, &v.mark, primary, "Mark as verified") })
			}
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					sz := gtx.Dp(20)
					gtx.Constraints = layout.Exact(image.Pt(sz, sz))
					return secIcons.verified.Layout(gtx, th.Pal.Success)
				}),
				layout.Rigid(layout.Spacer{Width: 6}.Layout),
				layout.Rigid(func(gtx C) D {
					// The fonts have no ✓: a check icon draws it.
					return describe(gtx, "Verified ✓", func(gtx C) D {
						return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
							layout.Rigid(th.bold(sizeBody, th.Pal.Success, "Verified").Layout),
							layout.Rigid(func(gtx C) D {
								sz := gtx.Dp(18)
								gtx.Constraints = layout.Exact(image.Pt(sz, sz))
								return secIcons.check.Layout(gtx, th.Pal.Success)
							}),
						)
					})
				}),
				layout.Rigid(func(gtx C) D { return smallButton(gtx, th, &v.mark, "Unmark", th.Pal.Muted) }),
			)
		}),
		layout.Rigid(func(gtx C) D { return button(gtx, th, &v.close, secondary, "Close") }),
	)
}

// encryptionStatus returns the line under a private thread's name when
// the session has identities: "key changed" while a changed key waits,
// else, while its chat is open, "encrypted chat" (or "encrypted ·
// verified") or "not encrypted"; ok is false otherwise.
func encryptionStatus(t *model.Thread) (status string, ok bool) {
	switch {
	case !t.Sec.Known || t.Peer == model.Everyone:
		return "", false
	case t.Sec.KeyChanged:
		return "key changed", true
	case t.Chat != client.ChatOpen:
		return "", false
	case !t.Sec.Encrypted:
		return "not encrypted", true
	case t.Sec.Verified:
		return "encrypted · verified", true
	}
	return "encrypted chat", true
}

// lockMark draws, before the status line of a private thread, a closed
// lock (encrypted), an open one in the danger color (not encrypted) or a
// warning (key changed), as encryptionStatus says.
func lockMark(gtx C, th *Theme, t *model.Thread) D {
	if _, ok := encryptionStatus(t); !ok {
		return D{}
	}
	ic, c := secIcons.lock, th.Pal.Success
	switch {
	case t.Sec.KeyChanged:
		ic, c = secIcons.warn, th.Pal.Danger
	case !t.Sec.Encrypted:
		ic, c = secIcons.unlocked, th.Pal.Danger
	}
	return layout.Inset{Right: 4}.Layout(gtx, func(gtx C) D {
		sz := gtx.Sp(sizeSmall)
		gtx.Constraints = layout.Exact(image.Pt(sz, sz))
		return ic.Layout(gtx, c)
	})
}

// canVerify reports whether the thread header offers Verify: a private
// thread of a session with identities.
func canVerify(t *model.Thread) bool { return t.Sec.Known && t.Peer != model.Everyone }

// sigMark draws, in a broadcast's time line, a warning when the sender has
// a known key but the broadcast's signature is missing or does not verify:
// the server (or someone) may have forged it.
func (b bubbleStyle) sigMark(gtx C) D {
	text := ""
	switch b.msg.Signature {
	case client.SigMissing:
		text = "⚠ signature missing"
	case client.SigBad:
		text = "⚠ signature invalid"
	default:
		return D{}
	}
	return layout.Inset{Right: 6}.Layout(gtx, b.th.bold(sizeCaption, b.th.Pal.Danger, text).Layout)
}

// statusColor returns the color of a private thread's status line: the
// warning color for an open chat that is not encrypted, else c.
func statusColor(th *Theme, t *model.Thread, c colorT) colorT {
	if _, ok := encryptionStatus(t); ok && (!t.Sec.Encrypted || t.Sec.KeyChanged) {
		return th.Pal.Danger
	}
	return c
}
