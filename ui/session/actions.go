package session

// This file is what the user does with messages: send to the feed or a
// private chat, send a failed message again, delete a thread's history,
// reconnect now.

import (
	"peerchat/core/delivery"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

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
	nick := s.j.nick(thread)
	id, err := s.conn.Send(nick, text)
	if err == nil {
		s.j.sendAsked(thread, nick) // the request line before the message
	}
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

// DeleteHistory deletes the history of thread and empties it (OpClear),
// after every write queued before.
func (s *Service) DeleteHistory(thread string) {
	s.mu.Lock()
	s.write(historystore.Write{Op: historystore.Delete, Thread: thread})
	s.push(model.Change{Op: model.OpClear, Thread: thread})
	s.mu.Unlock()
	s.wake()
}

// ReconnectNow makes the client core reconnect (or check its link) at once:
// the UI calls it when the window comes back to the foreground.
func (s *Service) ReconnectNow() { s.conn.ReconnectNow() }
