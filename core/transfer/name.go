package transfer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest name SanitizeName returns, in bytes of UTF-8
// (the common file-system limit).
const MaxNameLen = 255

// maxExt is the longest tail after the last dot that counts as an
// extension, in bytes: shortening a name keeps it.
const maxExt = 32

// SanitizeName turns a name a peer offered into one that is safe to create
// in a directory on every platform PeerChat runs on. The result
//   - has no path separator ('/', '\') nor any of the characters Windows
//     forbids in names (<>:"|?*): each becomes '_';
//   - has no control or format character (bidi overrides included), no
//     line or paragraph separator, and is valid UTF-8 (invalid bytes
//     become '_');
//   - starts with neither a dot (no hidden file, no ".." component) nor a
//     space, and ends with neither a dot nor a space;
//   - is not a reserved Windows device name (CON, PRN, AUX, NUL, CONIN$,
//     CONOUT$, COM0–9, LPT0–9, COM¹²³, LPT¹²³), with or without an
//     extension, in any case: such a name gets a leading '_';
//   - is at most MaxNameLen bytes, shortened before its extension;
//   - is never empty: "file" stands for a name with nothing left.
//
// SanitizeName is idempotent.
func SanitizeName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); {
		r, n := utf8.DecodeRuneInString(name[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteByte('_')
		case strings.ContainsRune(`/\<>:"|?*`, r):
			b.WriteByte('_')
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r),
			unicode.In(r, unicode.Zl, unicode.Zp), r == utf8.RuneError:
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	s := trim(b.String())
	s = shorten(s, MaxNameLen)
	if reserved(s) {
		s = shorten("_"+s, MaxNameLen)
	}
	if s == "" {
		return "file"
	}
	return s
}

func dotOrSpace(r rune) bool { return r == '.' || unicode.IsSpace(r) }

func trim(s string) string {
	return strings.TrimRightFunc(strings.TrimLeftFunc(s, dotOrSpace), dotOrSpace)
}

// splitExt splits s before its extension: the last dot and what follows,
// if that is at most maxExt bytes and the dot is not the first byte.
func splitExt(s string) (stem, ext string) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || len(s)-i > maxExt {
		return s, ""
	}
	return s[:i], s[i:]
}

// shorten cuts a trimmed name to at most max bytes, keeping its extension
// and whole runes, and trims what the cut exposed.
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	stem, ext := splitExt(s)
	if len(ext) >= max {
		stem, ext = s, ""
	}
	keep := max - len(ext)
	for keep > 0 && !utf8.RuneStart(stem[keep]) {
		keep--
	}
	stem = strings.TrimRightFunc(stem[:keep], dotOrSpace)
	if stem == "" {
		return trim(ext)
	}
	return stem + ext
}

// reserved reports whether s names a Windows device: the part before the
// first dot, less trailing spaces, is a reserved name in any case.
func reserved(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	base = strings.TrimRight(base, " ")
	if len(base) < 3 || len(base) > 7 {
		return false
	}
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	u := strings.ToUpper(base)
	if strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT") {
		switch u[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}
