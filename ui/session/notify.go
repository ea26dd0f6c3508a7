package session

// This file is what the UI tells the Service of the user's attention (the
// focused window, the open thread, muted threads), the notifications it
// raises under that policy (attention), and the read receipts it sends
// (markRead).

import (
	"peerchat/ui/model"
)

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

// attention queues a notification about thread, under the policy of the
// package doc. s.mu is held.
func (s *Service) attention(thread, title, text string) {
	if s.muted || s.mutedT[thread] || (s.focused && s.openSet && s.open == thread) {
		return
	}
	s.notes = append(s.notes, [2]string{title, text})
}
