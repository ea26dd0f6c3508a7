package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"peerchat/core/delivery"
)

// Bucket and key names of the layout described in the package doc.
var (
	bucketMeta    = []byte("meta")
	bucketThreads = []byte("threads")
	bucketInfo    = []byte("info")
	keyVersion    = []byte("version")
)

// layoutVersion is the value of meta/version.
const layoutVersion = 1

// Store is a chat history kept in one file. It is safe for concurrent use by
// multiple goroutines; only one process may have a file open at a time.
type Store struct {
	db *bolt.DB
}

// Open opens the history file at path, creating it and its directory if they
// do not exist. If another process holds the file, Open fails with ErrLocked
// after DefaultOpenTimeout. The caller must Close the Store.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), DirMode); err != nil {
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	db, err := bolt.Open(path, FileMode, &bolt.Options{Timeout: DefaultOpenTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			err = ErrLocked
		}
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch v := meta.Get(keyVersion); {
		case v == nil:
			if err := meta.Put(keyVersion, []byte{layoutVersion}); err != nil {
				return err
			}
		case len(v) != 1:
			return fmt.Errorf("%w: layout version %x", ErrCorrupt, v)
		case v[0] != layoutVersion:
			return fmt.Errorf("%w: layout %d", ErrVersion, v[0])
		}
		for _, name := range [][]byte{bucketThreads, bucketInfo} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file. It waits for the calls in progress to finish; calls
// after Close fail with ErrClosed. Closing twice is harmless.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("history: close: %w", err)
	}
	return nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Append adds m to the end of thread, creating the thread if needed, and
// returns the Seq it assigned (m.Seq is ignored). Seqs of a thread start at 1
// and increase by one with every Append, until Delete. When Append returns
// without error the message is on disk.
func (s *Store) Append(thread string, m Message) (uint64, error) {
	if err := checkAppend(thread, m); err != nil {
		return 0, err
	}
	var seq uint64
	err := s.update(func(tx *bolt.Tx) (err error) {
		seq, err = appendTx(tx, thread, m)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("append to %q: %w", thread, err)
	}
	return seq, nil
}

func checkAppend(thread string, m Message) error {
	if err := checkThread(thread); err != nil {
		return err
	}
	if !m.Kind.valid() || !m.State.Valid() {
		return fmt.Errorf("append to %q: %w: kind %v, state %v", thread, ErrInvalid, m.Kind, m.State)
	}
	return nil
}

// appendTx appends m to thread within tx and keeps the thread record in step.
func appendTx(tx *bolt.Tx, thread string, m Message) (uint64, error) {
	b, err := tx.Bucket(bucketThreads).CreateBucketIfNotExists([]byte(thread))
	if err != nil {
		return 0, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := b.Put(seqKey(seq), appendMessage(make([]byte, 0, encodedLen(m)), m)); err != nil {
		return 0, err
	}
	info := tx.Bucket(bucketInfo)
	var r threadRecord
	if v := info.Get([]byte(thread)); v != nil {
		if r, err = decodeThread(v); err != nil {
			return 0, err
		}
	}
	r.count++
	if r.last.IsZero() || m.Time.After(r.last) {
		r.last = m.Time
	}
	return seq, info.Put([]byte(thread), appendThread(nil, r))
}

// SetState changes the delivery state of message seq of thread. It fails
// with ErrNotFound if there is no such message.
func (s *Store) SetState(thread string, seq uint64, st delivery.State) error {
	if err := checkState(thread, seq, st); err != nil {
		return err
	}
	err := s.update(func(tx *bolt.Tx) error { return setStateTx(tx, thread, seq, st) })
	if err != nil {
		return fmt.Errorf("set state of %q #%d: %w", thread, seq, err)
	}
	return nil
}

func checkState(thread string, seq uint64, st delivery.State) error {
	if err := checkThread(thread); err != nil {
		return err
	}
	if !st.Valid() {
		return fmt.Errorf("set state of %q #%d: %w: state %v", thread, seq, ErrInvalid, st)
	}
	return nil
}

func setStateTx(tx *bolt.Tx, thread string, seq uint64, st delivery.State) error {
	b := tx.Bucket(bucketThreads).Bucket([]byte(thread))
	if b == nil {
		return ErrNotFound
	}
	k := seqKey(seq)
	v := b.Get(k)
	if v == nil {
		return ErrNotFound
	}
	m, err := decodeMessage(v)
	if err != nil {
		return err
	}
	if m.State == st {
		return nil
	}
	m.State = st
	return b.Put(k, appendMessage(make([]byte, 0, encodedLen(m)), m))
}

// Batch is a list of writes that Store.Write applies in one transaction, in
// order. The zero Batch is empty and ready to use; a Batch is not safe for
// concurrent use.
type Batch struct {
	ops     []batchOp
	appends int
}

type batchOpKind uint8

const (
	batchAppend batchOpKind = iota
	batchState
	batchDelete
)

type batchOp struct {
	kind   batchOpKind
	thread string
	m      Message        // batchAppend
	seq    uint64         // batchState
	st     delivery.State // batchState
}

// Append adds an Append of m to thread to the batch and returns its index
// among the batch's appends: the index of its Seq in Write's result.
func (b *Batch) Append(thread string, m Message) int {
	b.ops = append(b.ops, batchOp{kind: batchAppend, thread: thread, m: m})
	b.appends++
	return b.appends - 1
}

// SetState adds a state change of message seq of thread to the batch. Unlike
// Store.SetState, a message that does not exist when the batch runs (its
// thread was deleted) is skipped, not an error.
func (b *Batch) SetState(thread string, seq uint64, st delivery.State) {
	b.ops = append(b.ops, batchOp{kind: batchState, thread: thread, seq: seq, st: st})
}

// Delete adds the deletion of thread to the batch.
func (b *Batch) Delete(thread string) {
	b.ops = append(b.ops, batchOp{kind: batchDelete, thread: thread})
}

// Len returns the number of writes in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Reset empties the batch, keeping its storage.
func (b *Batch) Reset() {
	clear(b.ops)
	b.ops, b.appends = b.ops[:0], 0
}

// Write applies every write of b in one transaction, in order, and returns
// the Seqs its appends were given, in the order they were added. Either all
// of b is on disk when Write returns without error, or none of it is: a
// Batch with an invalid write (a bad thread name, Kind or State) is refused
// whole, before anything is written. An empty Batch writes nothing.
func (s *Store) Write(b *Batch) ([]uint64, error) {
	if len(b.ops) == 0 {
		return nil, nil
	}
	for _, op := range b.ops {
		var err error
		switch op.kind {
		case batchAppend:
			err = checkAppend(op.thread, op.m)
		case batchState:
			err = checkState(op.thread, op.seq, op.st)
		case batchDelete:
			err = checkThread(op.thread)
		}
		if err != nil {
			return nil, fmt.Errorf("write batch: %w", err)
		}
	}
	seqs := make([]uint64, 0, b.appends)
	err := s.update(func(tx *bolt.Tx) error {
		for _, op := range b.ops {
			switch op.kind {
			case batchAppend:
				seq, err := appendTx(tx, op.thread, op.m)
				if err != nil {
					return fmt.Errorf("append to %q: %w", op.thread, err)
				}
				seqs = append(seqs, seq)
			case batchState:
				if err := setStateTx(tx, op.thread, op.seq, op.st); err != nil && !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("set state of %q #%d: %w", op.thread, op.seq, err)
				}
			case batchDelete:
				if err := deleteTx(tx, op.thread); err != nil {
					return fmt.Errorf("delete %q: %w", op.thread, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write batch: %w", err)
	}
	return seqs, nil
}

// Load returns up to n messages of thread that come before beforeSeq
// (beforeSeq 0 means after the newest), oldest first: Load(t, 0, 50) gives the
// newest 50, and Load(t, first.Seq, 50) the 50 before those, for loading more
// as the user scrolls up. An unknown thread, or n <= 0, gives no messages and
// no error.
func (s *Store) Load(thread string, beforeSeq uint64, n int) ([]Message, error) {
	if err := checkThread(thread); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	var out []Message
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketThreads).Bucket([]byte(thread))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if beforeSeq == 0 {
			k, v = c.Last()
		} else if k, _ = c.Seek(seqKey(beforeSeq)); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && len(out) < n; k, v = c.Prev() {
			if len(k) != 8 {
				return fmt.Errorf("%w: key %x", ErrCorrupt, k)
			}
			m, err := decodeMessage(v)
			if err != nil {
				return fmt.Errorf("#%d: %w", binary.BigEndian.Uint64(k), err)
			}
			m.Seq = binary.BigEndian.Uint64(k)
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %q: %w", thread, err)
	}
	slices.Reverse(out)
	return out, nil
}

// Threads lists every thread that has at least one message, the most
// recently active first (ties by name).
func (s *Store) Threads() ([]ThreadInfo, error) {
	var out []ThreadInfo
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInfo).ForEach(func(k, v []byte) error {
			r, err := decodeThread(v)
			if err != nil {
				return fmt.Errorf("thread %q: %w", k, err)
			}
			out = append(out, ThreadInfo{Name: string(k), Count: int(r.count), Last: r.last})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("threads: %w", err)
	}
	slices.SortFunc(out, func(a, b ThreadInfo) int {
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// Delete removes thread and all its messages; a later Append starts again at
// Seq 1. Deleting a thread that does not exist is not an error.
func (s *Store) Delete(thread string) error {
	if err := checkThread(thread); err != nil {
		return err
	}
	if err := s.update(func(tx *bolt.Tx) error { return deleteTx(tx, thread) }); err != nil {
		return fmt.Errorf("delete %q: %w", thread, err)
	}
	return nil
}

func deleteTx(tx *bolt.Tx, thread string) error {
	name := []byte(thread)
	if err := tx.Bucket(bucketThreads).DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	return tx.Bucket(bucketInfo).Delete(name)
}

// Check verifies the whole file: bbolt's page structure, then every record
// and every thread summary. It reads everything, so it is meant for tests and
// for a repair command, not for every start.
func (s *Store) Check() error {
	return s.view(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drain: Check's goroutine sends every error
			if first == nil {
				first = fmt.Errorf("check: %w: %v", ErrCorrupt, err)
			}
		}
		if first != nil {
			return first
		}
		threads, info := tx.Bucket(bucketThreads), tx.Bucket(bucketInfo)
		err := threads.ForEachBucket(func(name []byte) error {
			b := threads.Bucket(name)
			var count, prev uint64
			err := b.ForEach(func(k, v []byte) error {
				if len(k) != 8 || v == nil {
					return fmt.Errorf("%w: key %x", ErrCorrupt, k)
				}
				seq := binary.BigEndian.Uint64(k)
				if seq <= prev || seq > b.Sequence() {
					return fmt.Errorf("%w: seq %d after %d (sequence %d)", ErrCorrupt, seq, prev, b.Sequence())
				}
				prev = seq
				if _, err := decodeMessage(v); err != nil {
					return fmt.Errorf("#%d: %w", seq, err)
				}
				count++
				return nil
			})
			if err != nil {
				return fmt.Errorf("check %q: %w", name, err)
			}
			v := info.Get(name)
			if v == nil {
				if count == 0 {
					return nil
				}
				return fmt.Errorf("check %q: %w: no thread record", name, ErrCorrupt)
			}
			r, err := decodeThread(v)
			if err != nil {
				return fmt.Errorf("check %q: %w", name, err)
			}
			if r.count != count {
				return fmt.Errorf("check %q: %w: count %d, %d messages", name, ErrCorrupt, r.count, count)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return info.ForEach(func(k, _ []byte) error {
			if threads.Bucket(k) == nil {
				return fmt.Errorf("check %q: %w: thread record without messages", k, ErrCorrupt)
			}
			return nil
		})
	})
}

// update runs fn in a read-write transaction, mapping bbolt's "not open" to
// ErrClosed.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	return closedErr(s.db.Update(fn))
}

// view runs fn in a read-only transaction, mapping bbolt's "not open" to
// ErrClosed.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	return closedErr(s.db.View(fn))
}

func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func checkThread(thread string) error {
	if thread == "" || len(thread) > MaxThreadName {
		return fmt.Errorf("%w: %d bytes", ErrThreadName, len(thread))
	}
	return nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}
