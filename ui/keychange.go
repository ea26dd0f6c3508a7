package ui

import (
	"image"
	"image/color"

	"gioui.org/layout"

	"peerchat/ui/model"
)

// keyChangeGate is the notice that takes the composer's place in a thread
// whose peer's key changed: sending waits until the user accepts the new
// key. A change of a key the user had verified is loud: red, and it says
// that the verification no longer holds.
type keyChangeGate struct {
	th     *Theme
	thread *model.Thread
	sec    *secUI
}

// keyChangeText returns the notice's title and explanation for t.
func keyChangeText(t *model.Thread) (title, why string) {
	name := t.Name()
	title = name + "'s key changed"
	why = "They may have reinstalled PeerChat or changed devices, or someone may be posing as them. " +
		"Messages to " + name + " wait until you accept the new key; verify it afterwards."
	if t.Sec.WasVerified {
		title = name + "'s verified key changed!"
		why = "You had verified " + name + "'s key, and this is a different one. Unless " + name +
			" changed devices, someone may be posing as them. Check with " + name + " in person before you accept it."
	}
	return title, why
}

func (g keyChangeGate) Layout(gtx C) D {
	th, t := g.th, g.thread
	title, why := keyChangeText(t)
	fg, bg, kind := th.Pal.Text, withAlpha(th.Pal.Warn, 0x30), primary
	if t.Sec.WasVerified {
		fg, bg, kind = th.Pal.OnDanger, th.Pal.Danger, secondary
	}
	return background(gtx, th, bg, 10, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.UniformInset(10).Layout(gtx, func(gtx C) D {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					ic := fg
					if !t.Sec.WasVerified {
						ic = th.Pal.Danger
					}
					return warnHeading(gtx, th, ic, fg, title)
				}),
				layout.Rigid(layout.Spacer{Height: 4}.Layout),
				layout.Rigid(th.label(sizeSmall, fg, why).Layout),
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Constraints.Max.X
					return layout.E.Layout(gtx, func(gtx C) D {
						return button(gtx, th, &g.sec.acceptKey, kind, "Accept new key")
					})
				}),
			)
		})
	})
}

// warnHeading draws a warning's first line: the warning icon in iconColor,
// then title in bold fg.
func warnHeading(gtx C, th *Theme, iconColor, fg color.NRGBA, title string) D {
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			sz := gtx.Dp(20)
			gtx.Constraints = layout.Exact(image.Pt(sz, sz))
			return secIcons.warn.Layout(gtx, iconColor)
		}),
		layout.Rigid(layout.Spacer{Width: 8}.Layout),
		layout.Flexed(1, th.bold(sizeBody, fg, title).Layout),
	)
}
