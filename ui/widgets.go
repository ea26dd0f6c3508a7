package ui

import (
	"image"
	"image/color"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"gioui.org/font"
	"gioui.org/io/event"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
	"gioui.org/x/component"
	"github.com/go-text/typesetting/segmenter"
	"golang.org/x/exp/shiny/materialdesign/icons"
)

type (
	C      = layout.Context
	D      = layout.Dimensions
	colorT = color.NRGBA
)

func focusCmd(tag any) key.FocusCmd { return key.FocusCmd{Tag: tag} }

// focusRing outlines r, rounded by radius px, in the theme's Focus color
// when tag has the keyboard focus; otherwise it does nothing. The ring is
// drawn inside r. A ring that reaches out of the widget (r.Min < 0: around
// a filled button) is drawn over everything else of the frame, outside the
// current clip; one within the widget (rows) is drawn in place, clipped
// like the widget.
func focusRing(gtx C, th *Theme, tag event.Tag, r image.Rectangle, radius int) {
	if !gtx.Focused(tag) {
		return
	}
	th.ringed = tag
	w := max(1, gtx.Dp(focusWidth))
	if r.Min.X >= 0 && r.Min.Y >= 0 {
		th.strokeRRect(gtx.Ops, th.Pal.Focus, r, radius, w)
		return
	}
	m := op.Record(gtx.Ops)
	th.strokeRRect(gtx.Ops, th.Pal.Focus, r, radius, w)
	op.Defer(gtx.Ops, m.Stop())
}

// Mouse wheel scrolling.
const (
	// wheelLines is how many lines of body text one notch of a mouse wheel
	// scrolls a list.
	wheelLines = 3
	// x11Notch is the distance Gio's X11 backend reports for one notch of a
	// mouse wheel, in pixels whatever the scale: alone, a notch moved a list
	// by about half a line. Other backends report a sensible distance
	// (Wayland 100 px a notch) or a continuous one (touchpads), which
	// wheelList leaves as it is.
	x11Notch = 10
)

// wheelList lays out w, which lays out l, and makes each notch of a mouse
// wheel over it scroll l by wheelLines lines of body text.
func wheelList(gtx C, th *Theme, l *widget.List, w layout.Widget) D {
	tag := &l.Position
	for {
		ev, ok := gtx.Event(pointer.Filter{Target: tag, Kinds: pointer.Scroll, ScrollY: pointer.ScrollRange{Min: math.MinInt32, Max: math.MaxInt32}})
		if !ok {
			break
		}
		e, ok := ev.(pointer.Event)
		if !ok || e.Kind != pointer.Scroll {
			continue
		}
		dy := e.Scroll.Y
		if n := dy / x11Notch; e.Source == pointer.Mouse && n != 0 && n == float32(int(n)) && n >= -5 && n <= 5 {
			dy = n * wheelLines * float32(gtx.Sp(th.TextSize)) * 1.2
		}
		l.Position.Offset += int(math.Round(float64(dy)))
		l.Position.BeforeEnd = true // as layout.List.ScrollBy: the list finds out whether it is at the end
	}
	d := w(gtx)
	// Over the list, so that its distance is taken before the list's own
	// handler sees it; other events pass.
	defer pointer.PassOp{}.Push(gtx.Ops).Pop()
	defer clip.Rect{Max: d.Size}.Push(gtx.Ops).Pop()
	event.Op(gtx.Ops, tag)
	return d
}

// outset returns r grown by d px on every side.
func outset(r image.Rectangle, d int) image.Rectangle {
	return image.Rectangle{Min: r.Min.Sub(image.Pt(d, d)), Max: r.Max.Add(image.Pt(d, d))}
}

// icons used by the UI, parsed once per App.
type iconSet struct {
	back, send, done, doneAll, failed, clock, close, people, wifi, down, del, more *widget.Icon
	// stored is "on the server" (delivery.Stored, the route through the
	// server): a server.
	stored *widget.Icon
	// invite is "sending asks for a chat": a speech bubble.
	invite *widget.Icon
	// Files (files.go): attach, and the types of the file cards.
	attach, file, image, movie, music, archive, doc *widget.Icon
}

func mustIcon(data []byte) *widget.Icon {
	ic, err := widget.NewIcon(data)
	if err != nil {
		panic(err) // the icon data is compiled in
	}
	return ic
}

func newIcons() iconSet {
	return iconSet{
		back:    mustIcon(icons.NavigationArrowBack),
		send:    mustIcon(icons.ContentSend),
		done:    mustIcon(icons.ActionDone),
		doneAll: mustIcon(icons.ActionDoneAll),
		failed:  mustIcon(icons.AlertErrorOutline),
		clock:   mustIcon(icons.ActionSchedule),
		stored:  mustIcon(icons.ActionDNS),
		invite:  mustIcon(icons.CommunicationChatBubbleOutline),
		close:   mustIcon(icons.NavigationClose),
		people:  mustIcon(icons.SocialPeople),
		wifi:    mustIcon(icons.DeviceWiFiTethering),
		down:    mustIcon(icons.NavigationArrowDownward),
		del:     mustIcon(icons.ActionDelete),
		more:    mustIcon(icons.NavigationMoreVert),
		attach:  mustIcon(icons.EditorAttachFile),
		file:    mustIcon(icons.EditorInsertDriveFile),
		image:   mustIcon(icons.ImageImage),
		movie:   mustIcon(icons.AVMovie),
		music:   mustIcon(icons.AVLibraryMusic),
		archive: mustIcon(icons.ContentArchive),
		doc:     mustIcon(icons.ActionDescription),
	}
}

// fill paints the constraints' minimum area with c and returns it.
func fill(gtx C, c color.NRGBA) D {
	sz := gtx.Constraints.Min
	paint.FillShape(gtx.Ops, c, clip.Rect{Max: sz}.Op())
	return D{Size: sz}
}

// background lays out w over a rounded rectangle of color c.
func background(gtx C, th *Theme, c color.NRGBA, radius unit.Dp, w layout.Widget) D {
	m := op.Record(gtx.Ops)
	d := w(gtx)
	call := m.Stop()
	r := gtx.Dp(radius)
	th.fillRRect(gtx.Ops, c, clip.UniformRRect(image.Rectangle{Max: d.Size}, r))
	call.Add(gtx.Ops)
	return d
}

// border strokes the inside of a rounded rectangle of size sz.
func border(gtx C, th *Theme, sz image.Point, c color.NRGBA, radius unit.Dp, width unit.Dp) {
	th.strokeRRect(gtx.Ops, c, image.Rectangle{Max: sz}, gtx.Dp(radius), max(1, gtx.Dp(width)))
}

// hline draws a one-pixel divider across the available width.
func hline(gtx C, c color.NRGBA) D {
	sz := image.Pt(gtx.Constraints.Max.X, max(1, gtx.Dp(1)))
	paint.FillShape(gtx.Ops, c, clip.Rect{Max: sz}.Op())
	return D{Size: sz}
}

func vline(gtx C, c color.NRGBA) D {
	sz := image.Pt(1, gtx.Constraints.Max.Y)
	paint.FillShape(gtx.Ops, c, clip.Rect{Max: sz}.Op())
	return D{Size: sz}
}

// initials returns what an avatar shows of nick: its first grapheme
// cluster, upper-cased, then the first letter of its second word or
// camel-case part, if any ("ana-laptop": "AL", "JohnDoe": "JD"). A nick
// that starts with an emoji (or any other symbol) shows that cluster alone,
// whole: "👍🏽bob" shows "👍🏽", never "👍" and half of the skin tone, nor a
// squeezed "👍🏽B".
func initials(nick string) string {
	var seg segmenter.Segmenter
	if err := seg.InitWithString(nick); err != nil {
		r, _ := utf8.DecodeRuneInString(nick)
		return string(r)
	}
	var out strings.Builder
	it := seg.GraphemeIterator()
	n, prevLetter := 0, false
	for it.Next() {
		g := it.Grapheme().Text
		isL := unicode.IsLetter(g[0]) || unicode.IsDigit(g[0])
		switch {
		case n == 0 && !isL:
			return string(g)
		case n == 0 || isL && (!prevLetter || unicode.IsUpper(g[0])):
			out.WriteString(strings.ToUpper(string(g)))
			n++
		}
		if n == 2 {
			break
		}
		prevLetter = isL
	}
	return out.String()
}

// avatar draws a colored circle with the nick's initials.
func avatar(gtx C, th *Theme, nick string, size unit.Dp) D {
	s := gtx.Dp(size)
	sz := image.Pt(s, s)
	c := avatarColor(nick)
	if nick == "" {
		c = th.Pal.Accent
	}
	th.fillRRect(gtx.Ops, c, clip.UniformRRect(image.Rectangle{Max: sz}, s/2))
	gtx.Constraints = layout.Exact(sz)
	ini := initials(nick)
	scale := float32(0.4)
	if r, _ := utf8.DecodeRuneInString(ini); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		scale = 0.5 // an emoji alone: as large as two letters
	}
	l := th.bold(unit.Sp(float32(size)*scale), rgb(0xffffff), ini)
	l.Alignment = text.Middle
	l.MaxLines = 1
	layout.Center.Layout(gtx, l.Layout)
	return D{Size: sz}
}

// iconAvatar draws a circle of color bg with an icon: white, or
// Palette.OnAccent on the accent color (the Everyone feed).
func iconAvatar(gtx C, th *Theme, ic *widget.Icon, bg color.NRGBA, size unit.Dp) D {
	s := gtx.Dp(size)
	sz := image.Pt(s, s)
	th.fillRRect(gtx.Ops, bg, clip.UniformRRect(image.Rectangle{Max: sz}, s/2))
	gtx.Constraints = layout.Exact(sz)
	fg := rgb(0xffffff) // on the avatar colors
	if bg == th.Pal.Accent {
		fg = th.Pal.OnAccent
	}
	return layout.Center.Layout(gtx, func(gtx C) D {
		gtx.Constraints = layout.Exact(image.Pt(s*11/20, s*11/20))
		return ic.Layout(gtx, fg)
	})
}

// dot draws a filled circle (presence, unread marker).
func dot(gtx C, th *Theme, c color.NRGBA, size unit.Dp) D {
	s := gtx.Dp(size)
	sz := image.Pt(s, s)
	th.fillRRect(gtx.Ops, c, clip.UniformRRect(image.Rectangle{Max: sz}, s/2))
	return D{Size: sz}
}

// badge draws an unread count pill.
func badge(gtx C, th *Theme, n int) D {
	txt := itoa(n)
	if n > 99 {
		txt = "99+"
	}
	return background(gtx, th, th.Pal.Accent, 10, func(gtx C) D {
		gtx.Constraints.Min = image.Pt(gtx.Dp(20), gtx.Dp(20))
		return layout.Inset{Left: 6, Right: 6, Top: 2, Bottom: 2}.Layout(gtx, func(gtx C) D {
			return layout.Center.Layout(gtx, th.bold(sizeCaption, th.Pal.OnAccent, txt).Layout)
		})
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// buttonKind selects a button's look.
type buttonKind int

const (
	primary buttonKind = iota
	secondary
	flat
	danger
)

// button draws a text button whose touch target is at least touch high.
func button(gtx C, th *Theme, click *widget.Clickable, kind buttonKind, label string) D {
	bg, fg := th.Pal.Accent, th.Pal.OnAccent
	switch kind {
	case secondary:
		bg, fg = th.Pal.Hover, th.Pal.Text
	case flat:
		bg, fg = color.NRGBA{}, th.Pal.Accent
	case danger:
		bg, fg = th.Pal.Danger, th.Pal.OnDanger
	}
	if !gtx.Enabled() {
		bg.A /= 2
		fg.A = fg.A * 2 / 3
	}
	return click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		if click.Hovered() && gtx.Enabled() {
			bg = hover(bg, th.Dark)
		}
		gtx.Constraints.Min.Y = gtx.Dp(40)
		return layout.Inset{Top: 4, Bottom: 4}.Layout(gtx, func(gtx C) D {
			d := background(gtx, th, bg, 10, func(gtx C) D {
				return layout.Inset{Left: 16, Right: 16, Top: 10, Bottom: 10}.Layout(gtx, func(gtx C) D {
					gtx.Constraints.Min.Y = 0
					return layout.Center.Layout(gtx, func(gtx C) D {
						l := th.bold(sizeBody, fg, label)
						l.MaxLines = 1
						return l.Layout(gtx)
					})
				})
			})
			g := gtx.Dp(4)
			focusRing(gtx, th, click, outset(image.Rectangle{Max: d.Size}, g), gtx.Dp(10)+g)
			return d
		})
	})
}

// iconButtonState is the state of an icon button: its clicks, and the
// tooltip that names it on hover (desktop) or after a long press (touch).
type iconButtonState struct {
	widget.Clickable
	tip tipArea
}

// iconButtonStyle draws a round icon button with a touch-sized target.
type iconButtonStyle struct {
	th     *Theme
	state  *iconButtonState
	icon   *widget.Icon
	fg, bg color.NRGBA // bg transparent: only a hover circle
	desc   string      // names the button for screen readers and in its tooltip
	// Tip places the tooltip, by default under the button, centered.
	Tip tipPlace
	// Size is the side of the button; 0 means the touch target (touch).
	Size unit.Dp
}

func newIconButton(th *Theme, state *iconButtonState, ic *widget.Icon, fg, bg color.NRGBA, desc string) iconButtonStyle {
	return iconButtonStyle{th: th, state: state, icon: ic, fg: fg, bg: bg, desc: desc}
}

// iconButton lays out newIconButton(th, b, ic, fg, bg, desc).
func iconButton(gtx C, th *Theme, b *iconButtonState, ic *widget.Icon, fg, bg color.NRGBA, desc string) D {
	return newIconButton(th, b, ic, fg, bg, desc).Layout(gtx)
}

func (b iconButtonStyle) Layout(gtx C) D {
	th := b.th
	tip := component.DesktopTooltip(th.Theme, b.desc)
	if th.Touch {
		tip = component.MobileTooltip(th.Theme, b.desc)
	}
	return b.state.tip.Layout(gtx, tip, b.Tip, b.button)
}

func (b iconButtonStyle) button(gtx C) D {
	th, click, ic, fg, bg, desc := b.th, &b.state.Clickable, b.icon, b.fg, b.bg, b.desc
	return click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp(desc).Add(gtx.Ops)
		side := b.Size
		if side <= 0 {
			side = touch
		}
		s := gtx.Dp(side)
		sz := image.Pt(s, s)
		if bg.A > 0 || click.Hovered() {
			c := bg
			if click.Hovered() {
				if c.A == 0 {
					c = th.Pal.Hover
				} else {
					c = hover(c, th.Dark)
				}
			}
			paint.FillShape(gtx.Ops, c, clip.Ellipse{Max: sz}.Op(gtx.Ops))
		}
		gtx.Constraints = layout.Exact(sz)
		layout.Center.Layout(gtx, func(gtx C) D {
			gtx.Constraints = layout.Exact(image.Pt(gtx.Dp(24), gtx.Dp(24)))
			return ic.Layout(gtx, fg)
		})
		r := image.Rectangle{Max: sz}
		if bg.A > 0 {
			// Around the filled circle, not on it.
			r = outset(r, gtx.Dp(4))
		}
		focusRing(gtx, th, click, r, r.Dx()/2)
		return D{Size: sz}
	})
}

func hover(c color.NRGBA, dark bool) color.NRGBA {
	mix := func(a uint8, t uint8) uint8 { return uint8((int(a)*9 + int(t)) / 10) }
	t := uint8(0)
	if dark || c.R+c.G+c.B < 200 {
		t = 255
	}
	return color.NRGBA{R: mix(c.R, t), G: mix(c.G, t), B: mix(c.B, t), A: max(c.A, 0x20)}
}

// field draws a single-line or multi-line text field with a hint. The
// focused field draws the focus ring as its border; a bad one a red border.
func field(gtx C, th *Theme, ed *widget.Editor, hint string, bad bool) D {
	return layout.Stack{}.Layout(gtx,
		layout.Expanded(func(gtx C) D {
			th.fillRRect(gtx.Ops, th.Pal.Field, clip.UniformRRect(image.Rectangle{Max: gtx.Constraints.Min}, gtx.Dp(10)))
			c := th.Pal.Divider
			if bad {
				c = th.Pal.Danger
			}
			border(gtx, th, gtx.Constraints.Min, c, 10, 1)
			if !bad {
				focusRing(gtx, th, ed, image.Rectangle{Max: gtx.Constraints.Min}, gtx.Dp(10))
			} else if gtx.Focused(ed) {
				th.ringed = ed // the red border, thicker, is the ring
				border(gtx, th, gtx.Constraints.Min, c, 10, focusWidth)
			}
			return D{Size: gtx.Constraints.Min}
		}),
		layout.Stacked(func(gtx C) D {
			gtx.Constraints.Min.Y = gtx.Dp(touch)
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return layout.Inset{Left: 12, Right: 12, Top: 12, Bottom: 12}.Layout(gtx, func(gtx C) D {
				gtx.Constraints.Min.Y = 0
				return describe(gtx, hint, func(gtx C) D {
					e := material.Editor(th.Theme, ed, hint)
					e.Color = th.Pal.Text
					e.HintColor = th.Pal.Muted
					e.SelectionColor = withAlpha(th.Pal.Accent, 0x60)
					e.Font.Weight = font.Normal
					return e.Layout(gtx)
				})
			})
		}),
	)
}

// describe lays out w in an area described by desc for screen readers:
// the name of a widget that cannot carry one itself (widget.Editor), which
// the area holds.
func describe(gtx C, desc string, w layout.Widget) D {
	m := op.Record(gtx.Ops)
	d := w(gtx)
	call := m.Stop()
	defer clip.Rect{Max: d.Size}.Push(gtx.Ops).Pop()
	semantic.DescriptionOp(desc).Add(gtx.Ops)
	call.Add(gtx.Ops)
	return d
}

func withAlpha(c color.NRGBA, a uint8) color.NRGBA {
	c.A = a
	return c
}

// clampWidth limits the maximum width to w.
func clampWidth(gtx C, w unit.Dp) C {
	if m := gtx.Dp(w); gtx.Constraints.Max.X > m {
		gtx.Constraints.Max.X = m
	}
	if gtx.Constraints.Min.X > gtx.Constraints.Max.X {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
	}
	return gtx
}

// firstLine shortens s to its first line for previews.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func imagePt(x, y int) image.Point { return image.Pt(x, y) }

// smallButton is a text-only button with a touch-sized target.
func smallButton(gtx C, th *Theme, click *widget.Clickable, label string, fg color.NRGBA) D {
	return click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		gtx.Constraints.Min.Y = gtx.Dp(touch)
		d := layout.Center.Layout(gtx, func(gtx C) D {
			return layout.Inset{Left: 12, Right: 12}.Layout(gtx, func(gtx C) D {
				l := th.bold(sizeSmall, fg, label)
				l.MaxLines = 1
				return l.Layout(gtx)
			})
		})
		in := gtx.Dp(4)
		focusRing(gtx, th, click, image.Rectangle{Min: image.Pt(0, in), Max: d.Size.Sub(image.Pt(0, in))}, gtx.Dp(8))
		return d
	})
}

// barHeader draws w centered in a pane's header bar, with a divider under it.
func barHeader(gtx C, th *Theme, w layout.Widget) D {
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return background(gtx, th, th.Pal.Panel, 0, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				gtx.Constraints.Min.Y = gtx.Dp(64)
				return layout.Inset{Left: 8, Right: 8}.Layout(gtx, func(gtx C) D {
					return layout.Center.Layout(gtx, w)
				})
			})
		}),
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
	)
}
