package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"peerchat/core/wire"
)

// This file keeps, in the data directory, the (sender, id) of the private
// messages printed, so that a message printed by an earlier run is not
// printed again. The core delivers each id once per run; but a sender
// that did not get our acknowledgement (it was frozen, or the
// acknowledgement was lost with the chat) sends the message again, and
// after a restart of ours the core no longer knows it had it.

// seenFile is the file in the data directory with one line "nick id" per
// private message printed, oldest first.
const seenFile = "received.log"

// seenKeep is how many (sender, id) pairs are remembered; the file is
// rewritten with the newest seenKeep once it holds twice as many.
const seenKeep = 20000

type seenKey struct {
	nick string // folded
	id   uint64
}

// seenStore is the set of private messages printed, kept in a file. A nil
// *seenStore remembers nothing (every message is new).
type seenStore struct {
	path  string
	set   map[seenKey]bool
	order []seenKey // oldest first
	lines int       // lines in the file
	buf   []byte    // lines not yet appended to the file
}

// openSeen reads the pairs kept in dir. Lines it cannot parse, and a last
// line without its newline (cut short by a kill), are skipped.
func openSeen(dir string) (*seenStore, error) {
	s := &seenStore{path: filepath.Join(dir, seenFile), set: map[seenKey]bool{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	if last := lines[len(lines)-1]; last != "" {
		s.buf = append(s.buf, '\n') // end the cut line before appending
	}
	lines = lines[:len(lines)-1] // "" after the last newline, or the cut line
	for _, l := range lines {
		s.lines++
		nick, id, ok := strings.Cut(l, " ")
		n, err := strconv.ParseUint(id, 10, 64)
		if !ok || err != nil || nick == "" {
			continue
		}
		s.remember(seenKey{nick, n})
	}
	return s, nil
}

func (s *seenStore) remember(k seenKey) {
	if s.set[k] {
		return
	}
	s.set[k] = true
	s.order = append(s.order, k)
	if len(s.order) > seenKeep {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
}

// fresh reports whether the message id from nick was not printed before,
// and remembers it. Id 0 (a base peer's message, which has none) is always
// fresh.
func (s *seenStore) fresh(nick string, id uint64) bool {
	if s == nil || id == 0 {
		return true
	}
	k := seenKey{wire.FoldNick(nick), id}
	if s.set[k] {
		return false
	}
	s.remember(k)
	s.buf = fmt.Appendf(s.buf, "%s %d\n", k.nick, id)
	return true
}

// save appends the pairs remembered since the last save, or rewrites the
// file (atomically: a temporary file renamed over it) once it holds twice
// seenKeep lines.
func (s *seenStore) save() error {
	if s == nil || len(s.buf) == 0 {
		return nil
	}
	s.lines += strings.Count(string(s.buf), "\n")
	if s.lines > 2*seenKeep {
		var all []byte
		for _, k := range s.order {
			all = fmt.Appendf(all, "%s %d\n", k.nick, k.id)
		}
		if err := writeAtomic(s.path, all); err != nil {
			return err
		}
		s.lines, s.buf = len(s.order), s.buf[:0]
		return nil
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(s.buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	s.buf = s.buf[:0]
	return err
}

// writeAtomic replaces path with data: a temporary file in the same
// directory (mode 0600) renamed over it, so a kill leaves the old file or
// the new one, never half of one.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
