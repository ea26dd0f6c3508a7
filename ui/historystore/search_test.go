package historystore

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"peerchat/core/history"
	"peerchat/ui/model"
)

// TestSearch finds messages of the private threads and of the server's own
// feed, newest first, with the matched range, and never another server's
// feed nor a system line.
func TestSearch(t *testing.T) {
	base, st := open(t, filepath.Join(t.TempDir(), "history.db"))
	defer st.Close()
	s, other := base.ForServer("office:1"), base.ForServer("home:1")
	msg := func(from, text string, min int) model.Message {
		return model.Message{From: from, Text: text, Time: t0.Add(time.Duration(min) * time.Minute)}
	}
	if err := s.Write([]Write{
		{Op: Append, Thread: model.Everyone, Msg: msg("bruno", "Lunch at the Café?", 1)},
		{Op: Append, Thread: model.Everyone, Msg: model.Message{Kind: model.KindSystem, Text: "cafe joined", Time: t0}},
		{Op: Append, Thread: "chen", Msg: msg("chen", "no cafe today", 3)},
		{Op: Append, Thread: "chen", Msg: msg("ana", "ok", 4)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := other.Write([]Write{{Op: Append, Thread: model.Everyone, Msg: msg("x", "cafe elsewhere", 5)}}); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search("CAFE", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 {
		t.Fatalf("%d hits, want 2: %+v", len(hits), hits)
	}
	if h := hits[0]; h.Thread != "chen" || h.Msg.Text != "no cafe today" || h.Msg.Seq == 0 || len(h.Match) != 1 || h.Msg.Text[h.Match[0].Start:h.Match[0].End] != "cafe" {
		t.Errorf("first hit %+v, want chen's, newest, matching \"cafe\"", h)
	}
	if h := hits[1]; h.Thread != model.Everyone || h.Msg.Text[h.Match[0].Start:h.Match[0].End] != "Café" {
		t.Errorf("second hit %+v, want the feed's \"Café\"", h)
	}
	// The hit's Seq opens the thread at it.
	msgs, err := s.Load(hits[1].Thread, hits[1].Msg.Seq+1, 1)
	if err != nil || len(msgs) != 1 || msgs[0].Text != hits[1].Msg.Text {
		t.Errorf("Load at the hit: %+v, %v", msgs, err)
	}
	if hits, err := s.Search("cafe", 1); err != nil || len(hits) != 1 || hits[0].Thread != "chen" {
		t.Errorf("limit 1: %+v, %v", hits, err)
	}
	if hits, err := s.Search("  ", 0); err != nil || len(hits) != 0 {
		t.Errorf("empty query: %+v, %v", hits, err)
	}
	if hits, err := base.Search("elsewhere", 0); err != nil || len(hits) != 0 {
		t.Errorf("base store found another server's feed: %+v, %v", hits, err)
	}
}

// BenchmarkSearch searches 100,000 messages in the feed and 60 private
// threads through the Store, as the UI does, with and without the feed of
// another server (which makes it search thread by thread).
func BenchmarkSearch(b *testing.B) {
	st, err := history.Open(filepath.Join(b.TempDir(), "history.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(st).ForServer("office:1")
	words := []string{"the", "meeting", "is", "at", "noon", "café", "lunch", "build", "broken", "release", "server", "Noël"}
	var ws []Write
	for i := range 100_000 {
		thread := model.Everyone
		if i%5 >= 2 {
			thread = fmt.Sprintf("peer%02d", i%60)
		}
		text := ""
		for j := range 8 {
			text += words[(i*7+j*j*3+i/13)%len(words)] + " "
		}
		ws = append(ws, Write{Op: Append, Thread: thread, Msg: model.Message{From: "ana", Text: text, Time: t0.Add(time.Duration(i) * time.Second)}})
		if len(ws) == 5000 {
			if err := s.Write(ws); err != nil {
				b.Fatal(err)
			}
			ws = ws[:0]
		}
	}
	run := func(b *testing.B) {
		for _, q := range []string{"zebra", "meeting"} {
			b.Run(q, func(b *testing.B) {
				var n int
				for b.Loop() {
					hits, err := s.Search(q, 0)
					if err != nil {
						b.Fatal(err)
					}
					n = len(hits)
				}
				b.ReportMetric(float64(n), "hits")
			})
		}
	}
	b.Run("one-server", func(b *testing.B) { run(b) })
	if err := New(st).ForServer("home:1").Write([]Write{{Op: Append, Thread: model.Everyone, Msg: model.Message{From: "x", Text: "meeting", Time: t0}}}); err != nil {
		b.Fatal(err)
	}
	b.Run("two-servers", func(b *testing.B) { run(b) })
}
