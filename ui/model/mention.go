package model

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"peerchat/core/wire"
)

// Mentions reports whether text mentions nick: "@nick", or nick as a word of
// its own, compared after Unicode case folding (wire.FoldNick), so that
// "@Ana", "ANA?" and "hi ana" mention ana but "banana" and "anab" do not.
func Mentions(text, nick string) bool {
	if nick == "" {
		return false
	}
	t, n := wire.FoldNick(text), wire.FoldNick(nick)
	if n == "" {
		return false
	}
	for i := 0; i <= len(t)-len(n); {
		j := strings.Index(t[i:], n)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(n)
		before, _ := utf8.DecodeLastRuneInString(t[:start])
		after, _ := utf8.DecodeRuneInString(t[end:])
		if (start == 0 || !wordRune(before)) && (end == len(t) || !wordRune(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(t[start:])
		i = start + size
	}
	return false
}

// wordRune reports whether r continues a word (a nickname next to it is
// part of a longer word, not a mention).
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_'
}
