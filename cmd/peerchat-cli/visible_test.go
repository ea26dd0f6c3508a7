package main

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestVisible(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"hello, world", "hello, world"},
		{"héllo 日本語 مرحبا 👨‍👩‍👧 🏴󠁧󠁢󠁳󠁣󠁴󠁿 e\u0301", "héllo 日本語 مرحبا 👨‍👩‍👧 🏴󠁧󠁢󠁳󠁣󠁴󠁿 e\u0301"},
		{"\x1b[2J\x1b[H", "␛[2J␛[H"},                               // clear the screen
		{"\x1b]0;pwned\x07", "␛]0;pwned␇"},                         // retitle the terminal
		{"ok\r\n[12:00:00] admin: hi", "ok␍␊[12:00:00] admin: hi"}, // forge a line
		{"a\rb", "a␍b"},
		{"tab\tbs\bnul\x00", "tab␉bs␈nul␀"},
		{"del\x7f", "del␡"},
		{"\u009b31m\u0085\u009d0;t\u009c", "<U+009B>31m<U+0085><U+009D>0;t<U+009C>"}, // C1: CSI, NEL, OSC, ST
		{"\u202eadmin\u202c", "<U+202E>admin<U+202C>"},
		{"\u2066x\u2067y\u2068z\u2069", "<U+2066>x<U+2067>y<U+2068>z<U+2069>"},
		{"\u200e\u200f\u061c", "<U+200E><U+200F><U+061C>"},
		{"line\u2028para\u2029", "line<U+2028>para<U+2029>"},
		{"\ufeffzero\u200bwidth\u00ad", "<U+FEFF>zero<U+200B>width<U+00AD>"},
		{"bad \xff\xfe utf8", "bad <0xFF><0xFE> utf8"},
		{"\xe2\x80", "<0xE2><0x80>"},
	} {
		if got := visible(tt.in); got != tt.want {
			t.Errorf("visible(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { visible("an ordinary line of text, ünïcödé too") }); n != 0 {
		t.Errorf("visible of plain text allocates %v times", n)
	}
}

// checkTerminalSafe fails t if s holds anything visible must have removed,
// judged with the unicode package's tables rather than visible's own test.
func checkTerminalSafe(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s: invalid UTF-8 %q", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' ||
			(unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d' && (r < 0xe0020 || r > 0xe007f)) {
			t.Fatalf("%s: %U reaches the terminal in %q", what, r, s)
		}
	}
}

func FuzzVisible(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "a\r\nb", "\u202eabc", "\u009b", "\xff", "👨‍👩‍👧", "<U+202E>", "␛"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := visible(s)
		checkTerminalSafe(t, "visible", v)
		if len(v) > 8*len(s) {
			t.Fatalf("visible(%q) grew from %d to %d bytes", s, len(s), len(v))
		}
		// Text with nothing to hide comes back unchanged, and visible is
		// idempotent.
		safe := utf8.ValidString(s)
		for _, r := range s {
			safe = safe && !hidden(r)
		}
		if safe && v != s {
			t.Fatalf("visible(%q) = %q, changed safe text", s, v)
		}
		if vv := visible(v); vv != v {
			t.Fatalf("visible not idempotent: %q then %q", v, vv)
		}
		// Every kept character is in the output, in order.
		kept := strings.Map(func(r rune) rune {
			if r == utf8.RuneError || hidden(r) {
				return -1
			}
			return r
		}, s)
		rest := v
		for _, r := range kept {
			i := strings.IndexRune(rest, r)
			if i < 0 {
				t.Fatalf("visible(%q) = %q lost %q", s, v, r)
			}
			rest = rest[i+utf8.RuneLen(r):]
		}
	})
}
