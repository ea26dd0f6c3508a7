package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// feedMarksFile is the name, in Platform.DataDir, of the file that keeps
// the last broadcast seen on each server (feedMarks).
const feedMarksFile = "broadcasts.json"

// ReplayBackend is a Backend whose Connect can ask the server for the
// broadcasts sent while the user was away: those after the one with the
// server-wide id last (client.Event.BID, the newest this device saw on that
// server in an earlier session; client.Config.LastBroadcast). They arrive
// as replayed broadcasts (client.Event.Missed). The App uses it, when the
// Backend implements it, for every Connect to a server it has seen a
// broadcast on; never for Host (the hosted server runs only while we are
// there).
type ReplayBackend interface {
	Backend
	ConnectSince(ctx context.Context, server, nick string, last uint64, notify func()) (Session, error)
}

// feedMarks keeps, per server address as dialled, the id of the newest
// broadcast seen (session.Config.SaveBroadcast), in feedMarksFile. It is
// written by the session service's goroutine, once per batch of events
// that raised it, without fsync: losing the last write only makes the
// server replay a few broadcasts again, which the session drops
// (session.Config.LastBroadcast). Safe for concurrent use.
type feedMarks struct {
	dir string // "": kept in memory only

	mu     sync.Mutex
	marks  map[string]uint64
	loaded bool
}

// get returns the mark of server, 0 for none.
func (f *feedMarks) get(server string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load()
	return f.marks[server]
}

// set records bid as the mark of server and writes the file. It returns
// the error of the write; the mark is kept in memory even then.
func (f *feedMarks) set(server string, bid uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load()
	if f.marks[server] == bid {
		return nil
	}
	f.marks[server] = bid
	if f.dir == "" {
		return nil
	}
	b, err := json.Marshal(f.marks)
	if err != nil {
		return fmt.Errorf("save broadcast marks: %w", err)
	}
	if err := writeAtomic(f.dir, feedMarksFile, b); err != nil {
		return fmt.Errorf("save broadcast marks: %w", err)
	}
	return nil
}

// load reads the file once; a missing or unreadable file is no marks
// (the server then replays nothing). f.mu is held.
func (f *feedMarks) load() {
	if f.loaded {
		return
	}
	f.loaded, f.marks = true, map[string]uint64{}
	if f.dir == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(f.dir, feedMarksFile))
	if err != nil {
		return
	}
	if json.Unmarshal(b, &f.marks) != nil {
		f.marks = map[string]uint64{}
	}
}

// writeAtomic writes b to dir/name through a temporary file and a rename,
// creating dir if needed (no fsync: see its callers).
func writeAtomic(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
