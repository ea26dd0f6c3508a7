package ui

import (
	"gioui.org/layout"
)

// serverKeyBanner is the warning across the whole chat screen when the
// server proved a key other than the one pinned for its address: nothing
// is sent (no broadcast, no chat request) until the user accepts the new
// key, or disconnects.
type serverKeyBanner struct {
	th     *Theme
	sec    *secUI
	server string
}

func (b serverKeyBanner) Layout(gtx C) D {
	th := b.th
	fg := th.Pal.OnDanger
	return background(gtx, th, th.Pal.Danger, 0, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Inset{Left: pad, Right: 8, Top: 10, Bottom: 6}.Layout(gtx, func(gtx C) D {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					return warnHeading(gtx, th, fg, fg, "This server's key changed")
				}),
				layout.Rigid(layout.Spacer{Height: 4}.Layout),
				layout.Rigid(th.label(sizeSmall, fg, "The server at "+b.server+" proved a different key than last time. "+
					"It may have been reinstalled, or another machine may be posing as it. Nothing is sent until you accept the new key.").Layout),
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Constraints.Max.X
					return layout.E.Layout(gtx, func(gtx C) D {
						return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
							layout.Rigid(func(gtx C) D { return smallButton(gtx, th, &b.sec.disconnect, "Disconnect", fg) }),
							layout.Rigid(layout.Spacer{Width: 4}.Layout),
							layout.Rigid(func(gtx C) D { return button(gtx, th, &b.sec.acceptServer, secondary, "Accept new key") }),
						)
					})
				}),
			)
		})
	})
}
