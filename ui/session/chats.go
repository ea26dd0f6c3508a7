package session

// This file is private chats and their requests: the user's Invite,
// Accept, Decline and Leave (which cancels our request while it waits),
// and the journal's record of each chat's state and of the requests.

import (
	"fmt"
	"time"

	"peerchat/core/client"
	"peerchat/ui/model"
)

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

// Leave leaves the private chat of thread, or cancels our chat request
// that waits for its peer; the client core reports it closed.
func (s *Service) Leave(thread string) {
	s.mu.Lock()
	if err := s.conn.LeaveChat(s.j.nick(thread)); err != nil {
		s.push(model.Change{Op: model.OpNotice, Text: err.Error()})
	}
	s.mu.Unlock()
	s.wake()
}

// requestSent is the line a thread shows once our chat request went to
// nick.
func requestSent(nick string) string { return "Chat request sent to " + nick + "." }

// sendAsked adds, before our message to nick that the client core just
// took, the line that says a chat request went out, when the message made
// one: the thread had no chat open or asked for, and the client core now
// asks (Chats). The EventInviting that follows only sets the chat's
// expiry.
func (j *journal) sendAsked(thread, nick string) {
	if thread == model.Everyone || j.chats[thread] != client.ChatNone {
		return
	}
	c, ok := j.s.conn.(Chats)
	if !ok || c.Chat(nick) != client.ChatInviting {
		return
	}
	j.asked[thread] = true
	j.chat(thread, client.ChatInviting, "", time.Time{})
	j.system(thread, requestSent(nick), time.Time{}) // the thread shows the wait, not this line
}

func (j *journal) chat(thread string, st client.ChatState, reason client.CloseReason, expires time.Time) {
	if st == client.ChatNone {
		delete(j.chats, thread)
	} else {
		j.chats[thread] = st
	}
	c := model.Change{Op: model.OpChat, Thread: thread, Nick: j.nick(thread), Chat: st, Reason: reason, Time: expires}
	if st == client.ChatOpen {
		c.Route = j.routes[thread]
	} else {
		delete(j.routes, thread)
	}
	j.shown[thread] = c
	j.s.push(c)
}

func (j *journal) dropInvite(thread string) {
	if _, ok := j.invites[thread]; ok {
		delete(j.invites, thread)
		j.s.push(model.Change{Op: model.OpDropInvite, Thread: thread})
	}
}

// answered records that the user accepted or declined the request of thread.
func (j *journal) answered(thread string, accepted bool) {
	j.dropInvite(thread)
	nick := j.nick(thread)
	if accepted {
		j.chat(thread, client.ChatInviting, "", time.Time{})
		j.system(thread, "You accepted the chat request from "+nick+".", time.Time{}) // the thread shows the wait
	} else {
		j.chat(thread, client.ChatNone, "", time.Time{})
		j.system(thread, "You declined the chat request from "+nick+".", time.Time{})
	}
}

func closedText(peer string, r client.CloseReason) string {
	switch r {
	case client.ReasonLeft:
		return peer + " left the chat"
	case client.ReasonLost:
		return "Connection to " + peer + " lost"
	case client.ReasonDeclined:
		return peer + " declined your chat request"
	case client.ReasonExpired:
		return peer + " did not answer your chat request"
	case client.ReasonClosed:
		return "You left the chat"
	}
	return fmt.Sprintf("Chat with %s ended (%s)", peer, r)
}
