package session

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/server"
	"peerchat/server/servertest"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// netRig is a Service over a real client core, with the UI's model
// applied from Drain whenever the Service invalidates.
type netRig struct {
	t     *testing.T
	svc   *Service
	m     *model.Model
	inval chan struct{}
	buf   []model.Change
}

func newNetRig(t *testing.T, c *client.Client, sig *Signal, st Store) *netRig {
	t.Helper()
	r := &netRig{t: t, inval: make(chan struct{}, 1), m: model.New(c.Nick(), c.ServerAddr(), nil)}
	r.svc = New(Config{
		Conn: c, Signal: sig, Store: st,
		Invalidate: func() {
			select {
			case r.inval <- struct{}{}:
			default:
			}
		},
	})
	t.Cleanup(func() { r.svc.Close() })
	return r
}

// until applies the Service's Changes until cond holds of the model.
func (r *netRig) until(what string, cond func(*model.Model) bool) {
	r.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		r.buf = r.svc.Drain(r.buf[:0])
		for _, c := range r.buf {
			r.m.Apply(c)
		}
		if cond(r.m) {
			return
		}
		select {
		case <-r.inval:
		case <-deadline:
			r.t.Fatalf("%s: not within %v; thread lines %q", what, waitTimeout, threadLines(r.m, model.Key("chen")))
		}
	}
}

// threadLines is the thread of key as text lines: "* system" or
// "from: text (state)".
func threadLines(m *model.Model, key string) []string {
	t := m.Lookup(key)
	if t == nil {
		return nil
	}
	var out []string
	for _, msg := range t.Messages {
		out = append(out, msgLine(msg))
	}
	return out
}

func msgLine(m model.Message) string {
	if m.Kind == model.KindSystem {
		return "* " + m.Text
	}
	return fmt.Sprintf("%s: %s (%v)", m.From, m.Text, m.State)
}

// TestRequestBeforeMessage: our first message to an online peer with no
// chat asks for one (the client core's Send invites); the thread says
// "Chat request sent" before that message, in the model and in the
// history, although the client core reports the request (EventInviting)
// only on the next Poll. Then "Cancel request" (Leave while the request
// waits) withdraws it: no chat, the message not delivered.
func TestRequestBeforeMessage(t *testing.T) {
	ts := servertest.NewServer(t, server.Config{Name: "request"})
	chen := dial(t, ts.Addr, "chen", nil)
	defer chen.Close()
	hst, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer hst.Close()
	store := historystore.New(hst)

	sig := NewSignal()
	ana := dial(t, ts.Addr, "ana", sig.Notify)
	r := newNetRig(t, ana, sig, store)
	r.until("chen online", func(m *model.Model) bool { return m.Online("chen") })

	r.svc.Send("chen", "hi, a minute?")
	waitEvent(t, chen, client.EventInvite, "")
	r.until("the request reported", func(m *model.Model) bool {
		th := m.Lookup("chen")
		return th != nil && th.Chat == client.ChatInviting && !th.Expires.IsZero()
	})
	want := []string{"* Chat request sent to chen.", "ana: hi, a minute? (pending)"}
	if got := threadLines(r.m, "chen"); !slices.Equal(got, want) {
		t.Fatalf("thread %q, want %q", got, want)
	}

	// Cancel request.
	r.svc.Leave("chen")
	r.until("the request cancelled", func(m *model.Model) bool {
		th := m.Lookup("chen")
		return th.Chat == client.ChatNone && len(th.Messages) == 3 && th.Messages[1].State == delivery.Failed
	})
	want = []string{
		"* Chat request sent to chen.",
		"ana: hi, a minute? (failed)",
		"* You cancelled the chat request to chen.",
	}
	if got := threadLines(r.m, "chen"); !slices.Equal(got, want) {
		t.Fatalf("thread %q, want %q", got, want)
	}
	if st := ana.Chat("chen"); st != client.ChatNone {
		t.Fatalf("ana's chat with chen is %v after Cancel request", st)
	}

	r.svc.Close()
	msgs, err := store.Load("chen", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, msgLine(m))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("history %q, want %q", got, want)
	}
}

// TestRequestLineOnce: with a request already under way, a message adds
// no second line; and a Conn that does not say its chats (no Chats) gets
// the line from EventInviting, as before.
func TestRequestLineOnce(t *testing.T) {
	r := newRig(t, nil, "bruno")
	r.conn.push(client.Event{Kind: client.EventInviting, Peer: "bruno", Expires: t0.Add(30 * time.Second)})
	r.sync()
	r.svc.Send("bruno", "one")
	r.svc.Send("bruno", "two")
	r.sync()
	want := []string{"* Chat request sent to bruno.", "ana: one (pending)", "ana: two (pending)"}
	if got := threadLines(r.m, "bruno"); !slices.Equal(got, want) {
		t.Fatalf("thread %q, want %q", got, want)
	}
}
