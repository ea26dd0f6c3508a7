// Package model holds the state of the PeerChat UI: people, threads,
// messages with their delivery state, pending chat requests and the state of
// the server connection. It has no drawing code and no Gio dependency, so it is
// tested on its own; package ui lays it out.
//
// The Model does not interpret the client core's events: the session service
// (package peerchat/ui/session) does, on its own goroutine, and hands the UI
// an ordered list of Changes, which the UI applies with Model.Apply at the
// start of each frame. A Model is owned by one goroutine (the UI's) and is not
// safe for concurrent use.
//
// Threads and people are keyed by the folded nickname (wire.FoldNick), so
// that "Ana" and "ana" are one thread; the nickname as it is shown is a field
// (Thread.Nick, Person.Nick). The broadcast feed is the thread Everyone.
package model

import (
	"slices"
	"strings"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/wire"
)

// Everyone is the thread key of the broadcast feed. Private threads are keyed
// by the peer's folded nickname (Key), which can never be empty.
const Everyone = ""

// Key returns the thread and person key of nick: wire.FoldNick(nick).
func Key(nick string) string { return wire.FoldNick(nick) }

// Kind separates messages from system lines.
type Kind int

// Message kinds.
const (
	KindText   Kind = iota // a message written by a person
	KindSystem             // joined, left, lost, reconnecting: drawn apart from messages
	KindFile               // a file or picture sent or received: see Message.File
)

// Message is one line of a thread.
type Message struct {
	// Key is unique among the messages of one session, stable: use it to
	// key per-message widget state.
	Key  uint64
	Kind Kind
	// From is the sender's nickname (ours for outgoing messages). It is ""
	// for system lines and for a broadcast relayed by a base server, which
	// does not say who sent it (see UnknownSender).
	From  string
	Text  string
	Time  time.Time
	Mine  bool
	State delivery.State
	ID    uint64 // the client's id of our message (chat message or broadcast), 0 otherwise
	Err   string // why a Failed message failed
	Seq   uint64 // the message's number in the history store, 0 while unknown
	// Signature is what the client core found about a broadcast's
	// signature (client.SigNone for everything else).
	Signature client.SigState
	// Away marks a message that came while the user was away: a
	// broadcast or picture the server replayed (client.Event.Missed), or
	// a private message or file the server's mailbox kept
	// (client.RouteMailbox, client.FileInfo.Parked). It is not
	// kept in the history: it matters to the session it arrived in.
	Away bool
	// File describes the file of a KindFile message (nil otherwise). It
	// is replaced whole, never changed in place (OpFile).
	File *File
}

// UnknownSender reports whether m is a message from someone the server did
// not name (a base server's broadcast): draw it as such, never guess.
func (m *Message) UnknownSender() bool { return m.Kind == KindText && !m.Mine && m.From == "" }

// Thread is the broadcast feed or the private conversation with one peer.
type Thread struct {
	Peer     string // the key: Everyone for the feed, else the peer's folded nickname
	Nick     string // the peer's nickname as shown; "" for the feed
	Messages []Message
	Unread   int
	// Missed counts the peer's chat requests that expired unanswered since
	// the user last read the thread (MarkRead clears it).
	Missed   int
	Chat     client.ChatState
	Closed   client.CloseReason // why the last chat ended, "" if none did
	LastSeen time.Time          // time of the newest message, for sorting
	// Expires is when our pending chat request to the peer expires, as the
	// client core reported it (Chat == client.ChatInviting); zero if unknown.
	Expires time.Time
	// More reports that the history store may hold messages older than
	// Messages[0]: load them with the session's Load before Messages[0].Seq.
	More bool
	// Sec is what the thread shows of encryption and of its peer's key.
	Sec Security
	// Route is the path of the open chat (client.RouteDirect or
	// client.RouteRelay); client.RouteNone while no chat is open or when
	// the client core does not say.
	Route client.Route
}

// Name returns how to show the thread's peer: Nick, or the key if no
// nickname is known.
func (t *Thread) Name() string {
	if t.Nick != "" {
		return t.Nick
	}
	return t.Peer
}

// Person is one peer the UI knows about.
type Person struct {
	Key    string // the folded nickname
	Nick   string // as shown
	Online bool
}

// Invite is a chat request waiting for the user's answer.
type Invite struct {
	From    string    // the peer's nickname as shown
	Key     string    // the peer's thread key
	Since   time.Time // when it arrived: Expires.Sub(Since) is its whole lifetime
	Expires time.Time // as the client core reported it (client.Event.Expires)
}

// Lifetime is how long the request was valid when it arrived, which the
// countdown is scaled to: Expires - Since, or wire.DefaultInviteTTL when
// Since is unknown.
func (iv Invite) Lifetime() time.Duration {
	if d := iv.Expires.Sub(iv.Since); !iv.Since.IsZero() && d > 0 {
		return d
	}
	return wire.DefaultInviteTTL
}

// ConnState is the state of the server connection.
type ConnState int

// Connection states.
const (
	Connected    ConnState = iota
	Reconnecting           // the link dropped; the client is retrying
	Lost                   // the server is gone and the client gave up (or does not reconnect)
	// Unconfirmed: registered with a port that has said nothing since
	// (client.ServerUnconfirmed). It may be an older PeerChat server with
	// nobody else in the room, or a service that is not PeerChat and only
	// swallows what it is sent: who is here is not known, and it must not
	// look like an empty room. It becomes Connected once the server speaks.
	Unconfirmed
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

// Op says what a Change does.
type Op uint8

// Change operations. The fields of Change each one uses are listed beside it.
const (
	// OpAdd appends Msg to Thread (Nick names its peer). An incoming
	// message (KindText, not Mine) counts as unread.
	OpAdd Op = iota + 1
	// OpState sets State, Err, ID (and Seq if not 0) of message Msg.Key of
	// Thread or, when Msg.Key is 0, of the message Msg.Seq of Thread (one
	// of ours from an earlier run, found in the history).
	OpState
	// OpSeed puts Msgs, older than what Thread shows, before them; More
	// says whether older ones remain in the history store; Unread of them
	// (the newest) are unread.
	OpSeed
	// OpPeer lists Nick (Thread is its key) as Online or offline; someone
	// not listed who goes offline is listed only if List is set.
	OpPeer
	// OpChat sets the chat state of Thread to Chat (and Closed to Reason,
	// Expires to Time, Route to Route while Chat is client.ChatOpen, else
	// to client.RouteNone). A request of the peer (client.ChatInvited) ended
	// with client.ReasonExpired counts as missed (Thread.Missed) at Time.
	OpChat
	// OpInvite adds Invite, replacing one from the same peer.
	OpInvite
	// OpDropInvite removes the invite from Thread, if any.
	OpDropInvite
	// OpConn sets the connection banner to Conn.
	OpConn
	// OpMe sets Model.Me to Nick and, if Text is not "", Model.Server to Text.
	OpMe
	// OpNotice adds the notice Text.
	OpNotice
	// OpClear empties Thread (its history was deleted).
	OpClear
	// OpReset forgets every thread's messages and chat state, the people
	// and the invites, keeping only each thread's Unread count, and sets
	// Me to Nick, Server to Text and the banner to Conn. The session sends
	// it, followed by the whole state again (OpPeer, OpSeed, OpChat,
	// OpInvite), in place of Changes the UI did not drain for long.
	OpReset
	// OpSecurity sets Thread's Sec to Sec.
	OpSecurity
	// OpServerKey sets Model.ServerKeyChanged to Sec.KeyChanged and
	// Model.Keyed to Sec.Known.
	OpServerKey
	// OpFile sets the File (and State) of the file message Msg.Key of
	// Thread to Msg.File (and Msg.State).
	OpFile
	// OpRead marks our messages of Thread read (delivery.Read): the
	// newest of ours whose ID is Msg.ID and every earlier one of ours, by
	// order in the thread, that is Sent, Stored or Delivered. Nothing
	// changes if no message of ours in Thread has that ID.
	OpRead
)

// Change is one step of the Model, made by the session service and applied
// in order by Model.Apply.
type Change struct {
	Op     Op
	Thread string // a thread key
	Nick   string // the peer's nickname as shown
	Msg    Message
	Msgs   []Message
	More   bool
	Unread int
	Online bool
	List   bool
	Chat   client.ChatState
	Reason client.CloseReason
	Time   time.Time
	Invite Invite
	Conn   Conn
	Text   string
	Sec    Security
	Route  client.Route
}

// Model is the whole UI state.
type Model struct {
	Me      string
	Server  string
	Conn    Conn
	People  []Person // online first, then by key
	Invites []Invite // oldest first
	Notices []Notice // newest last; the UI shows and clears them
	// ServerKeyChanged says that the server proved a key other than the
	// one pinned for it: nothing is sent until the user accepts it.
	ServerKeyChanged bool
	// Keyed says that the session has device identities: private
	// messages to a peer who is away can wait, sealed, on the server.
	Keyed bool

	threads map[string]*Thread
	now     func() time.Time
	meKey   string // Key(meFor), cached: folding costs allocations
	meFor   string

	sorted int            // People[:sorted] is in order
	tail   map[string]int // People[sorted:] by key
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

// Thread returns the thread with key (Everyone for the feed), creating it.
func (m *Model) Thread(key string) *Thread {
	t := m.threads[key]
	if t == nil {
		t = &Thread{Peer: key}
		if i := m.person(key); i >= 0 {
			t.Nick = m.People[i].Nick
		}
		m.threads[key] = t
	}
	return t
}

// Lookup returns the thread with key, or nil.
func (m *Model) Lookup(key string) *Thread { return m.threads[key] }

// insertMax is the most people added in one batch that sortPeople inserts
// one by one rather than sorting the whole list.
const insertMax = 16

// Apply changes the Model by the Changes of the session, in order. Pass
// every Change drained for a frame in one call: the people list is sorted
// once at the end.
func (m *Model) Apply(cs ...Change) {
	for i := range cs {
		m.apply(&cs[i])
	}
	m.sortPeople()
}

func (m *Model) apply(c *Change) {
	switch c.Op {
	case OpAdd:
		t := m.thread(c.Thread, c.Nick)
		msg := c.Msg
		if msg.Time.IsZero() {
			msg.Time = m.now()
		}
		t.Messages = append(t.Messages, msg)
		if msg.Said() {
			t.LastSeen = msg.Time
			if !msg.Mine {
				t.Unread++
			}
		}
	case OpState:
		msg := m.Message(c.Thread, c.Msg.Key)
		if c.Msg.Key == 0 {
			msg = m.messageSeq(c.Thread, c.Msg.Seq)
		}
		if msg != nil {
			msg.State, msg.Err, msg.ID = c.Msg.State, c.Msg.Err, c.Msg.ID
			if c.Msg.Seq != 0 {
				msg.Seq = c.Msg.Seq
			}
		}
	case OpSeed:
		m.seed(c.Thread, c.Nick, c.Msgs, c.More)
		m.Thread(c.Thread).Unread += c.Unread
	case OpReset:
		unread := map[string][2]int{}
		for k, t := range m.threads {
			if t.Unread > 0 || t.Missed > 0 {
				unread[k] = [2]int{t.Unread, t.Missed}
			}
		}
		clear(m.threads)
		for k, n := range unread {
			t := m.Thread(k)
			t.Unread, t.Missed = n[0], n[1]
		}
		m.Thread(Everyone)
		m.People, m.sorted, m.Invites = m.People[:0], 0, nil
		clear(m.tail)
		m.Me, m.Server, m.Conn = c.Nick, c.Text, c.Conn
		m.ServerKeyChanged, m.Keyed = false, false
	case OpPeer:
		m.setPerson(c.Thread, c.Nick, c.Online, c.List)
	case OpChat:
		t := m.thread(c.Thread, c.Nick)
		if t.Chat == client.ChatInvited && c.Chat == client.ChatNone && c.Reason == client.ReasonExpired {
			t.Missed++
			at := c.Time
			if at.IsZero() {
				at = m.now()
			}
			if at.After(t.LastSeen) {
				t.LastSeen = at
			}
			c.Time = time.Time{} // not an expiry of ours
		}
		t.Chat, t.Expires, t.Route = c.Chat, c.Time, client.RouteNone
		if c.Chat == client.ChatOpen {
			t.Closed, t.Route = "", c.Route
		}
		if c.Reason != "" {
			t.Closed = c.Reason
		}
	case OpInvite:
		m.dropInvite(c.Invite.Key)
		m.Invites = append(m.Invites, c.Invite)
		m.thread(c.Invite.Key, c.Invite.From)
	case OpDropInvite:
		m.dropInvite(c.Thread)
	case OpConn:
		m.Conn = c.Conn
	case OpMe:
		if c.Nick != "" {
			m.Me = c.Nick
		}
		if c.Text != "" {
			m.Server = c.Text
		}
	case OpNotice:
		m.Notify(c.Text)
	case OpClear:
		m.Clear(c.Thread)
	case OpSecurity:
		m.thread(c.Thread, c.Nick).Sec = c.Sec
	case OpServerKey:
		m.ServerKeyChanged, m.Keyed = c.Sec.KeyChanged, c.Sec.Known
	case OpFile:
		if msg := m.Message(c.Thread, c.Msg.Key); msg != nil && c.Msg.File != nil {
			msg.File, msg.State = c.Msg.File, c.Msg.State
		}
	case OpRead:
		m.read(c.Thread, c.Msg.ID)
	}
}

// read applies OpRead to thread.
func (m *Model) read(thread string, id uint64) {
	t := m.threads[thread]
	if t == nil || id == 0 {
		return
	}
	found := false
	for i := len(t.Messages) - 1; i >= 0; i-- {
		msg := &t.Messages[i]
		if !msg.Mine || msg.Kind != KindText {
			continue
		}
		if !found {
			found = msg.ID == id
			if !found {
				continue
			}
		}
		switch msg.State {
		case delivery.Sent, delivery.Stored, delivery.Delivered:
			msg.State = delivery.Read
		}
	}
}

// thread returns the thread with key, creating it, and records nick as its
// peer's nickname if not "".
func (m *Model) thread(key, nick string) *Thread {
	t := m.Thread(key)
	if nick != "" && key != Everyone {
		t.Nick = nick
	}
	return t
}

// Seed puts msgs, older than what the thread with key shows (a page of its
// history), before them; more says whether the store holds older ones.
// Seeding a private thread lists its peer, offline until the server says
// otherwise.
func (m *Model) Seed(key, nick string, msgs []Message, more bool) {
	m.seed(key, nick, msgs, more)
	m.sortPeople()
}

func (m *Model) seed(key, nick string, msgs []Message, more bool) {
	t := m.thread(key, nick)
	t.More = more
	if len(msgs) == 0 {
		return
	}
	for _, msg := range msgs {
		if msg.Said() && msg.Time.After(t.LastSeen) {
			t.LastSeen = msg.Time
		}
	}
	t.Messages = append(slices.Clip(msgs), t.Messages...)
	if key != Everyone && m.person(key) < 0 {
		m.setPerson(key, t.Name(), false, true)
	}
}

// Clear empties the thread with key (its history was deleted): no
// messages, nothing unread, nothing more to load. The chat state is kept.
func (m *Model) Clear(key string) {
	if t := m.threads[key]; t != nil {
		t.Messages, t.Unread, t.LastSeen, t.More = nil, 0, time.Time{}, false
	}
}

// Message returns the message with key in thread, or nil.
func (m *Model) Message(thread string, key uint64) *Message {
	t := m.threads[thread]
	if t == nil {
		return nil
	}
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if t.Messages[i].Key == key {
			return &t.Messages[i]
		}
	}
	return nil
}

// messageSeq returns the message numbered seq in the history of thread,
// or nil (also for seq 0).
func (m *Model) messageSeq(thread string, seq uint64) *Message {
	t := m.threads[thread]
	if t == nil || seq == 0 {
		return nil
	}
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if t.Messages[i].Seq == seq {
			return &t.Messages[i]
		}
	}
	return nil
}

// MarkRead clears the unread and missed counts of the thread with key.
func (m *Model) MarkRead(key string) {
	if t := m.threads[key]; t != nil {
		t.Unread, t.Missed = 0, 0
	}
}

func (m *Model) dropInvite(key string) {
	m.Invites = slices.DeleteFunc(m.Invites, func(iv Invite) bool { return iv.Key == key })
}

// Expire stops showing the invites whose time (from the client core's event)
// is up, and reports whether any were dropped. The session reports the
// expiry itself (a system line) when the client core does.
func (m *Model) Expire() bool {
	now := m.now()
	n := len(m.Invites)
	m.Invites = slices.DeleteFunc(m.Invites, func(iv Invite) bool { return !now.Before(iv.Expires) })
	return len(m.Invites) != n
}

// Notify adds a transient notice.
func (m *Model) Notify(text string) {
	m.Notices = append(m.Notices, Notice{Text: text, Time: m.now()})
	if len(m.Notices) > maxNotices {
		m.Notices = m.Notices[len(m.Notices)-maxNotices:]
	}
}

const maxNotices = 3

// Threads returns the private threads, most recent first.
func (m *Model) Threads() []*Thread {
	var ts []*Thread
	for k, t := range m.threads {
		if k != Everyone {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b *Thread) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return strings.Compare(a.Peer, b.Peer)
	})
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

// UnreadPrivate is the number of unread messages and missed chat requests
// in the private threads: what the window title counts. The feed's unread
// broadcasts show on its own row only, so that a busy feed does not hide a
// private message.
func (m *Model) UnreadPrivate() int {
	n := 0
	for k, t := range m.threads {
		if k != Everyone {
			n += t.Unread + t.Missed
		}
	}
	return n
}
