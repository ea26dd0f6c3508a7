package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// visible returns s with every character that could act on a terminal
// instead of being shown made visible, so that text from peers and servers
// can neither move the cursor, clear the screen, set the window title,
// start a new line (to forge one from someone else), nor reorder what
// follows on its line. Human mode prints every string it did not write
// itself through visible; JSON mode is left as it is (encoding/json
// escapes control characters, and a program reads it).
//
// What is replaced, and by what:
//
//   - C0 controls U+0000–U+001F (ESC, CR, LF, TAB, BEL, …) by their
//     Control Pictures U+2400–U+241F (␛ ␍ ␊ ␉ ␇), DEL U+007F by ␡ (U+2421);
//   - C1 controls U+0080–U+009F (CSI, OSC, NEL, …), the bidirectional
//     controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), the
//     line and paragraph separators U+2028 and U+2029, and every other
//     format character (Unicode category Cf: soft hyphen, zero-width space,
//     BOM, …) except the joiners U+200C and U+200D and the tag characters
//     U+E0020–U+E007F that emoji sequences are made of, by "<U+XXXX>";
//   - each byte of invalid UTF-8 by "<0xNN>".
//
// Everything else, including letters of every script, combining marks and
// emoji, is kept. The result is valid UTF-8 in which none of the characters
// above remain.
func visible(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || hidden(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the common case: nothing to do, no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "<0x%02X>", s[i])
		case r < 0x20:
			b.WriteRune(0x2400 + r)
		case r == 0x7f:
			b.WriteRune(0x2421)
		case hidden(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// hidden reports whether visible replaces r.
func hidden(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r < 0xad:
		return false // printable ASCII and Latin-1: the fast path
	case r == 0x200c || r == 0x200d || (r >= 0xe0020 && r <= 0xe007f):
		return false
	}
	return r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Bidi_Control, r) || unicode.Is(unicode.Cf, r)
}
