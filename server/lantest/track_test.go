//go:build linux

package lantest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// tracker follows one peerchat-cli -json through everything it prints:
// the chats it opened, the messages it got, and the states of the messages
// it sent, by id.
type tracker struct {
	t      *testing.T
	p      *Proc
	opens  []map[string]any // chat_open
	routes []map[string]any // route (a chat moved path)
	msgs   []map[string]any // chat_msg
	bcasts []map[string]any // broadcast
	queued map[string]map[string]any
	// states holds, per message id, how many times each of sent, stored,
	// delivered and send_failed was printed, and when the first came.
	states map[float64]map[string]int
	at     map[float64]map[string]time.Time
	joined map[string]bool
	closed []map[string]any // chat_closed
	errors []map[string]any // error
	// registered: registered was printed.
	registered bool
}

func track(t *testing.T, p *Proc) *tracker {
	return &tracker{t: t, p: p, queued: map[string]map[string]any{}, states: map[float64]map[string]int{},
		at: map[float64]map[string]time.Time{}, joined: map[string]bool{}}
}

func (tr *tracker) add(m map[string]any) {
	switch m["type"] {
	case "registered":
		tr.registered = true
	case "chat_open":
		tr.opens = append(tr.opens, m)
	case "route":
		tr.routes = append(tr.routes, m)
	case "chat_closed":
		tr.closed = append(tr.closed, m)
	case "error":
		tr.errors = append(tr.errors, m)
	case "chat_msg":
		tr.msgs = append(tr.msgs, m)
	case "broadcast":
		tr.bcasts = append(tr.bcasts, m)
	case "queued":
		tr.queued[m["text"].(string)] = m
	case "peer_joined":
		tr.joined[m["nick"].(string)] = true
	case "peer_left":
		delete(tr.joined, m["nick"].(string))
	case "sent", "stored", "delivered", "send_failed":
		id, _ := m["id"].(float64)
		if tr.states[id] == nil {
			tr.states[id] = map[string]int{}
			tr.at[id] = map[string]time.Time{}
		}
		typ := m["type"].(string)
		if tr.states[id][typ] == 0 {
			tr.at[id][typ], _ = m[AtKey].(time.Time)
		}
		tr.states[id][typ]++
	}
}

// until reads what the CLI prints until cond holds, failing the test after
// Deadline.
func (tr *tracker) until(what string, cond func() bool) {
	tr.t.Helper()
	c, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	for !cond() {
		m, err := tr.p.Next(c)
		if err != nil {
			tr.t.Fatalf("%s: waiting for %s: %v", tr.p.Name, what, err)
		}
		tr.add(m)
		if m["type"] == "send_failed" { // never expected here: fail at once
			tr.t.Fatalf("%s: waiting for %s: %v", tr.p.Name, what, m)
		}
	}
}

// from returns the texts of the chat messages from nick, in order.
func (tr *tracker) from(nick string) []string {
	var out []string
	for _, m := range tr.msgs {
		if m["from"] == nick {
			out = append(out, m["text"].(string))
		}
	}
	return out
}

// send sends a private message with /msg and returns its id (from queued).
func (tr *tracker) send(to, text string) float64 {
	tr.t.Helper()
	tr.p.Send("/msg " + to + " " + text)
	errs := len(tr.errors)
	tr.until("queued "+text, func() bool {
		if len(tr.errors) > errs {
			tr.t.Fatalf("%s: /msg %s %s: %v", tr.p.Name, to, text, tr.errors[errs])
		}
		return tr.queued[text] != nil
	})
	id, _ := tr.queued[text]["id"].(float64)
	return id
}

func (tr *tracker) state(id float64, typ string) int { return tr.states[id][typ] }

// startCLI starts peerchat-cli -json -auto-accept as nick in h with data
// directory dir (kept across restarts: the key, pins, the last broadcast
// seen); server "" means "find one on the LAN". It returns once registered.
func startCLI(t *testing.T, h *Host, nick, server, dir string) *tracker {
	t.Helper()
	args := []string{"-json", "-nick", nick, "-auto-accept", "-data", dir}
	if server != "" {
		args = append(args, "-server", server)
	}
	tr := track(t, h.Start(nick, filepath.Join(bin, "peerchat-cli"), args...))
	tr.until("registered", func() bool { return tr.registered })
	return tr
}

// exchangeResult is what one private exchange showed: the routes the chat
// took, as each side saw them.
type exchangeResult struct {
	Case      string   `json:"case"`
	OpenA     string   `json:"chat_open_route_a"`
	OpenB     string   `json:"chat_open_route_b"`
	MsgRoutes []string `json:"msg_routes"`          // of every chat_msg, both sides, in the order each got them
	Moves     []string `json:"route_moves"`         // route events, "a:relay→direct" style
	FirstMs   int64    `json:"first_msg_ms"`        // queued → delivered of a's first message
	Routes    []string `json:"distinct_msg_routes"` // the set of MsgRoutes
}

// exchange sends n private messages from a to b with /msg (no /chat first:
// the first one goes by whatever path opens first), then n from b to a,
// then one more each way as an end mark. It checks that both sides'
// chat_open says encrypted, that each side got exactly the other's
// messages, once each and in order, and that every message's sender got
// delivered for its id.
func exchange(t *testing.T, name string, a, b *tracker, n int) exchangeResult {
	t.Helper()
	an, bn := a.p.Name, b.p.Name
	var aIDs, bIDs []float64
	var want [2][]string
	for i := range n {
		text := fmt.Sprintf("%s-to-%s-%d", an, bn, i)
		aIDs = append(aIDs, a.send(bn, text))
		want[0] = append(want[0], text)
	}
	b.until(fmt.Sprintf("%d messages from %s", n, an), func() bool { return len(b.from(an)) >= n })
	for i := range n {
		text := fmt.Sprintf("%s-to-%s-%d", bn, an, i)
		bIDs = append(bIDs, b.send(an, text))
		want[1] = append(want[1], text)
	}
	a.until(fmt.Sprintf("%d messages from %s", n, bn), func() bool { return len(a.from(bn)) >= n })
	aIDs = append(aIDs, a.send(bn, "end-"+an))
	bIDs = append(bIDs, b.send(an, "end-"+bn))
	want[0] = append(want[0], "end-"+an)
	want[1] = append(want[1], "end-"+bn)
	b.until("the end mark from "+an, func() bool { return slices.Contains(b.from(an), "end-"+an) })
	a.until("the end mark from "+bn, func() bool { return slices.Contains(a.from(bn), "end-"+bn) })
	for _, s := range []struct {
		tr  *tracker
		ids []float64
	}{{a, aIDs}, {b, bIDs}} {
		s.tr.until("delivered for every message", func() bool {
			for _, id := range s.ids {
				if s.tr.state(id, "delivered") == 0 {
					return false
				}
			}
			return true
		})
		for _, id := range s.ids {
			if st := s.tr.states[id]; st["delivered"] != 1 || st["send_failed"] != 0 || st["sent"] > 1 || st["stored"] != 0 {
				t.Errorf("%s: message %v: states %v, want delivered once, no failure, no store", s.tr.p.Name, id, st)
			}
		}
	}
	if got := b.from(an); !slices.Equal(got, want[0]) {
		t.Errorf("%s got from %s %q, want %q (lost, doubled or out of order)", bn, an, got, want[0])
	}
	if got := a.from(bn); !slices.Equal(got, want[1]) {
		t.Errorf("%s got from %s %q, want %q (lost, doubled or out of order)", an, bn, got, want[1])
	}
	r := exchangeResult{Case: name}
	for _, tr := range []*tracker{a, b} {
		if len(tr.opens) == 0 {
			t.Fatalf("%s: no chat_open", tr.p.Name)
		}
		for _, o := range tr.opens {
			if o["encrypted"] != true {
				t.Errorf("%s: the chat is not end-to-end encrypted: %v", tr.p.Name, o)
			}
		}
		route, _ := tr.opens[0]["route"].(string)
		if tr == a {
			r.OpenA = route
		} else {
			r.OpenB = route
		}
		for _, m := range tr.routes {
			r.Moves = append(r.Moves, fmt.Sprintf("%s:%v", tr.p.Name, m["route"]))
		}
		for _, m := range tr.msgs {
			route, _ := m["route"].(string)
			r.MsgRoutes = append(r.MsgRoutes, route)
			if !slices.Contains(r.Routes, route) {
				r.Routes = append(r.Routes, route)
			}
		}
	}
	if q, d := a.queued[want[0][0]], a.at[aIDs[0]]["delivered"]; q != nil && !d.IsZero() {
		r.FirstMs = d.Sub(q[AtKey].(time.Time)).Milliseconds()
	}
	js, _ := json.Marshal(r)
	t.Logf("routes: %s", js)
	return r
}

// wantRelayOnly fails t unless every chat_open and chat_msg of r went
// through the server.
func wantRelayOnly(t *testing.T, r exchangeResult) {
	t.Helper()
	if r.OpenA != "relay" || r.OpenB != "relay" || len(r.Moves) > 0 || !slices.Equal(r.Routes, []string{"relay"}) {
		t.Errorf("%s: want every chat and message through the relay, got %+v", r.Case, r)
	}
}
