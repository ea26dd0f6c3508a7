package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gioui.org/layout"
	"gioui.org/widget"

	"peerchat/core/wire"
	"peerchat/ui/session"
)

// connectScreen asks for a nickname and a server.
type connectScreen struct {
	a *App

	nick, addr   widget.Editor
	connectBtn   widget.Clickable
	hostBtn      widget.Clickable
	cancelBtn    widget.Clickable
	suggestBtn   widget.Clickable
	serverClicks []widget.Clickable
	serverTips   []tipArea // the whole name of a server whose name is cut
	list         widget.List

	// Probing, filled by the probe goroutine.
	mu       sync.Mutex
	found    []Server
	probed   bool // a probe finished at least once
	probeErr error
	stopProb context.CancelFunc

	// Connecting.
	busy       bool
	hosting    bool
	cancelConn context.CancelFunc
	result     chan connectResult
	err        error
	errNick    string
	errServer  string
	suggestion string
}

type connectResult struct {
	sess   Session
	sig    *session.Signal // the session's notify callback is sig.Notify
	err    error
	server string
	nick   string
	last   uint64 // the LastBroadcast the session was dialled with (ReplayBackend)
}

func newConnectScreen(a *App) *connectScreen {
	s := &connectScreen{a: a, result: make(chan connectResult, 1)}
	s.nick.SingleLine, s.nick.Submit = true, true
	s.addr.SingleLine, s.addr.Submit = true, true
	s.list.Axis = layout.Vertical
	nick := a.cfg.Nick
	if nick == "" {
		nick = a.settings.Nick
	}
	s.nick.SetText(nick)
	addr := a.cfg.Server
	if addr == "" {
		addr = a.settings.Server
	}
	s.addr.SetText(addr)
	return s
}

func (s *connectScreen) startProbe() {
	if s.stopProb != nil || s.a.cfg.ProbeEvery < 0 || s.a.cfg.Backend == nil {
		return
	}
	ctx, cancel := context.WithCancel(s.a.ctx)
	s.stopProb = cancel
	every := s.a.cfg.ProbeEvery
	s.a.go_(func(context.Context) {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			found, err := s.a.cfg.Backend.Probe(ctx)
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			s.found, s.probeErr, s.probed = found, err, true
			s.mu.Unlock()
			s.a.cfg.Invalidate()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

func (s *connectScreen) stopProbe() {
	if s.stopProb != nil {
		s.stopProb()
		s.stopProb = nil
	}
}

func (s *connectScreen) CanBack() bool { return s.busy }

// Back cancels a connection attempt.
func (s *connectScreen) Back() { s.cancel() }

func (s *connectScreen) Close() {
	s.stopProbe()
	if s.cancelConn != nil {
		s.cancelConn()
	}
}

func (s *connectScreen) cancel() {
	if s.cancelConn != nil {
		s.cancelConn()
	}
}

// normalizeAddr adds the default port to an address typed without one.
func normalizeAddr(addr string) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort(strings.Trim(addr, "[]"), DefaultServerPort)
	}
	return addr
}

// suggestNick proposes another nickname after nick was taken: nick2, nick3…
func suggestNick(nick string) string {
	i := len(nick)
	for i > 0 && nick[i-1] >= '0' && nick[i-1] <= '9' {
		i--
	}
	n := 2
	if i < len(nick) {
		if v, err := strconv.Atoi(nick[i:]); err == nil && v < 1<<30 {
			n = v + 1
		}
	}
	base, suffix := nick[:i], strconv.Itoa(n)
	for utf8.RuneCountInString(base)+len(suffix) > wire.MaxNickLen {
		_, sz := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-sz]
	}
	return base + suffix
}

// start connects (or hosts) with the nickname and address in the fields.
func (s *connectScreen) start(host bool) {
	nick := strings.TrimSpace(s.nick.Text())
	s.errNick = nick
	if err := wire.ValidateNick(nick); err != nil {
		//lint:ignore ST1005 shown to the user as a sentence, not wrapped further
		s.err = fmt.Errorf("%w.", capitalErr{err})
		return
	}
	addr := normalizeAddr(s.addr.Text())
	if !host && addr == "" {
		s.err = errors.New("enter a server address, pick a server above, or host one on this device")
		return
	}
	if s.a.cfg.Backend == nil {
		s.err = errors.New("no network backend")
		return
	}
	s.err, s.suggestion = nil, ""
	s.busy, s.hosting = true, host
	ctx, cancel := context.WithTimeout(s.a.ctx, DefaultConnectTimeout)
	s.cancelConn = cancel
	inv := s.a.cfg.Invalidate
	be := s.a.cfg.Backend
	marks := s.a.marks
	s.a.go_(func(context.Context) {
		defer cancel()
		sig := session.NewSignal()
		var sess Session
		var err error
		var last uint64
		rb, replay := be.(ReplayBackend)
		switch {
		case host:
			sess, err = be.Host(ctx, nick, sig.Notify)
		case replay:
			last = marks.get(addr) // reads a small file: off the UI goroutine
			sess, err = rb.ConnectSince(ctx, addr, nick, last, sig.Notify)
		default:
			sess, err = be.Connect(ctx, addr, nick, sig.Notify)
		}
		if err == nil && ctx.Err() != nil {
			// Cancelled after success: nobody will take the session.
			sess.Close()
			sess, err = nil, ctx.Err()
		}
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", ErrTimeout, err)
		}
		s.result <- connectResult{sess: sess, sig: sig, err: err, server: addr, nick: nick, last: last}
		inv()
	})
}

func (s *connectScreen) update(gtx C) {
	select {
	case r := <-s.result:
		s.busy = false
		s.cancelConn = nil
		if r.err != nil {
			s.err, s.errNick, s.errServer = r.err, r.nick, r.server
			if errors.Is(r.err, ErrNickTaken) {
				s.suggestion = suggestNick(r.nick)
			}
			break
		}
		s.a.settings.Nick = r.nick
		if !s.hosting {
			s.a.settings.Server = r.server
		}
		s.a.saveSettings()
		s.stopProbe()
		mark := ""
		if !s.hosting {
			mark = r.server
		}
		s.a.push(newChatScreen(s.a, s.a.startSession(r.sess, r.sig, mark, r.last)))
		return
	default:
	}
	for {
		ev, ok := s.nick.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok && !s.busy {
			s.start(false)
		}
		if _, ok := ev.(widget.ChangeEvent); ok && s.err != nil && strings.TrimSpace(s.nick.Text()) != s.errNick {
			s.err, s.suggestion = nil, ""
		}
	}
	for {
		ev, ok := s.addr.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok && !s.busy {
			s.start(false)
		}
	}
	if s.connectBtn.Clicked(gtx) && !s.busy {
		s.start(false)
	}
	if s.hostBtn.Clicked(gtx) && !s.busy {
		s.start(true)
	}
	if s.cancelBtn.Clicked(gtx) {
		s.cancel()
	}
	if s.suggestBtn.Clicked(gtx) && s.suggestion != "" {
		s.nick.SetText(s.suggestion)
		s.start(false)
	}
	s.mu.Lock()
	found := s.found
	s.mu.Unlock()
	for i := range s.serverClicks {
		if i < len(found) && s.serverClicks[i].Clicked(gtx) {
			s.addr.SetText(found[i].Addr)
			if !s.busy {
				s.start(false)
			}
		}
	}
}

// explain turns a connection error into a sentence for people.
func (s *connectScreen) explain() string {
	err := s.err
	addr := s.errServer
	if s.hosting {
		addr = "this device"
	}
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNickTaken):
		return fmt.Sprintf("Someone on %s already uses the nickname “%s”.", addr, s.errNick)
	case errors.Is(err, ErrRefused):
		return fmt.Sprintf("Nothing is accepting connections at %s. Check the address and port, or host a server on this device.", addr)
	case errors.Is(err, ErrTimeout):
		return fmt.Sprintf("%s did not answer in time. Is it on the same network, and is the server running?", addr)
	case errors.Is(err, ErrUnknownHost):
		host, _, _ := net.SplitHostPort(addr)
		if host == "" {
			host = addr
		}
		return fmt.Sprintf("No computer named “%s” was found on the network. Check the address, or pick a server above.", host)
	case errors.Is(err, ErrUnreachable):
		return fmt.Sprintf("Can't reach %s. Is it on the same network, and is the server running?", addr)
	case errors.Is(err, context.Canceled):
		return "Cancelled."
	}
	var nickErr interface{ NickReason() string }
	if errors.As(err, &nickErr) {
		return "The server refused this nickname: " + nickErr.NickReason()
	}
	msg := err.Error()
	if len(msg) > 0 {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg
}

// Layout draws the connect screen (connectview.go).
func (s *connectScreen) Layout(gtx C) D {
	s.update(gtx)
	if s.a.top() != screen(s) {
		return D{Size: gtx.Constraints.Max}
	}
	if s.stopProb == nil && !s.busy {
		s.startProbe()
	}
	return s.layout(gtx)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// capitalErr shows a wrapped error's text capitalised, as a sentence.
type capitalErr struct{ err error }

func (e capitalErr) Error() string { return capital(e.err.Error()) }
func (e capitalErr) Unwrap() error { return e.err }
