package model

import (
	"errors"
	"testing"
	"time"

	"peerchat/core/client"
)

var t0 = time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)

func newModel() *Model { return New("ana", "10.0.0.1:12345", func() time.Time { return t0 }) }

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		evs   []client.Event
		check func(t *testing.T, m *Model)
	}{
		{"join and leave keep the person, offline", []client.Event{
			{Kind: client.EventPeerJoined, Peer: "bruno"}, {Kind: client.EventPeerLeft, Peer: "bruno"},
		}, func(t *testing.T, m *Model) {
			if len(m.People) != 1 || m.People[0].Online {
				t.Fatalf("people %+v", m.People)
			}
			if n := len(m.Thread(Everyone).Messages); n != 2 {
				t.Fatalf("%d system lines, want 2", n)
			}
		}},
		{"broadcast from someone counts unread", []client.Event{
			{Kind: client.EventBroadcast, From: "bruno", Text: "hi"},
		}, func(t *testing.T, m *Model) {
			if u := m.Thread(Everyone).Unread; u != 1 {
				t.Fatalf("unread %d", u)
			}
		}},
		{"base server broadcast names the sender in the text", []client.Event{
			{Kind: client.EventBroadcast, Text: "bruno: hi there"},
		}, func(t *testing.T, m *Model) {
			msg := m.Thread(Everyone).Messages[0]
			if msg.From != "bruno" || msg.Text != "hi there" {
				t.Fatalf("message %+v", msg)
			}
		}},
		{"invite queues, chat open clears it", []client.Event{
			{Kind: client.EventInvite, From: "bruno", Expires: t0.Add(time.Minute)},
			{Kind: client.EventInvite, From: "chen", Expires: t0.Add(time.Minute)},
			{Kind: client.EventChatOpen, Peer: "bruno"},
		}, func(t *testing.T, m *Model) {
			if len(m.Invites) != 1 || m.Invites[0].From != "chen" {
				t.Fatalf("invites %+v", m.Invites)
			}
			if m.Thread("bruno").Chat != ChatOpen {
				t.Fatal("chat not open")
			}
		}},
		{"lost chat says so", []client.Event{
			{Kind: client.EventChatOpen, Peer: "bruno"},
			{Kind: client.EventChatClosed, Peer: "bruno", Reason: client.ReasonLost},
		}, func(t *testing.T, m *Model) {
			th := m.Thread("bruno")
			if th.Chat != ChatNone || th.Closed != client.ReasonLost {
				t.Fatalf("thread %+v", th)
			}
			if last := th.Messages[len(th.Messages)-1]; last.Kind != KindSystem || last.Text != "Connection to bruno lost" {
				t.Fatalf("last %+v", last)
			}
		}},
		{"send failure without a known message still shows it", []client.Event{
			{Kind: client.EventSendFailed, Peer: "bruno", ID: 9, Text: "lost words", Err: errors.New("peer left")},
		}, func(t *testing.T, m *Model) {
			msg := m.Thread("bruno").Messages[0]
			if msg.State != Failed || msg.Text != "lost words" || msg.Err != "peer left" {
				t.Fatalf("message %+v", msg)
			}
		}},
		{"reconnecting then reconnected", []client.Event{
			{Kind: client.EventReconnecting, Attempt: 2, RetryIn: 3 * time.Second},
		}, func(t *testing.T, m *Model) {
			if m.Conn.State != Reconnecting || !m.Conn.RetryAt.Equal(t0.Add(3*time.Second)) {
				t.Fatalf("conn %+v", m.Conn)
			}
			m.Apply(client.Event{Kind: client.EventReconnected})
			if m.Conn.State != Connected {
				t.Fatalf("conn %+v", m.Conn)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newModel()
			for _, ev := range tt.evs {
				m.Apply(ev)
			}
			tt.check(t, m)
		})
	}
}

func TestOutgoing(t *testing.T) {
	m := newModel()
	k := m.Outgoing(Everyone, "hello")
	m.Apply(client.Event{Kind: client.EventBroadcast, From: "ana", Text: "hello"})
	feed := m.Thread(Everyone)
	if len(feed.Messages) != 1 || feed.Messages[0].State != Delivered || feed.Messages[0].Key != k {
		t.Fatalf("feed %+v", feed.Messages)
	}
	k2 := m.Outgoing("bruno", "psst")
	m.Sent("bruno", k2, 7)
	m.Apply(client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 7})
	if st := m.Message("bruno", k2).State; st != Delivered {
		t.Fatalf("state %v", st)
	}
}

func TestExpire(t *testing.T) {
	now := t0
	m := New("ana", "", func() time.Time { return now })
	m.Apply(client.Event{Kind: client.EventInvite, From: "bruno", Expires: t0.Add(5 * time.Second)})
	if m.Expire() {
		t.Fatal("expired early")
	}
	now = t0.Add(5 * time.Second)
	if !m.Expire() || len(m.Invites) != 0 || m.Thread("bruno").Chat != ChatNone {
		t.Fatalf("invites %+v", m.Invites)
	}
}

// FuzzApply feeds arbitrary events: the model must never panic and keep its
// invariants (unique keys, invites only from distinct peers).
func FuzzApply(f *testing.F) {
	f.Add(uint8(client.EventBroadcast), "bruno", "", "hi", uint64(0))
	f.Add(uint8(client.EventChatMsg), "", "bruno", "x", uint64(3))
	f.Add(uint8(client.EventInvite), "", "chen", "", uint64(0))
	f.Add(uint8(client.EventSendFailed), "bruno", "", "t", uint64(1))
	f.Fuzz(func(t *testing.T, kind uint8, peer, from, text string, id uint64) {
		m := newModel()
		for i := 0; i < 3; i++ {
			m.Apply(client.Event{Kind: client.EventKind(kind%16 + uint8(i)), Peer: peer, From: from, Text: text, ID: id, Expires: t0})
		}
		seen := map[uint64]bool{}
		for _, th := range m.threads {
			for _, msg := range th.Messages {
				if seen[msg.Key] {
					t.Fatalf("duplicate key %d", msg.Key)
				}
				seen[msg.Key] = true
			}
		}
		inv := map[string]bool{}
		for _, iv := range m.Invites {
			if inv[iv.From] {
				t.Fatalf("two invites from %q", iv.From)
			}
			inv[iv.From] = true
		}
	})
}

func TestHooksAndSeed(t *testing.T) {
	m := newModel()
	var added, changed []Message
	m.OnAdd = func(peer string, msg Message) { added = append(added, msg) }
	m.OnChange = func(peer string, msg Message) { changed = append(changed, msg) }
	m.Seed("bruno", []Message{
		{From: "bruno", Text: "old", Time: t0.Add(-time.Hour)},
		{From: "ana", Text: "unsent", Mine: true, State: Sending, Time: t0.Add(-time.Hour)},
	})
	if len(added) != 0 {
		t.Fatal("Seed called OnAdd")
	}
	th := m.Thread("bruno")
	if th.Messages[1].State != Failed || m.person("bruno") < 0 || m.Online("bruno") {
		t.Fatalf("seeded %+v, people %+v", th.Messages, m.People)
	}
	k := m.Outgoing("bruno", "new")
	m.Sent("bruno", k, 4)
	m.Apply(client.Event{Kind: client.EventDelivered, Peer: "bruno", ID: 4})
	if len(added) != 1 || len(changed) != 2 || changed[1].State != Delivered {
		t.Fatalf("added %+v changed %+v", added, changed)
	}
	if txt, ok := m.Resend("bruno", th.Messages[1].Key); !ok || txt != "unsent" || m.Message("bruno", th.Messages[1].Key).State != Sending {
		t.Fatalf("Resend: %q %v", txt, ok)
	}
	if _, ok := m.Resend("bruno", k); ok {
		t.Fatal("Resend of a delivered message")
	}
}
