// Package session is the PeerChat app's session service: it owns one
// connection to a server (a client core) for as long as the chat screen
// exists, independently of the frames the window draws.
//
// A Service drains the client core on its own goroutine, turns every event
// into the Changes of the UI's model (package peerchat/ui/model), writes the
// messages and their delivery states to the history in one transaction per
// batch of events, and raises notifications. The UI only draws: at the start
// of each frame it applies what Drain returns, in order, and it tells the
// Service what it needs to know (the window's focus, the open thread) and
// what the user did (Send, Invite, …). With no frame drawn at all (a
// minimised window, Android in the background), messages are still saved and
// notified, once each, in the order they arrived; and the queue of Changes
// does not grow without bound: beyond MaxQueue it is replaced by a snapshot
// of the same state read back from the history (model.OpReset).
//
// # Presence
//
// The people the server lists right after registration (Config.ListWindow),
// or that the client core already listed, are not announced as joining, and
// a reconnection announces only who came or went. Joins and leaves are
// gathered for Config.Coalesce into one line of the feed ("ana, bruno and 12
// others joined; chen left").
//
// # History per server
//
// The UI gives the Service a Store whose feed is the server's own
// (historystore.Store.ForServer): what was said on one server never shows in
// another's feed. Our messages still pending when the Service closes are
// stored as failed (NotSentLeft).
//
// # A server that does not answer
//
// A port that took our registration and said nothing (the client core's
// ServerUnconfirmed) is not an empty room: the connection is
// model.Unconfirmed, and the feed says why (Unanswered). It becomes
// Connected, and the feed says so (Answered), once the server speaks: an
// event only a server sends (people, broadcasts), or the client core's
// ServerKind (ServerKinder), asked after each batch of events.
//
// # Relay, mailbox and missed broadcasts
//
// The route of each open chat (client.EventChatOpen, client.EventRoute) is
// the model's Thread.Route. A message the server's mailbox keeps for an
// absent peer is delivery.Stored (client.EventStored), in the history too;
// its delivery may be reported in a later run: our stored messages loaded
// from the history are followed, and an event about an id this run does
// not know is looked up in the thread's history (the newest maxLookup
// messages) after its batch. Why a message failed is FailureText. A
// private message the mailbox kept, and a broadcast the server replayed
// (client.Event.Missed), are model.Message.Away. The newest broadcast id
// seen goes to Config.SaveBroadcast, and replayed broadcasts up to
// Config.LastBroadcast are dropped.
//
// # Read receipts and messages that come twice
//
// With a Conn that sends read receipts (Reader), the newest message with
// an id from the peer of the private thread the user sees (the window
// focused, the thread shown: SetFocused, SetOpen) is marked read with
// MarkRead, once per such message; the newest one of each thread's page
// loaded at start counts too (it may have come while nobody looked). A
// read receipt (client.EventRead) makes our message and every earlier one
// of ours, by order in the thread, that is sent, stored or delivered
// delivery.Read: in the model (model.OpRead) and in the history (the
// newest maxLookup messages, after the batch, earlier runs' included).
// With Config.ReadReceipts, our delivered messages stay followed for it.
//
// The client core reports each (peer, id) once per run; after a restart a
// message whose ack was lost, resent by its peer or by the server's
// mailbox, comes again. A private message whose id the thread already
// holds from its peer (the newest maxLookup of the history, and this
// run's) is dropped: shown and stored once.
//
// # Files
//
// With a Conn that transfers files (Files), the file events of the client
// core are model.KindFile messages (files.go): offered, moving (progress
// updates the model only), paused, done or failed (FailureText). A file
// is written to the history once its transfer ended, so that its thread
// shows it after a restart; the transfers under way at start
// (Files.Files) are shown too. SendFile, AcceptFile, DeclineFile and
// CancelFile act on them; a picture goes to the feed with SendFile to
// model.Everyone (BroadcastImage).
//
// # Notifications
//
// A notification is raised for a private message, a broadcast that mentions
// the user, a chat request and a private chat that was lost, unless the user
// turned them off (SetMuted), and only while the window is not focused or the
// thread concerned is not the open one. A thread muted on its own
// (SetThreadMuted, Config.MutedThreads) raises none, whatever else holds; the
// UI keeps which threads are muted with its settings and tells the Service
// at start.
package session

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"peerchat/core/client"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// MaxQueue is the most Changes the Service keeps for Drain: beyond it, with
// a Store, they are replaced by a snapshot of the same state (see OpReset).
const MaxQueue = 4096

// DefaultPage is how many messages of a thread the Service loads from the
// history when it starts; the UI loads older pages with Load.
const DefaultPage = 200

// Signal wakes a Service when the client core has events. Pass its Notify as
// the client core's notify callback (client.Config.Notify, the notify
// argument of ui.Backend.Connect), then the Signal to New.
type Signal struct{ c chan struct{} }

// NewSignal returns a Signal.
func NewSignal() *Signal { return &Signal{c: make(chan struct{}, 1)} }

// Notify wakes the Service. It never blocks and is safe for concurrent use;
// calls are coalesced.
func (s *Signal) Notify() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// Config configures a Service.
type Config struct {
	Conn   Conn    // required; the Service closes it
	Signal *Signal // required; its Notify is Conn's notify callback
	Store  Store   // nil: no history
	// Notify raises a system notification; nil: none. It is called from
	// the Service's goroutine and must not block for long.
	Notify func(title, text string)
	// Invalidate asks the window for a new frame after Changes were
	// queued. It is called from any goroutine and must not block. nil: none.
	Invalidate func()
	Muted      bool // notifications start turned off
	// MutedThreads are the threads (model.Key, model.Everyone for the
	// feed) whose notifications start turned off (see SetThreadMuted).
	MutedThreads []string
	Page         int              // messages per thread loaded at start; 0 means DefaultPage
	Logger       *slog.Logger     // nil: discard
	Now          func() time.Time // nil: time.Now
	// ListWindow is how long after registration (by the events' times)
	// peers that join are taken for the server's list of who is already
	// there, and not announced as joining: the protocol sends that list
	// right after registration but does not mark its end. 0 means
	// DefaultListWindow; negative means none.
	ListWindow time.Duration
	// Coalesce is how long joins and leaves are gathered into one line of
	// the feed; 0 means DefaultCoalesce. Anything else added to the feed
	// announces them at once.
	Coalesce time.Duration
	// LastBroadcast is the server-wide id of the last broadcast seen on
	// this server in an earlier run (client.Config.LastBroadcast, which
	// the Conn was dialled with); 0 for none. A replayed broadcast
	// (client.Event.Missed) with an id up to it is not shown again.
	LastBroadcast uint64
	// SaveBroadcast, if not nil, is given the id of the newest broadcast
	// seen (client.Event.BID) after the batch of events that raised it
	// was written to the history, and once more at Close: the UI keeps
	// it and passes it as LastBroadcast next time. It is called from the
	// Service's goroutine, at most once per batch, and must not block
	// for long (a small file written without fsync is fine: losing the
	// last few only shows them again, marked as missed).
	SaveBroadcast func(bid uint64)
	// ReadReceipts says that the Conn was dialled with read receipts on
	// (client.Config.ReadReceipts): our delivered messages are followed
	// for the rest of the run, so that a read receipt (client.EventRead)
	// finds them. Off, EventRead is still applied to what the history
	// holds.
	ReadReceipts bool
}

// DefaultListWindow is Config.ListWindow's default: the client core's
// registration grace, longer than a loopback or LAN needs to deliver the
// whole peer list.
const DefaultListWindow = client.DefaultRegisterGrace

// DefaultCoalesce is Config.Coalesce's default.
const DefaultCoalesce = time.Second

func (s *Service) listWindow() time.Duration {
	if s.cfg.ListWindow == 0 {
		return DefaultListWindow
	}
	return s.cfg.ListWindow
}

// Service is one session: see the package doc. Its methods are safe for
// concurrent use and never wait for the network or the disk, except Load and
// Close, and except while the Service replaces an undrained queue by a
// snapshot (which happens only when the UI has not drawn for MaxQueue
// Changes, so is not drawing).
type Service struct {
	cfg  Config
	log  *slog.Logger
	conn Conn
	st   Store
	now  func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{} // actions of the UI wrote something to flush

	mu        sync.Mutex
	queue     []model.Change       // for Drain
	compactAt int                  // compact beyond this many Changes (and MaxQueue)
	writes    []historystore.Write // for the history, flushed by run
	notes     [][2]string          // notifications to raise, by run
	focused   bool                 // the window has the focus; false until the UI says so
	open      string               // the thread the UI shows
	openSet   bool                 // open is set: a thread pane is visible
	muted     bool
	mutedT    map[string]bool // threads muted on their own
	j         journal

	savedBID uint64 // the last id given to Config.SaveBroadcast; run's

	// seenIn holds, per private thread, the ids of the peer's messages
	// it holds (the newest maxLookup of the history, loaded the first
	// time one arrives, and those of this run): a message that comes
	// again with the same id (resent by its peer, or by the server's
	// mailbox, after a restart) is dropped. run's.
	seenIn map[string]map[uint64]bool

	bg sync.WaitGroup // goroutines calling the Conn for the UI (SendFile)
}

// New starts a Service over cfg.Conn. It first queues the newest page of
// every thread of the history (OpSeed) and the people online, then what
// happens.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Page <= 0 {
		cfg.Page = DefaultPage
	}
	if cfg.Invalidate == nil {
		cfg.Invalidate = func() {}
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger, conn: cfg.Conn, st: cfg.Store, now: cfg.Now,
		done: make(chan struct{}), kick: make(chan struct{}, 1),
		muted: cfg.Muted, mutedT: map[string]bool{},
		seenIn: map[string]map[uint64]bool{},
	}
	for _, t := range cfg.MutedThreads {
		s.mutedT[t] = true
	}
	s.j.init(s, cfg.Conn.Nick())
	s.j.server = cfg.Conn.ServerAddr()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s
}

// Nick returns our nickname as registered at start.
func (s *Service) Nick() string { return s.conn.Nick() }

// ServerAddr returns the server's address as dialled.
func (s *Service) ServerAddr() string { return s.conn.ServerAddr() }

// Drain appends the Changes queued since the last call to dst, in order,
// and returns it. The UI calls it at the start of every frame and applies
// them with model.Model.Apply. It never blocks for long.
func (s *Service) Drain(dst []model.Change) []model.Change {
	s.mu.Lock()
	dst = append(dst, s.queue...)
	clear(s.queue)
	s.queue = s.queue[:0]
	clear(s.j.unread)
	s.compactAt = 0
	s.mu.Unlock()
	return dst
}

// Close stops the Service: it writes what is still queued for the history
// (events that arrived since the last batch too, without notifying them),
// closes the connection and returns once its goroutine has ended. Methods
// called after Close do nothing visible. Closing
// twice is harmless. It does not close the Store.
func (s *Service) Close() error {
	s.cancel()
	<-s.done
	s.bg.Wait()
	return nil
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// push queues c for Drain. s.mu is held.
func (s *Service) push(c model.Change) { s.queue = append(s.queue, c) }

// errText is err's text, or def for nil.
func errText(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}
