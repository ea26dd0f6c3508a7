package history

import (
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Search folding. Search compares text and query after folding both, one
// character (rune) at a time, so that a folded byte always comes from one
// character of the original and a match maps back to a byte range of it.
// A character folds to:
//
//   - " " if it is white space (unicode.IsSpace), so that a line break or a
//     no-break space matches the space typed in the query;
//   - otherwise its full Unicode case folding (cases.Fold: "ß" → "ss",
//     "K" (Kelvin) → "k", "İ" → "i̇"), then canonically decomposed (NFD),
//     with every nonspacing mark (category Mn) removed: "É" → "e",
//     "ñ" → "n", "ç" → "c", "ö" → "o", "가" → "ᄀ" "ᅡ"; and the dotless
//     "ı" → "i", as "İ" loses its dot.
//
// Invalid UTF-8 folds byte by byte to U+FFFD. Folding ASCII is lowering it
// (and turning tab, line feed and the like into spaces), without a table
// look-up; other characters are folded through x/text once and remembered
// in pages of 256 characters built on first use.

// foldPageBits is the log2 of the number of characters in a fold page.
const foldPageBits = 8

// foldPages holds the folded form of every non-ASCII character, one page of
// 256 characters at a time, each built on first use. A page, once stored,
// never changes, so it is safe for concurrent use.
var foldPages [(unicode.MaxRune + 1) >> foldPageBits]atomic.Pointer[[1 << foldPageBits]string]

// asciiFold is the folded form of each ASCII byte.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for i := range t {
		c := byte(i)
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x1f:
			c = ' '
		}
		t[i] = c
	}
	return t
}()

// foldRune returns the folded form of r, which must be a valid rune or
// utf8.RuneError.
func foldRune(r rune) string {
	if r < 0 || r > unicode.MaxRune {
		r = utf8.RuneError
	}
	p := &foldPages[r>>foldPageBits]
	page := p.Load()
	if page == nil {
		page = buildFoldPage(r &^ (1<<foldPageBits - 1))
		// Another goroutine may have built the same page; both are equal.
		p.Store(page)
	}
	return page[r&(1<<foldPageBits-1)]
}

// buildFoldPage folds the 256 characters starting at first.
func buildFoldPage(first rune) *[1 << foldPageBits]string {
	caser := cases.Fold() // a Caser is not safe for concurrent use: one per page
	var page [1 << foldPageBits]string
	for i := range page {
		page[i] = foldRuneSlow(caser, first+rune(i))
	}
	return &page
}

// foldRuneSlow computes the folded form of r as the package doc of Search
// folding describes.
func foldRuneSlow(caser cases.Caser, r rune) string {
	if unicode.IsSpace(r) {
		return " "
	}
	if r < utf8.RuneSelf {
		return string(rune(asciiFold[r]))
	}
	s := norm.NFD.String(caser.String(string(r))) // string(r) of a surrogate is U+FFFD
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Mn, r):
			return -1
		case r == 'ı': // dotless i: "i" without its dot, like "İ"
			return 'i'
		}
		return r
	}, s)
}

// appendFold appends the folded form of s to dst and returns the extended
// slice.
func appendFold(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, asciiFold[c])
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		dst = append(dst, foldRune(r)...)
		i += n
	}
	return dst
}

// foldMap folds s like appendFold and also returns, for each byte of the
// folded form, the byte offset in s of the character it comes from.
func foldMap(s string) (folded []byte, from []int) {
	folded = make([]byte, 0, len(s))
	from = make([]int, 0, len(s))
	for i, r := range s {
		n := len(folded)
		if r < utf8.RuneSelf {
			folded = append(folded, asciiFold[r])
		} else {
			folded = append(folded, foldRune(r)...)
		}
		for range len(folded) - n {
			from = append(from, i)
		}
	}
	return folded, from
}

// fold returns the folded form of s.
func fold(s string) string { return string(appendFold(nil, []byte(s))) }
