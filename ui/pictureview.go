package ui

import (
	"image"

	"gioui.org/f32"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
)

// pictureScreen shows one picture of a thread full size, over the chat
// screen (the back stack): back, Esc or the ← button return to the thread.
type pictureScreen struct {
	a    *App
	path string
	name string
	back iconButtonState
}

func newPictureScreen(a *App, path, name string) *pictureScreen {
	return &pictureScreen{a: a, path: path, name: name}
}

func (p *pictureScreen) CanBack() bool { return true }
func (p *pictureScreen) Back()         { p.a.pop() }
func (p *pictureScreen) Close()        {}

// viewSide is the side of the square the viewer decodes a picture to fit:
// the window's larger side, rounded up to 512 px so that resizing the
// window does not decode it again at every step, at most 4096.
func viewSide(sz image.Point) int {
	s := max(sz.X, sz.Y)
	return min(4096, (s+511)/512*512)
}

func (p *pictureScreen) Layout(gtx C) D {
	if p.back.Clicked(gtx) {
		p.a.pop()
		return D{Size: gtx.Constraints.Max}
	}
	th := p.a.th
	paint.Fill(gtx.Ops, argb(0xff101010))
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return layout.Inset{Left: 4, Right: 12, Top: 4, Bottom: 4}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						b := newIconButton(th, &p.back, p.a.ic.back, argb(0xffffffff), colorT{}, "Back to the chat")
						return b.Layout(gtx)
					}),
					layout.Rigid(layout.Spacer{Width: 8}.Layout),
					layout.Flexed(1, func(gtx C) D {
						l := th.bold(sizeBody, argb(0xffffffff), p.name)
						l.MaxLines = 1
						if short, cut := middleEllipsis(gtx, l, gtx.Constraints.Max.X); cut {
							l.Text = short
						}
						return l.Layout(gtx)
					}),
				)
			})
		}),
		layout.Flexed(1, func(gtx C) D {
			box := gtx.Constraints.Max
			t := p.a.thumbs.get(p.path, viewSide(box))
			switch {
			case !t.ready:
				return layout.Center.Layout(gtx, th.label(sizeBody, argb(0xffcccccc), "Loading…").Layout)
			case t.err != nil:
				return layout.Center.Layout(gtx, th.label(sizeBody, argb(0xffcccccc), "This picture cannot be shown.").Layout)
			}
			sz := t.size
			if sz.X > box.X || sz.Y > box.Y {
				sz = scaleInto(t.size, box)
			}
			off := box.Sub(sz).Div(2)
			defer op.Offset(off).Push(gtx.Ops).Pop()
			defer clip.Rect{Max: sz}.Push(gtx.Ops).Pop()
			semantic.DescriptionOp("Picture " + p.name).Add(gtx.Ops)
			t.img.Add(gtx.Ops)
			defer opScale(gtx, float32(sz.X)/float32(t.size.X), float32(sz.Y)/float32(t.size.Y)).Pop()
			paint.PaintOp{}.Add(gtx.Ops)
			return D{Size: box}
		}),
	)
}

// opScale pushes a scaling transform.
func opScale(gtx C, sx, sy float32) op.TransformStack {
	return op.Affine(f32.Affine2D{}.Scale(f32.Point{}, f32.Pt(sx, sy))).Push(gtx.Ops)
}
