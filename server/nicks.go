package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// NickFile is the name of the nick database in a server's data directory.
const NickFile = "nicks.db"

// nickOpenTimeout is how long OpenNickStore waits for another process (a
// running server) that holds the database.
const nickOpenTimeout = 500 * time.Millisecond

// ErrNicksLocked is wrapped by the error OpenNickStore returns when another
// process (a running server) has the nick database open.
var ErrNicksLocked = errors.New("server: the nick database is in use by another process (is the server running?)")

// bucketNicks holds folded nick → JSON of a binding.
var bucketNicks = []byte("nicks")

// Binding is a nick held by a key (docs/PROTOCOL.md §2.6).
type Binding struct {
	Nick string                  // the nick as its holder registered it
	Key  identity.PublicIdentity // the key that proved it
	Seen time.Time               // when the holder was last connected
}

// bindingJSON is a Binding as stored: {"nick":…,"key":"pc1.…","seen":unix_ms}.
type bindingJSON struct {
	Nick string                  `json:"nick"`
	Key  identity.PublicIdentity `json:"key"`
	Seen int64                   `json:"seen"`
}

// NickStore is the table of nicks held by keys, keyed by folded nick
// (wire.FoldNick). One opened by OpenNickStore is kept in one bbolt file,
// which only one process may have open; the Server keeps one in memory when
// Config.Nicks is nil. Its methods are safe for concurrent use.
type NickStore struct {
	db *bolt.DB // nil: in memory

	mu  sync.Mutex
	mem map[string]Binding
}

// OpenNickStore opens (creating it and dir, mode 0700, if need be) the nick
// database dir/NickFile. When another process has it open, it fails soon
// with an error wrapping ErrNicksLocked. The caller must Close it after the
// Server that uses it has stopped.
func OpenNickStore(dir string) (*NickStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	path := filepath.Join(dir, NickFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: nickOpenTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			err = ErrNicksLocked
		}
		return nil, fmt.Errorf("server: open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketNicks)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("server: open %s: %w", path, err)
	}
	return &NickStore{db: db}, nil
}

// newMemNickStore returns a NickStore kept in memory only.
func newMemNickStore() *NickStore { return &NickStore{mem: make(map[string]Binding)} }

// Close closes the database. A NickStore kept in memory has nothing to close.
func (ns *NickStore) Close() error {
	if ns.db == nil {
		return nil
	}
	return ns.db.Close()
}

// Lookup returns the binding of nick (any case or normalisation form), and
// whether there is one, however old.
func (ns *NickStore) Lookup(nick string) (Binding, bool, error) {
	fold := wire.FoldNick(nick)
	if ns.db == nil {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		b, ok := ns.mem[fold]
		return b, ok, nil
	}
	var b Binding
	var ok bool
	err := ns.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketNicks).Get([]byte(fold))
		if v == nil {
			return nil
		}
		var j bindingJSON
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("server: nick %q: bad record: %w", fold, err)
		}
		b, ok = Binding{j.Nick, j.Key, time.UnixMilli(j.Seen)}, true
		return nil
	})
	return b, ok, err
}

// Bind records that b.Key holds b.Nick, replacing any earlier binding of
// the nick.
func (ns *NickStore) Bind(b Binding) error {
	return ns.update([]Binding{b}, false)
}

// Release forgets the binding of nick, and reports whether there was one.
func (ns *NickStore) Release(nick string) (bool, error) {
	fold := wire.FoldNick(nick)
	if ns.db == nil {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		_, ok := ns.mem[fold]
		delete(ns.mem, fold)
		return ok, nil
	}
	var found bool
	err := ns.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketNicks)
		found = bk.Get([]byte(fold)) != nil
		return bk.Delete([]byte(fold))
	})
	return found, err
}

// seen sets the Seen time of each of bs whose nick is still bound to its
// Key, in one transaction.
func (ns *NickStore) seen(bs []Binding) error { return ns.update(bs, true) }

// update writes bs in one transaction; with onlySame it only refreshes
// bindings whose stored key is the same (so a late refresh never
// overwrites a newer binding of the nick to another key).
func (ns *NickStore) update(bs []Binding, onlySame bool) error {
	if len(bs) == 0 {
		return nil
	}
	if ns.db == nil {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		for _, b := range bs {
			fold := wire.FoldNick(b.Nick)
			if old, ok := ns.mem[fold]; onlySame && (!ok || old.Key != b.Key) {
				continue
			}
			ns.mem[fold] = b
		}
		return nil
	}
	return ns.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketNicks)
		for _, b := range bs {
			fold := []byte(wire.FoldNick(b.Nick))
			if onlySame {
				var old bindingJSON
				v := bk.Get(fold)
				if v == nil || json.Unmarshal(v, &old) != nil || old.Key != b.Key {
					continue
				}
			}
			v, err := json.Marshal(bindingJSON{b.Nick, b.Key, b.Seen.UnixMilli()})
			if err != nil {
				return err
			}
			if err := bk.Put(fold, v); err != nil {
				return err
			}
		}
		return nil
	})
}
