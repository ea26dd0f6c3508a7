package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// MailFile is the name of the mailbox database in a server's data
// directory: the stored items (docs/PROTOCOL.md §2.8), their receipts, and
// the kept broadcasts (§2.9).
const MailFile = "mailbox.db"

// ErrMailLocked is wrapped by the error OpenMailStore returns when another
// process (a running server) has the mailbox database open.
var ErrMailLocked = errors.New("server: the mailbox database is in use by another process (is the server running?)")

// Buckets of the mailbox database. A key (k) is the 64-byte binary form of
// a public identity (identity.PublicIdentity.Bytes).
var (
	// items: recipient k | seq (8, big endian) → item (encodeItem).
	bucketItems = []byte("items")
	// index: recipient k | folded sender nick | 0 | id (8) → seq (8) | sender k.
	bucketIndex = []byte("index")
	// done: as index, for acknowledged items → time (8) | sender k; kept
	// for the age bound, so that a repeated put is answered like the first.
	bucketDone = []byte("done")
	// counts: recipient k → items (8) | bytes (8).
	bucketCounts = []byte("counts")
	// receipts: sender k | seq (8) → kind (1) | id (8) | recipient nick.
	bucketReceipts = []byte("receipts")
	// bcasts: broadcast id (8) → kept broadcast (encodeBcast).
	bucketBcasts = []byte("bcasts")
	// meta: "seq" → the last item or receipt seq; "bid" → the broadcast
	// ids reserved so far.
	bucketMeta = []byte("meta")
)

var (
	keySeq = []byte("seq")
	keyBid = []byte("bid")
)

// MailStore keeps the mailbox (items stored for keys, receipts for their
// senders) and the kept broadcasts in one bbolt file, which only one
// process may have open. Every change is written with fsync before the
// method that makes it returns. Its methods are safe for concurrent use.
type MailStore struct {
	db    *bolt.DB
	temp  string       // a temporary store's directory, removed by Close
	total atomic.Int64 // bytes of all items
}

// OpenMailStore opens (creating it and dir, mode 0700, if need be) the
// mailbox database dir/MailFile. When another process has it open, it
// fails soon with an error wrapping ErrMailLocked. The caller must Close it
// after the Server that uses it has stopped.
func OpenMailStore(dir string) (*MailStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	path := filepath.Join(dir, MailFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: nickOpenTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			err = ErrMailLocked
		}
		return nil, fmt.Errorf("server: open %s: %w", path, err)
	}
	ms := &MailStore{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketItems, bucketIndex, bucketDone, bucketCounts, bucketReceipts, bucketBcasts, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketCounts).ForEach(func(_, v []byte) error {
			if len(v) == 16 {
				ms.total.Add(int64(binary.BigEndian.Uint64(v[8:])))
			}
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("server: open %s: %w", path, err)
	}
	return ms, nil
}

// openTempMailStore opens a MailStore in a new temporary directory, which
// Close removes.
func openTempMailStore() (*MailStore, error) {
	dir, err := os.MkdirTemp("", "peerchat-mail-")
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	ms, err := OpenMailStore(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ms.temp = dir
	return ms, nil
}

// Close closes the database.
func (ms *MailStore) Close() error {
	err := ms.db.Close()
	if ms.temp != "" {
		os.RemoveAll(ms.temp)
	}
	return err
}

// mailItem is one stored item.
type mailItem struct {
	Seq     uint64 // order of arrival, server-wide
	FromKey []byte // the sender's key, binary (identity.PublicIdentity.Bytes)
	From    string // the sender's nick
	To      string // the recipient's nick as the sender wrote it
	ID      uint64 // the sender's id
	Time    time.Time
	Data    string
}

// frameLen returns the size of the item's MBOX frame.
func (it *mailItem) frameLen() int {
	return len(wire.Encode(wire.Mbox{From: it.From, ID: it.ID, Time: it.Time, Data: it.Data}))
}

// mailLimits are the mailbox's bounds (Config.MailItems, …).
type mailLimits struct {
	items        int
	bytes, total int64
}

// putResult is what a put did.
type putResult uint8

const (
	putStored    putResult = iota // stored now
	putDuplicate                  // stored before, not acknowledged yet
	putDelivered                  // stored before and acknowledged
	putFull                       // refused: a bound
)

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func indexKey(rcpt identity.PublicIdentity, from string, id uint64) []byte {
	k := append(rcpt.Bytes(), wire.FoldNick(from)...)
	return binary.BigEndian.AppendUint64(append(k, 0), id)
}

func encodeItem(it *mailItem) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(it.Time.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, it.ID)
	b = append(b, it.FromKey...)
	b = append(append(b, byte(len(it.From))), it.From...)
	b = append(append(b, byte(len(it.To))), it.To...)
	return append(b, it.Data...)
}

var errBadRecord = errors.New("server: bad mailbox record")

func decodeItem(k, v []byte) (mailItem, error) {
	var it mailItem
	if len(k) != identity.PublicSize+8 || len(v) < 8+8+identity.PublicSize+1 {
		return it, errBadRecord
	}
	it.Seq = binary.BigEndian.Uint64(k[identity.PublicSize:])
	it.Time = time.UnixMilli(int64(binary.BigEndian.Uint64(v)))
	it.ID = binary.BigEndian.Uint64(v[8:])
	it.FromKey = bytes.Clone(v[16 : 16+identity.PublicSize])
	v = v[16+identity.PublicSize:]
	n := int(v[0])
	if len(v) < 1+n+1 {
		return it, errBadRecord
	}
	it.From, v = string(v[1:1+n]), v[1+n:]
	n = int(v[0])
	if len(v) < 1+n {
		return it, errBadRecord
	}
	it.To, it.Data = string(v[1:1+n]), string(v[1+n:])
	return it, nil
}

// nextSeq returns the next item or receipt sequence number.
func nextSeq(tx *bolt.Tx) uint64 {
	m := tx.Bucket(bucketMeta)
	var n uint64
	if v := m.Get(keySeq); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n++
	m.Put(keySeq, u64(n))
	return n
}

// count adds dn items and db bytes to rcpt's counts, and returns the new
// values.
func count(tx *bolt.Tx, rcpt []byte, dn, db int64) (int64, int64, error) {
	c := tx.Bucket(bucketCounts)
	var n, b int64
	if v := c.Get(rcpt); len(v) == 16 {
		n, b = int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:]))
	}
	n, b = n+dn, b+db
	if n <= 0 {
		return 0, 0, c.Delete(rcpt)
	}
	return n, b, c.Put(rcpt, binary.BigEndian.AppendUint64(u64(uint64(n)), uint64(b)))
}

// mailOp is one put or ack for MailStore.apply: the fields it reads,
// and the ones apply sets.
type mailOp struct {
	ack bool
	// receipt: the sender (rcpt: its key) has the receipt of its item id
	// to nick from: it is forgotten.
	receipt bool
	rcpt    identity.PublicIdentity
	// A put: the item to store (apply sets its Seq), and what was done.
	// An ack: the sender nick and id acknowledged; apply sets item to the
	// item deleted, and found.
	item   mailItem
	res    putResult
	from   string
	id     uint64
	found  bool
	reason string // set by the caller: a put refused before apply (wire.Mbox…)
}

// apply carries out ops in order in one transaction (one fsync): a put
// stores its item unless a bound forbids it (or reports that it was
// stored, or stored and acknowledged, before: the same sender nick and
// key, recipient and id); an ack deletes its item, remembering its id as
// delivered until the age bound. Ops with a reason set are skipped.
func (ms *MailStore) apply(ops []*mailOp, lim mailLimits, now time.Time) error {
	var delta int64
	err := ms.db.Update(func(tx *bolt.Tx) error {
		delta = 0
		for _, op := range ops {
			if op.reason != "" {
				continue
			}
			var d int64
			var err error
			switch {
			case op.receipt:
				err = dropReceiptTx(tx, op.rcpt.Bytes(), op.from, op.id)
			case op.ack:
				d, err = ackTx(tx, op, now, lim.items)
			default:
				d, err = putTx(tx, op, lim, ms.total.Load()+delta)
			}
			if err != nil {
				return err
			}
			delta += d
		}
		return nil
	})
	if err == nil {
		ms.total.Add(delta)
	}
	return err
}

// putTx is a put of apply; total is the bytes of all items so far. It
// returns the bytes added.
func putTx(tx *bolt.Tx, op *mailOp, lim mailLimits, total int64) (int64, error) {
	it := &op.item
	size := int64(len(it.Data))
	ik := indexKey(op.rcpt, it.From, it.ID)
	if v := tx.Bucket(bucketIndex).Get(ik); len(v) == 8+identity.PublicSize && bytes.Equal(v[8:], it.FromKey) {
		op.res = putDuplicate
		return 0, nil
	}
	if v := tx.Bucket(bucketDone).Get(ik); len(v) == 8+identity.PublicSize && bytes.Equal(v[8:], it.FromKey) {
		op.res = putDelivered
		return 0, nil
	}
	rk := op.rcpt.Bytes()
	var n, b int64
	if v := tx.Bucket(bucketCounts).Get(rk); len(v) == 16 {
		n, b = int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:]))
	}
	if n+1 > int64(lim.items) || b+size > lim.bytes || total+size > lim.total {
		op.res = putFull
		return 0, nil
	}
	it.Seq = nextSeq(tx)
	if err := tx.Bucket(bucketItems).Put(binary.BigEndian.AppendUint64(rk, it.Seq), encodeItem(it)); err != nil {
		return 0, err
	}
	if err := tx.Bucket(bucketIndex).Put(ik, append(u64(it.Seq), it.FromKey...)); err != nil {
		return 0, err
	}
	if _, _, err := count(tx, rk, 1, size); err != nil {
		return 0, err
	}
	op.res = putStored
	return size, nil
}

// after returns up to max items of rcpt after seq, oldest first.
func (ms *MailStore) after(rcpt identity.PublicIdentity, seq uint64, max int) ([]mailItem, error) {
	var out []mailItem
	err := ms.db.View(func(tx *bolt.Tx) error {
		rk := rcpt.Bytes()
		cur := tx.Bucket(bucketItems).Cursor()
		for k, v := cur.Seek(binary.BigEndian.AppendUint64(rk, seq+1)); k != nil && bytes.HasPrefix(k, rk) && len(out) < max; k, v = cur.Next() {
			it, err := decodeItem(k, v)
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	return out, err
}

// ackTx is an ack of apply: it deletes the item and stores its sender's
// receipt (at most maxReceipts per sender), kept until the sender says it
// has it (MBOX_RECEIPT), so that no crash, kill or lost connection loses
// it. It returns the bytes added (minus those deleted).
func ackTx(tx *bolt.Tx, op *mailOp, now time.Time, maxReceipts int) (int64, error) {
	op.found = false
	items, index := tx.Bucket(bucketItems), tx.Bucket(bucketIndex)
	ik := indexKey(op.rcpt, op.from, op.id)
	v := index.Get(ik)
	if len(v) != 8+identity.PublicSize {
		return 0, nil
	}
	dv := append(binary.BigEndian.AppendUint64(nil, uint64(now.UnixMilli())), v[8:]...)
	rk := binary.BigEndian.AppendUint64(op.rcpt.Bytes(), binary.BigEndian.Uint64(v))
	it, err := decodeItem(rk, items.Get(rk))
	if err != nil {
		return 0, err
	}
	if err := items.Delete(rk); err != nil {
		return 0, err
	}
	if err := index.Delete(ik); err != nil {
		return 0, err
	}
	if err := tx.Bucket(bucketDone).Put(ik, dv); err != nil {
		return 0, err
	}
	if _, _, err := count(tx, op.rcpt.Bytes(), -1, -int64(len(it.Data))); err != nil {
		return 0, err
	}
	if err := addReceipt(tx, it.FromKey, receipt{To: it.To, ID: it.ID}, maxReceipts); err != nil {
		return 0, err
	}
	op.item, op.found = it, true
	return -int64(len(it.Data)), nil
}

// dropReceiptTx forgets the receipt of sender sk for its item id to nick
// to, if it is stored.
func dropReceiptTx(tx *bolt.Tx, sk []byte, to string, id uint64) error {
	b := tx.Bucket(bucketReceipts)
	fold := wire.FoldNick(to)
	cur := b.Cursor()
	for k, v := cur.Seek(sk); k != nil && bytes.HasPrefix(k, sk); k, v = cur.Next() {
		if len(v) >= 9 && binary.BigEndian.Uint64(v[1:]) == id && wire.FoldNick(string(v[9:])) == fold {
			return b.Delete(k)
		}
	}
	return nil
}

// receipt is what a sender hears about an item: MBOX_DELIVERED, or
// MBOX_REFUSED expired.
type receipt struct {
	To      string
	ID      uint64
	Expired bool
}

func (r receipt) frame() []byte {
	if r.Expired {
		return wire.Encode(wire.MboxRefused{To: r.To, ID: r.ID, Reason: wire.MboxExpired})
	}
	return wire.Encode(wire.MboxDelivered{To: r.To, ID: r.ID})
}

// addReceipt stores r for sender, keeping at most max receipts for it
// (the oldest go).
func addReceipt(tx *bolt.Tx, sk []byte, r receipt, max int) error {
	b := tx.Bucket(bucketReceipts)
	var old [][]byte
	cur := b.Cursor()
	for k, _ := cur.Seek(sk); k != nil && bytes.HasPrefix(k, sk); k, _ = cur.Next() {
		old = append(old, bytes.Clone(k))
	}
	for len(old) >= max && len(old) > 0 {
		if err := b.Delete(old[0]); err != nil {
			return err
		}
		old = old[1:]
	}
	kind := byte(0)
	if r.Expired {
		kind = 1
	}
	v := binary.BigEndian.AppendUint64([]byte{kind}, r.ID)
	return b.Put(binary.BigEndian.AppendUint64(sk, nextSeq(tx)), append(v, r.To...))
}

// takeReceipts returns sender's receipts, oldest first. They stay stored
// until the sender says it has each (MBOX_RECEIPT): one sent on a
// connection that dies is sent again on the next.
func (ms *MailStore) takeReceipts(sender identity.PublicIdentity) ([]receipt, error) {
	var out []receipt
	sk := sender.Bytes()
	err := ms.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketReceipts).Cursor()
		for k, v := cur.Seek(sk); k != nil && bytes.HasPrefix(k, sk); k, v = cur.Next() {
			if len(v) < 9 {
				continue
			}
			out = append(out, receipt{To: string(v[9:]), ID: binary.BigEndian.Uint64(v[1:]), Expired: v[0] == 1})
		}
		return nil
	})
	return out, err
}

// expire deletes the items stored before cutoff, with a receipt
// (MBOX_REFUSED expired) for each sender, and forgets the acknowledged
// items older than cutoff. It returns the number of items deleted.
func (ms *MailStore) expire(cutoff time.Time, maxReceipts int) (int, error) {
	n := 0
	var freed int64
	err := ms.db.Update(func(tx *bolt.Tx) error {
		n, freed = 0, 0
		items := tx.Bucket(bucketItems)
		var old []mailItem
		var rcpts [][]byte
		cur := items.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) < cutoff.UnixMilli() {
				it, err := decodeItem(k, v)
				if err != nil {
					continue
				}
				old = append(old, it)
				rcpts = append(rcpts, bytes.Clone(k[:identity.PublicSize]))
			}
		}
		for i, it := range old {
			rk := rcpts[i]
			if err := items.Delete(binary.BigEndian.AppendUint64(bytes.Clone(rk), it.Seq)); err != nil {
				return err
			}
			rcpt, _ := identity.FromBytes(rk)
			if err := tx.Bucket(bucketIndex).Delete(indexKey(rcpt, it.From, it.ID)); err != nil {
				return err
			}
			if _, _, err := count(tx, rk, -1, -int64(len(it.Data))); err != nil {
				return err
			}
			if err := addReceipt(tx, it.FromKey, receipt{To: it.To, ID: it.ID, Expired: true}, maxReceipts); err != nil {
				return err
			}
			n++
			freed += int64(len(it.Data))
		}
		done := tx.Bucket(bucketDone)
		var gone [][]byte
		dc := done.Cursor()
		for k, v := dc.First(); k != nil; k, v = dc.Next() {
			if len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) < cutoff.UnixMilli() {
				gone = append(gone, bytes.Clone(k))
			}
		}
		for _, k := range gone {
			if err := done.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		ms.total.Add(-freed)
	}
	return n, err
}
