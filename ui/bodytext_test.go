package ui

import (
	"image"
	"strings"
	"testing"
	"unicode/utf8"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"

	"peerchat/ui/model"
)

// longLink is the broadcast of issue 9, defect 2: a URL with a 250-letter
// run, then a 122-letter word.
var longLink = "https://example.com/" + strings.Repeat("a", 250) + "?x=1 and " + strings.Repeat("a", 122)

// TestLongWordsKeepEveryGlyph lays out a message made of words longer than
// a line, at the width of the phone's and the desktop's feed, and checks
// that every rune of the text is laid out (none cut off), that no line is
// wider than the bubble, and that the bubble is as tall as a plain label
// of the same text, wrapped the same way.
func TestLongWordsKeepEveryGlyph(t *testing.T) {
	th := newTheme()
	ic := newIcons()
	for _, tt := range []struct {
		name string
		text string
	}{
		{"link", longLink},
		{"word", strings.Repeat("b", 300) + " end"},
		{"link-in-text", "see " + longLink + " and https://example.com/short, then " + strings.Repeat("c", 200)},
	} {
		for _, sz := range sizes {
			t.Run(tt.name+"-"+sz.name, func(t *testing.T) {
				var ops op.Ops
				// The width of a message row: the thread pane less the list's insets.
				w := sz.w - 24
				if sz.w >= 600 {
					w = sz.w - 320 - 1 - 24
				}
				gtx := layout.Context{Ops: &ops, Metric: unit.Metric{PxPerDp: 1, PxPerSp: 1}, Constraints: layout.Constraints{Max: image.Pt(w, 1e6)}}
				msg := model.Message{Kind: model.KindText, From: "bruno", Text: tt.text, Time: fixedNow}
				b := newBubble(th, &ic, &msg, new(messageState))
				b.Avatar, b.First = true, true
				bubble := b.Layout(gtx)

				// The bubble's text area: at most 4/5 of the row or maxBubble,
				// less the avatar column and the bubble's insets.
				maxW := min(w*4/5, gtx.Dp(maxBubble)) - 24
				gtx.Constraints = layout.Constraints{Max: image.Pt(maxW, 1e6)}
				txt := fixEmojiSpaces(tt.text)
				bt := bodyTextStyle{th: th, text: txt, size: sizeBody, color: th.Pal.Text, spans: b.spans(txt, th.Pal.Text)}
				d, info := bt.layout(gtx)
				if n := utf8.RuneCountInString(txt); info.runes != n {
					t.Errorf("%d runes laid out, the text has %d", info.runes, n)
				}
				if d.Size.X > maxW {
					t.Errorf("text %d px wide, wider than its %d px", d.Size.X, maxW)
				}
				l := th.label(sizeBody, th.Pal.Text, tt.text)
				ld := l.Layout(gtx)
				if d.Size.Y != ld.Size.Y {
					t.Errorf("text %d px high, a label of it %d px", d.Size.Y, ld.Size.Y)
				}
				lineH := gtx.Sp(sizeBody)
				if want := utf8.RuneCountInString(txt) * gtx.Sp(sizeBody) / 3 / maxW; info.lines < want {
					t.Errorf("%d lines, want at least %d", info.lines, want)
				}
				if bubble.Size.Y < ld.Size.Y+lineH {
					t.Errorf("bubble %d px high, its text alone needs %d", bubble.Size.Y, ld.Size.Y)
				}
			})
		}
	}
}

// TestMentionSpans checks that @mentions stand out in bubbles (issue 9,
// defect 13): the user's tinted, anyone else's colored; addresses and links
// are not mentions.
func TestMentionSpans(t *testing.T) {
	th := newTheme()
	ic := newIcons()
	type span struct {
		text   string
		tinted bool
	}
	tests := []struct {
		text string
		want []span
	}{
		{"hey @ana, look", []span{{"@ana", true}}},
		{"@ANA: lunch?", []span{{"@ANA", true}}},
		{"@bruno and @ana.", []span{{"@bruno", false}, {"@ana", true}}},
		{"@anabel is not ana", []span{{"@anabel", false}}},
		{"mail ana@example.com", nil},
		{"see https://x.example/@ana now", []span{{"https://x.example/@ana", false}}},
		{"@ alone", nil},
		{"@émile!", []span{{"@émile", false}}},
	}
	for _, tt := range tests {
		msg := model.Message{Kind: model.KindText, From: "bruno", Text: tt.text, Time: fixedNow}
		b := newBubble(th, &ic, &msg, nil)
		b.Me = "ana"
		var got []span
		for _, sp := range b.spans(tt.text, th.Pal.Text) {
			got = append(got, span{tt.text[sp.start:sp.end], sp.tint.A > 0})
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: spans %+v, want %+v", tt.text, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: spans %+v, want %+v", tt.text, got, tt.want)
				break
			}
		}
	}
}

func FuzzMentionSpans(f *testing.F) {
	th := newTheme()
	ic := newIcons()
	f.Add("hey @ana, https://x/@y @@ @")
	f.Add("\xff@\xfe")
	f.Fuzz(func(t *testing.T, text string) {
		msg := model.Message{Kind: model.KindText, From: "bruno", Text: text}
		b := newBubble(th, &ic, &msg, nil)
		b.Me = "ana"
		end := 0
		for _, sp := range b.spans(text, th.Pal.Text) {
			if sp.start < end || sp.end <= sp.start || sp.end > len(text) {
				t.Fatalf("%q: span %d–%d after %d", text, sp.start, sp.end, end)
			}
			end = sp.end
		}
	})
}
