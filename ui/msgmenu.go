package ui

import (
	"image"
	"time"

	"gioui.org/f32"
	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/widget"
)

// longPress is how long a finger must rest on a message to open its menu.
const longPress = 500 * time.Millisecond

// msgMenu is the state of the message menu: opened on a message by a
// right click (mouse) or a long press (touch), it offers Copy. It watches
// the presses of the whole messages area (its tag), whose coordinates
// place the menu; messageStates says which message a press fell on.
type msgMenu struct {
	open bool
	key  uint64      // the message the menu is for
	pos  image.Point // where it was opened, in the messages area

	// A touch press that may become a long press.
	pressing bool
	pressID  pointer.ID
	pressAt  time.Time
	pressPos f32.Point
	pressKey uint64

	copy  widget.Clickable
	close widget.Clickable // the scrim: a click outside the menu closes it
}

// msgAction is what the user chose in the message menu.
type msgAction int

const (
	msgNone msgAction = iota
	msgCopy
)

// update handles the presses of the messages area and the menu's items.
// pressed and ok say on which message a press of this frame fell (see
// messageStates). It returns the chosen action and its message.
func (m *msgMenu) update(gtx C, pressed uint64, ok bool) (msgAction, uint64) {
	for {
		ev, more := gtx.Event(pointer.Filter{Target: m, Kinds: pointer.Press | pointer.Drag | pointer.Release | pointer.Cancel})
		if !more {
			break
		}
		e, isPtr := ev.(pointer.Event)
		if !isPtr {
			continue
		}
		switch e.Kind {
		case pointer.Press:
			m.pressing = false
			if !ok {
				break
			}
			switch {
			case e.Source == pointer.Mouse && e.Buttons.Contain(pointer.ButtonSecondary):
				m.show(pressed, e.Position)
			case e.Source == pointer.Touch:
				m.pressing, m.pressID, m.pressAt, m.pressPos, m.pressKey = true, e.PointerID, gtx.Now, e.Position, pressed
			}
		case pointer.Drag:
			if m.pressing && e.PointerID == m.pressID {
				d := e.Position.Sub(m.pressPos)
				slop := float32(gtx.Dp(8))
				if d.X*d.X+d.Y*d.Y > slop*slop {
					m.pressing = false
				}
			}
		case pointer.Release, pointer.Cancel:
			if e.PointerID == m.pressID {
				m.pressing = false
			}
		}
	}
	if m.pressing {
		if due := m.pressAt.Add(longPress); gtx.Now.Before(due) {
			gtx.Execute(op.InvalidateCmd{At: due})
		} else {
			m.pressing = false
			m.show(m.pressKey, m.pressPos)
			// The finger lifted after a long press is not a click on what
			// is under it (a link).
			gtx.Execute(pointer.GrabCmd{Tag: m, ID: m.pressID})
		}
	}
	if m.close.Clicked(gtx) {
		m.open = false
	}
	if m.copy.Clicked(gtx) && m.open {
		m.open = false
		return msgCopy, m.key
	}
	return msgNone, 0
}

func (m *msgMenu) show(key uint64, p f32.Point) {
	m.open, m.key, m.pos = true, key, image.Pt(int(p.X+.5), int(p.Y+.5))
}

// msgMenuStyle draws the messages area: its content, the area that takes
// the presses of msgMenu, and, when it is open, the menu over the content.
type msgMenuStyle struct {
	th    *Theme
	state *msgMenu
	// Content draws the messages.
	Content layout.Widget
}

func (s msgMenuStyle) Layout(gtx C) D {
	m := s.state
	area := clip.Rect{Max: gtx.Constraints.Max}.Push(gtx.Ops)
	event.Op(gtx.Ops, m)
	d := s.Content(gtx)
	area.Pop()
	if !m.open {
		return d
	}
	size := gtx.Constraints.Max
	// The scrim dims the messages; a click on it closes the menu.
	m.close.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Close the menu").Add(gtx.Ops)
		a := uint8(0x40)
		if s.th.Dark {
			a = 0x90
		}
		fillRect(gtx.Ops, withAlpha(s.th.Pal.Scrim, a), 0, 0, size.X, size.Y)
		return D{Size: size}
	})
	rec := op.Record(gtx.Ops)
	mgtx := gtx
	mgtx.Constraints.Min = image.Point{}
	md := s.menu(mgtx)
	call := rec.Stop()
	// Open at the press, inside the area: left of it, or above it, where
	// there is no room.
	p := m.pos
	if p.X+md.Size.X > size.X {
		p.X = max(0, p.X-md.Size.X)
	}
	if p.Y+md.Size.Y > size.Y {
		p.Y = max(0, p.Y-md.Size.Y)
	}
	t := op.Offset(p).Push(gtx.Ops)
	call.Add(gtx.Ops)
	t.Pop()
	return d
}

// menu draws the menu card with its items.
func (s msgMenuStyle) menu(gtx C) D {
	th := s.th
	return popupCard(gtx, th, func(gtx C) D {
		return menuItem(gtx, th, &s.state.copy, "Copy")
	})
}

// menuItem draws one item of a menu: a touch-sized row with its label.
func menuItem(gtx C, th *Theme, click *widget.Clickable, label string) D {
	return click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		m := op.Record(gtx.Ops)
		d := layout.Inset{Left: 16, Right: 16, Top: 13, Bottom: 13}.Layout(gtx, func(gtx C) D {
			gtx.Constraints.Min = image.Pt(gtx.Dp(140-32), 0)
			return th.label(sizeBody, th.Pal.Text, label).Layout(gtx)
		})
		call := m.Stop()
		if click.Hovered() {
			th.fillRRect(gtx.Ops, th.Pal.Hover, clip.UniformRRect(image.Rectangle{Max: d.Size}, gtx.Dp(8)))
		}
		call.Add(gtx.Ops)
		focusRing(gtx, th, click, image.Rectangle{Max: d.Size}, gtx.Dp(8))
		return d
	})
}

// cardBack draws the background of a card floating over the content
// (menus, the @-completion): a shadow, the panel's color and an outline.
// popupCard draws w on a small floating card (a menu, the @-completion
// offer): rounded, with a shadow and a border, items inset by 4 dp.
func popupCard(gtx C, th *Theme, w layout.Widget) D {
	return layout.Stack{}.Layout(gtx,
		layout.Expanded(func(gtx C) D {
			rr := clip.UniformRRect(image.Rectangle{Max: gtx.Constraints.Min}, gtx.Dp(10))
			cardBack(gtx, th, rr)
			return D{Size: gtx.Constraints.Min}
		}),
		layout.Stacked(func(gtx C) D { return layout.UniformInset(4).Layout(gtx, w) }),
	)
}

func cardBack(gtx C, th *Theme, rr clip.RRect) {
	sh := rr
	sh.Rect = sh.Rect.Add(image.Pt(0, gtx.Dp(2)))
	th.fillRRect(gtx.Ops, argb(0x30000000), sh)
	th.fillRRect(gtx.Ops, th.Pal.Panel, rr)
	th.strokeRRect(gtx.Ops, withAlpha(th.Pal.Muted, 0x90), rr.Rect, rr.NE, max(1, gtx.Dp(1)))
}
