package ui

import (
	"image"

	"gioui.org/layout"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// settingsPanel is the widget state of the settings panel, which opens
// under the people pane's header.
type settingsPanel struct {
	open     bool
	notifyOn widget.Bool // the notifications setting
	// unavailable is set when the platform cannot show notifications
	// (Platform.NotifyErr): the switch is off and cannot be turned on.
	unavailable bool
}

// update reports whether the user changed a setting.
func (p *settingsPanel) update(gtx C) (changed bool) {
	if p.unavailable {
		p.notifyOn.Value = false
		return false
	}
	return p.notifyOn.Update(gtx)
}

// apply writes the panel's values into s.
func (p *settingsPanel) apply(s *Settings) {
	if !p.unavailable {
		s.MuteNotifications = !p.notifyOn.Value
	}
}

// settingsPanelStyle draws the settings panel, or nothing when it is closed.
type settingsPanelStyle struct {
	th    *Theme
	state *settingsPanel
}

func (p settingsPanelStyle) Layout(gtx C) D {
	if !p.state.open {
		return D{}
	}
	th := p.th
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return layout.Inset{Left: pad, Right: pad, Top: 12, Bottom: 12}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Flexed(1, func(gtx C) D {
						return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
							layout.Rigid(th.bold(sizeBody, th.Pal.Text, "Notifications").Layout),
							layout.Rigid(func(gtx C) D {
								if p.state.unavailable {
									return th.label(sizeCaption, th.Pal.Muted, "Not available: this system has no notification service").Layout(gtx)
								}
								return th.label(sizeCaption, th.Pal.Muted, "Private messages, mentions and chat requests while PeerChat is in the background").Layout(gtx)
							}),
						)
					}),
					layout.Rigid(layout.Spacer{Width: 12}.Layout),
					layout.Rigid(func(gtx C) D {
						sw := material.Switch(th.Theme, &p.state.notifyOn, "Notifications")
						sw.Color.Enabled = th.Pal.Accent
						if p.state.unavailable {
							gtx = gtx.Disabled()
						}
						d := sw.Layout(gtx)
						focusRing(gtx, th, &p.state.notifyOn, image.Rectangle{Max: d.Size}, d.Size.Y/2)
						return d
					}),
				)
			})
		}),
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
	)
}
