// Package fonts bundles the typefaces of the PeerChat UI: the Go fonts for
// text and Noto Color Emoji (SIL Open Font License 1.1, see LICENSE beside
// this file) for emoji, which Gio's shaper draws from the font's bitmap
// (CBDT) glyphs.
package fonts

import (
	_ "embed"
	"fmt"
	"sync"

	"gioui.org/font"
	"gioui.org/font/gofont"
	"gioui.org/font/opentype"
)

//go:embed NotoColorEmoji.ttf
var notoColorEmoji []byte

// Collection returns the faces the UI shapes text with: the Go fonts and the
// emoji font. The faces are parsed once; Collection is safe for concurrent
// use and returns a new slice each call.
func Collection() []font.FontFace {
	faces, err := parsed()
	if err != nil {
		// The embedded font is fixed at build time; a parse failure is a build defect.
		panic(err)
	}
	return append(gofont.Collection(), faces...)
}

var parsed = sync.OnceValues(func() ([]font.FontFace, error) {
	faces, err := opentype.ParseCollection(notoColorEmoji)
	if err != nil {
		return nil, fmt.Errorf("parse Noto Color Emoji: %w", err)
	}
	return faces, nil
})
