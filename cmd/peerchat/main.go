// Command peerchat is the PeerChat app: a Gio window around package ui, on
// the desktop and on Android (built with gogio).
//
// Usage:
//
//	peerchat [-server host:port] [-nick NAME] [-host] [-v] [-version]
//
// With -nick and either -server or -host the app connects at once, skipping
// the connect screen (for automation). Without flags (always on Android) it
// starts on the connect screen, which remembers the last nickname and server,
// or, when "Connect at start" is on in the settings, connects to that server
// at once (ui.Settings.AutoConnect).
//
// Ctrl+V in the message field also sends a picture held by the clipboard,
// on Linux and the BSDs with xclip (X11) or wl-paste of wl-clipboard
// (Wayland); elsewhere it pastes text only (paste.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"gioui.org/app"
	"gioui.org/op"
	"gioui.org/unit"
	"gioui.org/x/pref/theme"

	"peerchat/cmd/peerchat/notifier"
	"peerchat/core/history"
	"peerchat/core/wire"
	"peerchat/ui"
	"peerchat/ui/historystore"
	"peerchat/ui/netbackend"
)

// Window defaults.
const (
	defaultWidth  = unit.Dp(1040)
	defaultHeight = unit.Dp(720)
	minWidth      = unit.Dp(340)
	minHeight     = unit.Dp(480)
	// notifyQueue bounds the notifications waiting for the notifier.
	notifyQueue = 8
	// historyFile is the chat history's file in the data directory.
	historyFile = "history.db"
	// themeQueryTimeout bounds asking the desktop for its dark mode.
	themeQueryTimeout = 300 * time.Millisecond
	// openerWait is how long OpenURL waits for the link opener to fail.
	openerWait = 3 * time.Second
)

func main() {
	server := flag.String("server", "", "connect to this server (host:port) at start, with -nick")
	nick := flag.String("nick", "", "nickname to use at start")
	host := flag.Bool("host", false, "host a server on this device at start, with -nick")
	verbose := flag.Bool("v", false, "log debug messages")
	flag.Parse()
	if *versionFlag {
		fmt.Println("peerchat", version)
		return
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	go func() {
		if err := run(log, *server, *nick, *host); err != nil {
			log.Error("peerchat", "err", err)
			os.Exit(1)
		}
		os.Exit(0)
	}()
	app.Main()
}

// platform implements ui.Platform with gioui.org/app and the notifier.
type platform struct {
	log       *slog.Logger
	notes     chan [2]string
	notifyErr error // why notifications cannot be shown, nil if they can
	// pasteWarned: PasteImage said once that no clipboard command is
	// installed (paste.go).
	pasteWarned atomic.Bool
}

// NotifyErr reports why notifier.New failed, nil if notifications work.
func (p *platform) NotifyErr() error { return p.notifyErr }

func (p *platform) DataDir() (string, error) {
	if d := os.Getenv("PEERCHAT_DATA"); d != "" {
		return d, nil
	}
	d, err := app.DataDir()
	if err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	return filepath.Join(d, "peerchat"), nil
}

// Notify queues a notification; it never blocks (a full queue drops it).
func (p *platform) Notify(title, text string) {
	select {
	case p.notes <- [2]string{title, text}:
	default:
		p.log.Debug("notification dropped", "title", title)
	}
}

// OpenURL hands an http or https link to the system's opener, and reports
// whether it failed: to start, or by exiting with an error within
// openerWait (xdg-open without any browser); see runOpener. It blocks up
// to openerWait; the App calls it off the window's goroutine.
func (p *platform) OpenURL(u string) error {
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("open %s: %w", u, errNotWebLink)
	}
	return runOpener(u, openLink)
}

// errNotWebLink: OpenURL opens only http and https links.
var errNotWebLink = errors.New("not a web link")

// darkMode reports the system's preference; PEERCHAT_THEME=dark|light
// overrides it. It may run a short command (Linux desktops): call it off the
// window's goroutine.
func darkMode(ctx context.Context) bool {
	switch os.Getenv("PEERCHAT_THEME") {
	case "dark":
		return true
	case "light":
		return false
	}
	dark, err := theme.IsDarkMode()
	if err == nil {
		return dark
	}
	if runtime.GOOS == "linux" {
		// GNOME and the desktops that follow its setting.
		ctx, cancel := context.WithTimeout(ctx, themeQueryTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "gsettings", "get", "org.gnome.desktop.interface", "color-scheme").Output()
		return err == nil && strings.Contains(string(out), "dark")
	}
	return false
}

// backendConfig configures the network backend: the device identity,
// the pins and a hosted server's key kept in dataDir ("" keeps nothing),
// unencrypted chats refused while requireEnc is set (the user's setting,
// read at each connect), and loopback probed besides the LAN, which finds
// a server on this machine when there is no LAN.
//
// Received files go to netbackend.DownloadsDir; offers from verified
// peers up to autoAccept bytes (the user's setting, read at each connect)
// arrive without asking. Read receipts are on while receipts is set (the
// user's setting, read at each connect).
func backendConfig(log *slog.Logger, dataDir string, requireEnc *atomic.Bool, autoAccept *atomic.Int64, receipts *atomic.Bool) netbackend.Config {
	return netbackend.Config{
		Logger:            log,
		DataDir:           dataDir,
		RequireEncryption: requireEnc.Load,
		ReadReceipts:      receipts.Load,
		Downloads:         netbackend.DownloadsDir(dataDir),
		AutoAcceptBelow:   autoAccept.Load,
		ProbeExtra: []netip.AddrPort{
			netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), wire.DiscoveryPort),
		},
	}
}

func run(log *slog.Logger, server, nick string, host bool) error {
	start := time.Now()
	w := new(app.Window)
	w.Option(
		app.Title("PeerChat"),
		app.Size(defaultWidth, defaultHeight),
		app.MinSize(minWidth, minHeight),
	)

	plat := &platform{log: log, notes: make(chan [2]string, notifyQueue)}
	var n notifier.Notifier = notifier.Nop{}
	if nn, err := notifier.New(); err != nil {
		log.Info("notifications off", "err", err)
		plat.notifyErr = err
	} else {
		n = nn
	}
	notifyDone := make(chan struct{})
	go func() {
		defer close(notifyDone)
		for note := range plat.notes {
			if err := n.Notify(note[0], note[1]); err != nil {
				log.Debug("notify", "err", err)
			}
		}
	}()
	defer func() { close(plat.notes); <-notifyDone }()

	var hist ui.History
	dataDir, err := plat.DataDir()
	if err != nil {
		log.Warn("no data directory: nothing is remembered", "err", err)
		dataDir = ""
	} else {
		if st, err := history.Open(filepath.Join(dataDir, historyFile)); err != nil {
			log.Warn("history off", "err", err)
		} else {
			hist = historystore.New(st)
			defer st.Close() // after a.Close, which closes the session service, its last writer
		}
	}

	touch := runtime.GOOS == "android" || runtime.GOOS == "ios"
	var requireEnc atomic.Bool  // Settings.RequireEncryption, read at each connect
	var autoAccept atomic.Int64 // Settings.AutoAcceptBelow, read at each connect
	var receipts atomic.Bool    // Settings.ReadReceipts, read at each connect
	pick := newPicker(w)
	a := ui.New(ui.Config{
		History: hist,
		Backend: netbackend.New(backendConfig(log, dataDir, &requireEnc, &autoAccept, &receipts)),
		SettingsChanged: func(s ui.Settings) {
			requireEnc.Store(s.RequireEncryption)
			autoAccept.Store(s.AutoAcceptBelow())
			receipts.Store(s.ReadReceipts)
		},
		Picker:     pick,
		Platform:   plat,
		Invalidate: w.Invalidate,
		Logger:     log,
		Touch:      touch,
		Nick:       nick,
		Server:     server,
		Host:       host,
	})
	defer a.Close()

	// The system's dark mode is read at start and whenever the window gets
	// the focus back, off the window's goroutine: the first frame does not
	// wait for the desktop's answer (up to themeQueryTimeout), which is
	// applied when it comes.
	theme := newThemeWatcher(darkMode, w.Invalidate)
	defer theme.close()
	theme.check()

	env := ui.Env{Focused: true}
	background := false // Android: the activity is gone, the process lives on
	var ops op.Ops
	first := true
	unread := 0
	for {
		e := w.Event()
		pick.ex.ListenEvents(e)
		switch e := e.(type) {
		case app.DestroyEvent:
			return e.Err
		default:
			// Android pause and resume: a detached view means the app is in
			// the background (notifications go to the system); when the view
			// comes back, the App reconnects at once if its link is down.
			if attached, ok := viewEvent(e); ok {
				if attached && background {
					a.Resume()
				}
				background = !attached
				if background {
					env.Focused = false
					a.SetFocused(false)
				}
			}
		case app.ConfigEvent:
			if env.Focused != e.Config.Focused {
				env.Focused = e.Config.Focused
				a.SetFocused(env.Focused)
				if env.Focused {
					theme.check()
				}
				w.Invalidate()
			}
		case app.FrameEvent:
			// NewContext applies the system insets (bars, soft keyboard).
			gtx := app.NewContext(&ops, e)
			env.Dark = theme.Dark()
			a.Layout(gtx, env)
			e.Frame(gtx.Ops)
			if n := a.Unread(); n != unread {
				unread = n
				title := "PeerChat"
				if n > 0 {
					title = fmt.Sprintf("PeerChat (%d)", n)
				}
				w.Option(app.Title(title))
			}
			if first {
				first = false
				log.Info("first frame", "after", time.Since(start).Round(time.Millisecond))
			}
		}
	}
}
