package ui

import (
	"context"
	"errors"
	"time"

	"peerchat/ui/session"
)

// Session is one live connection to a server: the client core, as the
// session service (package peerchat/ui/session) drives it. It is
// implemented over *client.Client by the program, and by fakes in tests.
type Session = session.Conn

// Server is a server found on the local network.
type Server struct {
	Name  string
	Addr  string // host:port to connect to
	Peers int    // people online, -1 if unknown
	RTT   time.Duration
}

// Backend connects the UI to the network. Connect, Host and Probe block and
// are called from goroutines the App owns; they must return promptly once ctx
// is done. notify is called (from any goroutine) whenever the session has new
// events for Poll: the App passes the Notify of the session.Signal it then
// gives the session service.
type Backend interface {
	Connect(ctx context.Context, server, nick string, notify func()) (Session, error)
	// Host starts a server on this device and connects to it.
	Host(ctx context.Context, nick string, notify func()) (Session, error)
	// Probe lists the servers that answer on the local network.
	Probe(ctx context.Context) ([]Server, error)
}

// Connection errors. A Backend wraps its errors with these (errors.Is) so
// that the UI can explain them; any other error is shown as is.
var (
	ErrNickTaken   = errors.New("nickname taken")
	ErrRefused     = errors.New("connection refused")
	ErrTimeout     = errors.New("timed out")
	ErrUnreachable = errors.New("server unreachable")
	ErrUnknownHost = errors.New("unknown host") // the server's name does not resolve
)

// Platform is what the UI needs from the operating system. Implementations
// must be safe to call from the UI goroutine and must not block.
type Platform interface {
	// DataDir is where the UI keeps its settings.
	DataDir() (string, error)
	// Notify shows a system notification. The session service calls it
	// from its own goroutine, whether or not frames are drawn (it decides
	// when a notification is due), so it must be safe for concurrent use.
	Notify(title, text string)
	// OpenURL opens a link in the system's browser. It returns an error
	// when the link could not be handed to a browser (no opener, the
	// opener failed); it may wait a few seconds to find out, so the App
	// calls it off the window's goroutine and shows the error.
	OpenURL(url string) error
	// NotifyErr reports why system notifications cannot be shown (no
	// notification service on this desktop, …), nil if they can. The
	// settings panel then shows them as unavailable, never as on.
	NotifyErr() error
}

// Env is what the window tells the UI each frame.
type Env struct {
	Dark    bool // the system prefers a dark theme
	Focused bool // the window has the input focus
}

// History keeps the threads across runs: *historystore.Store over the
// on-disk history (peerchat/core/history), or a fake in tests. The session
// service writes it from its own goroutine, in batches; the UI only loads
// older pages through the service. Private threads are keyed by the folded
// nickname (model.Key), the feed by model.Everyone.
type History = session.Store
