//go:build unix

package soaktest

import (
	"strings"
	"testing"
	"time"
)

// TestTally: the soak's accounting finds a lost, a doubled and a reordered
// private message, a doubled and a lost broadcast, and counts a message in
// doubt apart, whether it arrived or not.
func TestTally(t *testing.T) {
	s := &soak{t: t, byNick: map[string]*node{}, privs: map[string]*pmsg{}, bcasts: map[string]*bmsg{}, counts: map[string]int{}}
	for _, nick := range []string{"a", "b"} {
		n := &node{s: s, nick: nick, ids: map[uint64]*pmsg{}, inc: 1}
		s.nodes = append(s.nodes, n)
		s.byNick[nick] = n
	}
	b := s.nodes[1]
	priv := func(text string, seq int, states map[string]int, doubt bool) {
		pm := &pmsg{from: "a", to: "b", text: text, seq: seq, queued: true, states: states, doubt: doubt}
		s.privs[text] = pm
		s.privList = append(s.privList, pm)
	}
	delivered := func() map[string]int { return map[string]int{"delivered": 1} }
	priv("p1", 1, delivered(), false)
	priv("p2", 2, delivered(), false)
	priv("p3", 3, delivered(), false) // lost
	priv("p4", 4, map[string]int{"stored": 1, "delivered": 1}, false)
	priv("p5", 5, map[string]int{}, true) // in doubt, arrives
	priv("p6", 6, map[string]int{}, true) // in doubt, lost: fine
	for _, text := range []string{"p2", "p1", "p1", "p4", "p5"} {
		b.privs = append(b.privs, got{from: "a", text: text})
	}
	now := time.Now()
	for i, text := range []string{"b1", "b2", "b3"} {
		bm := &bmsg{from: "a", text: text, seq: 10 + i, echoed: now, queued: true}
		s.bcasts[text] = bm
		s.bList = append(s.bList, bm)
	}
	b.bcasts = []got{{from: "a", text: "b1"}, {from: "a", text: "b1", missed: true}, {from: "a", text: "b3"}}
	c, problems := s.tally()
	for k, want := range map[string]int{
		"private sent (delivered or stored)":     4,
		"private in doubt (sender killed first)": 2,
		"private in doubt, arrived":              1,
		"private lost":                           1,
		"private duplicated":                     1,
		"private out of order":                   1,
		"broadcast duplicated":                   1,
		"broadcast lost":                         1,
		"problems":                               5,
	} {
		if c[k] != want {
			t.Errorf("%s: %d, want %d", k, c[k], want)
		}
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{`never got "p3"`, `got "p1" again`, `got "p1" (run 0, route ) after "p2"`, `broadcast "b1" again`, `never got broadcast "b2"`} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
}
