package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// fakeBackend is a Backend without a network. Safe for concurrent use.
type fakeBackend struct {
	mu       sync.Mutex
	servers  []Server
	probes   int
	connErr  error // returned by the next Connect
	sessions []*fakeSession
	peers    []string
	onPoll   func()   // given to the sessions, see fakeSession.onPoll
	keys     bool     // sessions have device identities (fakeKeySession)
	lasts    []uint64 // the last broadcast ids ConnectSince was given, in order
	// invites makes the sessions' Send invite a peer with no open chat,
	// as client.Client.Send does (EventInviting).
	invites bool
}

var _ ReplayBackend = (*fakeBackend)(nil)

func (b *fakeBackend) ConnectSince(ctx context.Context, server, nick string, last uint64, notify func()) (Session, error) {
	b.mu.Lock()
	b.lasts = append(b.lasts, last)
	b.mu.Unlock()
	return b.Connect(ctx, server, nick, notify)
}

func (b *fakeBackend) Probe(ctx context.Context) ([]Server, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probes++
	return append([]Server(nil), b.servers...), nil
}

func (b *fakeBackend) Connect(ctx context.Context, server, nick string, notify func()) (Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.connErr; err != nil {
		b.connErr = nil
		return nil, err
	}
	s := &fakeSession{nick: nick, server: server, notify: notify, peers: b.peers, onPoll: b.onPoll, invites: b.invites}
	b.sessions = append(b.sessions, s)
	if b.keys {
		return &fakeKeySession{fakeSession: s}, nil
	}
	return s, nil
}

func (b *fakeBackend) Host(ctx context.Context, nick string, notify func()) (Session, error) {
	return b.Connect(ctx, "127.0.0.1:12345", nick, notify)
}

func (b *fakeBackend) session() *fakeSession {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.sessions) == 0 {
		return nil
	}
	return b.sessions[len(b.sessions)-1]
}

// fakeSession records what the UI asked and replays queued events.
type fakeSession struct {
	mu     sync.Mutex
	nick   string
	server string
	notify func()
	onPoll func() // called after every Poll, if not nil
	peers  []string
	queue  []client.Event
	calls  []string
	nextID uint64
	closed bool
	// invites: Send invites a peer whose chat is not open or being set
	// up (chats), queueing EventInviting, as client.Client.Send does.
	invites bool
	chats   map[string]client.ChatState // by folded nick, from the events pushed and Send
	// idlePolls counts the Polls that found nothing queued: the session
	// service polls sequentially, so one that began after events were
	// taken means those are applied and flushed (see harness.settle).
	idlePolls int
}

func (s *fakeSession) push(evs ...client.Event) {
	s.mu.Lock()
	for _, ev := range evs {
		switch ev.Kind {
		case client.EventChatOpen:
			s.setChat(ev.Peer, client.ChatOpen)
		case client.EventInviting:
			s.setChat(ev.Peer, client.ChatInviting)
		case client.EventChatClosed:
			s.setChat(ev.Peer, client.ChatNone)
		}
	}
	s.queue = append(s.queue, evs...)
	s.mu.Unlock()
	if s.notify != nil {
		s.notify()
	}
}

func (s *fakeSession) call(format string, args ...any) {
	s.mu.Lock()
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *fakeSession) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *fakeSession) Poll(dst []client.Event) []client.Event {
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.idlePolls++
	}
	dst = append(dst, s.queue...)
	s.queue = nil
	onPoll := s.onPoll
	s.mu.Unlock()
	if onPoll != nil {
		onPoll()
	}
	return dst
}

// idle returns the number of Polls that found nothing queued, and whether
// the queue is empty now.
func (s *fakeSession) idle() (polls int, empty bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idlePolls, len(s.queue) == 0
}

func (s *fakeSession) Nick() string       { return s.nick }
func (s *fakeSession) ServerAddr() string { return s.server }
func (s *fakeSession) Peers() []client.Peer {
	var ps []client.Peer
	for i, n := range s.peers {
		ps = append(ps, client.Peer{Nick: n, IP: netip.AddrFrom4([4]byte{192, 168, 1, byte(10 + i)})})
	}
	return ps
}
func (s *fakeSession) Broadcast(text string) (uint64, error) {
	s.call("broadcast %s", text)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return s.nextID, nil
}
func (s *fakeSession) Invite(nick string) error  { s.call("invite %s", nick); return nil }
func (s *fakeSession) Accept(nick string) error  { s.call("accept %s", nick); return nil }
func (s *fakeSession) Decline(nick string) error { s.call("decline %s", nick); return nil }
func (s *fakeSession) Send(nick, text string) (uint64, error) {
	s.call("send %s %s", nick, text)
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	invite := s.invites && s.chats[model.Key(nick)] == client.ChatNone
	if invite {
		s.setChat(nick, client.ChatInviting)
		s.queue = append(s.queue, client.Event{Kind: client.EventInviting, Peer: nick, Expires: fixedNow.Add(30 * time.Second)})
	}
	s.mu.Unlock()
	if invite && s.notify != nil {
		s.notify()
	}
	return id, nil
}

// Chat returns the state of the chat with nick, as client.Client.Chat
// does (session.Chats).
func (s *fakeSession) Chat(nick string) client.ChatState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chats[model.Key(nick)]
}

// setChat notes the state of the chat with nick. The caller holds s.mu.
func (s *fakeSession) setChat(nick string, st client.ChatState) {
	if s.chats == nil {
		s.chats = map[string]client.ChatState{}
	}
	s.chats[model.Key(nick)] = st
}
func (s *fakeSession) LeaveChat(nick string) error { s.call("leave %s", nick); return nil }
func (s *fakeSession) ReconnectNow()               { s.call("reconnect") }
func (s *fakeSession) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("closed twice")
	}
	s.closed = true
	return nil
}

// fixedNow is the clock of every test: Wednesday 25 November 2026, 14:30 UTC.
var fixedNow = time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)

type memPlatform struct {
	dir       string
	notifyErr error // returned by NotifyErr
	openErr   error // returned by OpenURL
	mu        sync.Mutex
	notes     []string
	opened    []string
}

func (p *memPlatform) DataDir() (string, error) { return p.dir, nil }
func (p *memPlatform) NotifyErr() error         { return p.notifyErr }
func (p *memPlatform) Notify(title, text string) {
	p.mu.Lock()
	p.notes = append(p.notes, title+": "+text)
	p.mu.Unlock()
}
func (p *memPlatform) OpenURL(u string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opened = append(p.opened, u)
	return p.openErr
}

// fakeSafety is the safety number of every fakeKeySession.
const fakeSafety = "05123 44871 90912 37740 12094 58821 66310 02457 91136 28804 47519 83302"

// fakeKeySession is a fakeSession with device identities (session.Keys):
// it records the calls and keeps which peers are verified.
type fakeKeySession struct {
	*fakeSession
	verified map[string]bool // guarded by fakeSession.mu
}

func (s *fakeKeySession) SafetyNumber(peer string) (string, error) { return fakeSafety, nil }
func (s *fakeKeySession) SetVerified(peer string, v bool) error {
	s.call("verified %s %v", peer, v)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verified == nil {
		s.verified = map[string]bool{}
	}
	s.verified[peer] = v
	return nil
}
func (s *fakeKeySession) PeerKey(peer string) (client.KeyInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return client.KeyInfo{Verified: s.verified[peer]}, true
}
func (s *fakeKeySession) AcceptKey(peer string) error { s.call("acceptkey %s", peer); return nil }
func (s *fakeKeySession) AcceptServerKey() error      { s.call("acceptserverkey"); return nil }

// The file transfers of fakeSession (session.Files): it records the calls;
// ids are "f1", "f2", …
func (s *fakeSession) SendFile(nick, path string) (string, error) {
	s.call("sendfile %s %s", nick, filepath.Base(path))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return fmt.Sprintf("f%d", s.nextID), nil
}
func (s *fakeSession) AcceptFile(nick, id string) error {
	s.call("acceptfile %s %s", nick, id)
	return nil
}
func (s *fakeSession) DeclineFile(nick, id string) error {
	s.call("declinefile %s %s", nick, id)
	return nil
}
func (s *fakeSession) CancelFile(nick, id string) error {
	s.call("cancelfile %s %s", nick, id)
	return nil
}
func (s *fakeSession) Files() []client.FileInfo { return nil }
func (s *fakeSession) BroadcastImage(path string) (string, error) {
	s.call("postimage %s", filepath.Base(path))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return fmt.Sprintf("f%d", s.nextID), nil
}

// OpenFile records the files and folders the App opened.
func (p *memPlatform) OpenFile(path string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opened = append(p.opened, "file:"+path)
	return p.openErr
}

// fakePicker is a FilePicker that returns path (an *os.File), or err.
type fakePicker struct {
	path string
	err  error
}

func (p *fakePicker) ChooseFile(exts ...string) (io.ReadCloser, error) {
	if p.err != nil {
		return nil, p.err
	}
	return os.Open(p.path)
}
