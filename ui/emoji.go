package ui

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// emojiSpace replaces a space that follows an emoji. Gio's shaper keeps the
// font of the previous run for a space, so a space after an emoji would take
// the emoji font's very wide space glyph; U+2004 THREE-PER-EM SPACE is not in
// that font, is about as wide as a text space, and still allows a line break.
const emojiSpace = '\u2004'

// fixEmojiSpaces returns s with the spaces that follow emoji replaced by
// emojiSpace. Strings without non-ASCII symbols are returned as they are.
func fixEmojiSpaces(s string) string {
	if !strings.Contains(s, " ") || !hasHighRune(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	prevEmoji := false
	for _, r := range s {
		if r == ' ' && prevEmoji {
			b.WriteRune(emojiSpace)
			prevEmoji = false
			continue
		}
		b.WriteRune(r)
		prevEmoji = isEmojiish(r) || (prevEmoji && (r == 0xFE0F || r == 0x200D || (r >= 0x1F3FB && r <= 0x1F3FF)))
	}
	return b.String()
}

func hasHighRune(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xE2 { // lead byte of U+2000 and above
			return true
		}
	}
	return false
}

// isEmojiish reports whether r is drawn from the emoji font.
func isEmojiish(r rune) bool {
	if r < 0x2000 || r == utf8.RuneError {
		return false
	}
	return (r >= 0x1F000 && r <= 0x1FAFF) || (r >= 0x2600 && r <= 0x27BF) || unicode.Is(unicode.So, r)
}
