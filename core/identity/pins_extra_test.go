package identity

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMemoryPins: a memory store behaves as a file store and writes
// nothing.
func TestMemoryPins(t *testing.T) {
	s := NewMemoryPins()
	a, b := mustGenerate(t).Public(), mustGenerate(t).Public()
	now := time.Now()
	if r, _, err := s.Observe("127.0.0.1:12345", a, now); err != nil || r != New {
		t.Fatalf("first: %v %v", r, err)
	}
	if r, _, _ := s.Observe("127.0.0.1:12345", a, now); r != Same {
		t.Fatalf("again: %v", r)
	}
	if r, p, _ := s.Observe("127.0.0.1:12345", b, now); r != Changed || p.Key != a {
		t.Fatalf("changed: %v %v", r, p.Key)
	}
	if err := s.Accept("127.0.0.1:12345", b, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetVerified("127.0.0.1:12345", b, true); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Get("127.0.0.1:12345"); p.Key != b || !p.Verified {
		t.Fatalf("pin %+v", p)
	}
	if err := s.Forget("127.0.0.1:12345"); err != nil {
		t.Fatal(err)
	}
	if len(s.Peers()) != 0 {
		t.Fatal(s.Peers())
	}
}

// TestOpenPinsFile: a store in a named file survives reopening, beside the
// peers' store of the same directory.
func TestOpenPinsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ServerPinsFileName)
	s, err := OpenPinsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := mustGenerate(t).Public()
	if _, _, err := s.Observe("srv:1", a, time.Now()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file %v %v", st, err)
	}
	s2, err := OpenPinsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := s2.Get("srv:1"); !ok || p.Key != a {
		t.Fatalf("reopened %+v %v", p, ok)
	}
	if peers, _ := OpenPins(dir); len(peers.Peers()) != 0 {
		t.Fatal("the peers' store sees the servers' pins")
	}
}

func mustGenerate(t *testing.T) *Identity {
	t.Helper()
	id, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
