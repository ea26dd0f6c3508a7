package identity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
	"unicode/utf8"
)

// PinsFileName is the name of the pin store's file in a data directory.
const PinsFileName = "pins.json"

// ServerPinsFileName is the suggested file, in a data directory, of the
// pin store of servers' keys (by address "host:port"), opened with
// OpenPinsFile.
const ServerPinsFileName = "server_pins.json"

// PinsVersion is the version of the pin file format.
const PinsVersion = 1

// Result is what Observe found for a peer's key.
type Result int

const (
	// New: the peer had no pin; the key is now pinned, unverified.
	New Result = iota + 1
	// Same: the key is the pinned one.
	Same
	// Changed: the peer's pinned key is another one. The pin is kept until
	// the user accepts the new key (PinStore.Accept). If the old pin was
	// verified, the application must say so loudly.
	Changed
)

// String returns "new", "same" or "changed".
func (r Result) String() string {
	switch r {
	case New:
		return "new"
	case Same:
		return "same"
	case Changed:
		return "changed"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Pin is what the store remembers about one peer.
type Pin struct {
	Key       PublicIdentity // the pinned public identity
	Verified  bool           // the user compared the safety number
	FirstSeen time.Time      // when Key was pinned (UTC, second precision)
}

// Errors of the pin store.
var (
	// ErrNotPinned: SetVerified was given a key that is not the peer's pin.
	ErrNotPinned = errors.New("identity: key is not the pinned one")
	// ErrBadPeer: a peer name that is empty, longer than 256 bytes or not UTF-8.
	ErrBadPeer = errors.New("identity: bad peer name")
)

// PinStore is a persistent trust-on-first-use store: peer → Pin. Peers are
// named by the caller, normally with a folded nickname (wire.FoldNick), per
// server or globally as the caller decides. Every change is written to disk
// before the method returns. A PinStore is safe for concurrent use; two
// PinStores on the same file are not (the last writer wins).
//
// The file, dir/pins.json, mode 0600, is JSON:
//
//	{"version":1,"pins":{"bob":{"key":"pc1.…","verified":true,"first_seen":"2026-11-30T21:00:00Z"}}}
//
// It is refused like the identity file when group or others can access it.
type PinStore struct {
	mu   sync.Mutex
	path string // "" for NewMemoryPins
	pins map[string]Pin
}

type pinJSON struct {
	Key       PublicIdentity `json:"key"`
	Verified  bool           `json:"verified"`
	FirstSeen time.Time      `json:"first_seen"`
}

type pinsJSON struct {
	Version int                `json:"version"`
	Pins    map[string]pinJSON `json:"pins"`
}

// NewMemoryPins returns an empty pin store kept in memory only: nothing is
// written to disk, and the pins are gone with the process. A client without
// a data directory (tests, a guest session) uses it.
func NewMemoryPins() *PinStore { return &PinStore{pins: map[string]Pin{}} }

// OpenPinsFile opens the pin store kept in the file at path, as OpenPins
// does for dir/pins.json: a client keeps its peers' pins and its servers'
// pins in two files of one data directory this way.
func OpenPinsFile(path string) (*PinStore, error) {
	return openPins(path)
}

// OpenPins opens the pin store of dir, empty when dir/pins.json does not
// exist yet (dir and the file are made at the first change). Errors: a
// *PermissionError, an error wrapping ErrBadFile, or an I/O error.
func OpenPins(dir string) (*PinStore, error) {
	return openPins(filepath.Join(dir, PinsFileName))
}

func openPins(path string) (*PinStore, error) {
	s := &PinStore{path: path, pins: map[string]Pin{}}
	data, err := readSecret(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var f pinsJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadFile, s.path, err)
	}
	if f.Version != PinsVersion {
		return nil, fmt.Errorf("%w: %s: version %d, want %d", ErrBadFile, s.path, f.Version, PinsVersion)
	}
	for peer, p := range f.Pins {
		if checkPeer(peer) != nil || p.Key.IsZero() {
			return nil, fmt.Errorf("%w: %s: bad pin %q", ErrBadFile, s.path, peer)
		}
		s.pins[peer] = Pin(p)
	}
	return s, nil
}

func checkPeer(peer string) error {
	if peer == "" || len(peer) > 256 || !utf8.ValidString(peer) {
		return fmt.Errorf("%w: %q", ErrBadPeer, peer)
	}
	return nil
}

// Get returns peer's pin, if any.
func (s *PinStore) Get(peer string) (Pin, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pins[peer]
	return p, ok
}

// Peers returns the pinned peers, sorted.
func (s *PinStore) Peers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.pins))
	for p := range s.pins {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Observe records that peer presented key at time now (trust on first use).
// New: key is pinned (written to disk) and returned as the Pin. Same: the
// stored pin is returned. Changed: the stored (old) pin is returned
// unchanged; check its Verified to decide how loud the warning is. The error
// is ErrBadPeer, an error for a zero key, or the write's error (then nothing
// was pinned).
func (s *PinStore) Observe(peer string, key PublicIdentity, now time.Time) (Result, Pin, error) {
	if err := checkPeer(peer); err != nil {
		return 0, Pin{}, err
	}
	if key.IsZero() {
		return 0, Pin{}, errors.New("identity: observing the zero public identity")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pins[peer]; ok {
		if p.Key == key {
			return Same, p, nil
		}
		return Changed, p, nil
	}
	p := Pin{Key: key, FirstSeen: now.UTC().Truncate(time.Second)}
	if err := s.set(peer, p); err != nil {
		return 0, Pin{}, err
	}
	return New, p, nil
}

// Accept replaces peer's pin with key, unverified, first seen now: the user
// accepted a changed key (or pinned one by hand).
func (s *PinStore) Accept(peer string, key PublicIdentity, now time.Time) error {
	if err := checkPeer(peer); err != nil {
		return err
	}
	if key.IsZero() {
		return errors.New("identity: accepting the zero public identity")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set(peer, Pin{Key: key, FirstSeen: now.UTC().Truncate(time.Second)})
}

// SetVerified marks peer's pin verified (or not). key must be the pinned key,
// the one whose safety number the user compared; otherwise the error wraps
// ErrNotPinned and nothing changes (the key changed while the dialog was open).
func (s *PinStore) SetVerified(peer string, key PublicIdentity, verified bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pins[peer]
	if !ok || p.Key != key {
		return fmt.Errorf("%w: %q", ErrNotPinned, peer)
	}
	if p.Verified == verified {
		return nil
	}
	p.Verified = verified
	return s.set(peer, p)
}

// Forget removes peer's pin; the next key it presents is New.
func (s *PinStore) Forget(peer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.pins[peer]
	if !ok {
		return nil
	}
	delete(s.pins, peer)
	if err := s.save(); err != nil {
		s.pins[peer] = old
		return err
	}
	return nil
}

// set stores p for peer and saves; on failure the map is restored. s.mu held.
func (s *PinStore) set(peer string, p Pin) error {
	old, had := s.pins[peer]
	s.pins[peer] = p
	if err := s.save(); err != nil {
		if had {
			s.pins[peer] = old
		} else {
			delete(s.pins, peer)
		}
		return err
	}
	return nil
}

// save writes the whole store atomically (nothing for a memory store).
// s.mu held.
func (s *PinStore) save() error {
	if s.path == "" {
		return nil
	}
	f := pinsJSON{Version: PinsVersion, Pins: make(map[string]pinJSON, len(s.pins))}
	for peer, p := range s.pins {
		f.Pins[peer] = pinJSON(p)
	}
	data, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	return writeAtomic(s.path, append(data, '\n'), true)
}
