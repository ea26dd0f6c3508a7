package historystore

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/ui/model"
)

var t0 = time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)

func open(t *testing.T, path string) (*Store, *history.Store) {
	t.Helper()
	st, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return New(st), st
}

// TestRoundTrip writes messages and their later states the way the session
// does, some in the batch that appends them, some in later batches, reopens
// the file and finds every state, ✓ (Sent) apart from ✓✓ (Delivered).
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, st := open(t, path)
	mine := func(key uint64, text string) model.Message {
		return model.Message{Key: key, From: "ana", Text: text, Mine: true, State: delivery.Pending, Time: t0}
	}
	state := func(thread string, key uint64, d delivery.State) Write {
		return Write{Op: SetState, Thread: thread, Msg: model.Message{Key: key, State: d}}
	}
	batches := [][]Write{
		{
			{Op: Append, Thread: model.Everyone, Msg: model.Message{Key: 1, From: "bruno", Text: "hi all", Time: t0}},
			{Op: Append, Thread: model.Everyone, Msg: mine(2, "hi 👋")},
			{Op: Append, Thread: model.Everyone, Msg: model.Message{Key: 3, Kind: model.KindSystem, Text: "chen joined", Time: t0}},
			{Op: Append, Thread: "bruno", Msg: mine(4, "psst")},
			state("bruno", 4, delivery.Sent), // folded into its Append
			{Op: Append, Thread: "bruno", Msg: mine(5, "lost")},
			{Op: Append, Thread: "bruno", Msg: mine(6, "acked")},
		},
		{state(model.Everyone, 2, delivery.Delivered), state("bruno", 5, delivery.Failed), state("bruno", 6, delivery.Sent)},
		{state("bruno", 6, delivery.Delivered), state("bruno", 99, delivery.Failed)}, // 99: unknown, skipped
	}
	for _, b := range batches {
		if err := s.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	s, st = open(t, path)
	defer st.Close()
	threads, err := s.Threads()
	if err != nil || !slices.Equal(threads, []string{"bruno"}) {
		t.Fatalf("threads %q, %v", threads, err)
	}
	want := map[string][]string{
		model.Everyone: {"hi all received", "hi 👋 delivered", "chen joined received"},
		"bruno":        {"psst sent", "lost failed", "acked delivered"},
	}
	for thread, w := range want {
		got, err := s.Load(thread, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, m := range got {
			lines = append(lines, fmt.Sprint(m.Text, " ", m.State))
			if m.Seq == 0 || !m.Time.Equal(t0) {
				t.Errorf("%+v", m)
			}
		}
		if !slices.Equal(lines, w) {
			t.Errorf("%q: %q, want %q", thread, lines, w)
		}
		if thread == model.Everyone && got[2].Kind != model.KindSystem {
			t.Error("system line lost its kind")
		}
	}
}

// TestPageDelete pages through a thread and deletes it in a batch between
// writes to it.
func TestPageDelete(t *testing.T) {
	s, st := open(t, filepath.Join(t.TempDir(), "history.db"))
	defer st.Close()
	const n = 25
	var ws []Write
	for i := range n {
		ws = append(ws, Write{Op: Append, Thread: "ana", Msg: model.Message{Key: uint64(i + 1), From: "Ana", Text: fmt.Sprint(i), Time: t0}})
	}
	ws = append(ws, Write{Op: Append, Thread: "bruno", Msg: model.Message{Key: 100, From: "bruno", Text: "other", Time: t0}})
	if err := s.Write(ws); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		before uint64
		page   int
		want   []string
	}{
		{0, 3, []string{"22", "23", "24"}},
		{23, 3, []string{"19", "20", "21"}},
		{3, 10, []string{"0", "1"}},
		{1, 10, nil},
	}
	for _, tt := range tests {
		got, err := s.Load("ana", tt.before, tt.page)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range got {
			texts = append(texts, m.Text)
		}
		if !slices.Equal(texts, tt.want) {
			t.Errorf("Load(%d, %d) = %q, want %q", tt.before, tt.page, texts, tt.want)
		}
	}
	err := s.Write([]Write{
		{Op: Append, Thread: "ana", Msg: model.Message{Key: 200, From: "ana", Text: "late", Mine: true, Time: t0}},
		{Op: Delete, Thread: "ana"},
		{Op: SetState, Thread: "ana", Msg: model.Message{Key: 200, State: delivery.Failed}}, // deleted: skipped
		{Op: Append, Thread: "bruno", Msg: model.Message{Key: 201, From: "bruno", Text: "after", Time: t0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Load("ana", 0, 10); err != nil || len(m) != 0 {
		t.Fatalf("ana after delete: %d messages, %v", len(m), err)
	}
	if m, _ := s.Load("bruno", 0, 10); len(m) != 2 {
		t.Fatalf("bruno: %d messages", len(m))
	}
	if ths, _ := s.Threads(); !slices.Equal(ths, []string{"bruno"}) {
		t.Fatalf("threads %q after delete, want bruno", ths)
	}
}

// TestForServer keeps one feed per server and shares the private threads;
// no feed is ever listed as a private thread.
func TestForServer(t *testing.T) {
	s, _ := open(t, filepath.Join(t.TempDir(), "history.db"))
	a, b := s.ForServer("127.0.0.1:1001"), s.ForServer("127.0.0.1:1002")
	say := func(st *Store, thread, text string) {
		t.Helper()
		if err := st.Write([]Write{{Op: Append, Thread: thread, Msg: model.Message{Key: 1, From: "bruno", Text: text, Time: t0}}}); err != nil {
			t.Fatal(err)
		}
	}
	say(a, model.Everyone, "on a")
	say(b, model.Everyone, "on b")
	say(s, model.Everyone, "shared feed")
	say(a, "bruno", "private")
	for _, tt := range []struct {
		st   *Store
		want string
	}{{a, "on a"}, {b, "on b"}, {s, "shared feed"}} {
		msgs, err := tt.st.Load(model.Everyone, 0, 10)
		if err != nil || len(msgs) != 1 || msgs[0].Text != tt.want {
			t.Fatalf("feed %+v (%v), want only %q", msgs, err, tt.want)
		}
	}
	if msgs, _ := b.Load("bruno", 0, 10); len(msgs) != 1 {
		t.Fatal("private threads are not shared between servers")
	}
	if ths, err := b.Threads(); err != nil || !slices.Equal(ths, []string{"bruno"}) {
		t.Fatalf("threads %q (%v), want only bruno", ths, err)
	}
}

// TestSignatureKept: a broadcast's signature state is stored with it and
// loaded (and found by Search) after the file is reopened, also when its
// state changed in a later batch; broadcasts written without one, as every
// earlier version wrote them, load as SigNone.
func TestSignatureKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	// A database from before signature marks: the records of core/history
	// as it wrote them then (version 1), which it still writes for a
	// message without a mark.
	st, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var b history.Batch
	b.Append(history.Broadcasts, history.Message{From: "bruno", Text: "old plain", Time: t0})
	if _, err := st.Write(&b); err != nil {
		t.Fatal(err)
	}
	st.Close()

	s, st := open(t, path)
	bcast := func(key uint64, text string, sig client.SigState) Write {
		return Write{Op: Append, Thread: model.Everyone, Msg: model.Message{Key: key, From: "bruno", Text: text, Time: t0, Signature: sig}}
	}
	ws := []Write{
		bcast(1, "signed ok", client.SigValid),
		bcast(2, "forged", client.SigBad),
		bcast(3, "unsigned", client.SigMissing),
		{Op: Append, Thread: model.Everyone, Msg: model.Message{Key: 4, From: "ana", Text: "mine", Mine: true, State: delivery.Pending, Time: t0, Signature: client.SigValid}},
	}
	if err := s.Write(ws); err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]Write{{Op: SetState, Thread: model.Everyone, Msg: model.Message{Key: 4, State: delivery.Delivered}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	s, st = open(t, path)
	defer st.Close()
	got, err := s.Load(model.Everyone, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range got {
		lines = append(lines, fmt.Sprint(m.Text, " ", m.Signature, " ", m.State))
	}
	want := []string{"old plain none received", "signed ok valid received", "forged bad received", "unsigned missing received", "mine valid delivered"}
	if !slices.Equal(lines, want) {
		t.Fatalf("loaded %q, want %q", lines, want)
	}
	hits, err := s.Search("forged", 0)
	if err != nil || len(hits) != 1 || hits[0].Msg.Signature != client.SigBad {
		t.Fatalf("search: %+v, %v", hits, err)
	}
}
