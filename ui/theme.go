package ui

import (
	"hash/fnv"
	"image/color"

	"gioui.org/font"
	"gioui.org/io/event"
	"gioui.org/op/paint"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget/material"

	"peerchat/ui/fonts"
)

// Palette is the set of colors of one theme. Every color the UI draws comes
// from a Palette.
type Palette struct {
	Bg       color.NRGBA // window background, thread background
	Panel    color.NRGBA // side panel, headers, composer
	Hover    color.NRGBA // selected or hovered rows
	Text     color.NRGBA
	Muted    color.NRGBA // secondary text: times, hints
	Divider  color.NRGBA
	Accent   color.NRGBA // buttons, links, own bubbles
	OnAccent color.NRGBA
	Mine     color.NRGBA // own message bubbles
	OnMine   color.NRGBA
	Theirs   color.NRGBA // other people's message bubbles
	Field    color.NRGBA // text field background
	System   color.NRGBA // system line pill background
	Danger   color.NRGBA // error text, and the background of danger buttons
	OnDanger color.NRGBA // text on Danger
	Warn     color.NRGBA // reconnecting banner
	OnWarn   color.NRGBA
	Success  color.NRGBA // online dot, delivered ticks
	Scrim    color.NRGBA
	Focus    color.NRGBA // the ring around the element with the keyboard focus
	// Read is the chip under the ✓✓ (drawn in Mine) of our message that
	// its recipient read (read receipts), on a bubble of Mine.
	Read color.NRGBA
}

func rgb(v uint32) color.NRGBA {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

func argb(v uint32) color.NRGBA {
	return color.NRGBA{A: uint8(v >> 24), R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v)}
}

// LightPalette and DarkPalette are the two themes; the UI follows the
// system's preference (Env.Dark).
var (
	LightPalette = Palette{
		Bg: rgb(0xf1f3f6), Panel: rgb(0xffffff), Hover: rgb(0xe6ecf5),
		Text: rgb(0x1b1f24), Muted: rgb(0x5e6671), Divider: rgb(0xdfe3e8),
		Accent: rgb(0x2b65cb), OnAccent: rgb(0xffffff),
		Mine: rgb(0x2b65cb), OnMine: rgb(0xffffff), Theirs: rgb(0xffffff),
		Field: rgb(0xffffff), System: rgb(0xe1e6ec),
		Danger: rgb(0xa52e2e), OnDanger: rgb(0xffffff),
		Warn: rgb(0xf4b400), OnWarn: rgb(0x2a2100),
		Success: rgb(0x278638), Scrim: argb(0x66000000),
		Focus: rgb(0x1747a6), Read: rgb(0xbdf5ff),
	}
	DarkPalette = Palette{
		Bg: rgb(0x0f1419), Panel: rgb(0x182029), Hover: rgb(0x243140),
		Text: rgb(0xe6e9ed), Muted: rgb(0x8f9aa6), Divider: rgb(0x2a3440),
		Accent: rgb(0x5b97ff), OnAccent: rgb(0x0b1a33),
		Mine: rgb(0x2b5fc1), OnMine: rgb(0xffffff), Theirs: rgb(0x1f2a36),
		Field: rgb(0x222c37), System: rgb(0x1c252f),
		Danger: rgb(0xff6b6b), OnDanger: rgb(0x2a0a0a),
		Warn: rgb(0xe0a800), OnWarn: rgb(0x1d1600),
		Success: rgb(0x3fb950), Scrim: argb(0x99000000),
		Focus: rgb(0xa8c7ff), Read: rgb(0xbdf5ff),
	}
)

// nNickColors is the number of colors of nicknames: a nickname always
// gets the same index (nickIndex) in each list. avatarColors carry white
// initials (≥ 4.5:1); nickTextLight and nickTextDark are the name's text
// in each theme (≥ 4.5:1 on its surfaces). TestNickContrast checks them.
const nNickColors = 8

var (
	avatarColors = [nNickColors]color.NRGBA{
		rgb(0xd04246), rgb(0xc15410), rgb(0x946f00), rgb(0x278457),
		rgb(0x0e8376), rgb(0x0076d2), rgb(0x6e56cf), rgb(0xc93c95),
	}
	nickTextLight = [nNickColors]color.NRGBA{
		rgb(0xbc3b3f), rgb(0xae4b0f), rgb(0x856400), rgb(0x23774f),
		rgb(0x0d766a), rgb(0x006bbd), rgb(0x6d55cd), rgb(0xb53687),
	}
	nickTextDark = [nNickColors]color.NRGBA{
		rgb(0xeb7579), rgb(0xf7711e), rgb(0xd6a100), rgb(0x40ab77),
		rgb(0x21ab9b), rgb(0x1d9dff), rgb(0x9d8ddf), rgb(0xe173b8),
	}
)

// nickIndex is the index of nick in the lists of nickname colors.
func nickIndex(nick string) int {
	h := fnv.New32a()
	h.Write([]byte(nick))
	return int(h.Sum32() % nNickColors)
}

// avatarColor is the background of nick's avatar, under white initials.
func avatarColor(nick string) color.NRGBA { return avatarColors[nickIndex(nick)] }

// nickText is the color of nick's name as text on the theme's surfaces.
func (th *Theme) nickText(nick string) color.NRGBA {
	if th.Dark {
		return nickTextDark[nickIndex(nick)]
	}
	return nickTextLight[nickIndex(nick)]
}

// Type scale, in sp.
const (
	sizeTitle   = unit.Sp(18)
	sizeBody    = unit.Sp(15)
	sizeSmall   = unit.Sp(13)
	sizeCaption = unit.Sp(11)
	sizeHero    = unit.Sp(28)
)

// Spacing and sizes, in dp.
const (
	gap          = unit.Dp(8)
	pad          = unit.Dp(16)
	touch        = unit.Dp(48) // minimum touch target
	avatarSize   = unit.Dp(40)
	sidebarWidth = unit.Dp(320)
	bubbleRadius = unit.Dp(14)
	narrowWidth  = unit.Dp(600) // below: one pane at a time
	maxBubble    = unit.Dp(560)
	maxForm      = unit.Dp(440)
	focusWidth   = unit.Dp(2) // of the focus ring
)

// Theme is the palette plus the material theme holding the shaper.
type Theme struct {
	*material.Theme
	Pal  Palette
	Dark bool
	// Touch selects the touch screen variant of components that have one
	// (tooltips show after a long press instead of on hover).
	Touch bool

	corners map[cornerKey]paint.ImageOp // see fillRRect
	// ringed is the widget whose focus ring the frame drew (focusRing), nil
	// for none; App.Layout clears it at the start of each frame.
	ringed event.Tag
}

func newTheme() *Theme {
	mt := material.NewTheme()
	mt.Shaper = text.NewShaper(text.NoSystemFonts(), text.WithCollection(fonts.Collection()))
	mt.TextSize = sizeBody
	th := &Theme{Theme: mt}
	th.setDark(false)
	return th
}

func (th *Theme) setDark(dark bool) {
	th.Dark = dark
	th.Pal = LightPalette
	if dark {
		th.Pal = DarkPalette
	}
	th.Palette = material.Palette{Bg: th.Pal.Bg, Fg: th.Pal.Text, ContrastBg: th.Pal.Accent, ContrastFg: th.Pal.OnAccent}
}

// label returns a label of the given size and color.
func (th *Theme) label(size unit.Sp, c color.NRGBA, txt string) material.LabelStyle {
	l := material.Label(th.Theme, size, fixEmojiSpaces(txt))
	l.Color = c
	return l
}

func (th *Theme) bold(size unit.Sp, c color.NRGBA, txt string) material.LabelStyle {
	l := th.label(size, c, txt)
	l.Font.Weight = font.SemiBold
	return l
}
