package ui

import (
	"context"
	"sync"
	"time"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
)

// toastFor is how long a toast shows, from its first frame.
const toastFor = 6 * time.Second

// toast is a short message over the bottom of the window (a snackbar), for
// an error that has no place of its own, such as a link that did not open.
// A newer message replaces the one shown. show may be called from any
// goroutine; layout from the window's.
type toast struct {
	mu    sync.Mutex
	text  string
	since time.Time // the frame time it first showed; zero until then

	dismiss iconButtonState
}

// show shows text, replacing what was shown.
func (t *toast) show(text string) {
	t.mu.Lock()
	t.text, t.since = text, time.Time{}
	t.mu.Unlock()
}

// current returns the text shown at now, "" for none, and until when.
func (t *toast) current(now time.Time) (string, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.text == "" {
		return "", time.Time{}
	}
	if t.since.IsZero() {
		t.since = now
	}
	until := t.since.Add(toastFor)
	if !now.Before(until) {
		t.text = ""
		return "", time.Time{}
	}
	return t.text, until
}

func (t *toast) hide() {
	t.mu.Lock()
	t.text = ""
	t.mu.Unlock()
}

// layout draws the toast, if one shows, at the bottom of the window, above
// the composer.
func (t *toast) layout(gtx C, th *Theme, ic *iconSet) D {
	if t.dismiss.Clicked(gtx) {
		t.hide()
	}
	txt, until := t.current(gtx.Now)
	if txt == "" {
		return D{}
	}
	gtx.Execute(op.InvalidateCmd{At: until})
	gtx.Constraints.Min = gtx.Constraints.Max
	return layout.S.Layout(gtx, func(gtx C) D {
		return layout.Inset{Left: 12, Right: 12, Bottom: 88}.Layout(gtx, func(gtx C) D {
			gtx = clampWidth(gtx, maxForm)
			gtx.Constraints.Min.X = 0
			// Inverted colors, so that it stands out from whatever is under it.
			return background(gtx, th, th.Pal.Text, 10, func(gtx C) D {
				return layout.Inset{Left: 16, Right: 4}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Flexed(1, func(gtx C) D {
							return layout.Inset{Top: 12, Bottom: 12}.Layout(gtx, th.label(sizeSmall, th.Pal.Bg, txt).Layout)
						}),
						layout.Rigid(layout.Spacer{Width: unit.Dp(8)}.Layout),
						layout.Rigid(func(gtx C) D {
							b := newIconButton(th, &t.dismiss, ic.close, th.Pal.Bg, colorT{}, "Dismiss")
							b.Tip = tipEnd | tipAbove
							return b.Layout(gtx)
						}),
					)
				})
			})
		})
	})
}

// openLink hands u to the Platform off the window's goroutine, and shows a
// toast if no browser took it.
func (a *App) openLink(u string) {
	p := a.cfg.Platform
	if p == nil {
		a.toast.show("Links can't be opened here: " + u)
		a.cfg.Invalidate()
		return
	}
	a.go_(func(context.Context) {
		if err := p.OpenURL(u); err != nil {
			a.log.Warn("open link", "url", u, "err", err)
			a.toast.show("Couldn't open " + u + " in a browser.")
		}
		a.cfg.Invalidate()
	})
}
