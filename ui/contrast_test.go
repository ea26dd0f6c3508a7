package ui

import (
	"image/color"
	"math"
	"testing"

	"peerchat/ui/model"
)

// luminance is the WCAG 2 relative luminance of c (opaque).
func luminance(c color.NRGBA) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// contrast is the WCAG 2 contrast ratio of two opaque colors, 1 to 21.
func contrast(a, b color.NRGBA) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// over composes c over the opaque bg.
func over(c, bg color.NRGBA) color.NRGBA {
	a := float64(c.A) / 255
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*a + float64(y)*(1-a))) }
	return color.NRGBA{R: mix(c.R, bg.R), G: mix(c.G, bg.G), B: mix(c.B, bg.B), A: 0xff}
}

// textPairs lists every text color of a palette with the backgrounds it is
// drawn on.
func textPairs(p Palette) []struct {
	name   string
	fg, bg color.NRGBA
} {
	type pair = struct {
		name   string
		fg, bg color.NRGBA
	}
	var out []pair
	add := func(fgName string, fg color.NRGBA, bgs ...any) {
		for i := 0; i < len(bgs); i += 2 {
			out = append(out, pair{fgName + " on " + bgs[i].(string), fg, bgs[i+1].(color.NRGBA)})
		}
	}
	surfaces := []any{"Bg", p.Bg, "Panel", p.Panel, "Hover", p.Hover, "Theirs", p.Theirs, "Field", p.Field, "System", p.System}
	add("Text", p.Text, surfaces...)
	add("Muted", p.Muted, surfaces...)
	add("Accent", p.Accent, "Bg", p.Bg, "Panel", p.Panel, "Hover", p.Hover, "Theirs", p.Theirs, "Field", p.Field) // links, flat buttons
	add("Danger", p.Danger, "Bg", p.Bg, "Panel", p.Panel, "Hover", p.Hover, "Field", p.Field)                     // errors, Leave, Delete
	add("Success", p.Success, "Panel", p.Panel)                                                                   // "private chat · connected"
	add("OnAccent", p.OnAccent, "Accent", p.Accent)                                                               // buttons, badges
	add("OnMine", p.OnMine, "Mine", p.Mine)                                                                       // own bubbles
	add("Mine", p.Mine, "Read", p.Read)                                                                           // ✓✓ of a read message, on its chip
	add("OnWarn", p.OnWarn, "Warn", p.Warn)                                                                       // reconnecting banner
	add("OnDanger", p.OnDanger, "Danger", p.Danger)                                                               // "The server is gone", danger buttons
	failed := over(withAlpha(p.Danger, 0x30), p.Bg)
	add("Text", p.Text, "failed bubble", failed)
	add("Danger", p.Danger, "failed bubble", failed)
	add("Text", p.Text, "Danger tint", over(withAlpha(p.Danger, 0x22), p.Bg)) // connect screen error
	return out
}

// TestContrast checks that every text color of both palettes reads at
// least 4.5:1 (WCAG 2 AA for body text) on every background it is drawn on.
func TestContrast(t *testing.T) {
	for _, pal := range []struct {
		name string
		p    Palette
	}{{"light", LightPalette}, {"dark", DarkPalette}} {
		for _, pr := range textPairs(pal.p) {
			if r := contrast(pr.fg, pr.bg); r < 4.5 {
				t.Errorf("%s: %s: %.2f:1, want ≥ 4.5:1", pal.name, pr.name, r)
			}
		}
	}
}

// TestNickContrast checks the colors of nicknames: white initials on every
// avatar color, and every name's text on the surfaces of both themes
// (Theme.nickText).
func TestNickContrast(t *testing.T) {
	for i, c := range avatarColors {
		if r := contrast(rgb(0xffffff), c); r < 4.5 {
			t.Errorf("white on avatar color %d %v: %.2f:1, want ≥ 4.5:1", i, c, r)
		}
	}
	for _, dark := range []bool{false, true} {
		th := newTheme()
		th.setDark(dark)
		p := th.Pal
		for i := range nNickColors {
			// A nickname with index i.
			nick := ""
			for n := 0; ; n++ {
				if nick = "n" + itoa(n); nickIndex(nick) == i {
					break
				}
			}
			c := th.nickText(nick)
			for _, bg := range []color.NRGBA{p.Bg, p.Panel, p.Theirs, p.Hover} {
				if r := contrast(c, bg); r < 4.5 {
					t.Errorf("dark=%v: name color %d %v on %v: %.2f:1, want ≥ 4.5:1", dark, i, c, bg, r)
				}
			}
		}
	}
}

// TestContrastRatio checks the formula against known values.
func TestContrastRatio(t *testing.T) {
	for _, c := range []struct {
		a, b color.NRGBA
		want float64
	}{
		{rgb(0x000000), rgb(0xffffff), 21},
		{rgb(0xffffff), rgb(0xffffff), 1},
		{rgb(0x767676), rgb(0xffffff), 4.54},
	} {
		if got := contrast(c.a, c.b); math.Abs(got-c.want) > 0.01 {
			t.Errorf("contrast(%v, %v) = %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}

// TestSenderNameContrast checks the name over a message in the feed: it is
// drawn in the nickname's text color (Theme.nickText), readable on the
// bubble in both themes (the raw hues were not: yellow on white is 2:1).
func TestSenderNameContrast(t *testing.T) {
	for _, dark := range []bool{false, true} {
		th := newTheme()
		th.setDark(dark)
		for n := range 64 {
			nick := "n" + itoa(n)
			b := newBubble(th, nil, &model.Message{Kind: model.KindText, From: nick}, nil)
			c := b.nameColor()
			if c != th.nickText(nick) {
				t.Fatalf("dark=%v: name of %s drawn in %v, want Theme.nickText %v", dark, nick, c, th.nickText(nick))
			}
			if r := contrast(c, th.Pal.Theirs); r < 4.5 {
				t.Errorf("dark=%v: name of %s %v on the bubble: %.2f:1, want ≥ 4.5:1", dark, nick, c, r)
			}
		}
	}
}
