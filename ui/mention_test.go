package ui

import (
	"strings"
	"testing"

	"peerchat/ui/model"
)

// The mention rule belongs to package model (model.Mentions); these tests
// stay here until that package has its fuzz test.

func TestMentions(t *testing.T) {
	tests := []struct {
		text, nick string
		want       bool
	}{
		{"@ana can you look?", "ana", true},
		{"hi Ana", "ana", true},
		{"ANA?", "ana", true},
		{"thanks,ana!", "ana", true},
		{"ping @Ana.", "ANA", true},
		{"banana bread", "ana", false},
		{"anabel is here", "ana", false},
		{"ana_b said", "ana", false},
		{"nobody here", "ana", false},
		{"", "ana", false},
		{"ana", "", false},
		{"Émile, lunch?", "émile", true},
		{"emile", "émile", false},
		{"ßtraße is not strasse", "STRASSE", true}, // folding maps ß to ss
		{"banana ana", "ana", true},                // a later match counts
		{"x-ray", "x-ray", true},
		{"@x-ray2", "x-ray", false},
	}
	for _, tt := range tests {
		if got := model.Mentions(tt.text, tt.nick); got != tt.want {
			t.Errorf("model.Mentions(%q, %q) = %v, want %v", tt.text, tt.nick, got, tt.want)
		}
	}
}

func FuzzMentions(f *testing.F) {
	f.Add("hi @ana", "ana")
	f.Add("banana", "ana")
	f.Add("\xff\xfeana", "ana")
	f.Add("ßß", "ss")
	f.Fuzz(func(t *testing.T, text, nick string) {
		model.Mentions(text, nick) // must not panic
		if strings.TrimSpace(nick) == "" || strings.ContainsFunc(nick, func(r rune) bool { return r == ' ' }) {
			return
		}
		// The nick alone, or after "@" and before a space, always mentions it.
		if !model.Mentions("@"+nick+" "+text, nick) && model.Mentions(nick, nick) {
			t.Errorf("%q: a leading @nick is not a mention", nick)
		}
	})
}
