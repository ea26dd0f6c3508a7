package ui

import (
	"errors"

	"gioui.org/unit"
)

// This file applies the user's Settings (settings.go) to the App: the
// theme, the text size, connecting at start and muted chats.

// errNoPlatform is why notifications cannot be shown without a Platform.
var errNoPlatform = errors.New("no platform")

// notifyErr reports why system notifications cannot be shown, nil if they
// can (Platform.NotifyErr).
func (a *App) notifyErr() error {
	if a.cfg.Platform == nil {
		return errNoPlatform
	}
	return a.cfg.Platform.NotifyErr()
}

// applySettings sets the theme the settings and the system (env) ask for,
// and returns gtx with its text scaled to the chosen size.
func (a *App) applySettings(gtx C, env Env) C {
	if dark := a.settings.Theme.Dark(env.Dark); a.th.Dark != dark {
		a.th.setDark(dark)
	}
	if s := a.settings.TextSize.Scale(); s != 1 {
		gtx.Metric = unit.Metric{PxPerDp: gtx.Metric.PxPerDp, PxPerSp: gtx.Metric.PxPerSp * s}
	}
	return gtx
}

// autoConnect reports whether the App connects at start to the last
// server (Settings.AutoConnect): the program asked for nothing else and
// the nickname and server are known.
func (a *App) autoConnect() bool {
	c, s := a.cfg, a.settings
	return c.Nick == "" && c.Server == "" && !c.Host && s.AutoConnect && s.Nick != "" && s.Server != ""
}

// setChatMuted turns the notifications of thread off (true) or on, and
// remembers it: in the settings, and in the session service, which raises
// the notifications.
func (s *chatScreen) setChatMuted(thread string, muted bool) {
	s.a.settings.SetMuted(thread, muted)
	s.a.saveSettings()
	s.sess.SetThreadMuted(thread, muted)
}

// updateMute handles the thread header's mute button, and its menu on a
// phone (Mute, Delete history).
func (s *chatScreen) updateMute(gtx C) {
	hs := &s.pane.head
	if hs.more.Clicked(gtx) {
		hs.menuOpen, hs.menuFor = !hs.menuOpen, s.current
	}
	if hs.menuScrim.Clicked(gtx) || hs.menuFor != s.current {
		hs.menuOpen = false
	}
	if hs.mute.Clicked(gtx) || hs.muteItem.Clicked(gtx) && hs.menuOpen {
		s.setChatMuted(s.current, !s.a.settings.Muted(s.current))
		hs.menuOpen = false
	}
	if hs.delItem.Clicked(gtx) && hs.menuOpen {
		s.pane.confirmDel = true
		hs.menuOpen = false
	}
}

// initMuted tells the session which threads are muted, when it starts.
func (s *chatScreen) initMuted() {
	for _, k := range s.a.settings.MutedChats {
		s.sess.SetThreadMuted(k, true)
	}
}
