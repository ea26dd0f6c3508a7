package ui

import (
	"image"
	"unicode/utf8"

	"gioui.org/f32"
	"gioui.org/font"
	"gioui.org/gesture"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/text"
	"gioui.org/unit"
	"golang.org/x/image/math/fixed"
)

// textSpan is a part of a message's text drawn apart from the rest: a link
// or a mention.
type textSpan struct {
	start, end int // byte offsets in the text
	color      colorT
	url        string // a link: underlined, opened when clicked
	tint       colorT // drawn behind the span unless transparent (mentions of the user)
}

// linkHit is the clickable area of a link on one line of a message.
type linkHit struct {
	url   string
	click gesture.Click
}

// bodyTextStyle draws the text of a message wrapped to the width. Like
// every label of the UI it breaks a word only where the word is longer
// than a line (text.WrapHeuristically), so that every glyph of the text is
// shown; unlike a label it colors spans (links, mentions) within the text,
// and makes links clickable.
type bodyTextStyle struct {
	th    *Theme
	text  string // already through fixEmojiSpaces
	size  unit.Sp
	color colorT
	spans []textSpan // in order, not overlapping
	// hits keeps the clickable areas of the links, made as needed; nil
	// leaves links unclickable.
	hits *[]*linkHit
}

// bodyInfo says what bodyTextStyle laid out.
type bodyInfo struct {
	runes int // runes of the text represented by the glyphs drawn
	lines int
}

// spanRect is the area of a span on one line.
type spanRect struct {
	span int
	r    image.Rectangle
}

func (b bodyTextStyle) Layout(gtx C) D {
	d, _ := b.layout(gtx)
	return d
}

func (b bodyTextStyle) layout(gtx C) (D, bodyInfo) {
	th, txt, spans := b.th, b.text, b.spans
	sh := th.Shaper
	cs := gtx.Constraints
	sh.LayoutString(text.Parameters{
		Font:       font.Font{Typeface: th.Face},
		PxPerEm:    fixed.I(gtx.Sp(b.size)),
		WrapPolicy: text.WrapHeuristically,
		MaxWidth:   cs.Max.X,
		MinWidth:   cs.Min.X,
		Locale:     gtx.Locale,
	}, txt)

	var (
		info     bodyInfo
		bounds   image.Rectangle
		baseline int
		first    = true
		buf      [32]text.Glyph
		line     = buf[:0]
		lineOff  f32.Point
		cur      = -1 // the span of the glyphs in line, -1 for none
		at       int  // byte offset of the next cluster
		si       int  // first span that does not end before at
		rects    []spanRect
	)
	flush := func() {
		if len(line) == 0 {
			return
		}
		c := b.color
		if cur >= 0 {
			c = spans[cur].color
		}
		t := op.Affine(f32.AffineId().Offset(lineOff)).Push(gtx.Ops)
		outline := clip.Outline{Path: sh.Shape(line)}.Op().Push(gtx.Ops)
		paint.ColorOp{Color: c}.Add(gtx.Ops)
		paint.PaintOp{}.Add(gtx.Ops)
		outline.Pop()
		if call := sh.Bitmaps(line); call != (op.CallOp{}) {
			call.Add(gtx.Ops)
		}
		t.Pop()
		line = line[:0]
	}
	textOps := op.Record(gtx.Ops)
	semantic.LabelOp(txt).Add(gtx.Ops)
	for g, ok := sh.NextGlyph(); ok; g, ok = sh.NextGlyph() {
		for si < len(spans) && spans[si].end <= at {
			si++
		}
		sp := -1
		if si < len(spans) && spans[si].start <= at {
			sp = si
		}
		if sp != cur {
			flush()
			cur = sp
		}
		if len(line) == 0 {
			lineOff = f32.Pt(float32(g.X)/64, float32(g.Y))
		}
		line = append(line, g)
		gb := image.Rectangle{
			Min: image.Pt(g.X.Floor(), int(g.Y)-g.Ascent.Ceil()),
			Max: image.Pt((g.X + g.Advance).Ceil(), int(g.Y)+g.Descent.Ceil()),
		}
		if first {
			first, bounds, baseline = false, gb, int(g.Y)
		} else {
			bounds = bounds.Union(gb)
		}
		if sp >= 0 && g.Flags&text.FlagParagraphBreak == 0 {
			if n := len(rects); n > 0 && rects[n-1].span == sp && rects[n-1].r.Min.Y == gb.Min.Y {
				rects[n-1].r = rects[n-1].r.Union(gb)
			} else {
				rects = append(rects, spanRect{span: sp, r: gb})
			}
		}
		if g.Flags&text.FlagLineBreak != 0 {
			info.lines++
		}
		if g.Flags&text.FlagLineBreak != 0 || len(line) == cap(line) {
			flush()
		}
		if g.Flags&text.FlagClusterBreak != 0 {
			info.runes += int(g.Runes)
			for range g.Runes {
				_, n := utf8.DecodeRuneInString(txt[at:])
				at += max(n, 1)
			}
			at = min(at, len(txt))
		}
	}
	flush()
	call := textOps.Stop()

	// Tints go under the text, underlines and link areas over it.
	for _, r := range rects {
		if t := spans[r.span].tint; t.A > 0 {
			pad := gtx.Dp(2)
			th.fillRRect(gtx.Ops, t, clip.UniformRRect(image.Rect(r.r.Min.X-pad, r.r.Min.Y, r.r.Max.X+pad, r.r.Max.Y), gtx.Dp(4)))
		}
	}
	call.Add(gtx.Ops)
	nlink := 0
	for _, r := range rects {
		sp := spans[r.span]
		if sp.url == "" {
			continue
		}
		// The underline, so that a link does not differ by its color alone.
		y := r.r.Max.Y - gtx.Dp(3)
		fillRect(gtx.Ops, sp.color, r.r.Min.X, y, r.r.Max.X, y+max(1, gtx.Dp(1)))
		if b.hits == nil {
			continue
		}
		if nlink == len(*b.hits) {
			*b.hits = append(*b.hits, new(linkHit))
		}
		h := (*b.hits)[nlink]
		nlink++
		h.url = sp.url
		area := clip.Rect(r.r).Push(gtx.Ops)
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Open link " + sp.url).Add(gtx.Ops)
		pointer.CursorPointer.Add(gtx.Ops)
		h.click.Add(gtx.Ops)
		area.Pop()
	}
	if b.hits != nil {
		*b.hits = (*b.hits)[:nlink]
	}
	sz := cs.Constrain(bounds.Max)
	return D{Size: sz, Baseline: sz.Y - baseline}, info
}
