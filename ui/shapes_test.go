package ui

import (
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"testing"

	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
)

// TestRoundedShapes renders fillRRect and strokeRRect next to the paths they
// stand for and compares the pixels.
func TestRoundedShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("renders with the GPU")
	}
	const delta = 6 // per channel
	size := image.Pt(240, 120)
	g := newGPU(t, size)
	th := newTheme()
	opaque, translucent, shadow := rgb(0x2f6fde), withAlpha(rgb(0xd03b3b), 0x30), argb(0x12000000)
	r := image.Rect(10, 10, 110, 80)
	tests := []struct {
		name string
		c    color.NRGBA
		rr   clip.RRect
		w    int // stroke width, 0 for a fill
	}{
		{"bubble", opaque, clip.RRect{Rect: r, NW: 14, NE: 14, SW: 14, SE: 4}, 0},
		{"uniform", opaque, clip.UniformRRect(r, 10), 0},
		{"circle", opaque, clip.UniformRRect(image.Rect(20, 20, 64, 64), 22), 0},
		{"odd circle", opaque, clip.UniformRRect(image.Rect(20, 20, 65, 65), 22), 0},
		{"translucent", translucent, clip.RRect{Rect: r, NW: 30, NE: 30, SW: 4, SE: 30}, 0},
		{"shadow", shadow, clip.UniformRRect(r, 15), 0},
		{"square", opaque, clip.RRect{Rect: r}, 0},
		{"border", opaque, clip.UniformRRect(r, 10), 1},
		{"thick border", opaque, clip.UniformRRect(r, 14), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ops op.Ops
			draw := func(x int, fast bool) {
				// Like a message in a list: clipped, then offset.
				defer clip.Rect{Min: image.Pt(x, 0), Max: image.Pt(x+120, 120)}.Push(&ops).Pop()
				defer op.Offset(image.Pt(x, 3)).Push(&ops).Pop()
				switch {
				case tt.w > 0 && fast:
					th.strokeRRect(&ops, tt.c, tt.rr.Rect, tt.rr.NW, tt.w)
				case tt.w > 0:
					// The inside w px of the outline, on an opaque background.
					paint.FillShape(&ops, tt.c, tt.rr.Op(&ops))
					paint.FillShape(&ops, LightPalette.Bg, clip.UniformRRect(tt.rr.Rect.Inset(tt.w), tt.rr.NW-tt.w).Op(&ops))
				case fast:
					th.fillRRect(&ops, tt.c, tt.rr)
				default:
					paint.FillShape(&ops, tt.c, tt.rr.Op(&ops))
				}
			}
			paint.Fill(&ops, LightPalette.Bg)
			draw(0, false)
			draw(120, true)
			img := g.render(t, &ops)
			bad := 0
			for y := 0; y < size.Y; y++ {
				for x := 0; x < 120; x++ {
					a, b := img.RGBAAt(x, y), img.RGBAAt(x+120, y)
					if absDiff(a.R, b.R) > delta || absDiff(a.G, b.G) > delta || absDiff(a.B, b.B) > delta {
						bad++
					}
				}
			}
			// Anti-aliased edges may differ a little (images blend in
			// premultiplied sRGB); more than the outline may not.
			sz := tt.rr.Rect.Size()
			if limit := sz.X*sz.Y/100 + 2*(sz.X+sz.Y); bad > limit {
				t.Errorf("%d pixels differ from the path (limit %d)", bad, limit)
				writePNG(filepath.Join(artifactsDir(), "shapes-"+tt.name+".png"), img, png.BestSpeed)
			}
		})
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
