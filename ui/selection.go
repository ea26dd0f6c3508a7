package ui

import (
	"io"
	"strings"

	"gioui.org/font"
	"gioui.org/io/clipboard"
	"gioui.org/io/key"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/paint"
	"gioui.org/text"
	"gioui.org/widget"
)

// selectableStyle makes the text of a message selectable with the mouse:
// drag to select, double-click a word, triple-click a line, Ctrl+A, and
// Ctrl+C to copy (messageStates.update copies, see copyText). The
// widget.Selectable takes the input and paints the selection, with its
// glyphs invisible; Text then draws the text over it, with its links and
// mentions, shaped the same way (font, size, text.WrapHeuristically and
// the constraints), so that the selection falls on the glyphs drawn.
type selectableStyle struct {
	th       *Theme
	state    *widget.Selectable
	text     string // as drawn (through fixEmojiSpaces)
	selColor colorT
	// Text draws text at sizeBody in the theme's face, wrapped with
	// text.WrapHeuristically.
	Text layout.Widget
}

func (s selectableStyle) Layout(gtx C) D {
	sel := s.state
	sel.SetText(s.text)
	sel.WrapPolicy = text.WrapHeuristically
	sel.PaintSelectionWhenUnfocused = false
	m := op.Record(gtx.Ops)
	paint.ColorOp{Color: s.selColor}.Add(gtx.Ops)
	selMat := m.Stop()
	m = op.Record(gtx.Ops)
	paint.ColorOp{}.Add(gtx.Ops) // the Selectable's own glyphs: invisible
	// The Selectable's area takes presses, so a screen reader must be able
	// to name it; the only ops run inside it are its materials. Its glyphs
	// carry the text as their label: once per run of glyphs (a line, or 32
	// glyphs), which only matters while the text is selectable, on desktop
	// (never with Theme.Touch, where screen readers are used).
	semantic.LabelOp(s.text).Add(gtx.Ops)
	textMat := m.Stop()
	sd := sel.Layout(gtx, s.th.Shaper, font.Font{Typeface: s.th.Face}, sizeBody, textMat, selMat)
	d := s.Text(gtx)
	d.Size.X, d.Size.Y = max(d.Size.X, sd.Size.X), max(d.Size.Y, sd.Size.Y)
	return d
}

// copyText puts txt, text of a message as drawn, on the clipboard as the
// message's own text: the spaces fixEmojiSpaces changed are spaces again.
func copyText(gtx C, txt string) {
	txt = strings.ReplaceAll(txt, string(emojiSpace), " ")
	gtx.Execute(clipboard.WriteCmd{Type: "application/text", Data: io.NopCloser(strings.NewReader(txt))})
}

// copyKey is the filter of Ctrl+C (Cmd+C) on the focused text of a
// message, read before the widget.Selectable reads it, so that what is
// copied is the message's text (copyText).
func copyKey(sel *widget.Selectable) key.Filter {
	return key.Filter{Focus: sel, Name: "C", Required: key.ModShortcut}
}
