package ui

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gioui.org/io/event"
	"gioui.org/io/key"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"

	"peerchat/core/wire"
)

// Defaults of Config.
const (
	// DefaultProbeEvery is how often the connect screen looks for servers.
	DefaultProbeEvery = 3 * time.Second
	// DefaultConnectTimeout bounds one connection attempt.
	DefaultConnectTimeout = 10 * time.Second
)

// DefaultServerPort is added to a server address typed without a port:
// wire.DefaultServerPort, as text.
var DefaultServerPort = strconv.Itoa(wire.DefaultServerPort)

// Config configures an App.
type Config struct {
	Backend  Backend
	Platform Platform // nil: nothing remembered, no notifications, links not opened
	// Invalidate asks the window for a new frame. It must be safe to call
	// from any goroutine and must not block.
	Invalidate func()
	Now        func() time.Time // nil means time.Now
	Logger     *slog.Logger     // nil means slog.Default()
	// Touch selects the phone behaviour of the composer: Enter inserts a
	// newline and the send button sends.
	Touch bool
	// Nick, Server and Host come from the command line: with Nick and either
	// Server or Host set, the App connects at once, skipping the connect screen.
	// With none of them set, it connects at once to the last server when the
	// user turned on "Connect at start" (Settings.AutoConnect).
	Nick, Server string
	Host         bool
	ProbeEvery   time.Duration // 0 means DefaultProbeEvery; <0 disables probing
	// History, if not nil, seeds the threads when a chat starts and records
	// every message.
	History History
	// SettingsChanged, if not nil, is called on the App's goroutine with
	// the settings once New has read them (before it connects at start)
	// and each time the user changes them: the program applies there what
	// lives outside the UI (Settings.RequireEncryption, read by its Backend
	// at each connect). It must not block.
	SettingsChanged func(Settings)
	// Picker, if not nil, is the platform's file picker: the composer's
	// attach button uses it (files.go).
	Picker FilePicker
}

// HistoryPage is how many messages of a thread are loaded from History at a
// time: the newest page when the chat screen opens, then one older page
// whenever the user scrolls near the top of what is loaded.
const HistoryPage = 200

// historyAhead is how close (in messages) to the top of the loaded part of
// a thread the list must come before the next older page is loaded.
const historyAhead = 20

// screen is one full-window screen of the back stack.
type screen interface {
	Layout(gtx C) D
	// CanBack reports whether Back would do something. Where it would not,
	// the App leaves the back key to the system (Android closes the app).
	CanBack() bool
	// Back handles a back request (back button, Esc).
	Back()
	// Close releases what the screen owns; it is called once, when the screen
	// leaves the stack.
	Close()
}

// A screen may also do the following; the App asks for them through these
// interfaces and never by a screen's type.
type (
	// resumer acts when the App comes back to the foreground (App.Resume).
	resumer interface{ Resume() }
	// unreadCounter counts the unread messages it holds (App.Unread).
	unreadCounter interface{ Unread() int }
	// focusWatcher is told when the window gains or loses the focus, also
	// while no frame is drawn (App.SetFocused).
	focusWatcher interface{ SetFocused(bool) }
)

// App is the PeerChat UI. Its methods must be called from one goroutine, the
// window's, except Close.
type App struct {
	cfg   Config
	log   *slog.Logger
	th    *Theme
	ic    iconSet
	stack []screen
	env   Env

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the App's goroutines

	settings Settings
	marks    *feedMarks  // the last broadcast seen per server (feedmarks.go)
	framed   bool        // Layout has run: env holds the previous frame's
	toast    toast       // a short message over the screens (toast.go)
	thumbs   thumbCache  // pictures decoded for drawing (thumbs.go)
	picking  atomic.Bool // the file picker is shown (files.go): one at a time
}

// New returns an App showing the connect screen (or connecting at once, see
// Config.Nick).
func New(cfg Config) *App {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Invalidate == nil {
		cfg.Invalidate = func() {}
	}
	if cfg.ProbeEvery == 0 {
		cfg.ProbeEvery = DefaultProbeEvery
	}
	a := &App{cfg: cfg, log: cfg.Logger, th: newTheme(), ic: newIcons()}
	a.th.Touch = cfg.Touch
	if a.log == nil {
		a.log = slog.Default()
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.thumbs.start, a.thumbs.invalidate = a.go_, cfg.Invalidate
	a.marks = &feedMarks{}
	if p := cfg.Platform; p != nil {
		if dir, err := p.DataDir(); err == nil {
			a.marks.dir = dir
			s, err := LoadSettings(dir)
			if err != nil {
				a.log.Warn("settings", "err", err)
			}
			a.settings = s
		}
	}
	if cfg.SettingsChanged != nil {
		cfg.SettingsChanged(a.settings)
	}
	cs := newConnectScreen(a)
	a.stack = []screen{cs}
	if cfg.Nick != "" && (cfg.Server != "" || cfg.Host) {
		cs.start(cfg.Host)
	} else if a.autoConnect() {
		cs.start(false)
	}
	return a
}

// Close stops the App's goroutines and closes the session, if any. It waits
// for the goroutines to end.
func (a *App) Close() error {
	a.cancel()
	for i := len(a.stack) - 1; i >= 0; i-- {
		a.stack[i].Close()
	}
	a.stack = nil
	a.wg.Wait()
	return nil
}

func (a *App) go_(f func(ctx context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f(a.ctx)
	}()
}

func (a *App) push(s screen) { a.stack = append(a.stack, s) }

// top returns the screen on top of the stack, the one drawn, or nil.
func (a *App) top() screen {
	if len(a.stack) == 0 {
		return nil
	}
	return a.stack[len(a.stack)-1]
}

func (a *App) pop() {
	if len(a.stack) <= 1 {
		return
	}
	top := a.stack[len(a.stack)-1]
	a.stack = a.stack[:len(a.stack)-1]
	top.Close()
}

// saveSettings writes a.settings and tells the program
// (Config.SettingsChanged).
func (a *App) saveSettings() {
	if a.cfg.SettingsChanged != nil {
		a.cfg.SettingsChanged(a.settings)
	}
	p := a.cfg.Platform
	if p == nil {
		return
	}
	dir, err := p.DataDir()
	if err == nil {
		err = SaveSettings(dir, a.settings)
	}
	if err != nil {
		a.log.Warn("settings", "err", err)
	}
}

// Resume tells the App that it is in the foreground again after a pause
// (Android stopped the activity, the window was hidden): a session whose
// server link is down reconnects at once instead of waiting for its backoff.
// Layout calls it itself when the window gets the focus back. It must be
// called from the window's goroutine.
func (a *App) Resume() {
	for i := len(a.stack) - 1; i >= 0; i-- {
		if r, ok := a.stack[i].(resumer); ok {
			r.Resume()
			a.cfg.Invalidate()
			return
		}
	}
}

// SetFocused tells the App whether its window has the input focus (false
// also when Android has put the app in the background). The notification
// policy, which runs in the session service and not in frames, learns it
// at once, so a message that arrives while no frame is drawn is notified.
// Layout's Env says the same each frame. Getting the focus back resumes
// the App, as in Layout. It must be called from the window's goroutine.
func (a *App) SetFocused(focused bool) {
	if focused && !a.env.Focused && a.framed {
		a.Resume()
	}
	a.env.Focused = focused
	for _, s := range a.stack {
		if w, ok := s.(focusWatcher); ok {
			w.SetFocused(focused)
		}
	}
}

func (a *App) openURL(u string) { a.openLink(u) }

// Unread returns the number of unread private messages (0 before a chat
// starts), for the window title or a badge. Unread broadcasts are not
// counted: they show on the Everyone row, and a busy feed must not drown a
// private message in the title's count.
func (a *App) Unread() int {
	for i := len(a.stack) - 1; i >= 0; i-- {
		if u, ok := a.stack[i].(unreadCounter); ok {
			return u.Unread()
		}
	}
	return 0
}

// back handles Android's back button and Esc, only when the top screen has
// somewhere to go back to, and reports whether it went back. Layout calls
// it before and after the screen is laid out, so that the keys are asked
// for in the very frame that opens something they close.
func (a *App) back(gtx C) (went bool) {
	for a.stack[len(a.stack)-1].CanBack() {
		ev, ok := gtx.Event(key.Filter{Name: key.NameBack}, key.Filter{Name: key.NameEscape})
		if !ok {
			break
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press {
			a.stack[len(a.stack)-1].Back()
			went = true
		}
	}
	return went
}

// Layout draws one frame. env says how the window is; gtx must span the
// window minus the system insets.
func (a *App) Layout(gtx C, env Env) D {
	if env.Focused && !a.env.Focused && a.framed {
		a.Resume()
	}
	a.env, a.framed = env, true
	a.th.ringed = nil
	gtx = a.applySettings(gtx, env)
	a.back(gtx)
	area := clip.Rect{Max: gtx.Constraints.Max}.Push(gtx.Ops)
	event.Op(gtx.Ops, a)
	paint.Fill(gtx.Ops, a.th.Pal.Bg)
	area.Pop()
	gtx.Constraints.Min = gtx.Constraints.Max
	top := a.stack[len(a.stack)-1]
	d := top.Layout(gtx)
	a.toast.layout(gtx, a.th, &a.ic)
	if top == a.top() && a.back(gtx) {
		// The frame laid out what Back closed.
		gtx.Execute(op.InvalidateCmd{})
	}
	if len(a.stack) > 0 && a.stack[len(a.stack)-1] != top {
		// The screen changed during the frame: draw the new one at once.
		gtx.Execute(op.InvalidateCmd{})
	}
	return d
}
