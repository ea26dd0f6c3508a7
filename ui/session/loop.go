package session

// This file is the Service's goroutine: it polls the client core, applies
// each batch of events through the journal, writes the history, raises the
// notifications, and replaces an undrained queue by a snapshot (compact).

import (
	"slices"
	"time"

	"peerchat/core/client"
	"peerchat/ui/model"
)

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
