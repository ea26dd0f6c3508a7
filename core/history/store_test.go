package history

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"peerchat/core/delivery"
)

// t0 is the time of the first message of the test threads.
var t0 = time.Date(2026, 11, 25, 21, 0, 0, 123456789, time.UTC)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "sub", "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// msg returns the i-th message of a test thread.
func msg(i int) Message {
	return Message{
		ID:    uint64(1000 + i),
		From:  "ana",
		Text:  fmt.Sprintf("message %d", i),
		Time:  t0.Add(time.Duration(i) * time.Second),
		State: delivery.Received,
	}
}

// fill appends n messages msg(1)…msg(n) to thread.
func fill(t testing.TB, s *Store, thread string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		seq, err := s.Append(thread, msg(i))
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i) {
			t.Fatalf("Append #%d: seq %d", i, seq)
		}
	}
}

func sameMessage(a, b Message) bool {
	return a.Seq == b.Seq && a.ID == b.ID && a.From == b.From && a.Text == b.Text &&
		a.Time.Equal(b.Time) && a.Kind == b.Kind && a.State == b.State && a.Signature == b.Signature
}

// seqs returns the Seq of every message.
func seqs(ms []Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

// waitGoroutines waits until no more than n goroutines run, failing the test
// at the deadline.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want <= %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestRestart(t *testing.T) {
	before := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, "bob", 3)
	if _, err := s.Append(Broadcasts, Message{From: "bob", Text: "hi all", Time: t0}); err != nil {
		t.Fatal(err)
	}
	sys := Message{Text: "bob left the chat", Time: t0.Add(time.Hour), Kind: KindSystem}
	if _, err := s.Append("bob", sys); err != nil {
		t.Fatal(err)
	}
	if err := s.SetState("bob", 2, delivery.Failed); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("bob", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{msg(1), msg(2), msg(3), sys}
	want[1].State = delivery.Failed
	for i := range want {
		want[i].Seq = uint64(i + 1)
	}
	if len(got) != len(want) {
		t.Fatalf("Load: %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameMessage(got[i], want[i]) {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if seq, err := s.Append("bob", msg(5)); err != nil || seq != 5 {
		t.Errorf("Append after reopen: seq %d, %v; want 5", seq, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, before)
}

func TestLoad(t *testing.T) {
	s := openTemp(t)
	fill(t, s, "bob", 10)
	tests := []struct {
		name   string
		thread string
		before uint64
		n      int
		want   []uint64
	}{
		{"newest", "bob", 0, 3, []uint64{8, 9, 10}},
		{"all", "bob", 0, 100, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"page", "bob", 8, 3, []uint64{5, 6, 7}},
		{"first page", "bob", 3, 5, []uint64{1, 2}},
		{"before first", "bob", 1, 5, []uint64{}},
		{"before beyond newest", "bob", 50, 2, []uint64{9, 10}},
		{"before newest+1", "bob", 11, 1, []uint64{10}},
		{"zero n", "bob", 0, 0, []uint64{}},
		{"negative n", "bob", 0, -1, []uint64{}},
		{"unknown thread", "carol", 0, 10, []uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Load(tt.thread, tt.before, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(seqs(got)) != fmt.Sprint(tt.want) {
				t.Fatalf("Load(%q, %d, %d) = %v, want %v", tt.thread, tt.before, tt.n, seqs(got), tt.want)
			}
			for _, m := range got {
				if want := msg(int(m.Seq)); m.Text != want.Text || !m.Time.Equal(want.Time) {
					t.Errorf("#%d = %+v, want %+v", m.Seq, m, want)
				}
			}
		})
	}
}

// TestLoadPaging pages through a whole thread as a UI scrolling up does.
func TestLoadPaging(t *testing.T) {
	s := openTemp(t)
	fill(t, s, "bob", 23)
	var all []uint64
	for before := uint64(0); ; {
		page, err := s.Load("bob", before, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(seqs(page), all...)
		before = page[0].Seq
	}
	if len(all) != 23 {
		t.Fatalf("paged %d messages, want 23: %v", len(all), all)
	}
	for i, seq := range all {
		if seq != uint64(i+1) {
			t.Fatalf("paged %v", all)
		}
	}
}

func TestSetState(t *testing.T) {
	s := openTemp(t)
	fill(t, s, "bob", 2)
	tests := []struct {
		name   string
		thread string
		seq    uint64
		st     delivery.State
		err    error
	}{
		{"delivered", "bob", 1, delivery.Delivered, nil},
		{"same again", "bob", 1, delivery.Delivered, nil},
		{"failed", "bob", 2, delivery.Failed, nil},
		{"no such seq", "bob", 3, delivery.Failed, ErrNotFound},
		{"seq zero", "bob", 0, delivery.Failed, ErrNotFound},
		{"no such thread", "carol", 1, delivery.Failed, ErrNotFound},
		{"bad state", "bob", 1, delivery.State(200), ErrInvalid},
		{"empty thread", "", 1, delivery.Failed, ErrThreadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetState(tt.thread, tt.seq, tt.st)
			if !errors.Is(err, tt.err) {
				t.Fatalf("SetState = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			got, err := s.Load(tt.thread, tt.seq+1, 1)
			if err != nil || len(got) != 1 || got[0].State != tt.st || got[0].Text != msg(int(tt.seq)).Text {
				t.Fatalf("after SetState: %+v, %v", got, err)
			}
		})
	}
}

func TestThreadsAndDelete(t *testing.T) {
	s := openTemp(t)
	if ts, err := s.Threads(); err != nil || len(ts) != 0 {
		t.Fatalf("Threads of an empty store = %v, %v", ts, err)
	}
	fill(t, s, "bob", 3) // last message at t0+3s
	fill(t, s, Broadcasts, 5)
	if _, err := s.Append("carol", Message{Text: "old", Time: t0}); err != nil {
		t.Fatal(err)
	}
	// An older message does not move Last back.
	if _, err := s.Append("bob", Message{Text: "late", Time: t0}); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Threads()
	if err != nil {
		t.Fatal(err)
	}
	want := []ThreadInfo{
		{Broadcasts, 5, t0.Add(5 * time.Second)},
		{"bob", 4, t0.Add(3 * time.Second)},
		{"carol", 1, t0},
	}
	if len(ts) != len(want) {
		t.Fatalf("Threads = %v, want %v", ts, want)
	}
	for i := range want {
		if ts[i].Name != want[i].Name || ts[i].Count != want[i].Count || !ts[i].Last.Equal(want[i].Last) {
			t.Errorf("Threads[%d] = %v, want %v", i, ts[i], want[i])
		}
	}

	if err := s.Delete("bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("nobody"); err != nil {
		t.Fatalf("Delete of an unknown thread: %v", err)
	}
	if got, err := s.Load("bob", 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("Load after Delete = %v, %v", got, err)
	}
	if ts, err = s.Threads(); err != nil || len(ts) != 2 || ts[0].Name != Broadcasts || ts[1].Name != "carol" {
		t.Fatalf("Threads after Delete = %v, %v", ts, err)
	}
	if seq, err := s.Append("bob", msg(1)); err != nil || seq != 1 {
		t.Fatalf("Append after Delete: seq %d, %v; want 1", seq, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestInvalid(t *testing.T) {
	s := openTemp(t)
	long := string(make([]byte, MaxThreadName+1))
	tests := []struct {
		name   string
		thread string
		m      Message
		err    error
	}{
		{"empty thread", "", msg(1), ErrThreadName},
		{"long thread", long, msg(1), ErrThreadName},
		{"bad kind", "bob", Message{Kind: 9}, ErrInvalid},
		{"bad state", "bob", Message{State: 9}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Append(tt.thread, tt.m); !errors.Is(err, tt.err) {
				t.Errorf("Append = %v, want %v", err, tt.err)
			}
		})
	}
	if _, err := s.Load("", 0, 1); !errors.Is(err, ErrThreadName) {
		t.Errorf("Load(\"\") = %v", err)
	}
	if err := s.Delete(""); !errors.Is(err, ErrThreadName) {
		t.Errorf("Delete(\"\") = %v", err)
	}
	if ts, err := s.Threads(); err != nil || len(ts) != 0 {
		t.Errorf("refused appends created threads: %v, %v", ts, err)
	}
	// A thread name of the maximal length, with any bytes, is fine.
	name := string(make([]byte, MaxThreadName))
	if _, err := s.Append(name, msg(1)); err != nil {
		t.Errorf("Append to a %d-byte name: %v", MaxThreadName, err)
	}
}

func TestClosed(t *testing.T) {
	s := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Append("bob", msg(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append = %v, want ErrClosed", err)
	}
	if err := s.SetState("bob", 1, delivery.Failed); !errors.Is(err, ErrClosed) {
		t.Errorf("SetState = %v, want ErrClosed", err)
	}
	if _, err := s.Load("bob", 0, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Load = %v, want ErrClosed", err)
	}
	if _, err := s.Threads(); !errors.Is(err, ErrClosed) {
		t.Errorf("Threads = %v, want ErrClosed", err)
	}
	if err := s.Delete("bob"); !errors.Is(err, ErrClosed) {
		t.Errorf("Delete = %v, want ErrClosed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != path {
		t.Errorf("Path = %q, want %q", s.Path(), path)
	}
	// The directory itself is no database.
	if _, err := Open(dir); err == nil {
		t.Error("Open of a directory succeeded")
	}
}

// TestConcurrent appends from several goroutines to shared and own threads
// while others read; run with -race.
func TestConcurrent(t *testing.T) {
	s := openTemp(t)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errc := make(chan error, 2*writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Append(Broadcasts, msg(i)); err != nil {
					errc <- err
					return
				}
				if _, err := s.Append(fmt.Sprint("peer", w), msg(i)); err != nil {
					errc <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range each {
				if _, err := s.Load(Broadcasts, 0, 10); err != nil {
					errc <- err
					return
				}
				if _, err := s.Threads(); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	all, err := s.Load(Broadcasts, 0, writers*each+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*each {
		t.Fatalf("%d broadcasts, want %d", len(all), writers*each)
	}
	for i, m := range all {
		if m.Seq != uint64(i+1) {
			t.Fatalf("seqs not 1…n: %v", seqs(all))
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkAppend(b *testing.B) {
	s := openTemp(b)
	m := msg(1)
	m.Text = "a typical chat line of some sixty bytes, give or take a few"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append("bob", m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad50of10000(b *testing.B) {
	s := openTemp(b)
	// Fill through the API without fsync: 10,000 fsyncs would take most of
	// a minute on a slow disk, and Load does not depend on them.
	s.db.NoSync = true
	fill(b, s, "bob", 10000)
	s.db.NoSync = false
	b.ReportAllocs()
	b.ResetTimer()
	before := uint64(5000)
	for b.Loop() {
		ms, err := s.Load("bob", before, 50)
		if err != nil || len(ms) != 50 {
			b.Fatal(len(ms), err)
		}
	}
}

// TestWriteBatch applies appends, state changes and deletes to several
// threads in one Write and checks the Seqs it hands out and the result.
func TestWriteBatch(t *testing.T) {
	s := openTemp(t)
	fill(t, s, "bob", 2)
	fill(t, s, "dora", 1)

	var b Batch
	if seqs, err := s.Write(&b); err != nil || seqs != nil {
		t.Fatalf("empty Write = %v, %v", seqs, err)
	}
	if i := b.Append("bob", msg(3)); i != 0 {
		t.Fatalf("first Append index %d", i)
	}
	b.SetState("bob", 1, delivery.Delivered)
	b.Append(Broadcasts, msg(1))
	b.SetState("carol", 9, delivery.Failed) // no such thread: skipped
	b.Delete("dora")
	if i := b.Append("bob", msg(4)); i != 2 {
		t.Fatalf("third Append index %d", i)
	}
	if b.Len() != 6 {
		t.Fatalf("Len = %d", b.Len())
	}
	seqs, err := s.Write(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 3 || seqs[0] != 3 || seqs[1] != 1 || seqs[2] != 4 {
		t.Fatalf("seqs %v, want [3 1 4]", seqs)
	}
	bob, err := s.Load("bob", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{msg(1), msg(2), msg(3), msg(4)}
	want[0].State = delivery.Delivered
	for i := range want {
		want[i].Seq = uint64(i + 1)
	}
	if len(bob) != len(want) {
		t.Fatalf("bob: %d messages", len(bob))
	}
	for i := range want {
		if !sameMessage(bob[i], want[i]) {
			t.Fatalf("bob #%d = %+v, want %+v", i+1, bob[i], want[i])
		}
	}
	infos, err := s.Threads()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Name != "bob" || infos[0].Count != 4 || infos[1].Name != Broadcasts {
		t.Fatalf("Threads = %+v", infos)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}

	// One invalid write refuses the whole batch.
	b.Reset()
	b.Append("bob", msg(5))
	b.Append("bob", Message{State: 9})
	if _, err := s.Write(&b); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Write with a bad state = %v, want ErrInvalid", err)
	}
	if got, _ := s.Load("bob", 0, 10); len(got) != 4 {
		t.Fatalf("a refused batch wrote: %d messages", len(got))
	}
}

// TestSentAcrossRestart stores the two states of our own messages, Sent
// (✓) and Delivered (✓✓), and finds them apart after reopening the file.
func TestSentAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	for _, st := range []delivery.State{delivery.Pending, delivery.Sent, delivery.Delivered, delivery.Failed, delivery.Sent} {
		m := msg(1)
		m.State = st
		b.Append("bob", m)
	}
	b.SetState("bob", 5, delivery.Delivered)
	if _, err := s.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Load("bob", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []delivery.State{delivery.Pending, delivery.Sent, delivery.Delivered, delivery.Failed, delivery.Delivered}
	if len(got) != len(want) {
		t.Fatalf("%d messages", len(got))
	}
	for i, m := range got {
		if m.State != want[i] {
			t.Errorf("#%d: %v, want %v", i+1, m.State, want[i])
		}
	}
}
