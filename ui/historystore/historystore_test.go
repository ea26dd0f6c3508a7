package historystore

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"peerchat/core/history"
	"peerchat/ui/model"
)

// TestRoundTrip saves messages the way the UI does, reopens the file, and
// loads them back with their states.
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	t0 := time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)
	tests := []struct {
		thread string
		msgs   []model.Message
		update map[int]model.Delivery // index → new state
		want   []model.Delivery
	}{
		{model.Everyone, []model.Message{
			{Key: 1, From: "bruno", Text: "hi all", Time: t0},
			{Key: 2, From: "ana", Text: "hi 👋", Mine: true, State: model.Sending, Time: t0},
			{Key: 3, Kind: model.KindSystem, Text: "chen joined", Time: t0},
		}, map[int]model.Delivery{1: model.Delivered}, []model.Delivery{model.Received, model.Delivered, model.Received}},
		{"bruno", []model.Message{
			{Key: 4, From: "ana", Text: "psst", Mine: true, State: model.Sending, Time: t0},
			{Key: 5, From: "ana", Text: "lost", Mine: true, State: model.Sending, Time: t0},
		}, map[int]model.Delivery{0: model.Sent, 1: model.Failed}, []model.Delivery{model.Delivered, model.Failed}},
	}

	st, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(st, nil)
	for _, tt := range tests {
		for i, m := range tt.msgs {
			s.Save(tt.thread, m)
			if d, ok := tt.update[i]; ok {
				m.State = d
				s.Update(tt.thread, m)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s = New(st, nil)
	defer s.Close()
	threads, err := s.Threads()
	if err != nil || len(threads) != 1 || threads[0] != "bruno" {
		t.Fatalf("threads %q, %v", threads, err)
	}
	for _, tt := range tests {
		got, err := s.Load(tt.thread, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tt.msgs) {
			t.Fatalf("%q: %d messages, want %d", tt.thread, len(got), len(tt.msgs))
		}
		for i, m := range got {
			if m.Text != tt.msgs[i].Text || m.Kind != tt.msgs[i].Kind || m.State != tt.want[i] || m.Seq == 0 || !m.Time.Equal(t0) {
				t.Errorf("%q #%d: %+v, want text %q state %v", tt.thread, i, m, tt.msgs[i].Text, tt.want[i])
			}
		}
	}
}

// TestFoldPageDelete stores a private thread under two spellings of one
// nickname, pages through it, and deletes it after writes still queued.
func TestFoldPageDelete(t *testing.T) {
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, nil)
	defer s.Close()
	t0 := time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)
	const n = 25
	for i := range n {
		nick := []string{"Ana", "ana", "ANA"}[i%3]
		s.Save(nick, model.Message{Key: uint64(i + 1), From: nick, Text: fmt.Sprint(i), Time: t0})
	}
	s.Save("bruno", model.Message{Key: 100, From: "bruno", Text: "other", Time: t0})
	waitFor(t, "writes", func() bool {
		ths, _ := s.Threads()
		return len(ths) == 2
	})
	waitFor(t, "all of ana", func() bool {
		m, _ := s.Load("ana", 0, n+1)
		return len(m) == n
	})
	tests := []struct {
		thread string
		before uint64
		page   int
		want   []string
	}{
		{"Ana", 0, 3, []string{"22", "23", "24"}},
		{"aNa", 23, 3, []string{"19", "20", "21"}},
		{"ana", 3, 10, []string{"0", "1"}},
		{"ana", 1, 10, nil},
		{"bruno", 0, 10, []string{"other"}},
	}
	for _, tt := range tests {
		got, err := s.Load(tt.thread, tt.before, tt.page)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range got {
			texts = append(texts, m.Text)
		}
		if !slices.Equal(texts, tt.want) {
			t.Errorf("Load(%q, %d, %d) = %q, want %q", tt.thread, tt.before, tt.page, texts, tt.want)
		}
	}
	// A delete queued behind saves removes them too.
	s.Save("ANA", model.Message{Key: 200, From: "ana", Text: "late", Time: t0})
	s.Delete("Ana")
	s.Save("bruno", model.Message{Key: 201, From: "bruno", Text: "after", Time: t0})
	waitFor(t, "the delete", func() bool {
		m, _ := s.Load("bruno", 0, 10)
		return len(m) == 2
	})
	if m, err := s.Load("ana", 0, 10); err != nil || len(m) != 0 {
		t.Fatalf("ana after delete: %d messages, %v", len(m), err)
	}
	if ths, _ := s.Threads(); !slices.Equal(ths, []string{"bruno"}) {
		t.Fatalf("threads %q after delete, want bruno", ths)
	}
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}
