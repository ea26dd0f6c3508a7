// Package model holds the state of the PeerChat UI: people, threads,
// messages with their delivery state, pending chat requests and the state of
// the server connection. It has no drawing code and no Gio dependency, so it is
// tested on its own; package ui lays it out.
//
// A Model is owned by one goroutine (the UI's) and is not safe for concurrent
// use. It changes only through Apply (events from the client core) and the
// methods that record what the user did.
package model

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"peerchat/core/client"
	"peerchat/core/wire"
)

// Everyone is the thread key of the broadcast feed. Private threads are keyed
// by the peer's nickname, which can never be empty.
const Everyone = ""

// Delivery is the delivery state of a message.
type Delivery int

// Delivery states.
const (
	Received  Delivery = iota // someone else's message
	Sending                   // ours, not yet confirmed
	Sent                      // ours, accepted by the transport (no acknowledgement from a base peer)
	Delivered                 // ours, confirmed by the server's echo or the peer's acknowledgement
	Failed                    // ours, not delivered and not retried
)

// Kind separates messages from system lines.
type Kind int

// Message kinds.
const (
	KindText   Kind = iota // a message written by a person
	KindSystem             // joined, left, lost, reconnecting: drawn apart from messages
)

// Message is one line of a thread.
type Message struct {
	Key   uint64 // unique within the Model, stable: use it to key per-message widget state
	Kind  Kind
	From  string // the sender's nickname (ours for outgoing messages)
	Text  string
	Time  time.Time
	Mine  bool
	State Delivery
	ID    uint64 // the client's message id for private messages, 0 otherwise
	Err   string // why a Failed message failed
	Seq   uint64 // the message's number in the history store, 0 if it came from none
}

// ChatState is the state of a private chat as the UI shows it.
type ChatState int

// Chat states.
const (
	ChatNone     ChatState = iota // no chat: the thread offers to request one
	ChatInviting                  // we asked the peer and wait
	ChatInvited                   // the peer asked us (an Invite is pending)
	ChatOpen                      // messages can be sent
)

// Thread is the broadcast feed or the private conversation with one peer.
type Thread struct {
	Peer     string // Everyone for the broadcast feed
	Messages []Message
	Unread   int
	Chat     ChatState
	Closed   client.CloseReason // why the last chat ended, "" if none did
	LastSeen time.Time          // time of the newest message, for sorting
}

// Person is one peer the UI knows about.
type Person struct {
	Nick   string
	Online bool
}

// Invite is a chat request waiting for the user's answer.
type Invite struct {
	From    string
	Expires time.Time
}

// ConnState is the state of the server connection.
type ConnState int

// Connection states.
const (
	Connected    ConnState = iota
	Reconnecting           // the link dropped; the client is retrying
	Lost                   // the server is gone and the client gave up (or does not reconnect)
)

// Conn is what the connection banner shows.
type Conn struct {
	State   ConnState
	Attempt int
	RetryAt time.Time
	Err     string
}

// Notice is a transient error or information line for the user.
type Notice struct {
	Text string
	Time time.Time
}

// Model is the whole UI state.
type Model struct {
	Me      string
	Server  string
	Conn    Conn
	People  []Person // sorted by folded nickname
	Invites []Invite // oldest first
	Notices []Notice // newest last; the UI shows and clears them

	// OnAdd and OnChange, if set, are called after a message is added to a
	// thread or its delivery state changes (to keep a history in step).
	OnAdd    func(peer string, m Message)
	OnChange func(peer string, m Message)

	threads map[string]*Thread
	nextKey uint64
	now     func() time.Time
}

// New returns an empty Model for user me on server. now is the clock (nil means time.Now).
func New(me, server string, now func() time.Time) *Model {
	if now == nil {
		now = time.Now
	}
	m := &Model{Me: me, Server: server, threads: map[string]*Thread{}, now: now}
	m.Thread(Everyone)
	return m
}

// Now returns the Model's clock reading.
func (m *Model) Now() time.Time { return m.now() }

// Thread returns the thread with peer (Everyone for the feed), creating it.
func (m *Model) Thread(peer string) *Thread {
	t := m.threads[peer]
	if t == nil {
		t = &Thread{Peer: peer}
		m.threads[peer] = t
	}
	return t
}

// Lookup returns the thread with peer, or nil.
func (m *Model) Lookup(peer string) *Thread { return m.threads[peer] }

// SetPeers replaces the people list with the given online nicknames; people
// with a thread stay listed, offline.
func (m *Model) SetPeers(nicks []string) {
	online := map[string]bool{}
	for _, n := range nicks {
		online[n] = true
	}
	for i := range m.People {
		m.People[i].Online = online[m.People[i].Nick]
		delete(online, m.People[i].Nick)
	}
	for n := range online {
		if n != m.Me {
			m.People = append(m.People, Person{Nick: n, Online: true})
		}
	}
	m.sortPeople()
}

func (m *Model) sortPeople() {
	slices.SortFunc(m.People, func(a, b Person) int {
		if a.Online != b.Online {
			if a.Online {
				return -1
			}
			return 1
		}
		return strings.Compare(wire.FoldNick(a.Nick), wire.FoldNick(b.Nick))
	})
}

func (m *Model) person(nick string) int {
	for i, p := range m.People {
		if p.Nick == nick {
			return i
		}
	}
	return -1
}

func (m *Model) setOnline(nick string, on bool) {
	if nick == m.Me || nick == "" {
		return
	}
	if i := m.person(nick); i >= 0 {
		m.People[i].Online = on
	} else if on {
		m.People = append(m.People, Person{Nick: nick, Online: true})
	}
	m.sortPeople()
}

// Online reports whether nick is listed online.
func (m *Model) Online(nick string) bool {
	i := m.person(nick)
	return i >= 0 && m.People[i].Online
}

func (m *Model) add(peer string, msg Message) *Message {
	m.nextKey++
	msg.Key = m.nextKey
	if msg.Time.IsZero() {
		msg.Time = m.now()
	}
	t := m.Thread(peer)
	t.Messages = append(t.Messages, msg)
	if msg.Kind == KindText {
		t.LastSeen = msg.Time
	}
	if m.OnAdd != nil {
		m.OnAdd(peer, msg)
	}
	return &t.Messages[len(t.Messages)-1]
}

func (m *Model) changed(peer string, msg *Message) {
	if m.OnChange != nil {
		m.OnChange(peer, *msg)
	}
}

// Seed puts messages from an earlier run before the thread's messages. Our
// messages that were still being sent are marked failed. Seeding a private
// thread lists its peer (offline until the server says otherwise). OnAdd is
// not called.
func (m *Model) Seed(peer string, msgs []Message) {
	if len(msgs) == 0 {
		return
	}
	t := m.Thread(peer)
	old := make([]Message, 0, len(msgs)+len(t.Messages))
	for _, msg := range msgs {
		m.nextKey++
		msg.Key = m.nextKey
		if msg.Mine && msg.State == Sending {
			msg.State = Failed
			msg.Err = "PeerChat closed before it was sent"
		}
		if msg.Kind == KindText && msg.Time.After(t.LastSeen) {
			t.LastSeen = msg.Time
		}
		old = append(old, msg)
	}
	t.Messages = append(old, t.Messages...)
	if peer != Everyone && m.person(peer) < 0 && peer != m.Me {
		m.People = append(m.People, Person{Nick: peer})
		m.sortPeople()
	}
}

// Clear empties the thread with peer (its history was deleted): no
// messages, nothing unread. The chat state is kept.
func (m *Model) Clear(peer string) {
	if t := m.threads[peer]; t != nil {
		t.Messages, t.Unread, t.LastSeen = nil, 0, time.Time{}
	}
}

// System appends a system line to the thread with peer.
func (m *Model) System(peer, text string) {
	m.add(peer, Message{Kind: KindSystem, Text: text})
}

// systemAt appends a system line dated at (now if zero).
func (m *Model) systemAt(peer, text string, at time.Time) {
	m.add(peer, Message{Kind: KindSystem, Text: text, Time: at})
}

// Incoming appends a message from someone else and counts it unread.
func (m *Model) Incoming(peer, from, text string, at time.Time) {
	m.add(peer, Message{From: from, Text: text, Time: at})
	m.Thread(peer).Unread++
}

// Outgoing records a message the user is sending on thread peer and returns
// its Key. Record the transport's answer with Sent or Fail.
func (m *Model) Outgoing(peer, text string) uint64 {
	return m.add(peer, Message{From: m.Me, Text: text, Mine: true, State: Sending}).Key
}

// Sent records that message key went out with the client's id (0 if none).
func (m *Model) Sent(peer string, key, id uint64) {
	if msg := m.find(peer, func(x *Message) bool { return x.Key == key }); msg != nil {
		msg.ID = id
		if peer != Everyone && msg.State == Sending {
			msg.State = Sent
			m.changed(peer, msg)
		}
	}
}

// Fail marks message key as failed with err.
func (m *Model) Fail(peer string, key uint64, err error) {
	if msg := m.find(peer, func(x *Message) bool { return x.Key == key }); msg != nil {
		msg.State = Failed
		if err != nil {
			msg.Err = err.Error()
		}
		m.changed(peer, msg)
	}
}

// Message returns the message with key in thread peer, or nil.
func (m *Model) Message(peer string, key uint64) *Message {
	return m.find(peer, func(x *Message) bool { return x.Key == key })
}

// Resend marks our failed message key as sending again, in place, and
// returns its text; ok is false if there is no such failed message.
func (m *Model) Resend(peer string, key uint64) (text string, ok bool) {
	msg := m.Message(peer, key)
	if msg == nil || !msg.Mine || msg.State != Failed {
		return "", false
	}
	msg.State, msg.Err = Sending, ""
	m.changed(peer, msg)
	return msg.Text, true
}

func (m *Model) find(peer string, f func(*Message) bool) *Message {
	t := m.threads[peer]
	if t == nil {
		return nil
	}
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if f(&t.Messages[i]) {
			return &t.Messages[i]
		}
	}
	return nil
}

// MarkRead clears the unread count of thread peer.
func (m *Model) MarkRead(peer string) {
	if t := m.threads[peer]; t != nil {
		t.Unread = 0
	}
}

// Inviting records that the user asked peer for a chat.
func (m *Model) Inviting(peer string) {
	t := m.Thread(peer)
	t.Chat = ChatInviting
	m.System(peer, "Chat request sent to "+peer+"…")
}

// Answered removes the pending invite from peer (the user accepted or declined).
func (m *Model) Answered(peer string, accepted bool) {
	m.dropInvite(peer)
	t := m.Thread(peer)
	if accepted {
		t.Chat = ChatInviting
		m.System(peer, "Accepted. Connecting to "+peer+"…")
	} else {
		t.Chat = ChatNone
		m.System(peer, "You declined the chat request from "+peer+".")
	}
}

func (m *Model) dropInvite(peer string) {
	m.Invites = slices.DeleteFunc(m.Invites, func(iv Invite) bool { return iv.From == peer })
}

// Expire drops invites whose time is up and reports whether any were dropped.
func (m *Model) Expire() bool {
	now := m.now()
	n := len(m.Invites)
	for _, iv := range m.Invites {
		if !now.Before(iv.Expires) {
			m.expired(iv.From)
		}
	}
	m.Invites = slices.DeleteFunc(m.Invites, func(iv Invite) bool { return !now.Before(iv.Expires) })
	return len(m.Invites) != n
}

func (m *Model) expired(peer string) {
	if t := m.threads[peer]; t != nil && t.Chat == ChatInvited {
		t.Chat = ChatNone
	}
	m.System(peer, "The chat request from "+peer+" expired.")
}

// Notify adds a transient notice.
func (m *Model) Notify(text string) {
	m.Notices = append(m.Notices, Notice{Text: text, Time: m.now()})
	if len(m.Notices) > maxNotices {
		m.Notices = m.Notices[len(m.Notices)-maxNotices:]
	}
}

const maxNotices = 3

// Apply changes the Model by one event of the client core. It returns the
// thread the event concerns and whether it deserves the user's attention
// (a message or request from someone else), for notifications.
func (m *Model) Apply(ev client.Event) (thread string, attention bool) {
	at := ev.Time
	switch ev.Kind {
	case client.EventRegistered:
		if ev.Peer != "" {
			m.Me = ev.Peer
		}
		if ev.Text != "" {
			m.Server = ev.Text
		}
		m.Conn = Conn{State: Connected}
	case client.EventPeerJoined:
		m.setOnline(ev.Peer, true)
		m.add(Everyone, Message{Kind: KindSystem, Text: ev.Peer + " joined", Time: at})
	case client.EventPeerLeft:
		m.setOnline(ev.Peer, false)
		m.add(Everyone, Message{Kind: KindSystem, Text: ev.Peer + " left", Time: at})
		if t := m.threads[ev.Peer]; t != nil && t.Chat != ChatNone {
			m.System(ev.Peer, ev.Peer+" went offline")
		}
	case client.EventBroadcast:
		from, text := ev.From, ev.Text
		if from == "" {
			// A base server names nobody: "<sender>: <text>" is the convention.
			if i := strings.Index(text, ": "); i > 0 && wire.ValidateNick(text[:i]) == nil {
				from, text = text[:i], text[i+2:]
			}
		}
		if (from == m.Me || from == "") && (m.confirmBroadcast(text) || m.confirmBroadcast(ev.Text)) {
			return Everyone, false
		}
		if from == m.Me {
			// Our own broadcast from before a reconnect or another session.
			m.add(Everyone, Message{From: m.Me, Text: text, Time: at, Mine: true, State: Delivered})
			return Everyone, false
		}
		m.Incoming(Everyone, from, text, at)
		return Everyone, true
	case client.EventInvite:
		m.dropInvite(ev.From)
		m.Invites = append(m.Invites, Invite{From: ev.From, Expires: ev.Expires})
		m.Thread(ev.From).Chat = ChatInvited
		return ev.From, true
	case client.EventInviteExpired:
		for _, iv := range m.Invites {
			if iv.From == ev.From {
				m.expired(ev.From)
			}
		}
		m.dropInvite(ev.From)
	case client.EventChatOpen:
		t := m.Thread(ev.Peer)
		t.Chat = ChatOpen
		t.Closed = ""
		m.dropInvite(ev.Peer)
		m.systemAt(ev.Peer, "Private chat with "+ev.Peer+" is open", at)
	case client.EventChatMsg:
		peer := ev.Peer
		if peer == "" {
			peer = ev.From
		}
		from := ev.From
		if from == "" {
			from = peer
		}
		m.Incoming(peer, from, ev.Text, at)
		if t := m.Thread(peer); t.Chat != ChatOpen {
			t.Chat = ChatOpen
		}
		return peer, true
	case client.EventDelivered:
		if msg := m.find(ev.Peer, func(x *Message) bool { return x.Mine && x.ID == ev.ID }); msg != nil {
			msg.State = Delivered
			m.changed(ev.Peer, msg)
		}
	case client.EventSendFailed:
		msg := m.find(ev.Peer, func(x *Message) bool { return x.Mine && x.ID == ev.ID && x.State != Failed })
		if msg == nil {
			msg = m.add(ev.Peer, Message{From: m.Me, Text: ev.Text, Mine: true, ID: ev.ID})
		}
		msg.State = Failed
		msg.Err = errText(ev.Err, "not delivered")
		m.changed(ev.Peer, msg)
	case client.EventChatClosed:
		t := m.Thread(ev.Peer)
		t.Chat = ChatNone
		t.Closed = ev.Reason
		m.dropInvite(ev.Peer)
		m.systemAt(ev.Peer, closedText(ev.Peer, ev.Reason), at)
		return ev.Peer, ev.Reason == client.ReasonLost
	case client.EventServerLost:
		m.Conn = Conn{State: Lost, Err: errText(ev.Err, "connection closed")}
		m.System(Everyone, "Connection to the server lost")
	case client.EventReconnecting:
		m.Conn = Conn{State: Reconnecting, Attempt: ev.Attempt, RetryAt: m.now().Add(ev.RetryIn), Err: errText(ev.Err, "")}
		if ev.Attempt <= 1 {
			m.System(Everyone, "Reconnecting…")
		}
	case client.EventReconnected:
		m.Conn = Conn{State: Connected}
		if ev.Text != "" {
			m.Server = ev.Text
		}
		m.System(Everyone, "Reconnected")
	case client.EventError:
		text := errText(ev.Err, "error")
		if ev.Peer != "" {
			m.System(ev.Peer, "Error: "+text)
		}
		m.Notify(text)
	}
	return "", false
}

// confirmBroadcast marks our oldest unconfirmed broadcast with text delivered.
func (m *Model) confirmBroadcast(text string) bool {
	t := m.Thread(Everyone)
	for i := range t.Messages {
		x := &t.Messages[i]
		if x.Mine && x.State == Sending && x.Text == text {
			x.State = Delivered
			m.changed(Everyone, x)
			return true
		}
	}
	return false
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

func errText(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}

// Threads returns the private threads, most recent first.
func (m *Model) Threads() []*Thread {
	var ts []*Thread
	for k, t := range m.threads {
		if k != Everyone {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b *Thread) int { return b.LastSeen.Compare(a.LastSeen) })
	return ts
}

// UnreadTotal is the number of unread messages in all threads.
func (m *Model) UnreadTotal() int {
	n := 0
	for _, t := range m.threads {
		n += t.Unread
	}
	return n
}
