package historystore

import (
	"path/filepath"
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
		got, err := s.Load(tt.thread, 10)
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
