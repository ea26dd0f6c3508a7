package ui

import (
	"slices"

	"peerchat/ui/historystore"
	"peerchat/ui/model"
	"peerchat/ui/session"
)

// This file is the seam between the session and the drawing code. The
// session service (package peerchat/ui/session) drains the client core on
// its own goroutine, writes the history and raises notifications, whether
// or not frames are drawn; the UI only applies the model Changes it hands
// over, once per frame, and tells it what the user did and sees. The chat
// screen reaches the service only through chatSession, made by
// App.startSession; no layout code calls Session.Poll, History or
// Platform.Notify.

// chatSession is what the chat screen needs of its session:
// *session.Service. Its methods never block for long (Load excepted, which
// reads the disk and is called off the UI goroutine).
type chatSession interface {
	Nick() string
	ServerAddr() string
	// Drain appends the model Changes queued since the last call to dst.
	Drain(dst []model.Change) []model.Change
	// SetFocused, SetOpen and SetMuted tell the service what its
	// notification policy needs: the window's focus, the thread on screen
	// (shown false: none), the user's setting.
	SetFocused(focused bool)
	SetOpen(thread string, shown bool)
	SetMuted(muted bool)
	// SetThreadMuted turns the notifications of one thread off or on
	// (the thread header's Mute).
	SetThreadMuted(thread string, muted bool)
	// Load returns up to n messages of thread before beforeSeq (0: the newest).
	Load(thread string, beforeSeq uint64, n int) ([]model.Message, error)
	Broadcast(text string)
	Send(thread, text string)
	Retry(thread string, msg model.Message) bool
	Invite(thread string)
	Accept(thread string)
	Decline(thread string)
	Leave(thread string)
	DeleteHistory(thread string)
	ReconnectNow()
	Close() error
	// Identities (verify.go, keychange.go, serverkey.go): see the
	// methods of session.Service.
	Safety(thread string) (number string, verified bool, err error)
	SetVerified(thread string, verified bool) error
	AcceptKey(thread string) error
	AcceptServerKey() error
	// Files (files.go): see the methods of session.Service.
	SendFile(thread, path string)
	AcceptFile(thread, id string)
	DeclineFile(thread, id string)
	CancelFile(thread, id string)
}

// startSession starts the session service over conn, the session that
// Backend returned; sig must be the Signal whose Notify was given to
// Backend as the session's notify callback. The newest broadcast id the
// session sees is kept as the mark of server ("": not kept, a hosted
// server), which conn was dialled with as last (ReplayBackend).
func (a *App) startSession(conn Session, sig *session.Signal, server string, last uint64) chatSession {
	cfg := session.Config{
		Conn:          conn,
		Signal:        sig,
		Invalidate:    a.cfg.Invalidate,
		Muted:         a.settings.MuteNotifications,
		Page:          HistoryPage,
		Logger:        a.log,
		Now:           a.cfg.Now,
		LastBroadcast: last,
		ReadReceipts:  a.settings.ReadReceipts, // as the Backend dialled conn
	}
	if marks, log := a.marks, a.log; server != "" {
		cfg.SaveBroadcast = func(bid uint64) {
			if err := marks.set(server, bid); err != nil {
				log.Warn("broadcast mark", "err", err)
			}
		}
	}
	if a.cfg.History != nil {
		cfg.Store = a.cfg.History
		if h, ok := a.cfg.History.(perServer); ok {
			cfg.Store = h.ForServer(conn.ServerAddr()) // one feed per server
		}
	}
	if p := a.cfg.Platform; p != nil {
		cfg.Notify = p.Notify
	}
	return session.New(cfg)
}

// perServer is a History that keeps one feed per server
// (*historystore.Store): the session of a server gets its view.
type perServer interface {
	ForServer(addr string) *historystore.Store
}

// eventPump brings what the session did since the last frame into the
// model, and tells the session what the frame shows. It is owned by the UI
// goroutine.
type eventPump struct {
	sess    chatSession
	m       *model.Model
	changes []model.Change // reused by frame
	// reset, if set, is called after a drain that held a model.OpReset:
	// what the UI loaded from the history before it is stale.
	reset func()
}

// frame tells the session whether the window has the focus and which
// thread is on screen (shown false: none is), then applies the session's
// pending Changes. It never blocks.
func (p *eventPump) frame(focused bool, open string, shown bool) {
	p.sess.SetFocused(focused)
	p.sess.SetOpen(open, shown)
	p.drain()
}

// drain applies the session's pending Changes to the model, in order: at
// the start of a frame, and after the user's actions so that what they did
// shows in the same frame. It never blocks.
func (p *eventPump) drain() {
	p.changes = p.sess.Drain(p.changes[:0])
	p.m.Apply(p.changes...) // one call: the people list is sorted once
	if p.reset != nil && slices.ContainsFunc(p.changes, func(c model.Change) bool { return c.Op == model.OpReset }) {
		p.reset()
	}
	clear(p.changes)
}
