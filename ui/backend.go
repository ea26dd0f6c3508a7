package ui

import (
	"context"
	"errors"
	"time"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// Session is one live connection to a server, as the UI uses it. It is
// implemented over *client.Client by the program, and by fakes in tests.
// The UI calls it only from its own goroutine; the calls must not block for
// long (the client core queues network work).
type Session interface {
	// Poll appends the events that happened since the last call to dst.
	Poll(dst []client.Event) []client.Event
	Nick() string
	ServerAddr() string
	Peers() []client.Peer
	Broadcast(text string) error
	Invite(nick string) error
	Accept(nick string) error
	Decline(nick string) error
	// Send queues text on the open chat with nick and returns the message id
	// that later EventDelivered or EventSendFailed events name.
	Send(nick, text string) (uint64, error)
	LeaveChat(nick string) error
	ReconnectNow()
	Close() error
}

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
// events for Poll.
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
)

// Platform is what the UI needs from the operating system. Implementations
// must be safe to call from the UI goroutine and must not block.
type Platform interface {
	// DataDir is where the UI keeps its settings.
	DataDir() (string, error)
	// Notify shows a system notification (when the window is not focused).
	Notify(title, text string)
	// OpenURL opens a link in the system's browser.
	OpenURL(url string)
}

// Env is what the window tells the UI each frame.
type Env struct {
	Dark    bool // the system prefers a dark theme
	Focused bool // the window has the input focus
}

// History keeps the threads across runs. Save, Update and Delete are called
// from the UI goroutine and must not block (an implementation queues the
// writes, in order); Threads and the first Load of each thread are called
// when a chat screen opens; later Loads, for older pages, are called from
// other goroutines. Implementations must be safe for concurrent use.
//
// Private threads are named by the peer's nickname as it is shown; an
// implementation stores them under a canonical form (wire.FoldNick) so that
// "Ana" and "ana" are one thread.
type History interface {
	// Threads lists the private threads that have history.
	Threads() ([]string, error)
	// Load returns up to n messages of thread (model.Everyone for the feed)
	// that come before the message numbered beforeSeq (0: the newest n),
	// oldest first, with their Seq set.
	Load(thread string, beforeSeq uint64, n int) ([]model.Message, error)
	// Save stores a new message; its Key identifies it in later Updates.
	Save(thread string, m model.Message)
	// Update stores the new delivery state of a message that was saved
	// (by Key) or loaded (by Seq).
	Update(thread string, m model.Message)
	// Delete removes thread and every message of it, after the writes
	// queued before it.
	Delete(thread string)
}
