package model

import (
	"slices"
	"testing"

	"peerchat/core/client"
)

// TestFind lists the people whose nickname contains the query, folded,
// those it starts with first, chats first within each group; HasChat says
// who leads the list with the chats.
func TestFind(t *testing.T) {
	m := newModel()
	m.Apply(peer("Anabel", true), peer("Bruno", true), peer("Dana", true), peer("Danae", true), peer("Zoë", true),
		Change{Op: OpChat, Thread: "danae", Nick: "Danae", Chat: client.ChatOpen})
	nicks := func(ps []Person) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Nick)
		}
		return out
	}
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"", []string{"Danae", "Anabel", "Bruno", "Dana", "Zoë"}},
		{" AN ", []string{"Anabel", "Danae", "Dana"}},
		{"dan", []string{"Danae", "Dana"}},
		{"ZOË", []string{"Zoë"}},
		{"zoe", []string{"Zoë"}}, // accents do not count, as in history search
		{"x", nil},
	} {
		if got := nicks(m.Find(nil, tt.q)); !slices.Equal(got, tt.want) {
			t.Errorf("Find(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
	if !m.HasChat("danae") || m.HasChat("dana") {
		t.Errorf("HasChat: danae %v, dana %v; want true, false", m.HasChat("danae"), m.HasChat("dana"))
	}
}
