package ui

import (
	"image"
	"image/color"
	"time"

	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/x/component"
)

// Tooltip timings.
const (
	tipHoverDelay     = 500 * time.Millisecond  // pointer at rest before the tip shows
	tipLongPressDelay = 500 * time.Millisecond  // press that counts as long (touch)
	tipLongPressShow  = 1500 * time.Millisecond // how long a long press shows the tip
	tipFade           = 250 * time.Millisecond
)

// tipPlace says where a tooltip goes: by default under its widget, centered.
type tipPlace uint8

const (
	tipEnd   tipPlace = 1 << iota // aligned with the widget's end (at the right edge of the window)
	tipAbove                      // above the widget (at the bottom of the window)
)

// tipArea is the state of a tooltip (component.Tooltip) by a widget, shown
// while the mouse rests on it or after a long press. It is
// component.TipArea with one difference: the tip can be placed (tipPlace)
// so that the tip of a widget at an edge of the window stays inside it.
type tipArea struct {
	vis                     component.VisibilityAnimation
	hover, press, longPress component.InvalidateDeadline
	init                    bool
}

// Layout lays out w and, over everything else, the tip when it shows.
// Input still goes to w.
func (t *tipArea) Layout(gtx C, tip component.Tooltip, place tipPlace, w layout.Widget) D {
	if !t.init {
		t.init = true
		t.vis.State = component.Invisible
		t.vis.Duration = tipFade
	}
	for {
		ev, ok := gtx.Event(pointer.Filter{Target: t, Kinds: pointer.Press | pointer.Release | pointer.Enter | pointer.Leave | pointer.Cancel})
		if !ok {
			break
		}
		e, ok := ev.(pointer.Event)
		if !ok {
			continue
		}
		switch e.Kind {
		case pointer.Enter:
			if e.Source == pointer.Mouse {
				t.hover.SetTarget(gtx.Now.Add(tipHoverDelay))
			}
		case pointer.Leave:
			if t.vis.State == component.Appearing {
				// Disappear ignores a tip that is fading in: it would stay.
				t.vis.State = component.Invisible
			}
			t.vis.Disappear(gtx.Now)
			t.hover.ClearTarget()
		case pointer.Press:
			if e.Source == pointer.Touch {
				t.press.SetTarget(gtx.Now.Add(tipLongPressDelay))
			}
		case pointer.Release:
			t.press.ClearTarget()
		case pointer.Cancel:
			t.hover.ClearTarget()
			t.press.ClearTarget()
		}
	}
	if t.hover.Process(gtx) {
		t.vis.Appear(gtx.Now)
	}
	if t.press.Process(gtx) {
		t.vis.Appear(gtx.Now)
		t.longPress.SetTarget(gtx.Now.Add(tipLongPressShow))
	}
	if t.longPress.Process(gtx) {
		t.vis.Disappear(gtx.Now)
	}
	// The tip's area holds w's, so that w stays one element (with its own
	// role and name) for screen readers, inside an area that only watches
	// the pointer: a parent sees the pointer events of its children.
	m := op.Record(gtx.Ops)
	d := w(gtx)
	call := m.Stop()
	area := clip.Rect{Max: d.Size}.Push(gtx.Ops)
	event.Op(gtx.Ops, t)
	call.Add(gtx.Ops)
	area.Pop()
	if t.vis.Visible() {
		gtx.Constraints.Min = image.Point{}
		m = op.Record(gtx.Ops)
		tip.Bg = component.Interpolate(color.NRGBA{}, tip.Bg, t.vis.Revealed(gtx))
		td := tip.Layout(gtx)
		call := m.Stop()
		x, y := (d.Size.X-td.Size.X)/2, d.Size.Y
		if place&tipEnd != 0 {
			x = d.Size.X - td.Size.X
		}
		if place&tipAbove != 0 {
			y = -td.Size.Y
		}
		m = op.Record(gtx.Ops)
		op.Offset(image.Pt(x, y)).Add(gtx.Ops)
		call.Add(gtx.Ops)
		op.Defer(gtx.Ops, m.Stop())
	}
	return d
}
