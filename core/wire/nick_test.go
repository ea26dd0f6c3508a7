package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateNick(t *testing.T) {
	tests := []struct {
		nick string
		want error
	}{
		{"alice", nil},
		{"Zoë", nil},
		{"李雷", nil},
		{"a", nil},
		{"🐙octo", nil},
		{strings.Repeat("é", MaxNickLen), nil},
		{"", ErrNickEmpty},
		{strings.Repeat("é", MaxNickLen+1), ErrNickLong},
		{"bad\xffnick", ErrNickUTF8},
		{"two words", ErrNickSpace},
		{"tab\tnick", ErrNickSpace},
		{"nbsp\u00a0nick", ErrNickSpace},
		{`qu"ote`, ErrNickQuote},
		{"bell\x07", ErrNickControl},
		{"zero\u200bwidth", ErrNickControl},
		{"rtl\u202eoverride", ErrNickControl},
	}
	for _, tt := range tests {
		if err := ValidateNick(tt.nick); !errors.Is(err, tt.want) {
			t.Errorf("ValidateNick(%q) = %v, want %v", tt.nick, err, tt.want)
		}
	}
}

func TestFoldNick(t *testing.T) {
	same := [][2]string{
		{"Ana", "ana"},
		{"ANA", "ana"},
		{"Straße", "STRASSE"},
		{"e\u0301cole", "\u00e9cole"}, // decomposed vs precomposed
		{"ÉCOLE", "école"},
	}
	for _, p := range same {
		if FoldNick(p[0]) != FoldNick(p[1]) {
			t.Errorf("FoldNick(%q) != FoldNick(%q)", p[0], p[1])
		}
	}
	if FoldNick("ana") == FoldNick("anna") {
		t.Error("ana and anna collide")
	}
}

func FuzzNick(f *testing.F) {
	f.Add("alice")
	f.Add("Zoë\u0301")
	f.Fuzz(func(t *testing.T, nick string) {
		if ValidateNick(nick) != nil {
			return
		}
		k := FoldNick(nick)
		if FoldNick(k) != k {
			t.Fatalf("FoldNick not idempotent on %q", nick)
		}
	})
}
