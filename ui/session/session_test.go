package session

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)

// fakeConn is a Conn without a network: the test pushes events, and it
// records what the Service asked.
type fakeConn struct {
	sig *Signal

	mu     sync.Mutex
	nick   string
	peers  []string
	queue  []client.Event
	calls  []string
	nextID uint64
	err    error // returned by the next Send or Broadcast
	accErr error // returned by Accept
	closed int
}

func (c *fakeConn) push(evs ...client.Event) {
	c.mu.Lock()
	c.queue = append(c.queue, evs...)
	c.mu.Unlock()
	c.sig.Notify()
}

func (c *fakeConn) call(format string, args ...any) {
	c.mu.Lock()
	c.calls = append(c.calls, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *fakeConn) Poll(dst []client.Event) []client.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	dst = append(dst, c.queue...)
	c.queue = nil
	return dst
}
func (c *fakeConn) Nick() string       { return c.nick }
func (c *fakeConn) ServerAddr() string { return "127.0.0.1:1" }
func (c *fakeConn) Peers() []client.Peer {
	var ps []client.Peer
	for _, n := range c.peers {
		ps = append(ps, client.Peer{Nick: n})
	}
	return ps
}
func (c *fakeConn) id(format string, args ...any) (uint64, error) {
	c.call(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.err; err != nil {
		c.err = nil
		return 0, err
	}
	c.nextID++
	return c.nextID, nil
}
func (c *fakeConn) Broadcast(text string) (uint64, error) { return c.id("broadcast %s", text) }
func (c *fakeConn) Send(nick, text string) (uint64, error) {
	return c.id("send %s %s", nick, text)
}
func (c *fakeConn) Invite(nick string) error { c.call("invite %s", nick); return nil }
func (c *fakeConn) Accept(nick string) error {
	c.call("accept %s", nick)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accErr
}
func (c *fakeConn) Decline(nick string) error   { c.call("decline %s", nick); return nil }
func (c *fakeConn) LeaveChat(nick string) error { c.call("leave %s", nick); return nil }
func (c *fakeConn) ReconnectNow()               { c.call("reconnect") }
func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed++
	return nil
}

// rig is a Service over a fakeConn, with its notifications and the UI's
// model, applied by frame.
type rig struct {
	t    *testing.T
	conn *fakeConn
	svc  *Service
	m    *model.Model
	buf  []model.Change

	mu    sync.Mutex
	notes []string
	inval chan struct{}
}

func newRig(t *testing.T, store Store, peers ...string) *rig {
	t.Helper()
	return newRigWith(t, store, nil, peers...)
}

// newRigWith is newRig with its Config changed by mod (nil: none) before
// the Service starts.
func newRigWith(t *testing.T, store Store, mod func(*Config), peers ...string) *rig {
	t.Helper()
	r := &rig{t: t, inval: make(chan struct{}, 1)}
	r.conn = &fakeConn{sig: NewSignal(), nick: "ana", peers: peers}
	cfg := Config{
		Conn: r.conn, Signal: r.conn.sig, Store: store,
		Notify: func(title, text string) {
			r.mu.Lock()
			r.notes = append(r.notes, title+": "+text)
			r.mu.Unlock()
		},
		Invalidate: func() {
			select {
			case r.inval <- struct{}{}:
			default:
			}
		},
		Now:      func() time.Time { return t0 },
		Coalesce: 20 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	r.svc = New(cfg)
	t.Cleanup(func() { r.svc.Close() })
	r.m = model.New("ana", "127.0.0.1:1", func() time.Time { return t0 })
	return r
}

// sync waits until the Service has handled everything pushed so far, and
// applies its Changes to the model as a frame would: it pushes a marker
// event (an error notice) and applies Changes until the marker comes. The
// Changes of a batch can be drained before the service has raised its
// notifications and written its history (flush), so it does it twice: the
// second marker is only read once the first batch was flushed.
func (r *rig) sync() {
	r.t.Helper()
	r.syncOnce()
	r.syncOnce()
}

func (r *rig) syncOnce() {
	r.t.Helper()
	marker := fmt.Sprintf("marker %d", time.Now().UnixNano())
	r.conn.push(client.Event{Kind: client.EventError, Err: errors.New(marker)})
	deadline := time.After(5 * time.Second)
	for {
		found := false
		r.buf = r.svc.Drain(r.buf[:0])
		for _, c := range r.buf {
			if c.Op == model.OpNotice && c.Text == marker {
				found = true
				continue
			}
			r.m.Apply(c)
		}
		if found {
			return
		}
		select {
		case <-r.inval:
		case <-deadline:
			r.t.Fatal("the service did not handle the events within 5s")
		}
	}
}

func (r *rig) calls() []string {
	r.conn.mu.Lock()
	defer r.conn.mu.Unlock()
	return slices.Clone(r.conn.calls)
}

func (r *rig) lastMsg(thread string) model.Message {
	r.t.Helper()
	th := r.m.Lookup(thread)
	if th == nil || len(th.Messages) == 0 {
		r.t.Fatalf("thread %q has no messages", thread)
	}
	return th.Messages[len(th.Messages)-1]
}

func (r *rig) takeNotes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.notes
	r.notes = nil
	return n
}

// TestBroadcastEcho recognises our own broadcast by the id the core gives,
// never by its text, and shows a base server's broadcast without a sender.
func TestBroadcastEcho(t *testing.T) {
	r := newRig(t, nil, "bruno")
	r.svc.Broadcast("same words")
	r.sync()
	if m := r.lastMsg(model.Everyone); !m.Mine || m.State != delivery.Pending || m.ID != 1 {
		t.Fatalf("pending broadcast %+v", m)
	}
	// Someone else says the same words: not our echo.
	r.conn.push(client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "same words", Time: t0})
	r.sync()
	feed := r.m.Thread(model.Everyone)
	if n := len(feed.Messages); n != 2 || feed.Messages[0].State != delivery.Pending || feed.Messages[1].Mine {
		t.Fatalf("feed %+v", feed.Messages)
	}
	r.conn.push(client.Event{Kind: client.EventBroadcast, From: "ana", Text: "same words", ID: 1, Time: t0})
	r.sync()
	if n := len(feed.Messages); n != 2 || feed.Messages[0].State != delivery.Delivered {
		t.Fatalf("after the echo: %+v", feed.Messages)
	}
	// A base server names nobody: the text stays whole, the sender unknown.
	r.conn.push(client.Event{Kind: client.EventBroadcast, Text: "gary: lunch?", Time: t0})
	r.sync()
	if m := r.lastMsg(model.Everyone); !m.UnknownSender() || m.Text != "gary: lunch?" {
		t.Fatalf("base broadcast %+v", m)
	}
	// Ours from before a reconnection.
	r.conn.push(client.Event{Kind: client.EventBroadcast, From: "Ana", Text: "earlier", Time: t0})
	r.sync()
	// A broadcast the server refused.
	r.svc.Broadcast("refused")
	r.conn.push(client.Event{Kind: client.EventSendFailed, ID: 2, Text: "refused", Err: errors.New("rate limited")})
	r.sync()
	var got []string
	for _, m := range feed.Messages[3:] {
		got = append(got, fmt.Sprintf("%s/%v/%v/%s", m.Text, m.Mine, m.State, m.Err))
	}
	want := []string{"earlier/true/delivered/", "refused/true/failed/rate limited"}
	if !slices.Equal(got, want) {
		t.Fatalf("feed %q, want %q", got, want)
	}
}

// TestDelivery follows our private message through the states the core
// reports, ignores a late ✓ after ✓✓, and retries a failed one in place.
func TestDelivery(t *testing.T) {
	r := newRig(t, nil, "Bruno")
	r.conn.push(client.Event{Kind: client.EventChatOpen, Peer: "Bruno"})
	r.sync()
	th := r.m.Lookup("bruno")
	if th == nil || th.Chat != client.ChatOpen || th.Name() != "Bruno" {
		t.Fatalf("thread %+v", th)
	}
	r.svc.Send("bruno", "psst")
	r.sync()
	if c := r.calls(); !slices.Equal(c, []string{"send Bruno psst"}) {
		t.Fatalf("calls %q (the core is given the nickname as shown)", c)
	}
	for _, step := range []struct {
		ev   client.Event
		want delivery.State
	}{
		{client.Event{Kind: client.EventSent, Peer: "bruno", ID: 1}, delivery.Sent},
		{client.Event{Kind: client.EventDelivered, Peer: "BRUNO", ID: 1}, delivery.Delivered},
		{client.Event{Kind: client.EventSent, Peer: "bruno", ID: 1}, delivery.Delivered},
	} {
		r.conn.push(step.ev)
		r.sync()
		if m := r.lastMsg("bruno"); m.State != step.want || m.Text != "psst" {
			t.Fatalf("after %v: %+v, want %v", step.ev.Kind, m, step.want)
		}
	}
	r.svc.Send("bruno", "again")
	r.conn.push(client.Event{Kind: client.EventSendFailed, Peer: "bruno", ID: 2, Text: "again", Err: errors.New("peer left")})
	r.sync()
	failed := r.lastMsg("bruno")
	if failed.State != delivery.Failed || failed.Err != "peer left" {
		t.Fatalf("failed %+v", failed)
	}
	if !r.svc.Retry("bruno", failed) {
		t.Fatal("Retry refused a failed message")
	}
	r.conn.push(client.Event{Kind: client.EventSent, Peer: "bruno", ID: 3})
	r.sync()
	if m := r.lastMsg("bruno"); m.Key != failed.Key || m.State != delivery.Sent || m.Err != "" {
		t.Fatalf("retried %+v", m)
	}
	if n := len(th.Messages); n != 3 { // the open line, psst, again
		t.Fatalf("%d messages", n)
	}
	if r.svc.Retry("bruno", r.lastMsg("bruno")) {
		t.Fatal("Retry of a message that did not fail")
	}
}

// TestInviteFlow takes a chat request through the session: the countdown
// comes from the event, answering it drops it.
func TestInviteFlow(t *testing.T) {
	r := newRig(t, nil, "Dana", "chen")
	r.conn.push(
		client.Event{Kind: client.EventInvite, From: "Dana", Time: t0, Expires: t0.Add(25 * time.Second)},
		client.Event{Kind: client.EventInvite, From: "chen", Time: t0, Expires: t0.Add(25 * time.Second)},
	)
	r.sync()
	if len(r.m.Invites) != 2 || !r.m.Invites[0].Expires.Equal(t0.Add(25*time.Second)) || !r.m.Invites[0].Since.Equal(t0) || r.m.Lookup("dana").Chat != client.ChatInvited {
		t.Fatalf("invites %+v", r.m.Invites)
	}
	r.svc.Accept("dana")
	r.svc.Decline("chen")
	r.svc.Invite("emil")
	r.conn.push(client.Event{Kind: client.EventInviting, Peer: "emil", Time: t0, Expires: t0.Add(30 * time.Second)})
	r.sync()
	if len(r.m.Invites) != 0 {
		t.Fatalf("invites %+v after answers", r.m.Invites)
	}
	if th := r.m.Lookup("dana"); th.Chat != client.ChatInviting || r.lastMsg("dana").Text != "You accepted the chat request from Dana." {
		t.Fatalf("dana %+v", th)
	}
	if th := r.m.Lookup("chen"); th.Chat != client.ChatNone {
		t.Fatalf("chen %+v", th)
	}
	if th := r.m.Lookup("emil"); th.Chat != client.ChatInviting || !th.Expires.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("emil %+v", th)
	}
	// System lines stay in the history: none may read as still under way
	// once the chat has opened (issue 9, defect 13).
	for _, peer := range []string{"dana", "emil"} {
		if txt := r.lastMsg(peer).Text; strings.HasSuffix(txt, "…") {
			t.Errorf("%s: system line %q reads as unfinished", peer, txt)
		}
	}
	if c := r.calls(); !slices.Equal(c, []string{"accept Dana", "decline chen", "invite emil"}) {
		t.Fatalf("calls %q", c)
	}
	r.conn.push(client.Event{Kind: client.EventInvite, From: "chen", Time: t0, Expires: t0.Add(time.Second)},
		client.Event{Kind: client.EventInviteExpired, From: "chen"})
	r.sync()
	if len(r.m.Invites) != 0 || r.lastMsg("chen").Text != "The chat request from chen expired." {
		t.Fatalf("expired: invites %+v, last %+v", r.m.Invites, r.lastMsg("chen"))
	}
}

// TestNotificationPolicy raises notifications for private messages,
// mentions, chat requests and lost chats, only while the window is not
// focused or the thread is not open, and never when muted.
func TestNotificationPolicy(t *testing.T) {
	msg := client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "psst", Time: t0}
	mention := client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "@ana can you look?", Time: t0}
	word := client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "thanks Ana!", Time: t0}
	baseMention := client.Event{Kind: client.EventBroadcast, Text: "bruno: ana, lunch?", Time: t0}
	plain := client.Event{Kind: client.EventBroadcast, From: "bruno", Text: "lunch at noon, banana bread", Time: t0}
	invite := client.Event{Kind: client.EventInvite, From: "bruno", Expires: t0.Add(30 * time.Second)}
	lost := client.Event{Kind: client.EventChatClosed, Peer: "bruno", Reason: client.ReasonLost}
	left := client.Event{Kind: client.EventChatClosed, Peer: "bruno", Reason: client.ReasonLeft}
	tests := []struct {
		name    string
		focused bool
		open    string // "-" for no thread shown
		mute    bool
		ev      client.Event
		want    string
	}{
		{"focused, thread open", true, "bruno", false, msg, ""},
		{"focused, feed open", true, model.Everyone, false, mention, ""},
		{"focused, other thread open", true, model.Everyone, false, msg, "bruno: psst"},
		{"focused, no thread shown", true, "-", false, msg, "bruno: psst"},
		{"focused, request from the open thread", true, "bruno", false, invite, ""},
		{"unfocused, thread open", false, "bruno", false, msg, "bruno: psst"},
		{"@mention", false, "-", false, mention, "bruno mentioned you: @ana can you look?"},
		{"mention as a word", false, "-", false, word, "bruno mentioned you: thanks Ana!"},
		{"mention through a base server", false, "-", false, baseMention, "You were mentioned: bruno: ana, lunch?"},
		{"request", false, "-", false, invite, "bruno wants to chat: Open PeerChat to accept or decline."},
		{"lost chat", false, "-", false, lost, "Chat with bruno lost: The connection to bruno broke."},
		{"left chat", false, "-", false, left, ""},
		{"broadcast without mention", false, "-", false, plain, ""},
		{"muted private message", false, "-", true, msg, ""},
		{"muted mention", false, "-", true, mention, ""},
		{"muted request", false, "-", true, invite, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil, "bruno")
			r.svc.SetFocused(tt.focused)
			r.svc.SetOpen(tt.open, tt.open != "-")
			r.svc.SetMuted(tt.mute)
			r.conn.push(tt.ev)
			r.sync()
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if got := r.takeNotes(); !slices.Equal(got, want) {
				t.Fatalf("notifications %q, want %q", got, want)
			}
		})
	}
}

// TestRestart keeps ✓ (Sent) and ✓✓ (Delivered) apart across a restart,
// and shows a message that was still pending when the app stopped as failed.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, historystore.New(st), "bruno")
	r.conn.push(client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	r.svc.Send("bruno", "sent only")
	r.svc.Send("bruno", "acknowledged")
	r.svc.Send("bruno", "never written")
	r.conn.push(client.Event{Kind: client.EventSent, Peer: "bruno", ID: 1},
		client.Event{Kind: client.EventSent, Peer: "bruno", ID: 2})
	r.sync()
	r.conn.push(client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 2})
	r.svc.Broadcast("to all")
	r.sync()
	r.svc.Close()
	st.Close()

	st, err = history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r = newRig(t, historystore.New(st), "bruno")
	r.sync()
	var got []string
	for _, thread := range []string{"bruno", model.Everyone} {
		for _, m := range r.m.Lookup(thread).Messages {
			if m.Kind == model.KindText {
				got = append(got, fmt.Sprintf("%s/%v/%v", m.Text, m.Mine, m.State))
			}
		}
	}
	want := []string{"sent only/true/sent", "acknowledged/true/delivered", "never written/true/failed", "to all/true/failed"}
	if !slices.Equal(got, want) {
		t.Fatalf("after restart %q, want %q", got, want)
	}
	if th := r.m.Lookup("bruno"); th.Name() != "bruno" || th.More {
		t.Fatalf("thread %+v", th)
	}
}

// BenchmarkJoin1000 is a join storm through a running session and the UI's
// model: 1,000 EventPeerJoined in a row turned into Changes (without a
// history store), drained and applied to a fresh Model in one frame.
func BenchmarkJoin1000(b *testing.B) {
	evs := make([]client.Event, 1000)
	for i := range evs {
		evs[i] = client.Event{Kind: client.EventPeerJoined, Peer: fmt.Sprintf("Peer%04d", (i*7919)%1000), Time: t0}
	}
	s := &Service{now: func() time.Time { return t0 }}
	s.j.init(s, "ana")
	var buf []model.Change
	b.ReportAllocs()
	for b.Loop() {
		m := model.New("ana", "", nil)
		s.mu.Lock()
		for _, ev := range evs {
			s.j.apply(ev)
		}
		s.mu.Unlock()
		buf = s.Drain(buf[:0])
		m.Apply(buf...)
		clear(buf)
		if len(m.People) != 1000 {
			b.Fatal(len(m.People))
		}
	}
}

// TestCompact leaves the queue undrained through a join storm: the Service
// replaces it with a snapshot, and the model built from the snapshot shows
// the same state, unread counts and invites included.
func TestCompact(t *testing.T) {
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := newRig(t, historystore.New(st), "bruno")
	r.sync()
	r.m.Apply(model.Change{Op: model.OpAdd, Thread: "bruno", Msg: model.Message{Key: 1 << 40, From: "bruno", Text: "drained before"}})
	const n = MaxQueue // each join is two Changes
	evs := []client.Event{{Kind: client.EventChatMsg, Peer: "bruno", From: "bruno", Text: "psst", Time: t0},
		{Kind: client.EventInvite, From: "Dana", Time: t0, Expires: t0.Add(time.Minute)}}
	for i := range n {
		evs = append(evs, client.Event{Kind: client.EventPeerJoined, Peer: fmt.Sprintf("p%05d", i), Time: t0})
	}
	evs = append(evs, client.Event{Kind: client.EventPeerLeft, Peer: "p00007", Time: t0},
		client.Event{Kind: client.EventBroadcast, From: "p00001", Text: "last words", Time: t0})
	r.conn.push(evs...)
	deadline := time.After(10 * time.Second)
	for compacted := false; !compacted; {
		select {
		case <-r.inval:
		case <-deadline:
			t.Fatal("no compaction")
		}
		r.svc.mu.Lock()
		compacted = len(r.svc.queue) > 0 && r.svc.queue[0].Op == model.OpReset
		r.svc.mu.Unlock()
	}
	r.sync()
	if got := len(r.m.People); got != n+1 { // bruno and the n who joined, one of them offline
		t.Fatalf("%d people", got)
	}
	if r.m.Online("p00007") || !r.m.Online("p00008") || !r.m.Online("bruno") {
		t.Fatal("online flags")
	}
	feed := r.m.Thread(model.Everyone)
	// The storm is one line (p00007 came and went within it).
	if len(feed.Messages) != 2 || feed.More || feed.Messages[0].Text != "p00000, p00001 and 4093 others joined" ||
		feed.Messages[1].Text != "last words" || feed.Unread != 1 {
		t.Fatalf("feed: %d messages, more %v, unread %d", len(feed.Messages), feed.More, feed.Unread)
	}
	th := r.m.Lookup("bruno")
	if th == nil || th.Unread != 2 || th.Chat != client.ChatOpen || r.lastMsg("bruno").Text != "psst" {
		t.Fatalf("bruno: %+v", th)
	}
	if len(r.m.Invites) != 1 || r.m.Invites[0].From != "Dana" || r.m.Lookup("dana").Chat != client.ChatInvited {
		t.Fatalf("invites %+v", r.m.Invites)
	}
	if r.m.Me != "ana" || r.m.Server != "127.0.0.1:1" {
		t.Fatalf("me %q on %q", r.m.Me, r.m.Server)
	}
}

// feedLines returns the text of the feed's system lines.
func (r *rig) feedLines() []string {
	var out []string
	for _, m := range r.m.Thread(model.Everyone).Messages {
		if m.Kind == model.KindSystem {
			out = append(out, m.Text)
		}
	}
	return out
}

// waitFeedLines syncs until the feed holds n system lines (or fails).
func (r *rig) waitFeedLines(n int) []string {
	r.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.sync()
		if got := r.feedLines(); len(got) >= n {
			return got
		}
		select {
		case <-r.inval:
		case <-deadline:
			r.t.Fatalf("feed: %q, want %d system lines", r.feedLines(), n)
		}
	}
}

// TestPresenceCoalesced: the people already there when we connect (the
// server's first list, and whoever the core listed before the session
// started) are not announced, at connection or reconnection; a burst of
// joins and leaves is one line; someone who comes and goes within it is
// not named.
func TestPresenceCoalesced(t *testing.T) {
	r := newRig(t, nil, "bruno")
	ev := func(kind client.EventKind, peer string, at time.Time) client.Event {
		return client.Event{Kind: kind, Peer: peer, Time: at}
	}
	r.conn.push(client.Event{Kind: client.EventRegistered, Peer: "ana", Text: "127.0.0.1:1", Time: t0},
		ev(client.EventPeerJoined, "bruno", t0.Add(time.Millisecond)),
		ev(client.EventPeerJoined, "Carla", t0.Add(50*time.Millisecond)))
	r.sync()
	if got := r.feedLines(); len(got) != 0 {
		t.Fatalf("the first peer list was announced: %q", got)
	}
	if !r.m.Online("carla") || !r.m.Online("bruno") {
		t.Fatal("the first peer list is not listed")
	}

	later := t0.Add(5 * time.Second)
	var burst []client.Event
	for i := range 14 {
		burst = append(burst, ev(client.EventPeerJoined, fmt.Sprintf("p%02d", i), later))
	}
	burst = append(burst, ev(client.EventPeerJoined, "dan", later), ev(client.EventPeerLeft, "Dan", later),
		ev(client.EventPeerLeft, "Carla", later))
	r.conn.push(burst[:5]...)
	r.conn.push(burst[5:]...)
	got := r.waitFeedLines(1)
	want := []string{"p00, p01 and 12 others joined; Carla left"}
	if !slices.Equal(got, want) {
		t.Fatalf("feed %q, want %q", got, want)
	}

	// A reconnection lists everyone again: the core reports only changes.
	r.conn.push(client.Event{Kind: client.EventReconnected, Text: "127.0.0.1:1", Time: later},
		ev(client.EventPeerJoined, "bruno", later), ev(client.EventPeerJoined, "p03", later),
		ev(client.EventPeerLeft, "p04", later))
	got = r.waitFeedLines(3)
	want = append(want, "Reconnected", "p04 left")
	if !slices.Equal(got, want) {
		t.Fatalf("feed %q, want %q", got, want)
	}
}

// TestMissedRequest: a chat request that expired unanswered stays visible
// in the people list: the thread counts it as missed, sorts first and the
// title counts it, until the user reads the thread (defect 4).
func TestMissedRequest(t *testing.T) {
	r := newRig(t, nil, "chen", "Dana")
	r.conn.push(client.Event{Kind: client.EventInvite, From: "Dana", Time: t0, Expires: t0.Add(time.Second)},
		client.Event{Kind: client.EventInviteExpired, From: "Dana", Time: t0.Add(time.Second)})
	r.sync()
	th := r.m.Lookup("dana")
	if th == nil || th.Missed != 1 || th.Chat != client.ChatNone || len(r.m.Invites) != 0 {
		t.Fatalf("dana after expiry: %+v", th)
	}
	if p := r.m.Ordered(nil); p[0].Key != "dana" {
		t.Fatalf("people order %+v: the missed request is not first", p)
	}
	if n := r.m.UnreadPrivate(); n != 1 {
		t.Fatalf("title count %d, want 1", n)
	}
	r.m.MarkRead("dana")
	if n := r.m.UnreadPrivate(); n != 0 || r.m.Lookup("dana").Missed != 0 {
		t.Fatal("reading the thread does not clear the missed request")
	}
}

// TestAcceptFails: when Accept fails, the thread does not wait for a chat
// that will never open ("Connecting…" with no way out): the request is
// gone, the chat state is none, and the thread says why (defect 12).
func TestAcceptFails(t *testing.T) {
	r := newRig(t, nil, "Dana")
	r.conn.accErr = client.ErrClosed
	r.conn.push(client.Event{Kind: client.EventInvite, From: "Dana", Time: t0, Expires: t0.Add(time.Minute)})
	r.sync()
	r.svc.Accept("dana")
	r.sync()
	th := r.m.Lookup("dana")
	if th.Chat != client.ChatNone || len(r.m.Invites) != 0 {
		t.Fatalf("after a failed accept: chat %v, invites %+v", th.Chat, r.m.Invites)
	}
	if txt := r.lastMsg("dana").Text; !strings.HasPrefix(txt, "Could not accept the chat request from Dana") {
		t.Fatalf("last line %q", txt)
	}
}

// TestLeaveFailsPending: our messages still pending when the user leaves
// the server are stored as failed, and the next session does not blame
// "PeerChat closed" for them (defect 11).
func TestLeaveFailsPending(t *testing.T) {
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hs := historystore.New(st)
	r := newRig(t, hs, "bruno")
	r.svc.Send("bruno", "still waiting")
	r.sync()
	r.svc.Close()
	msgs, err := hs.Load("bruno", 0, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("history %+v, %v", msgs, err)
	}
	if msgs[0].State != delivery.Failed {
		t.Fatalf("stored as %v after leaving, want failed", msgs[0].State)
	}
	r2 := newRig(t, hs, "bruno")
	r2.sync()
	if m := r2.lastMsg("bruno"); m.State != delivery.Failed || strings.Contains(m.Err, "PeerChat") {
		t.Fatalf("next session shows %v %q", m.State, m.Err)
	}
}

// waitNotes waits until n notifications were raised, and returns them,
// with the model up to date with everything the service handled (a batch's
// notifications can be raised before its Changes were applied here).
func (r *rig) waitNotes(n int) []string {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.notes)
		r.mu.Unlock()
		if got >= n {
			r.sync()
			return r.takeNotes()
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d notifications within 5s, want %d: %q", got, n, r.takeNotes())
		}
		r.sync()
	}
}

// TestThreadMuted: a thread muted on its own raises no notification, for
// a private message or a mention, while the others still do; unmuted, it
// does again. Each muted event is followed by one that notifies, so that
// waiting for the latter proves the former was handled and stayed silent.
func TestThreadMuted(t *testing.T) {
	r := newRig(t, nil, "bruno", "chen")
	r.svc.SetFocused(false)
	r.svc.SetThreadMuted("bruno", true)
	r.svc.SetThreadMuted(model.Everyone, true)
	from := func(nick, text string) client.Event {
		return client.Event{Kind: client.EventChatMsg, From: nick, Peer: nick, Text: text, Time: t0}
	}
	r.conn.push(from("bruno", "muted"), client.Event{Kind: client.EventBroadcast, From: "chen", Text: "@ana muted feed", Time: t0})
	r.conn.push(from("Chen", "not muted"))
	if got, want := r.waitNotes(1), []string{"Chen: not muted"}; !slices.Equal(got, want) {
		t.Fatalf("notifications %q, want %q", got, want)
	}
	if th := r.m.Lookup("bruno"); th == nil || th.Unread != 1 {
		t.Fatalf("bruno's muted message is not kept unread: %+v", th)
	}
	r.svc.SetThreadMuted("bruno", false)
	r.conn.push(from("bruno", "unmuted"))
	if got, want := r.waitNotes(1), []string{"bruno: unmuted"}; !slices.Equal(got, want) {
		t.Fatalf("notifications %q, want %q", got, want)
	}

	// Config.MutedThreads: the threads muted when the UI starts the Service.
	conn := &fakeConn{sig: NewSignal(), nick: "ana", peers: []string{"bruno"}}
	notes := make(chan string, 4)
	svc := New(Config{Conn: conn, Signal: conn.sig, MutedThreads: []string{"bruno"},
		Notify: func(title, text string) { notes <- title + ": " + text }})
	defer svc.Close()
	conn.push(from("bruno", "muted at start"), from("chen", "hi"))
	select {
	case n := <-notes:
		if n != "chen: hi" {
			t.Fatalf("notification %q, want chen's", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5s")
	}
}
