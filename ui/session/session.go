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
	"slices"
	"sync"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// MaxQueue is the most Changes the Service keeps for Drain: beyond it, with
// a Store, they are replaced by a snapshot of the same state (see OpReset).
const MaxQueue = 4096

// DefaultPage is how many messages of a thread the Service loads from the
// history when it starts; the UI loads older pages with Load.
const DefaultPage = 200

// Conn is what the Service needs of the client core; *client.Client
// implements it. Its methods must be safe for concurrent use and must not
// wait for the network (Close excepted).
type Conn interface {
	// Poll appends the events that happened since the last call to dst.
	Poll(dst []client.Event) []client.Event
	Nick() string
	ServerAddr() string
	Peers() []client.Peer
	// Broadcast queues text for everyone and returns the id that the echo
	// (EventBroadcast) or EventSendFailed will carry.
	Broadcast(text string) (uint64, error)
	Invite(nick string) error
	Accept(nick string) error
	Decline(nick string) error
	// Send queues text on the chat with nick and returns the message id
	// that later EventSent, EventDelivered or EventSendFailed events name.
	Send(nick, text string) (uint64, error)
	LeaveChat(nick string) error
	ReconnectNow()
	Close() error
}

// ServerKinder is a Conn that says what kind of server it registered with;
// *client.Client implements it. The Service asks it after each batch of
// events whether a server that had said nothing (model.Unconfirmed) has
// spoken since. Without it, only the events that come from the server
// (people, broadcasts) confirm it.
type ServerKinder interface {
	ServerKind() client.ServerKind
}

var _ ServerKinder = (*client.Client)(nil)

// Reader is a Conn that sends read receipts; *client.Client implements
// it. The Service calls MarkRead with the newest message with an id that
// the peer of the private thread the user looks at sent, once per such
// message (see the package doc). The client core sends nothing unless
// both sides turned read receipts on.
type Reader interface {
	MarkRead(nick string, id uint64) error
}

var _ Reader = (*client.Client)(nil)

// Store is where the Service keeps the history; *historystore.Store
// implements it. Its methods must be safe for concurrent use.
type Store interface {
	// Threads lists the keys of the private threads that have history.
	Threads() ([]string, error)
	// Load returns up to n messages of thread before beforeSeq (0: the
	// newest), oldest first, with their Seq set.
	Load(thread string, beforeSeq uint64, n int) ([]model.Message, error)
	// Write applies ws in one transaction, in order.
	Write(ws []historystore.Write) error
}

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

// SetFocused tells the Service whether the window has the input focus.
func (s *Service) SetFocused(focused bool) {
	s.mu.Lock()
	s.focused = focused
	s.markRead()
	s.mu.Unlock()
}

// SetOpen tells the Service which thread the UI shows (model.Everyone for
// the feed); shown false means no thread pane is visible.
func (s *Service) SetOpen(thread string, shown bool) {
	s.mu.Lock()
	s.open, s.openSet = thread, shown
	s.markRead()
	s.mu.Unlock()
}

// markRead tells the peer of the private thread the user sees (the window
// focused, the thread shown) the newest of its messages with an id, if
// it has not been told already. s.mu is held.
func (s *Service) markRead() {
	if !s.focused || !s.openSet || s.open == model.Everyone {
		return
	}
	id := s.j.lastIn[s.open]
	if id == 0 || s.j.marked[s.open] == id {
		return
	}
	s.j.marked[s.open] = id
	r, ok := s.conn.(Reader)
	if !ok {
		return
	}
	if err := r.MarkRead(s.j.nick(s.open), id); err != nil {
		s.log.Debug("mark read", "thread", s.open, "err", err)
	}
}

// SetMuted turns notifications off (true) or on.
func (s *Service) SetMuted(muted bool) {
	s.mu.Lock()
	s.muted = muted
	s.mu.Unlock()
}

// SetThreadMuted turns the notifications of one thread (model.Key of the
// peer, model.Everyone for the feed) off (true) or on. Its messages are
// still saved and counted unread; only the system notification is not
// raised. It does not persist anything: the UI remembers muted threads
// with its settings and passes them again to the next Service.
func (s *Service) SetThreadMuted(thread string, muted bool) {
	s.mu.Lock()
	if muted {
		s.mutedT[thread] = true
	} else {
		delete(s.mutedT, thread)
	}
	s.mu.Unlock()
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

// run is the Service's goroutine.
func (s *Service) run() {
	defer close(s.done)
	s.seed()
	coalesce := s.cfg.Coalesce
	if coalesce <= 0 {
		coalesce = DefaultCoalesce
	}
	var (
		evs      []client.Event
		announce *time.Timer // running while presence notices wait
		due      <-chan time.Time
	)
	defer func() {
		if announce != nil {
			announce.Stop()
		}
	}()
	kinder, _ := s.conn.(ServerKinder)
	for {
		evs = s.conn.Poll(evs[:0])
		s.index(evs)
		var kind client.ServerKind
		if kinder != nil {
			kind = kinder.ServerKind() // after Poll: it covers what Poll returned
		}
		s.mu.Lock()
		for _, ev := range evs {
			s.j.apply(ev)
		}
		if kind == client.ServerBase || kind == client.ServerV2 {
			s.j.confirm()
		}
		s.markRead()
		switch waiting := !s.j.pres.empty(); {
		case waiting && due == nil:
			if announce == nil {
				announce = time.NewTimer(coalesce)
			} else {
				announce.Reset(coalesce)
			}
			due = announce.C
		case !waiting && due != nil:
			announce.Stop()
			due = nil
		}
		s.mu.Unlock()
		clear(evs)
		s.compact()
		s.flush()
		s.resolve()
		s.saveBID()
		select {
		case <-s.ctx.Done():
			// Save what arrived until now; what Close itself causes (our
			// own chats ending) is not news to the user.
			evs = s.conn.Poll(evs[:0])
			s.index(evs)
			s.mu.Lock()
			for _, ev := range evs {
				s.j.apply(ev)
			}
			s.j.announce()
			s.j.abandon()
			s.notes = nil // the user closed the session: nothing to notify
			s.mu.Unlock()
			s.flush()
			s.resolve()
			s.saveBID()
			if err := s.conn.Close(); err != nil {
				s.log.Debug("close session", "err", err)
			}
			return
		case <-s.cfg.Signal.c:
		case <-s.kick:
		case <-due:
			due = nil
			s.mu.Lock()
			s.j.announce()
			s.mu.Unlock()
		}
	}
}

// flush writes the queued history writes in one transaction, raises the
// queued notifications, and invalidates the window if Changes wait.
func (s *Service) flush() {
	s.mu.Lock()
	ws, notes, changed := s.writes, s.notes, len(s.queue) > 0
	s.writes, s.notes = nil, nil
	s.mu.Unlock()
	if len(ws) > 0 && s.st != nil {
		if err := s.st.Write(ws); err != nil {
			s.log.Warn("history", "err", err)
		}
	}
	if s.cfg.Notify != nil {
		for _, n := range notes {
			s.cfg.Notify(n[0], n[1])
		}
	}
	if changed {
		s.cfg.Invalidate()
	}
}

// compact replaces the queue for Drain by a snapshot when it holds more
// than MaxQueue Changes (no frame drawn for long: the app is in the
// background), so that it never grows without bound: OpReset, then the
// people online, the newest page of every thread from the history, the
// chats and the invites. Without a Store the queue is left as it is.
func (s *Service) compact() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == nil || len(s.queue) <= max(MaxQueue, s.compactAt) {
		return
	}
	// The history must hold everything the snapshot replaces. This is the
	// one write made under s.mu: the UI is not drawing, so not waiting.
	if ws := s.writes; len(ws) > 0 {
		s.writes = nil
		if err := s.st.Write(ws); err != nil {
			s.log.Warn("history", "err", err)
		}
	}
	threads, err := s.st.Threads()
	if err != nil {
		s.log.Warn("history", "err", err)
		return // keep the queue: better late than wrong
	}
	clear(s.queue)
	s.queue = s.queue[:0]
	j := &s.j
	s.push(model.Change{Op: model.OpReset, Nick: j.me, Text: j.server, Conn: j.conn})
	for key, on := range j.online {
		s.push(model.Change{Op: model.OpPeer, Thread: key, Nick: j.nick(key), Online: on, List: true})
	}
	for _, key := range append([]string{model.Everyone}, threads...) {
		msgs, err := s.st.Load(key, 0, s.cfg.Page)
		if err != nil {
			s.log.Warn("history", "thread", key, "err", err)
			continue
		}
		s.number(key, msgs)
		nick := ""
		if key != model.Everyone {
			nick = j.displayNick(key, msgs)
		}
		s.push(model.Change{Op: model.OpSeed, Thread: key, Nick: nick, Msgs: msgs, More: len(msgs) == s.cfg.Page, Unread: j.unread[key]})
	}
	for _, c := range j.shown {
		s.push(c)
	}
	j.snapshotFiles() // files.go
	j.snapshotKeys()  // keys.go
	ivs := make([]model.Invite, 0, len(j.invites))
	for _, iv := range j.invites {
		ivs = append(ivs, iv)
	}
	slices.SortFunc(ivs, func(a, b model.Invite) int { return a.Since.Compare(b.Since) })
	for _, iv := range ivs {
		s.push(model.Change{Op: model.OpInvite, Invite: iv})
	}
	// A snapshot of many people is long itself: let the queue grow to
	// twice it before the next one.
	s.compactAt = 2 * len(s.queue)
	s.log.Debug("session queue compacted", "threads", len(threads)+1, "changes", len(s.queue))
}

// seed queues the newest page of every thread of the history and the
// people online.
func (s *Service) seed() {
	peers := s.conn.Peers()
	s.mu.Lock()
	for _, p := range peers {
		s.j.nicks[model.Key(p.Nick)] = p.Nick
		s.j.online[model.Key(p.Nick)] = true
		s.push(model.Change{Op: model.OpPeer, Thread: model.Key(p.Nick), Nick: p.Nick, Online: true})
	}
	s.mu.Unlock()
	defer func() {
		// The transfers under way, after the history they follow.
		if f := s.files(); f != nil {
			infos := f.Files()
			s.mu.Lock()
			s.j.seedFiles(infos)
			s.mu.Unlock()
		}
	}()
	if s.st == nil {
		return
	}
	threads, err := s.st.Threads()
	if err != nil {
		s.log.Warn("history", "err", err)
	}
	for _, key := range append([]string{model.Everyone}, threads...) {
		msgs, err := s.Load(key, 0, s.cfg.Page)
		if err != nil {
			s.log.Warn("history", "thread", key, "err", err)
			continue
		}
		s.mu.Lock()
		nick := ""
		if key != model.Everyone {
			nick = s.j.displayNick(key, msgs)
			s.j.seedIn(key, msgs)
		}
		s.push(model.Change{Op: model.OpSeed, Thread: key, Nick: nick, Msgs: msgs, More: len(msgs) == s.cfg.Page})
		s.mu.Unlock()
	}
}

// Load returns up to n messages of thread from the history that come before
// the message numbered beforeSeq (0: the newest n), oldest first, with their
// Key, Seq and Mine set; our messages that were still pending when PeerChat
// last stopped are Failed. The UI calls it off its goroutine to page
// through older messages (then model.Model.Seed). It reads the disk.
func (s *Service) Load(thread string, beforeSeq uint64, n int) ([]model.Message, error) {
	if s.st == nil {
		return nil, nil
	}
	msgs, err := s.st.Load(thread, beforeSeq, n)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.number(thread, msgs)
	s.mu.Unlock()
	return msgs, nil
}

// number gives messages of thread loaded from the history their Key and
// Mine, and fails those of ours that were pending when PeerChat last
// stopped. Ours that the server's mailbox holds (delivery.Stored) are
// followed, so that their delivery, reported in this run, reaches them.
// s.mu is held.
func (s *Service) number(thread string, msgs []model.Message) {
	me := model.Key(s.j.me)
	for i := range msgs {
		m := &msgs[i]
		m.Key = s.j.newKey()
		m.Mine = m.Kind == model.KindText && m.From != "" && model.Key(m.From) == me ||
			m.Kind == model.KindFile && m.File != nil && m.File.Outgoing
		if !m.Mine {
			continue
		}
		switch m.State {
		case delivery.Pending:
			m.State, m.Err = delivery.Failed, "PeerChat stopped before it went out"
		case delivery.Stored:
			if m.ID != 0 && thread != model.Everyone {
				ref := ownRef{thread, m.ID}
				if _, ok := s.j.own[ref]; !ok {
					s.j.own[ref] = &ownMsg{key: m.Key, seq: m.Seq, state: m.State}
				}
			}
		}
	}
}

// maxLookup is how many of a thread's newest messages resolve searches
// for one of ours from an earlier run.
const maxLookup = 4096

// resolve finds in the history our messages from an earlier run that the
// client core's events of the last batch named (journal.lookups), applies
// the events to them, and flushes. It reads the disk, outside s.mu.
func (s *Service) resolve() {
	s.mu.Lock()
	ls, rs, me := s.j.lookups, s.j.reads, s.j.me
	s.j.lookups, s.j.reads = nil, nil
	s.mu.Unlock()
	if len(ls) == 0 && len(rs) == 0 {
		return
	}
	for _, l := range ls {
		var found *model.Message
		if s.st != nil {
			found = s.find(l.thread, l.id, me)
		}
		s.mu.Lock()
		s.j.found(l, found)
		s.mu.Unlock()
	}
	s.flush()
	// After the lookups, whose states (delivered) the receipts follow.
	for _, r := range rs {
		s.readHistory(r, me)
		s.flush()
	}
}

// find returns our message id of thread from the history, among its
// newest maxLookup, or nil.
func (s *Service) find(thread string, id uint64, me string) *model.Message {
	const page = 256
	meKey := model.Key(me)
	var before uint64
	for n := 0; n < maxLookup; n += page {
		msgs, err := s.st.Load(thread, before, page)
		if err != nil {
			s.log.Warn("history", "thread", thread, "err", err)
			return nil
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if m := &msgs[i]; m.ID == id && m.Kind == model.KindText && m.From != "" && model.Key(m.From) == meKey {
				return m
			}
		}
		if len(msgs) < page {
			return nil
		}
		before = msgs[0].Seq
	}
	return nil
}

// readHistory stores delivery.Read for our message r.id of r.thread in
// the history and for every earlier one of ours, by order in the thread,
// that is Sent, Stored or Delivered, among the newest maxLookup messages
// (one read before may follow one that was still on its way, so the scan
// does not stop at it). Those the journal follows are
// dropped from it (the model has OpRead). It reads the disk outside s.mu.
func (s *Service) readHistory(r readRef, me string) {
	if s.st == nil {
		return
	}
	const page = 256
	meKey := model.Key(me)
	var before uint64
	found := false
	var ws []historystore.Write
	var ids []uint64
	for n := 0; n < maxLookup; n += page {
		msgs, err := s.st.Load(r.thread, before, page)
		if err != nil {
			s.log.Warn("history", "thread", r.thread, "err", err)
			break
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			m := &msgs[i]
			if m.Kind != model.KindText || m.From == "" || model.Key(m.From) != meKey {
				continue
			}
			if !found {
				if found = m.ID == r.id; !found {
					continue
				}
			}
			switch m.State {
			case delivery.Sent, delivery.Stored, delivery.Delivered:
				ws = append(ws, historystore.Write{Op: historystore.SetState, Thread: r.thread,
					Msg: model.Message{Seq: m.Seq, ID: m.ID, State: delivery.Read, Mine: true}})
				ids = append(ids, m.ID)
			}
		}
		if len(msgs) < page {
			break
		}
		before = msgs[0].Seq
	}
	s.mu.Lock()
	for _, id := range ids {
		delete(s.j.own, ownRef{r.thread, id})
	}
	s.writes = append(s.writes, ws...)
	// Again, after what the lookups of the batch changed.
	s.push(model.Change{Op: model.OpRead, Thread: r.thread, Msg: model.Message{ID: r.id}})
	s.mu.Unlock()
}

// index loads, before evs are applied, the ids of the messages the
// history holds from the peer of each private thread that evs bring a
// message to, the first time in this run (seenIn). Only run calls it.
func (s *Service) index(evs []client.Event) {
	for _, ev := range evs {
		if ev.Kind != client.EventChatMsg || ev.ID == 0 {
			continue
		}
		nick := ev.Peer
		if nick == "" {
			nick = ev.From
		}
		key := model.Key(nick)
		if s.seenIn[key] != nil {
			continue
		}
		seen := map[uint64]bool{}
		s.seenIn[key] = seen
		if s.st == nil {
			continue
		}
		s.mu.Lock()
		meKey := model.Key(s.j.me)
		s.mu.Unlock()
		const page = 1024
		var before uint64
		for n := 0; n < maxLookup; n += page {
			msgs, err := s.st.Load(key, before, page)
			if err != nil {
				s.log.Warn("history", "thread", key, "err", err)
				break
			}
			for _, m := range msgs {
				if m.Kind == model.KindText && m.ID != 0 && m.From != "" && model.Key(m.From) != meKey {
					seen[m.ID] = true
				}
			}
			if len(msgs) < page {
				break
			}
			before = msgs[0].Seq
		}
	}
}

// saveBID gives Config.SaveBroadcast the newest broadcast id seen, if it
// changed since the last call. Only run's goroutine calls it, after the
// history holds the broadcasts.
func (s *Service) saveBID() {
	if s.cfg.SaveBroadcast == nil {
		return
	}
	s.mu.Lock()
	bid := s.j.lastBID
	s.mu.Unlock()
	if bid != s.savedBID && bid > s.cfg.LastBroadcast {
		s.savedBID = bid
		s.cfg.SaveBroadcast(bid)
	}
}

// LastBroadcast returns the server-wide id of the newest broadcast seen,
// in this run or before (Config.LastBroadcast); 0 for none.
func (s *Service) LastBroadcast() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.j.lastBID
}

// push queues c for Drain. s.mu is held.
func (s *Service) push(c model.Change) { s.queue = append(s.queue, c) }

// write queues w for the history. s.mu is held.
func (s *Service) write(w historystore.Write) {
	if s.st != nil {
		s.writes = append(s.writes, w)
	}
}

// attention queues a notification about thread, under the policy of the
// package doc. s.mu is held.
func (s *Service) attention(thread, title, text string) {
	if s.muted || s.mutedT[thread] || (s.focused && s.openSet && s.open == thread) {
		return
	}
	s.notes = append(s.notes, [2]string{title, text})
}

// Broadcast sends text to everyone: it appears in the feed at once, pending
// until the server's echo (delivered) or failed. It never blocks.
func (s *Service) Broadcast(text string) {
	s.mu.Lock()
	id, err := s.conn.Broadcast(text)
	s.j.outgoing(model.Everyone, text, id, err)
	s.mu.Unlock()
	s.wake()
}

// Send sends text on the private chat of thread: it appears at once,
// pending until the client core reports it sent, delivered or failed. It
// never blocks.
func (s *Service) Send(thread, text string) {
	s.mu.Lock()
	id, err := s.conn.Send(s.j.nick(thread), text)
	s.j.outgoing(thread, text, id, err)
	s.mu.Unlock()
	s.wake()
}

// Retry sends our failed message msg of thread again, in place, and reports
// whether it did (msg must be ours and Failed).
func (s *Service) Retry(thread string, msg model.Message) bool {
	if !msg.Mine || msg.State != delivery.Failed || msg.Kind != model.KindText {
		return false
	}
	s.mu.Lock()
	var id uint64
	var err error
	if thread == model.Everyone {
		id, err = s.conn.Broadcast(msg.Text)
	} else {
		id, err = s.conn.Send(s.j.nick(thread), msg.Text)
	}
	s.j.retry(thread, msg, id, err)
	s.mu.Unlock()
	s.wake()
	return true
}

// Invite asks the peer of thread for a private chat. The client core
// reports the request (the thread shows it) or its failure.
func (s *Service) Invite(thread string) {
	s.mu.Lock()
	if err := s.conn.Invite(s.j.nick(thread)); err != nil {
		s.j.system(thread, "Could not send the chat request: "+err.Error(), time.Time{})
	}
	s.mu.Unlock()
	s.wake()
}

// Accept accepts the chat request of the peer of thread.
func (s *Service) Accept(thread string) {
	s.mu.Lock()
	nick := s.j.nick(thread)
	if err := s.conn.Accept(nick); err != nil {
		// Nothing is under way: the thread must not wait for a chat.
		s.j.dropInvite(thread)
		s.j.chat(thread, client.ChatNone, "", time.Time{})
		s.j.system(thread, "Could not accept the chat request from "+nick+": "+err.Error(), time.Time{})
		s.push(model.Change{Op: model.OpNotice, Text: "Could not accept " + nick + ": " + err.Error()})
	} else {
		s.j.answered(thread, true)
	}
	s.mu.Unlock()
	s.wake()
}

// Decline declines the chat request of the peer of thread.
func (s *Service) Decline(thread string) {
	s.mu.Lock()
	nick := s.j.nick(thread)
	if err := s.conn.Decline(nick); err != nil {
		s.push(model.Change{Op: model.OpNotice, Text: "Could not decline " + nick + ": " + err.Error()})
	}
	s.j.answered(thread, false)
	s.mu.Unlock()
	s.wake()
}

// Leave leaves the private chat of thread; the client core reports it
// closed.
func (s *Service) Leave(thread string) {
	s.mu.Lock()
	if err := s.conn.LeaveChat(s.j.nick(thread)); err != nil {
		s.push(model.Change{Op: model.OpNotice, Text: err.Error()})
	}
	s.mu.Unlock()
	s.wake()
}

// ReconnectNow makes the client core reconnect (or check its link) at once:
// the UI calls it when the window comes back to the foreground.
func (s *Service) ReconnectNow() { s.conn.ReconnectNow() }

// DeleteHistory deletes the history of thread and empties it (OpClear),
// after every write queued before.
func (s *Service) DeleteHistory(thread string) {
	s.mu.Lock()
	s.write(historystore.Write{Op: historystore.Delete, Thread: thread})
	s.push(model.Change{Op: model.OpClear, Thread: thread})
	s.mu.Unlock()
	s.wake()
}

// errText is err's text, or def for nil.
func errText(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}
