package ui

import (
	"strings"
	"testing"
	"unicode/utf8"

	"peerchat/core/wire"
)

func TestSuggestNick(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ana", "ana2"},
		{"ana2", "ana3"},
		{"bob9", "bob10"},
		{"007", "8"},
		{strings.Repeat("x", 32), strings.Repeat("x", 31) + "2"},
		{"émile", "émile2"},
	}
	for _, tt := range tests {
		if got := suggestNick(tt.in); got != tt.want {
			t.Errorf("suggestNick(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{" 10.0.0.1 ", "10.0.0.1:12345"},
		{"10.0.0.1:99", "10.0.0.1:99"},
		{"fe80::1", "[fe80::1]:12345"},
		{"[fe80::1]:5", "[fe80::1]:5"},
		{"host.lan", "host.lan:12345"},
	}
	for _, tt := range tests {
		if got := normalizeAddr(tt.in); got != tt.want {
			t.Errorf("normalizeAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSuggestNick: a suggestion for a valid nickname is a different valid nickname.
func FuzzSuggestNick(f *testing.F) {
	for _, s := range []string{"ana", "bob99", strings.Repeat("é", 32), "9", "x" + strings.Repeat("9", 31)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, nick string) {
		if wire.ValidateNick(nick) != nil {
			return
		}
		got := suggestNick(nick)
		if err := wire.ValidateNick(got); err != nil {
			t.Fatalf("suggestNick(%q) = %q: %v", nick, got, err)
		}
		if got == nick {
			t.Fatalf("suggestNick(%q) returned it unchanged", nick)
		}
	})
}

// FuzzLinks: the link pattern finds only http(s) links inside the text, in order.
func FuzzLinks(f *testing.F) {
	for _, s := range []string{"see https://a.b/c.", "x http://q (y)", "none", "https://", "ftp://x https://é.fr/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		last := 0
		for _, m := range linkRE.FindAllStringIndex(s, -1) {
			if m[0] < last || m[1] <= m[0] || m[1] > len(s) {
				t.Fatalf("bad match %v in %q", m, s)
			}
			l := s[m[0]:m[1]]
			if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
				t.Fatalf("match %q is not a link", l)
			}
			if utf8.ValidString(s) && !utf8.ValidString(l) {
				t.Fatalf("match %q splits a rune", l)
			}
			last = m[1]
		}
	})
}

func TestFixEmojiSpaces(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"🎉 yes", "🎉\u2004yes"},
		{"a 🎉🎉 b 🙋🏽 c", "a 🎉🎉\u2004b 🙋🏽\u2004c"},
		{"👍️ ok", "👍️\u2004ok"},
		{"é è", "é è"},
	}
	for _, tt := range tests {
		if got := fixEmojiSpaces(tt.in); got != tt.want {
			t.Errorf("fixEmojiSpaces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzFixEmojiSpaces: only spaces change, and only into emojiSpace.
func FuzzFixEmojiSpaces(f *testing.F) {
	for _, s := range []string{"🎉 x", "a b", "🙋🏽 \u200d x", "\xff 🎉 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		got := fixEmojiSpaces(s)
		if strings.ReplaceAll(got, string(emojiSpace), " ") != strings.ReplaceAll(s, string(emojiSpace), " ") {
			t.Fatalf("fixEmojiSpaces(%q) = %q changed more than spaces", s, got)
		}
	})
}
