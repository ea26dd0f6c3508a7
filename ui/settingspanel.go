package ui

import (
	"image"
	"strconv"

	"gioui.org/font"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/text"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// settingsPanel is the widget state of the settings panel, which opens
// under the people pane's header: theme, text size, notifications and
// connecting at start, refusing unencrypted chats, read receipts, asking
// before files. The values live in Settings; the panel holds the widgets
// that show and change them.
type settingsPanel struct {
	open        bool
	theme       choiceGroup // a ThemeChoice
	textSize    choiceGroup // a TextSize
	notifyOn    widget.Bool // the notifications setting
	autoConnect widget.Bool
	requireEnc  widget.Bool // Settings.RequireEncryption
	receipts    widget.Bool // Settings.ReadReceipts
	askFiles    choiceGroup // Settings.AskFilesAbove, as askChoices
	// unavailable is set when the platform cannot show notifications
	// (Platform.NotifyErr): the switch is off and cannot be turned on.
	unavailable bool
}

// load sets the widgets from s; notifyErr is Platform.NotifyErr (or an
// error when there is no Platform).
func (p *settingsPanel) load(s Settings, notifyErr error) {
	p.theme.Value = string(s.Theme)
	p.textSize.Value = string(s.TextSize)
	p.notifyOn.Value = !s.MuteNotifications
	p.autoConnect.Value = s.AutoConnect
	p.requireEnc.Value = s.RequireEncryption
	p.receipts.Value = s.ReadReceipts
	p.askFiles.Value = askChoice(s.AskFilesAbove)
	p.unavailable = notifyErr != nil
	if p.unavailable {
		p.notifyOn.Value = false
	}
}

// update reports whether the user changed a setting.
func (p *settingsPanel) update(gtx C) (changed bool) {
	changed = p.theme.update(gtx, themeChoices)
	changed = p.textSize.update(gtx, sizeChoices) || changed
	changed = p.autoConnect.Update(gtx) || changed
	changed = p.requireEnc.Update(gtx) || changed
	changed = p.receipts.Update(gtx) || changed
	changed = p.askFiles.update(gtx, askChoices) || changed
	if p.unavailable {
		p.notifyOn.Value = false
		return changed
	}
	return p.notifyOn.Update(gtx) || changed
}

// apply writes the panel's values into s.
func (p *settingsPanel) apply(s *Settings) {
	if !p.unavailable {
		s.MuteNotifications = !p.notifyOn.Value
	}
	s.Theme = ThemeChoice(p.theme.Value)
	s.TextSize = TextSize(p.textSize.Value)
	s.AutoConnect = p.autoConnect.Value
	s.RequireEncryption = p.requireEnc.Value
	s.ReadReceipts = p.receipts.Value
	s.AskFilesAbove = askValue(p.askFiles.Value)
}

// askChoices are the sizes offered for Settings.AskFilesAbove.
var askChoices = []choice{{"10", "> 10 MB"}, {"100", "> 100 MB"}, {"ask", "Always"}}

// askChoice is the choice of askChoices that shows Settings.AskFilesAbove
// n: its number of MB, or "ask".
func askChoice(n int64) string {
	switch {
	case n == 0:
		return "10"
	case n < 0:
		return "ask"
	}
	return strconv.FormatInt(max(1, n>>20), 10)
}

// askValue is the Settings.AskFilesAbove of the choice v.
func askValue(v string) int64 {
	if v == "ask" {
		return -1
	}
	mb, err := strconv.ParseInt(v, 10, 64)
	if err != nil || mb <= 0 {
		return 0
	}
	if mb<<20 == DefaultAskAbove {
		return 0
	}
	return mb << 20
}

// receiptsCaption explains the read receipts setting (Settings.ReadReceipts).
const receiptsCaption = "If you and the other person both turn this on, you see when your messages were read. " +
	"A change applies from the next connection to a server."

// choice is one option of a segmented control: its value and its label.
type choice struct{ value, label string }

var (
	themeChoices = []choice{{string(ThemeSystem), "System"}, {string(ThemeLight), "Light"}, {string(ThemeDark), "Dark"}}
	sizeChoices  = []choice{{string(TextSmall), "Small"}, {string(TextNormal), "Normal"}, {string(TextLarge), "Large"}}
)

// settingsPanelStyle draws the settings panel, or nothing when it is closed.
type settingsPanelStyle struct {
	th    *Theme
	state *settingsPanel
	// Server is the server the App would connect to at start, "" if none
	// is known yet.
	Server string
}

func (p settingsPanelStyle) Layout(gtx C) D {
	if !p.state.open {
		return D{}
	}
	th, st := p.th, p.state
	notifyCaption := "Private messages, mentions and chat requests while PeerChat is in the background"
	if st.unavailable {
		notifyCaption = "Not available: this system has no notification service"
	}
	autoCaption := "Connect to the last server when PeerChat opens"
	if p.Server != "" {
		autoCaption = "Connect to " + p.Server + " when PeerChat opens"
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return layout.Inset{Left: pad, Right: pad, Top: 8, Bottom: 8}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						return settingSwitch(gtx, th, "Notifications", notifyCaption, &st.notifyOn, !st.unavailable)
					}),
					layout.Rigid(func(gtx C) D {
						return settingChoices(gtx, th, "Theme", &st.theme, themeChoices)
					}),
					layout.Rigid(func(gtx C) D {
						return settingChoices(gtx, th, "Text size", &st.textSize, sizeChoices)
					}),
					layout.Rigid(func(gtx C) D {
						return settingSwitch(gtx, th, "Connect at start", autoCaption, &st.autoConnect, true)
					}),
					layout.Rigid(func(gtx C) D {
						return settingSwitch(gtx, th, "Refuse unencrypted chats",
							"Private chats that cannot be end-to-end encrypted are refused", &st.requireEnc, true)
					}),
					layout.Rigid(func(gtx C) D {
						return settingSwitch(gtx, th, "Send read receipts", receiptsCaption, &st.receipts, true)
					}),
					layout.Rigid(func(gtx C) D {
						return settingChoices(gtx, th, "Ask before receiving files from verified peers", &st.askFiles, askChoices)
					}),
				)
			})
		}),
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
	)
}

// settingSwitch draws a setting that is on or off: its title and caption,
// and a switch named title.
func settingSwitch(gtx C, th *Theme, title, caption string, b *widget.Bool, enabled bool) D {
	return layout.Inset{Top: 6, Bottom: 6}.Layout(gtx, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Flexed(1, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(th.bold(sizeBody, th.Pal.Text, title).Layout),
					layout.Rigid(th.label(sizeCaption, th.Pal.Muted, caption).Layout),
				)
			}),
			layout.Rigid(layout.Spacer{Width: 12}.Layout),
			layout.Rigid(func(gtx C) D {
				sw := material.Switch(th.Theme, b, title)
				sw.Color.Enabled = th.Pal.Accent
				// The thumb when off: light on the track in both themes.
				sw.Color.Disabled = th.Pal.Panel
				if th.Dark {
					sw.Color.Disabled = th.Pal.Muted
				}
				sw.Color.Track = withAlpha(th.Pal.Muted, 0x88)
				if !enabled {
					gtx = gtx.Disabled()
				}
				d := sw.Layout(gtx)
				focusRing(gtx, th, b, image.Rectangle{Max: d.Size}, d.Size.Y/2)
				return d
			}),
		)
	})
}

// choiceGroup is the state of a segmented control: the value chosen
// among a few, and a button per choice.
type choiceGroup struct {
	Value   string
	buttons []widget.Clickable
}

// update reports whether the user chose another of choices.
func (g *choiceGroup) update(gtx C, choices []choice) (changed bool) {
	if len(g.buttons) < len(choices) {
		g.buttons = make([]widget.Clickable, len(choices))
	}
	for i, c := range choices {
		if g.buttons[i].Clicked(gtx) && g.Value != c.value {
			g.Value, changed = c.value, true
		}
	}
	return changed
}

// settingChoices draws a setting with a few values: its title over a
// segmented control, one radio button per choice.
func settingChoices(gtx C, th *Theme, title string, g *choiceGroup, choices []choice) D {
	return layout.Inset{Top: 6, Bottom: 6}.Layout(gtx, func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(th.bold(sizeBody, th.Pal.Text, title).Layout),
			layout.Rigid(layout.Spacer{Height: 6}.Layout),
			layout.Rigid(func(gtx C) D { return segmented(gtx, th, title, g, choices) }),
		)
	})
}

// segmented draws choices side by side, of equal widths, the chosen one
// filled with the accent color. Each is a radio button named by its label
// and the setting's title.
func segmented(gtx C, th *Theme, title string, g *choiceGroup, choices []choice) D {
	if len(g.buttons) < len(choices) {
		g.buttons = make([]widget.Clickable, len(choices))
	}
	gtx.Constraints.Min.X = gtx.Constraints.Max.X
	children := make([]layout.FlexChild, 0, 2*len(choices))
	for i, c := range choices {
		if i > 0 {
			children = append(children, layout.Rigid(layout.Spacer{Width: 4}.Layout))
		}
		click := &g.buttons[i]
		children = append(children, layout.Flexed(1, func(gtx C) D {
			return click.Layout(gtx, func(gtx C) D {
				selected := g.Value == c.value
				semantic.RadioButton.Add(gtx.Ops)
				semantic.SelectedOp(selected).Add(gtx.Ops)
				semantic.DescriptionOp(title + ": " + c.label).Add(gtx.Ops)
				bg, fg := th.Pal.Hover, th.Pal.Text
				if selected {
					bg, fg = th.Pal.Accent, th.Pal.OnAccent
				} else if click.Hovered() {
					bg = hover(bg, th.Dark)
				}
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				gtx.Constraints.Min.Y = gtx.Dp(40)
				d := background(gtx, th, bg, 8, func(gtx C) D {
					return layout.Center.Layout(gtx, func(gtx C) D {
						return layout.Inset{Left: 8, Right: 8, Top: 8, Bottom: 8}.Layout(gtx, func(gtx C) D {
							l := th.label(sizeSmall, fg, c.label)
							if selected {
								l.Font.Weight = font.SemiBold
							}
							l.MaxLines = 1
							l.Alignment = text.Middle
							return l.Layout(gtx)
						})
					})
				})
				g := gtx.Dp(3)
				focusRing(gtx, th, click, outset(image.Rectangle{Max: d.Size}, g), gtx.Dp(8)+g)
				return d
			})
		}))
	}
	return layout.Flex{}.Layout(gtx, children...)
}
