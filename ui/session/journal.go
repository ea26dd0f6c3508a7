package session

// This file is the journal: it turns each event of the client core and
// each action of the user into model Changes, history writes and
// notifications, and follows our messages until their delivery is final.

import (
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// journal turns the client core's events and the user's actions into model
// Changes, history writes and notifications. It keeps only what that needs:
// the state of each chat, the invites waiting, our messages whose delivery
// state can still change. It belongs to a Service and is guarded by its mu.
type journal struct {
	s       *Service
	me      string
	nextKey uint64
	nicks   map[string]string           // thread key → nickname as shown
	chats   map[string]client.ChatState // thread key → chat state, absent: ChatNone
	invites map[string]model.Invite     // the requests waiting for our answer, by thread key
	// asked holds the threads whose "Chat request sent" line our Send
	// wrote before its message (sendAsked): their EventInviting adds none.
	asked map[string]bool
	own   map[ownRef]*ownMsg // our chat messages and broadcasts that are not final

	// What a snapshot (see Service.compact) needs besides the history.
	server string
	conn   model.Conn
	online map[string]bool         // thread keys of the people listed → online
	shown  map[string]model.Change // thread key → its last OpChat
	unread map[string]int          // incoming messages per thread queued since the last Drain

	// Presence notices (joined, left) wait in pres to be announced as one
	// line (see presence.go); listUntil ends the server's first peer list.
	pres      presence
	listUntil time.Time

	// Identities (keys.go): what each thread shows of encryption and keys,
	// whether a changed server key waits, whether the Conn has keys.
	sec        map[string]model.Security
	srvChanged bool
	keyed      bool

	// Relay, mailbox and replay (issue 11): the path of each open chat,
	// the newest broadcast id seen (client.Event.BID), and the events
	// about our messages from an earlier run, which the Service looks up
	// in the history (Service.resolve).
	routes  map[string]client.Route
	lastBID uint64
	lookups []lookup

	// Read receipts: the newest id of a message from the peer of each
	// private thread, the last one given to MarkRead, and the receipts
	// (client.EventRead) whose messages the Service marks read in the
	// history after the batch (Service.readHistory).
	lastIn map[string]uint64
	marked map[string]uint64
	reads  []readRef

	// Files (files.go): the transfers not ended, and those that ended
	// here (declined, cancelled, done), whose late events are dropped.
	files map[fileRef]*fileMsg
	ended map[fileRef]bool
}

// lookup is an event about one of our messages that the journal does not
// know: sent in an earlier run (a message the server's mailbox kept), it
// is found in the history by its id.
type lookup struct {
	thread string
	id     uint64
	state  delivery.State
	err    string
	text   string // of a failure, to show it if the message is not found
}

// readRef is a read receipt: our message id of thread and every earlier
// one were read.
type readRef struct {
	thread string
	id     uint64
}

// ownRef names one of our messages as the client core does: the thread
// (model.Everyone for broadcasts) and the client's id.
type ownRef struct {
	thread string
	id     uint64
}

type ownMsg struct {
	key   uint64
	seq   uint64 // the history's, when it was loaded from there (a retry)
	state delivery.State
}

func (j *journal) init(s *Service, me string) {
	j.s, j.me = s, me
	j.nicks = map[string]string{}
	j.chats = map[string]client.ChatState{}
	j.invites = map[string]model.Invite{}
	j.asked = map[string]bool{}
	j.online = map[string]bool{}
	j.shown = map[string]model.Change{}
	j.unread = map[string]int{}
	j.own = map[ownRef]*ownMsg{}
	j.sec = map[string]model.Security{}
	j.routes = map[string]client.Route{}
	j.files = map[fileRef]*fileMsg{}
	j.ended = map[fileRef]bool{}
	j.lastIn = map[string]uint64{}
	j.marked = map[string]uint64{}
	j.lastBID = s.cfg.LastBroadcast
	_, j.keyed = s.conn.(Keys)
	if j.keyed {
		j.serverKey(false) // tells the model that the session has identities
	}
}

// when is at, or the Service's clock reading if at is zero.
func (j *journal) when(at time.Time) time.Time {
	if at.IsZero() {
		return j.s.now()
	}
	return at
}

// announce adds the presence notices waiting as one line of the feed.
func (j *journal) announce() {
	text, at := j.pres.text(), j.pres.last
	j.pres = presence{}
	if text != "" {
		j.system(model.Everyone, text, at)
	}
}

func (j *journal) newKey() uint64 {
	j.nextKey++
	return j.nextKey
}

// nick returns how to name the peer of thread to the client core and the
// user: as last seen, or the key itself.
func (j *journal) nick(thread string) string {
	if n, ok := j.nicks[thread]; ok {
		return n
	}
	return thread
}

// displayNick is how to show the peer of a thread found in the history: as
// the peer online now, or as they last wrote, or the key.
func (j *journal) displayNick(key string, msgs []model.Message) string {
	if n, ok := j.nicks[key]; ok {
		return n
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Said() && !m.Mine && m.From != "" && model.Key(m.From) == key {
			return m.From
		}
	}
	return key
}

// peer records nick as the way to show its thread and returns the key.
func (j *journal) peer(nick string) string {
	key := model.Key(nick)
	if nick != "" {
		j.nicks[key] = nick
	}
	return key
}

// add appends msg to thread: a Change, and a history write. Presence
// notices waiting to be announced come first.
func (j *journal) add(thread string, msg model.Message) model.Message {
	msg = j.show(thread, msg)
	j.s.write(historystore.Write{Op: historystore.Append, Thread: thread, Msg: msg})
	return msg
}

// show appends msg to thread in the model only (a file whose transfer
// has not ended: see files.go), as add does.
func (j *journal) show(thread string, msg model.Message) model.Message {
	if thread == model.Everyone && !j.pres.empty() {
		j.announce()
	}
	msg.Key = j.newKey()
	if msg.Time.IsZero() {
		msg.Time = j.s.now()
	}
	nick := ""
	if thread != model.Everyone {
		nick = j.nick(thread)
	}
	j.s.push(model.Change{Op: model.OpAdd, Thread: thread, Nick: nick, Msg: msg})
	if msg.Said() && !msg.Mine {
		j.unread[thread]++
	}
	return msg
}

// system appends a system line to thread.
func (j *journal) system(thread, text string, at time.Time) {
	j.add(thread, model.Message{Kind: model.KindSystem, Text: text, Time: at})
}

// setState moves our message o of thread to st (with err for Failed).
func (j *journal) setState(thread string, ref ownRef, o *ownMsg, st delivery.State, err string) {
	o.state = st
	msg := model.Message{Key: o.key, Seq: o.seq, ID: ref.id, State: st, Err: err, Mine: true}
	j.s.push(model.Change{Op: model.OpState, Thread: thread, Msg: msg})
	j.s.write(historystore.Write{Op: historystore.SetState, Thread: thread, Msg: msg})
	if st.Final() && (st != delivery.Delivered || !j.s.cfg.ReadReceipts || ref.thread == model.Everyone) {
		delete(j.own, ref)
	}
}

// before reports whether our message a comes before b in their thread:
// those loaded from the history (Seq known) come first, by Seq, then
// those of this run, by Key.
func (a *ownMsg) before(b *ownMsg) bool {
	switch {
	case a.seq != 0 && b.seq != 0:
		return a.seq < b.seq
	case a.seq != 0 || b.seq != 0:
		return a.seq != 0
	}
	return a.key < b.key
}

// read applies a read receipt of the peer of thread: our message id and
// every earlier one were read. The model marks them by their order
// (model.OpRead, after the batch with a Store); the messages the journal follows at or before id are
// read, and no longer followed; the history is written after the batch
// (Service.readHistory), with the messages this run does not follow.
func (j *journal) read(thread string, id uint64) {
	if id == 0 || thread == model.Everyone {
		return
	}
	if j.s.st == nil {
		j.s.push(model.Change{Op: model.OpRead, Thread: thread, Msg: model.Message{ID: id}})
	} // else pushed by Service.readHistory, after the lookups of the batch
	if last := j.own[ownRef{thread, id}]; last != nil {
		for ref, o := range j.own {
			if ref.thread != thread || (o != last && !o.before(last)) {
				continue
			}
			switch o.state {
			case delivery.Sent, delivery.Stored, delivery.Delivered:
				o.state = delivery.Read
				delete(j.own, ref)
			}
		}
	}
	j.reads = append(j.reads, readRef{thread, id})
}

// seedIn records the newest message with an id from the peer of thread
// among msgs, loaded from the history, as the one to mark read when the
// user sees the thread (it may have come while nobody looked).
func (j *journal) seedIn(thread string, msgs []model.Message) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Kind == model.KindText && !m.Mine && m.ID != 0 && m.From != "" {
			if j.lastIn[thread] == 0 {
				j.lastIn[thread] = m.ID
			}
			return
		}
	}
}

// outgoing records our new message text on thread, which the client core
// took with id, or refused with err.
func (j *journal) outgoing(thread, text string, id uint64, err error) {
	msg := model.Message{From: j.me, Text: text, Mine: true, State: delivery.Pending, ID: id}
	if err != nil {
		msg.State, msg.Err, msg.ID = delivery.Failed, err.Error(), 0
	}
	msg = j.add(thread, msg)
	if err == nil {
		j.own[ownRef{thread, id}] = &ownMsg{key: msg.Key, state: delivery.Pending}
	}
}

// retry records that our failed message msg of thread was handed to the
// client core again, as id (or refused with err).
func (j *journal) retry(thread string, msg model.Message, id uint64, err error) {
	ref := ownRef{thread, id}
	o := &ownMsg{key: msg.Key, seq: msg.Seq}
	if err != nil {
		j.setState(thread, ref, o, delivery.Failed, err.Error())
		return
	}
	j.own[ref] = o
	j.setState(thread, ref, o, delivery.Pending, "")
}

// NotSentLeft is why our message that was still waiting to go out when the
// user left the server (or quit) failed.
// The UI shows it after "Not delivered: ".
const NotSentLeft = "you left the server before it went out"

// abandon fails our messages still pending: the session ends (the user
// left the server or quit), so they will not go out.
func (j *journal) abandon() {
	for ref, o := range j.own {
		if o.state == delivery.Pending {
			j.setState(ref.thread, ref, o, delivery.Failed, NotSentLeft)
		}
	}
}

// progress moves our message id of thread to st if that is progress.
func (j *journal) progress(thread string, id uint64, st delivery.State, err string) bool {
	ref := ownRef{thread, id}
	o := j.own[ref]
	if o == nil {
		return false
	}
	if o.state.Advances(st) {
		j.setState(thread, ref, o, st, err)
	}
	return true
}

// progressOrLookup moves our message id of the private thread to st if
// that is progress; a message this run does not know (sent in an earlier
// one) is looked up in the history after the batch.
func (j *journal) progressOrLookup(thread string, id uint64, st delivery.State, err, text string) {
	if !j.progress(thread, id, st, err) && id != 0 {
		j.lookups = append(j.lookups, lookup{thread: thread, id: id, state: st, err: err, text: text})
	}
}

// found applies l to the message msg of the history (nil: not found): its
// new state, if that is progress; a failure of a message not found is
// added to the thread, so that it is not lost silently.
func (j *journal) found(l lookup, msg *model.Message) {
	switch {
	case msg != nil && msg.State.Advances(l.state):
		m := model.Message{Seq: msg.Seq, ID: l.id, State: l.state, Err: l.err, Mine: true}
		j.s.push(model.Change{Op: model.OpState, Thread: l.thread, Msg: m})
		j.s.write(historystore.Write{Op: historystore.SetState, Thread: l.thread, Msg: m})
		if ref := (ownRef{l.thread, l.id}); !l.state.Final() {
			j.own[ref] = &ownMsg{seq: msg.Seq, state: l.state}
		}
	case msg == nil && l.state == delivery.Failed:
		j.add(l.thread, model.Message{From: j.me, Text: l.text, Mine: true, ID: l.id, State: delivery.Failed, Err: l.err})
	}
}

// setMe records our nickname and the server's address ("": unchanged).
func (j *journal) setMe(nick, server string) {
	if nick != "" {
		j.me = nick
	}
	if server != "" {
		j.server = server
	}
	j.s.push(model.Change{Op: model.OpMe, Nick: nick, Text: server})
}

func (j *journal) setConn(c model.Conn) {
	j.conn = c
	j.s.push(model.Change{Op: model.OpConn, Conn: c})
}

// apply turns one event of the client core into Changes, writes and
// notifications.
func (j *journal) apply(ev client.Event) {
	s, at := j.s, ev.Time
	j.applyKeys(ev) // keys.go
	switch ev.Kind {
	case client.EventPeerJoined, client.EventPeerLeft, client.EventBroadcast:
		j.confirm() // only the server tells these
	}
	switch ev.Kind {
	case client.EventRegistered:
		j.setMe(ev.Peer, ev.Text)
		j.registered(ev)
		if s.cfg.ListWindow >= 0 {
			j.listUntil = j.when(at).Add(s.listWindow())
		}
	case client.EventPeerJoined:
		key := j.peer(ev.Peer)
		was := j.online[key]
		j.online[key] = true
		s.push(model.Change{Op: model.OpPeer, Thread: key, Nick: ev.Peer, Online: true})
		if !was && j.when(at).After(j.listUntil) {
			j.pres.add(ev.Peer, true, j.when(at))
		}
	case client.EventPeerLeft:
		key := j.peer(ev.Peer)
		was, listed := j.online[key]
		if listed {
			j.online[key] = false
		}
		s.push(model.Change{Op: model.OpPeer, Thread: key, Nick: ev.Peer, Online: false})
		if was || !listed {
			j.pres.add(ev.Peer, false, j.when(at))
		}
		if j.chats[key] != client.ChatNone {
			j.system(key, ev.Peer+" went offline", at)
		}
	case client.EventBroadcast:
		if ev.Missed && ev.BID != 0 && ev.BID <= j.lastBID {
			return // replayed, but seen already (in an earlier run)
		}
		j.lastBID = max(j.lastBID, ev.BID)
		if j.applyFile(ev) { // a picture (files.go)
			return
		}
		if ev.ID != 0 && j.progress(model.Everyone, ev.ID, delivery.Delivered, "") {
			return // the echo of our own
		}
		if ev.From != "" && model.Key(ev.From) == model.Key(j.me) {
			// Ours, from another session or from before a reconnection.
			j.add(model.Everyone, model.Message{From: ev.From, Text: ev.Text, Time: at, Mine: true, State: delivery.Delivered, Away: ev.Missed})
			return
		}
		j.add(model.Everyone, model.Message{From: ev.From, Text: ev.Text, Time: at, Signature: ev.Signature, Away: ev.Missed})
		if model.Mentions(ev.Text, j.me) {
			title := "You were mentioned" // a base server does not say by whom
			if ev.From != "" {
				title = ev.From + " mentioned you"
			}
			s.attention(model.Everyone, title, ev.Text)
		}
	case client.EventInvite:
		key := j.peer(ev.From)
		since := at
		if since.IsZero() {
			since = s.now()
		}
		iv := model.Invite{From: ev.From, Key: key, Since: since, Expires: ev.Expires}
		j.invites[key] = iv
		s.push(model.Change{Op: model.OpInvite, Invite: iv})
		j.chat(key, client.ChatInvited, "", time.Time{})
		s.attention(key, ev.From+" wants to chat", "Open PeerChat to accept or decline.")
	case client.EventInviteExpired:
		key := j.peer(ev.From)
		if _, ok := j.invites[key]; ok {
			j.dropInvite(key)
			if j.chats[key] == client.ChatInvited {
				j.chat(key, client.ChatNone, client.ReasonExpired, j.when(at)) // missed
			}
			j.system(key, "The chat request from "+ev.From+" expired.", at)
		}
	case client.EventInviting:
		key := j.peer(ev.Peer)
		j.chat(key, client.ChatInviting, "", ev.Expires)
		if j.asked[key] {
			delete(j.asked, key) // said before the message that asked (sendAsked)
			break
		}
		j.system(key, requestSent(ev.Peer), at) // the thread shows the wait, not this line
	case client.EventChatOpen:
		key := j.peer(ev.Peer)
		j.dropInvite(key)
		j.routes[key] = ev.Route
		j.chat(key, client.ChatOpen, "", time.Time{})
		line := "Private chat with " + ev.Peer + " is open"
		if ev.Route == client.RouteRelay {
			line += ", through the server"
		}
		j.system(key, line, at)
	case client.EventRoute:
		key := j.peer(ev.Peer)
		if j.chats[key] == client.ChatOpen && j.routes[key] != ev.Route {
			j.routes[key] = ev.Route
			j.chat(key, client.ChatOpen, "", time.Time{})
		}
	case client.EventChatMsg:
		nick := ev.Peer
		if nick == "" {
			nick = ev.From
		}
		key := j.peer(nick)
		from := ev.From
		if from == "" {
			from = nick
		}
		away := ev.Route == client.RouteMailbox // kept by the server: no chat is open
		if j.chats[key] != client.ChatOpen && !away {
			if ev.Route != client.RouteNone {
				j.routes[key] = ev.Route
			}
			j.chat(key, client.ChatOpen, "", time.Time{})
		}
		if ev.ID != 0 {
			seen := s.seenIn[key]
			if seen == nil { // index was not given the event: a Close's
				seen = map[uint64]bool{}
				s.seenIn[key] = seen
			}
			if seen[ev.ID] {
				s.log.Debug("message seen before dropped", "thread", key, "id", ev.ID)
				return // it came before (resent after a restart): shown once
			}
			seen[ev.ID] = true
			j.lastIn[key] = ev.ID
		}
		j.add(key, model.Message{From: from, Text: ev.Text, Time: at, ID: ev.ID, Away: away})
		s.attention(key, nick, ev.Text)
	case client.EventSent:
		j.progress(model.Key(ev.Peer), ev.ID, delivery.Sent, "")
	case client.EventStored:
		j.progressOrLookup(j.peer(ev.Peer), ev.ID, delivery.Stored, "", "")
	case client.EventDelivered:
		j.progressOrLookup(model.Key(ev.Peer), ev.ID, delivery.Delivered, "", "")
	case client.EventRead:
		j.read(j.peer(ev.Peer), ev.ID)
	case client.EventSendFailed:
		thread := model.Everyone
		if ev.Peer != "" {
			thread = j.peer(ev.Peer)
		}
		if ev.File != nil { // a picture for the feed (files.go)
			j.file(thread, *ev.File, model.FileFailed, client.Progress{}, ev.Err, ev.Time)
			return
		}
		why := FailureText(ev.Err, ev.Peer)
		switch {
		case j.progress(thread, ev.ID, delivery.Failed, why):
		case thread != model.Everyone && ev.ID != 0:
			j.lookups = append(j.lookups, lookup{thread: thread, id: ev.ID, state: delivery.Failed, err: why, text: ev.Text})
		default:
			j.add(thread, model.Message{From: j.me, Text: ev.Text, Mine: true, ID: ev.ID, State: delivery.Failed, Err: why})
		}
	case client.EventChatClosed:
		key := j.peer(ev.Peer)
		asking := j.chats[key] == client.ChatInviting
		delete(j.asked, key)
		j.dropInvite(key)
		j.chat(key, client.ChatNone, ev.Reason, time.Time{})
		if asking && ev.Reason == client.ReasonClosed {
			j.system(key, "You cancelled the chat request to "+ev.Peer+".", at) // Leave while it waited
		} else {
			j.system(key, closedText(ev.Peer, ev.Reason), at)
		}
		if ev.Reason == client.ReasonLost {
			s.attention(key, "Chat with "+ev.Peer+" lost", "The connection to "+ev.Peer+" broke.")
		}
	case client.EventServerLost:
		j.setConn(model.Conn{State: model.Lost, Err: errText(ev.Err, "connection closed")})
		j.system(model.Everyone, "Connection to the server lost", at)
	case client.EventReconnecting:
		j.setConn(model.Conn{State: model.Reconnecting, Attempt: ev.Attempt, RetryAt: at.Add(ev.RetryIn), Err: errText(ev.Err, "")})
		if ev.Attempt <= 1 {
			j.system(model.Everyone, "Reconnecting…", at)
		}
	case client.EventReconnected:
		j.registered(ev)
		j.setMe("", ev.Text)
		j.system(model.Everyone, "Reconnected", at)
	case client.EventFileOffer, client.EventFileProgress, client.EventFileDone, client.EventFileFailed:
		j.applyFile(ev) // files.go
	case client.EventError:
		text := errText(ev.Err, "error")
		if ev.Peer != "" {
			j.system(j.peer(ev.Peer), "Error: "+text, at)
		}
		s.push(model.Change{Op: model.OpNotice, Text: text})
	}
}

// Unanswered is the line the feed shows when the server registered us but
// has said nothing (model.Unconfirmed), and Answered the line once it does.
const (
	Unanswered = "No answer from the server yet. It accepted the connection but has said nothing: " +
		"an older PeerChat server stays silent while nobody else is here, and a service that is not " +
		"PeerChat never answers. Broadcasts it does not relay back are marked as not delivered."
	Answered = "The server answered: it is a PeerChat server."
)

// registered sets the connection state after a registration (ev is
// EventRegistered or EventReconnected): Connected, or Unconfirmed when the
// server has said nothing, which the feed explains.
func (j *journal) registered(ev client.Event) {
	if ev.Server != client.ServerUnconfirmed {
		j.setConn(model.Conn{State: model.Connected})
		return
	}
	j.setConn(model.Conn{State: model.Unconfirmed})
	j.system(model.Everyone, Unanswered, ev.Time)
}

// confirm records that the server spoke: an Unconfirmed connection is
// Connected.
func (j *journal) confirm() {
	if j.conn.State != model.Unconfirmed {
		return
	}
	j.setConn(model.Conn{State: model.Connected})
	j.system(model.Everyone, Answered, time.Time{})
}
