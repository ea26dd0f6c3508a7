package ui

import (
	"image"
	"image/color"

	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
)

// Rounded rectangles, cheaply.
//
// Gio's GPU renderer rasterizes every path (clip.RRect, clip.Ellipse,
// clip.Stroke) anew each frame, over its whole bounding box, with two draw
// calls. With a software rasterizer (Mesa llvmpipe) a 400×100 px rounded
// rectangle costs about 0.8 ms of CPU a frame, and any path at least about
// 0.05 ms. A rectangle needs no path, and an image, once uploaded, is drawn
// from the texture cache. So the UI's rounded shapes (bubbles, cards, fields,
// avatars) are drawn as rectangles plus corner images rasterized once, on the
// CPU, per radius and color. The pieces tile the shape exactly, so
// translucent colors blend as they would with one shape.

// maxCorners bounds the corner image cache; it is emptied when full.
const maxCorners = 512

// cornerKey names one corner image.
type cornerKey struct {
	c     color.NRGBA
	r, w  int   // radius; ring width, 0 for a filled quarter disc
	which uint8 // cornerNW, cornerNE, cornerSE, cornerSW
}

const (
	cornerNW uint8 = iota
	cornerNE
	cornerSE
	cornerSW
)

// cornerSamples is the supersampling of corner images per axis.
const cornerSamples = 4

// corner returns the image of one r×r corner of color c.
func (th *Theme) corner(k cornerKey) paint.ImageOp {
	if im, ok := th.corners[k]; ok {
		return im
	}
	if th.corners == nil || len(th.corners) >= maxCorners {
		th.corners = map[cornerKey]paint.ImageOp{}
	}
	img := image.NewNRGBA(image.Rect(0, 0, k.r, k.r))
	r := float32(k.r)
	in := r - float32(k.w)
	for y := 0; y < k.r; y++ {
		for x := 0; x < k.r; x++ {
			n := 0
			for sy := 0; sy < cornerSamples; sy++ {
				for sx := 0; sx < cornerSamples; sx++ {
					// Distance from the circle's center, which is the corner
					// square's inner corner; for cornerNW, (r, r).
					dx := r - (float32(x) + (float32(sx)+.5)/cornerSamples)
					dy := r - (float32(y) + (float32(sy)+.5)/cornerSamples)
					d2 := dx*dx + dy*dy
					if d2 <= r*r && (k.w == 0 || d2 >= in*in) {
						n++
					}
				}
			}
			px, py := x, y
			if k.which == cornerNE || k.which == cornerSE {
				px = k.r - 1 - x
			}
			if k.which == cornerSE || k.which == cornerSW {
				py = k.r - 1 - y
			}
			c := k.c
			c.A = uint8((int(c.A)*n + cornerSamples*cornerSamples/2) / (cornerSamples * cornerSamples))
			img.SetNRGBA(px, py, c)
		}
	}
	im := paint.NewImageOp(img)
	im.Filter = paint.FilterNearest
	th.corners[k] = im
	return im
}

// drawCorner draws corner k with its top left at p.
func (th *Theme) drawCorner(ops *op.Ops, k cornerKey, p image.Point) {
	if k.r <= 0 {
		return
	}
	defer op.Offset(p).Push(ops).Pop()
	defer clip.Rect{Max: image.Pt(k.r, k.r)}.Push(ops).Pop()
	th.corner(k).Add(ops)
	paint.PaintOp{}.Add(ops)
}

// spriteColor reports whether corner images of color c blend like a path of
// color c. Gio blends images as premultiplied sRGB, so a translucent color
// would come out darker, except black (translucent black: shadows).
func spriteColor(c color.NRGBA) bool {
	return c.A == 0xff || c.R == 0 && c.G == 0 && c.B == 0
}

// fillRect fills the rectangle x0,y0–x1,y1 with c, if it is not empty.
func fillRect(ops *op.Ops, c color.NRGBA, x0, y0, x1, y1 int) {
	if x1 > x0 && y1 > y0 {
		paint.FillShape(ops, c, clip.Rect{Min: image.Pt(x0, y0), Max: image.Pt(x1, y1)}.Op())
	}
}

// fillRRect fills rr with c; it looks like paint.FillShape(ops, c, rr.Op(ops)).
func (th *Theme) fillRRect(ops *op.Ops, c color.NRGBA, rr clip.RRect) {
	r := rr.Rect
	nw, ne, se, sw := rr.NW, rr.NE, rr.SE, rr.SW
	left, right := max(nw, sw), max(ne, se)
	if !spriteColor(c) || min(nw, ne, se, sw) < 0 || nw+sw > r.Dy() || ne+se > r.Dy() || left+right > r.Dx() {
		paint.FillShape(ops, c, rr.Op(ops))
		return
	}
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	fillRect(ops, c, x0+left, y0, x1-right, y1) // the middle column
	// The left column: the corners, what they leave of its width, the rest.
	th.drawCorner(ops, cornerKey{c: c, r: nw, which: cornerNW}, image.Pt(x0, y0))
	fillRect(ops, c, x0+nw, y0, x0+left, y0+nw)
	fillRect(ops, c, x0, y0+nw, x0+left, y1-sw)
	th.drawCorner(ops, cornerKey{c: c, r: sw, which: cornerSW}, image.Pt(x0, y1-sw))
	fillRect(ops, c, x0+sw, y1-sw, x0+left, y1)
	// The right column.
	th.drawCorner(ops, cornerKey{c: c, r: ne, which: cornerNE}, image.Pt(x1-ne, y0))
	fillRect(ops, c, x1-right, y0, x1-ne, y0+ne)
	fillRect(ops, c, x1-right, y0+ne, x1, y1-se)
	th.drawCorner(ops, cornerKey{c: c, r: se, which: cornerSE}, image.Pt(x1-se, y1-se))
	fillRect(ops, c, x1-right, y1-se, x1-se, y1)
}

// strokeRRect draws the inside w px of the outline of rect rounded by r.
func (th *Theme) strokeRRect(ops *op.Ops, c color.NRGBA, rect image.Rectangle, r, w int) {
	x0, y0, x1, y1 := rect.Min.X, rect.Min.Y, rect.Max.X, rect.Max.Y
	if !spriteColor(c) || r < w || 2*r > rect.Dx() || 2*r > rect.Dy() {
		paint.FillShape(ops, c, clip.Stroke{
			Path:  clip.UniformRRect(rect.Inset(w/2), r).Path(ops),
			Width: float32(w),
		}.Op())
		return
	}
	fillRect(ops, c, x0+r, y0, x1-r, y0+w) // top
	fillRect(ops, c, x0+r, y1-w, x1-r, y1) // bottom
	fillRect(ops, c, x0, y0+r, x0+w, y1-r) // left
	fillRect(ops, c, x1-w, y0+r, x1, y1-r) // right
	th.drawCorner(ops, cornerKey{c: c, r: r, w: w, which: cornerNW}, image.Pt(x0, y0))
	th.drawCorner(ops, cornerKey{c: c, r: r, w: w, which: cornerNE}, image.Pt(x1-r, y0))
	th.drawCorner(ops, cornerKey{c: c, r: r, w: w, which: cornerSE}, image.Pt(x1-r, y1-r))
	th.drawCorner(ops, cornerKey{c: c, r: r, w: w, which: cornerSW}, image.Pt(x0, y1-r))
}
