package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// This file keeps, in the data directory, the server-wide id of the last
// broadcast seen on each server (issue 11, docs/PROTOCOL.md §2.9), so that
// the next run asks the server for the broadcasts missed in between
// (client.Config.LastBroadcast).

// lastBroadcastFile is the file in the data directory holding, per server
// address as given to -server (or found by discovery), the id (BID) of the
// last broadcast seen there: a JSON object {"host:port": id, …}.
const lastBroadcastFile = "last_broadcast.json"

// bidStore is the last broadcast id seen on one server, kept in a file.
// The zero value (no file) keeps nothing.
type bidStore struct {
	path   string // "" keeps nothing
	server string // the key in the file
	all    map[string]uint64
	saved  uint64 // the value for server on disk
	last   uint64 // the newest id seen
}

// openBIDs reads the last broadcast id kept in dir for server. A missing
// file is no id; a file that cannot be parsed is an error (the user may
// fix or delete it).
func openBIDs(dir, server string) (*bidStore, error) {
	s := &bidStore{path: filepath.Join(dir, lastBroadcastFile), server: server, all: map[string]uint64{}}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(b, &s.all); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start afresh)", s.path, err)
	}
	s.saved = s.all[server]
	s.last = s.saved
	return s, nil
}

// see records bid as seen; it is kept on disk by the next save.
func (s *bidStore) see(bid uint64) {
	if s != nil && bid > s.last {
		s.last = bid
	}
}

// save writes the newest id seen, if it changed, atomically: a temporary
// file in the same directory renamed over the old one, so a kill of the
// process leaves the old file or the new one, never half of one.
func (s *bidStore) save() error {
	if s == nil || s.path == "" || s.last == s.saved {
		return nil
	}
	s.all[s.server] = s.last
	b, err := json.Marshal(s.all)
	if err != nil {
		return err
	}
	if err := writeAtomic(s.path, append(b, '\n')); err != nil {
		return err
	}
	s.saved = s.last
	return nil
}
