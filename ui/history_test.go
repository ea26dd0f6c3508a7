package ui

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gioui.org/f32"
	"gioui.org/io/pointer"

	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// scroll turns the mouse wheel by dy pixels at p (in dp).
func (h *harness) scroll(p image.Point, dy float32) {
	pos := pointf(p, h.scale)
	h.router.Queue(
		pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pos},
		pointer.Event{Kind: pointer.Scroll, Source: pointer.Mouse, Position: pos, Scroll: f32.Pt(0, dy)},
	)
	h.frame()
}

// bigHistory returns a History with n messages with "Bruno", stored under
// the folded nickname, "m1" the oldest.
func bigHistory(n int) *memHistory {
	hist := &memHistory{}
	t0 := fixedNow.Add(-time.Duration(n) * time.Minute)
	for i := 1; i <= n; i++ {
		from := "Bruno"
		if i%3 == 0 {
			from = "ana"
		}
		hist.append("Bruno", model.Message{From: from, Text: fmt.Sprint("m", i), Time: t0.Add(time.Duration(i) * time.Minute), State: delivery.Delivered})
	}
	return hist
}

// TestHistoryPaging opens a thread with 2,000 stored messages: the newest
// page shows; scrolling to the top loads older pages, without moving what is
// on screen, until the first message is visible.
func TestHistoryPaging(t *testing.T) {
	const total = 2000
	hist := bigHistory(total)
	// Bruno is online as BRUNO: one thread, shown as the server spells him.
	be := &fakeBackend{peers: []string{"BRUNO"}}
	h := newHarness(t, be, 1280, 800, func(c *Config) { c.History = hist })
	h.connect("ana")
	c := h.chat()
	c.open(model.Key("BRUNO"))
	h.frame()
	th := c.m.Lookup("bruno")
	if th == nil || len(th.Messages) != HistoryPage {
		t.Fatalf("BRUNO's thread not seeded with the newest page: %+v", th)
	}
	if ts := c.m.Threads(); len(ts) != 1 || ts[0].Name() != "BRUNO" {
		t.Fatalf("threads %+v, want one, BRUNO's", ts)
	}
	if last := th.Messages[len(th.Messages)-1]; last.Text != fmt.Sprint("m", total) {
		t.Fatalf("newest message %q, want m%d", last.Text, total)
	}
	tv := c.view("bruno")
	if !tv.list.Position.BeforeEnd && tv.list.Position.First < len(th.Messages)-20 {
		t.Fatalf("the thread does not show its end: %+v", tv.list.Position)
	}
	hist.mu.Lock()
	loads := hist.loads
	hist.mu.Unlock()
	h.frame()
	hist.mu.Lock()
	if hist.loads != loads {
		t.Fatal("older pages loaded without scrolling up")
	}
	hist.mu.Unlock()

	deadline := time.After(20 * time.Second)
	for pages := 0; ; pages++ {
		h.scroll(image.Pt(800, 400), -1e6)
		if tv.list.Position.First != 0 {
			t.Fatalf("after scrolling to the top, first visible is #%d", tv.list.Position.First)
		}
		top := c.m.Lookup("bruno").Messages[0].Text
		if top == "m1" {
			break
		}
		if pages > total/HistoryPage {
			t.Fatalf("%d pages loaded and m1 not reached", pages)
		}
		// Wait for the page to come in.
		n := len(th.Messages)
		for len(c.m.Lookup("bruno").Messages) == n {
			select {
			case <-h.inv:
			case <-deadline:
				t.Fatal("timed out waiting for an older page")
			}
			h.frame()
		}
		th = c.m.Lookup("bruno")
		if got := th.Messages[tv.list.Position.First].Text; got != top {
			t.Fatalf("the view jumped: %q at the top after loading a page, want %q", got, top)
		}
	}
	if n := len(th.Messages); n != total {
		t.Fatalf("%d messages after paging to the start, want %d", n, total)
	}
	for i, m := range th.Messages {
		if want := fmt.Sprint("m", i+1); m.Text != want || m.Mine != ((i+1)%3 == 0) {
			t.Fatalf("#%d is %q mine=%v, want %q", i, m.Text, m.Mine, want)
		}
	}
}

// TestDeleteHistory deletes a thread's history from its header, with a
// confirmation, and a restart over the same store shows it empty.
func TestDeleteHistory(t *testing.T) {
	hist := bigHistory(300)
	hist.append(model.Everyone, model.Message{From: "chen", Text: "feed stays", Time: fixedNow})
	be := &fakeBackend{peers: []string{"Bruno"}}
	h := newHarness(t, be, 1280, 800, func(c *Config) { c.History = hist })
	h.connect("ana")
	c := h.chat()
	c.open("bruno")
	h.frame()
	h.click(image.Pt(1248, 32)) // the delete icon, right of the thread header
	if !c.pane.confirmDel {
		t.Fatal("no confirmation after clicking Delete history")
	}
	if n := len(c.m.Lookup("bruno").Messages); n != HistoryPage {
		t.Fatalf("%d messages before confirming, want %d", n, HistoryPage)
	}
	h.click(image.Pt(1230, 89)) // Delete, in the confirmation bar
	h.settle(h.be.session())
	if c.pane.confirmDel || len(c.m.Lookup("bruno").Messages) != 0 {
		t.Fatalf("after confirming: confirm=%v, %d messages", c.pane.confirmDel, len(c.m.Lookup("bruno").Messages))
	}
	if ms, _ := hist.Load("bruno", 0, 10); len(ms) != 0 {
		t.Fatalf("history still has %d messages of bruno", len(ms))
	}
	h.a.Close()

	// Restart over the same store.
	h2 := newHarness(t, &fakeBackend{peers: []string{"Bruno"}}, 1280, 800, func(c *Config) { c.History = hist })
	h2.connect("ana")
	c2 := h2.chat()
	if th := c2.m.Lookup("bruno"); th != nil && len(th.Messages) != 0 {
		t.Fatalf("after a restart, Bruno's thread has %d messages", len(th.Messages))
	}
	if feed := c2.m.Lookup(model.Everyone); len(feed.Messages) != 1 {
		t.Fatalf("the feed lost its history: %d messages", len(feed.Messages))
	}
}

// TestHistoryPagesDroppedAfterReset: a page of older history that was
// loading when the session replaced the model's state (OpReset) is dropped,
// not put before messages it no longer fits.
func TestHistoryPagesDroppedAfterReset(t *testing.T) {
	for _, reset := range []bool{false, true} {
		m := model.New("ana", "srv", nil)
		p := newHistoryPager(context.Background(), nil, nil, m)
		p.pager("bob").loading = true
		if reset {
			p.reset()
		}
		p.pages <- page{peer: "bob", msgs: []model.Message{{Kind: model.KindText, From: "bob", Text: "old", Seq: 1, Time: fixedNow}}}
		added := 0
		p.applyPages(func(string, int) { added++ })
		if got, want := added, 1; reset {
			want = 0
			if got != want || len(m.Thread("bob").Messages) != 0 {
				t.Fatalf("after a reset: %d pages applied, %d messages, want none", got, len(m.Thread("bob").Messages))
			}
		} else if got != want {
			t.Fatalf("without a reset: %d pages applied, want %d", got, want)
		}
	}
}

// TestFeedPerServer: a broadcast sent on one server is not in another
// server's Everyone feed after reconnecting elsewhere (defect 11); it is
// back in the first server's feed.
func TestFeedPerServer(t *testing.T) {
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hist := historystore.New(st)
	run := func(addr string, send string) []string {
		t.Helper()
		be := &fakeBackend{}
		h := newHarness(t, be, 1280, 800, func(c *Config) { c.History = hist })
		defer h.a.Close()
		cs := h.connectScreen()
		cs.nick.SetText("ana")
		cs.addr.SetText(addr)
		cs.start(false)
		h.waitFor("the chat screen", func() bool { return h.chat() != nil })
		s := be.session()
		h.settle(s)
		var feed []string
		for _, m := range h.chat().m.Thread(model.Everyone).Messages {
			feed = append(feed, m.Text)
		}
		if send != "" {
			h.chat().sendText(model.Everyone, send)
			h.settle(s)
		}
		return feed
	}
	run("127.0.0.1:1001", "said on one")
	if feed := run("127.0.0.1:1002", ""); len(feed) != 0 {
		t.Fatalf("the other server's feed shows %q", feed)
	}
	if feed := run("127.0.0.1:1001", ""); !slices.Equal(feed, []string{"said on one"}) {
		t.Fatalf("the first server's feed is %q", feed)
	}
}
