package history

import (
	"slices"
	"strconv"
	"strings"
	"sync"
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
// Invalid UTF-8 folds byte by byte to U+FFFD. Folding is a table look-up:
// ASCII from a constant table, two-byte characters from a table built on
// the first search, others from pages of 256 characters, each folded
// through x/text the first time one of its characters is met.

// foldPageBits is the log2 of the number of characters in a fold page.
const foldPageBits = 8

// foldPages holds the folded form of every non-ASCII character, one page of
// 256 characters at a time, each built on first use. A page, once stored,
// never changes, so it is safe for concurrent use.
var foldPages [(unicode.MaxRune + 1) >> foldPageBits]atomic.Pointer[[1 << foldPageBits]string]

// asciiFold is the folded form of each ASCII byte; the upper half, unused,
// lets an index by byte go without a bounds check.
var asciiFold = func() (t [256]byte) {
	for i := range utf8.RuneSelf {
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

// foldRuneSlow computes the folded form of r as "Search folding" above
// describes, through x/text.
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
	var two *[twoByteRunes]twoByteFold
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			// A run of ASCII, written in place.
			n := len(dst)
			dst = slices.Grow(dst, len(s)-i)
			d := dst[n : n+len(s)-i]
			k := 0
			for ; k < len(d); k++ {
				c := s[i+k]
				if c >= utf8.RuneSelf {
					break
				}
				d[k] = asciiFold[c]
			}
			dst = dst[:n+k]
			i += k
			continue
		}
		// Two-byte characters (Latin with accents, Greek, Cyrillic, Hebrew,
		// Arabic, …), decoded and folded without a call.
		if c >= 0xc2 && c < 0xe0 && i+1 < len(s) && s[i+1]&0xc0 == 0x80 {
			if two == nil {
				two = twoByteTable()
			}
			f := &two[rune(c&0x1f)<<6|rune(s[i+1]&0x3f)-utf8.RuneSelf]
			switch f.n {
			case 2:
				dst = append(dst, f.b[0], f.b[1])
			case 1:
				dst = append(dst, f.b[0])
			default:
				dst = append(dst, f.b[:f.n]...)
			}
			i += 2
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		dst = append(dst, foldRune(r)...)
		i += n
	}
	return dst
}

// twoByteRunes is the number of characters encoded in two bytes of UTF-8,
// U+0080 to U+07FF.
const twoByteRunes = 0x800 - utf8.RuneSelf

// twoByteFold is the folded form of a two-byte character: n bytes of b.
type twoByteFold struct {
	n uint8
	b [7]byte
}

// twoByteTable returns the folded form of every two-byte character, built
// on first use from foldRune.
var twoByteTable = sync.OnceValue(func() *[twoByteRunes]twoByteFold {
	var t [twoByteRunes]twoByteFold
	for i := range t {
		f := foldRune(rune(i) + utf8.RuneSelf)
		if len(f) > len(t[i].b) {
			panic("history: fold of U+" + strconv.FormatInt(int64(i)+utf8.RuneSelf, 16) + " too long")
		}
		t[i].n = uint8(copy(t[i].b[:], f))
	}
	return &t
})

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

// Fold returns s folded as Search folds messages and queries (above): case,
// accents and white space do not count, so Fold("Émile") == Fold("emile").
// Other lookups by what a user types (the app's people filter and quick
// switcher) use it too, so that every search in PeerChat matches the same
// way. Safe for concurrent use.
func Fold(s string) string { return fold(s) }
