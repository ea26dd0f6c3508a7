package ui

import (
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gioui.org/io/key"

	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// searchHistory returns a History with n messages with Bruno, the tenth
// of which holds "needle", far older than the newest page, and one
// broadcast holding "Needle" in the feed of the harness's server, the
// newest message.
func searchHistory(t testing.TB, n int) *historystore.Store {
	t.Helper()
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hs := historystore.New(st)
	t0 := fixedNow.Add(-time.Duration(n+1) * time.Minute)
	var ws []historystore.Write
	for i := 1; i <= n; i++ {
		text := fmt.Sprint("m", i)
		if i == 10 {
			text = "Where is the needle in this haystack?"
		}
		ws = append(ws, historystore.Write{Op: historystore.Append, Thread: "bruno", Msg: model.Message{From: "Bruno", Text: text, Time: t0.Add(time.Duration(i) * time.Minute), State: delivery.Delivered}})
	}
	if err := hs.Write(ws); err != nil {
		t.Fatal(err)
	}
	feed := []historystore.Write{{Op: historystore.Append, Thread: model.Everyone, Msg: model.Message{From: "chen", Text: "Needle found, thanks", Time: fixedNow.Add(-30 * time.Second)}}}
	if err := hs.ForServer("192.168.1.2:12345").Write(feed); err != nil {
		t.Fatal(err)
	}
	return hs
}

// TestSearchOpensHit searches from the search button and with Ctrl+F:
// the results come newest first, and the one picked with the keyboard
// opens its thread at the message, 590 messages back in the history,
// paging it in. Esc closes the pane.
func TestSearchOpensHit(t *testing.T) {
	hist := searchHistory(t, 800)
	be := &fakeBackend{peers: []string{"Bruno", "chen"}}
	h := newHarness(t, be, 1280, 800, func(c *Config) { c.History = hist })
	h.connect("ana")
	c := h.chat()

	// The search button in the people pane's header, left of ⋮ and ✕.
	h.click(center(h.button("Search messages (Ctrl+F)")))
	if !c.search.open || !h.focused(&c.search.field) {
		t.Fatalf("search button: open %v, field focused %v", c.search.open, h.focused(&c.search.field))
	}
	h.key(key.NameEscape, 0)
	if c.search.open {
		t.Fatal("Esc did not close the search")
	}

	h.key("F", key.ModShortcut)
	if !c.search.open || !h.focused(&c.search.field) {
		t.Fatalf("Ctrl+F: open %v, field focused %v", c.search.open, h.focused(&c.search.field))
	}
	h.typeText(&c.search.field, "NEEDLE")
	h.waitFor("the results", func() bool { return !c.search.running && c.search.query == "NEEDLE" })
	res := c.search.results
	if len(res) != 2 || res[0].Thread != model.Everyone || res[1].Thread != "bruno" {
		t.Fatalf("results %+v, want the feed's then bruno's", res)
	}
	if m := res[1].Match; len(m) != 1 || res[1].Msg.Text[m[0].Start:m[0].End] != "needle" {
		t.Fatalf("match %+v in %q, want \"needle\"", m, res[1].Msg.Text)
	}
	for !h.focused(&c.search.rows[1]) {
		h.tab(0)
	}
	h.key(key.NameReturn, 0)
	h.waitFor("the thread at the hit", func() bool { return c.current == "bruno" && c.seeking == nil })
	th := c.m.Lookup("bruno")
	first := c.view("bruno").list.Position.First
	if first+1 >= len(th.Messages) || th.Messages[first+1].Seq != res[1].Msg.Seq {
		t.Fatalf("list starts at message %d of %d, want the one before the hit (seq %d)", first, len(th.Messages), res[1].Msg.Seq)
	}
	// The message opened is highlighted (selected, for a screen reader)
	// for flashFor, then drawn as the others.
	highlighted := func() []string {
		var out []string
		seen := map[image.Rectangle]bool{}
		for _, n := range h.semanticNodes() {
			if strings.HasPrefix(n.Desc.Description, "Message from") && n.Desc.Selected && !seen[n.Desc.Bounds] {
				seen[n.Desc.Bounds] = true
				out = append(out, strings.Join(labels(n), " "))
			}
		}
		return out
	}
	if hl := highlighted(); len(hl) != 1 || !strings.HasPrefix(hl[0], res[1].Msg.Text) {
		t.Fatalf("highlighted messages %q, want the hit %q alone", hl, res[1].Msg.Text)
	}
	h.now = h.now.Add(flashFor / 2)
	if hl := highlighted(); len(hl) != 1 {
		t.Fatalf("highlight gone after %v: %q", flashFor/2, hl)
	}
	h.now = h.now.Add(flashFor/2 + time.Millisecond)
	if hl := highlighted(); len(hl) != 0 {
		t.Fatalf("still highlighted after %v: %q", flashFor, hl)
	}
	h.frame()
	if !c.search.open {
		t.Fatal("the search closed on opening a result; want it kept to pick another")
	}
	h.key(key.NameEscape, 0)
	if c.search.open {
		t.Fatal("Esc did not close the search")
	}
}

// TestSearchWithoutHistory: with no history the pane says search needs it.
func TestSearchWithoutHistory(t *testing.T) {
	h := newHarness(t, &fakeBackend{peers: []string{"bruno"}}, 360, 780)
	h.connect("ana")
	c := h.chat()
	h.key("F", key.ModShortcut|key.ModShift)
	h.typeText(&c.search.field, "x")
	h.waitFor("the search", func() bool { return !c.search.running && c.search.query == "x" })
	if c.search.err == nil || len(c.search.results) != 0 {
		t.Fatalf("err %v, %d results; want an error, none", c.search.err, len(c.search.results))
	}
}

// TestSnippet cuts long messages around the first match and marks the
// matches.
func TestSnippet(t *testing.T) {
	long := "aaaa bbbb cccc dddd eeee ffff gggg hhhh the needle\nis here and then a long tail of words"
	i := len("aaaa bbbb cccc dddd eeee ffff gggg hhhh the ")
	got := snippet(long, []history.Range{{Start: i, End: i + 6}}, 30)
	want := []snipSpan{{"…", false}, {"eeee ffff gggg hhhh the ", false}, {"needle", true}, {"…", false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("snippet = %v, want %v", got, want)
	}
	got = snippet("ab", []history.Range{{Start: 0, End: 1}, {Start: 1, End: 2}}, 10)
	if want := []snipSpan{{"a", true}, {"b", true}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("snippet = %v, want %v", got, want)
	}
}

// On a phone, Ctrl+F (a hardware keyboard) from an open thread goes back to
// the list, where the search pane is, instead of opening it out of sight.
func TestSearchFromThreadPhone(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, 360, 780)
	h.connect("ana")
	c := h.chat()
	c.open(model.Everyone)
	h.frame()
	if !c.showThread {
		t.Fatal("the thread is not shown")
	}
	h.key("F", key.ModShortcut)
	h.frame()
	if !c.search.open || c.showThread {
		t.Fatalf("after Ctrl+F: search open %v, thread shown %v; want the search pane in view", c.search.open, c.showThread)
	}
}
