package session

// This file is the Service's reading of the history: the first page of
// every thread at start (seed), older pages (Load), our messages of an
// earlier run that events name (resolve, find, readHistory), and the ids
// of the peers' messages it holds (index); write queues what run writes.

import (
	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

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

// write queues w for the history. s.mu is held.
func (s *Service) write(w historystore.Write) {
	if s.st != nil {
		s.writes = append(s.writes, w)
	}
}
