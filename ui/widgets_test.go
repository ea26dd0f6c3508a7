package ui

import (
	"image"
	"strings"
	"testing"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"peerchat/core/client"
	"peerchat/core/wire"
	"peerchat/ui/model"
)

// TestInitials checks what avatars show, emoji-initial names included
// (issue 9, defect 13: a squeezed two-glyph avatar).
func TestInitials(t *testing.T) {
	tests := []struct{ nick, want string }{
		{"bruno", "B"},
		{"ana-laptop", "AL"},
		{"JohnDoe", "JD"},
		{"émile", "É"},
		{"e\u0301mile", "E\u0301"}, // a decomposed é stays whole
		{"🚀rocket", "🚀"},
		{"👍🏽bob", "👍🏽"},
		{"👨‍👩‍👧fam", "👨‍👩‍👧"},
		{"🇫🇷", "🇫🇷"},
		{"x", "X"},
		{"42", "4"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := initials(tt.nick); got != tt.want {
			t.Errorf("initials(%q) = %q, want %q", tt.nick, got, tt.want)
		}
	}
}

func FuzzInitials(f *testing.F) {
	f.Add("bruno")
	f.Add("👍🏽bob")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, nick string) {
		got := initials(nick) // must not panic
		if nick != "" && got == "" {
			t.Errorf("initials(%q) is empty", nick)
		}
	})
}

// TestGateKeepsWords lays out the bar that stands for the composer of a
// private thread at phone width, with long nicknames: its message must get
// the width of its longest word, so that no line breaks within a word
// (issue 9, defect 13), by going above the buttons when beside them is too
// narrow.
func TestGateKeepsWords(t *testing.T) {
	th := newTheme()
	var ops op.Ops
	// The phone's composer bar less its insets.
	gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Constraints{Max: image.Pt(360-12-8, 200)}}
	tight := 0 // cases where the message would not fit beside the action
	for _, nick := range []string{"bruno", "Konstantinopoulos", "Wolfeschlegelstein", strings.Repeat("w", wire.MaxNickLen)} {
		for _, chat := range []client.ChatState{client.ChatNone, client.ChatInvited, client.ChatInviting} {
			g := chatGateStyle{th: th, thread: &model.Thread{Peer: model.Key(nick), Nick: nick, Chat: chat}, invite: new(inviteState)}
			msg, action := g.parts()
			_, textW := g.layout(gtx, msg, action)
			longest := longestWord(gtx, th.label(sizeSmall, th.Pal.Muted, msg))
			if longest > textW {
				t.Errorf("%s, %v: %q gets %d px, its longest word needs %d", nick, chat, msg, textW, longest)
			}
			if action != nil {
				m := op.Record(gtx.Ops)
				ad := action(gtx)
				m.Stop()
				if longest > gtx.Constraints.Max.X-ad.Size.X-8 {
					tight++
				}
			}
		}
	}
	if tight == 0 {
		t.Fatal("no case where the message would not fit beside its action: the test tests nothing")
	}
}
