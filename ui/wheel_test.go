package ui

import (
	"testing"

	"gioui.org/f32"
	"gioui.org/io/pointer"
	"gioui.org/layout"
)

// TestWheelScrollsLines reproduces issue 9, defect 13: one notch of a mouse
// wheel (10 px from Gio's X11 backend) must scroll a thread by about three
// lines, not 10 px; a touchpad's continuous distance is left as it is.
func TestWheelScrollsLines(t *testing.T) {
	for _, tt := range []struct {
		name     string
		dy       float32
		min, max int // px moved
	}{
		{"notch", 10, 45, 80},
		{"touchpad", 3.5, 3, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			be := &fakeBackend{peers: crowd[:5]}
			h := newHarness(t, be, 1280, 800)
			s := h.connect("ana")
			h.push(s, threadEvents()...)
			c := h.chat()
			c.open("bruno")
			h.frame()
			ts := c.view("bruno")
			ts.list.Position = layout.Position{First: 3, BeforeEnd: true}
			h.frame()
			before := ts.list.Position
			h.router.Queue(pointer.Event{Kind: pointer.Scroll, Source: pointer.Mouse, Position: f32.Pt(800, 400), Scroll: f32.Pt(0, tt.dy)})
			h.frame()
			h.frame()
			after := ts.list.Position
			if after.First != before.First {
				t.Fatalf("position %+v after the wheel, from %+v: crossed a message, make the test's start earlier", after, before)
			}
			if moved := after.Offset - before.Offset; moved < tt.min || moved > tt.max {
				t.Fatalf("scroll of %v moved the thread %d px, want %d–%d", tt.dy, moved, tt.min, tt.max)
			}
		})
	}
}
