package history

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultSearchLimit is the number of hits Search returns when
// SearchOptions.Limit is zero or less.
const DefaultSearchLimit = 100

// SearchOptions narrow a Search. The zero value searches every thread and
// returns up to DefaultSearchLimit hits.
type SearchOptions struct {
	// Limit is the most hits returned; zero or less means
	// DefaultSearchLimit.
	Limit int
	// Thread, if not empty, restricts the search to that thread (Broadcasts
	// for the feed).
	Thread string
}

// Range is the byte range [Start, End) of a match in Hit.Text. Start and
// End are on UTF-8 character boundaries.
type Range struct {
	Start, End int
}

// Hit is one message that matches a Search: the thread and Seq to open it
// at (Store.Load(hit.Thread, hit.Seq+1, n) ends with it), and where in its
// text the query matched.
type Hit struct {
	Thread  string // the thread's name (Broadcasts for the feed)
	Message        // the message, as Load returns it
	// Match lists the matched ranges of Text, in increasing order and not
	// overlapping: one range if the whole query occurs as it was typed
	// (after folding), else the first occurrence of each word.
	Match []Range
}

// Search returns the chat messages (Kind KindMessage; system lines are not
// searched) whose text contains every word of query, newest first (by Time,
// then by thread name, then newest Seq first), at most opt.Limit of them.
//
// Matching ignores case and accents: text and query are compared after
// folding each character with full Unicode case folding, then canonical
// decomposition (NFD) without nonspacing marks, and white space as a
// single space, so "cafe" finds "Café", "STRASSE" finds "Straße" and
// "noel" finds "Noël". The query is split into words at white space; each
// word may occur anywhere in the text, even inside a longer word
// ("chat" finds "PeerChat"), in any order. A query with no words gives no
// hits and no error.
//
// Search reads the whole history in one read-only transaction, so it sees
// every write that returned before it started and none that had not. It
// takes time in proportion to the number of stored messages (20 to 60 ms
// for 100,000, see the package doc); writes go on meanwhile, except one
// that must grow the file, which waits for it. It is safe for concurrent
// use.
func (s *Store) Search(query string, opt SearchOptions) ([]Hit, error) {
	if opt.Thread != "" {
		if err := checkThread(opt.Thread); err != nil {
			return nil, err
		}
	}
	q := compileQuery(query)
	if q == nil {
		return nil, nil
	}
	limit := opt.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	var hits []Hit
	err := s.view(func(tx *bolt.Tx) error {
		threads := tx.Bucket(bucketThreads)
		best := &hitHeap{limit: limit}
		var buf []byte
		scan := func(name []byte) error {
			b := threads.Bucket(name)
			if b == nil {
				return nil
			}
			thread := string(name)
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if len(k) != 8 {
					return fmt.Errorf("%w: key %x", ErrCorrupt, k)
				}
				seq := binary.BigEndian.Uint64(k)
				sec, nsec, text, ok := searchFields(v)
				if !ok {
					continue // a system line, or malformed: Load and Check report it
				}
				if !best.wants(hitKey{sec: sec, nsec: nsec, thread: thread, seq: seq}) {
					continue
				}
				buf = appendFold(buf[:0], text)
				if q.matches(buf) {
					best.add(hitKey{sec: sec, nsec: nsec, thread: thread, seq: seq})
				}
			}
			return nil
		}
		var err error
		if opt.Thread != "" {
			err = scan([]byte(opt.Thread))
		} else {
			err = threads.ForEachBucket(scan)
		}
		if err != nil {
			return err
		}
		keys := best.keys
		slices.SortFunc(keys, func(a, b hitKey) int { return a.compare(b) })
		hits = make([]Hit, 0, len(keys))
		for _, k := range keys {
			v := threads.Bucket([]byte(k.thread)).Get(seqKey(k.seq))
			m, err := decodeMessage(v)
			if err != nil {
				return fmt.Errorf("%q #%d: %w", k.thread, k.seq, err)
			}
			m.Seq = k.seq
			hits = append(hits, Hit{Thread: k.thread, Message: m, Match: q.ranges(m.Text)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return hits, nil
}

// searchFields returns the time and text of a message record without
// copying them, or ok false if v is not a well-formed record of a chat
// message (KindMessage). Search skips a malformed record rather than fail:
// Load and Check report it.
func searchFields(v []byte) (sec int64, nsec uint64, text []byte, ok bool) {
	if len(v) < fixedPartLen || (v[0] != recordVersion && v[0] != recordVersionSig) || Kind(v[1]) != KindMessage {
		return 0, 0, nil, false
	}
	d := decoder{b: v[fixedPartLen:]}
	d.uvarint() // id
	sec = d.varint()
	nsec = d.uvarint()
	from := d.uvarint()
	if d.err != nil || from > uint64(len(d.b)) {
		return 0, 0, nil, false
	}
	d.b = d.b[from:]
	n := d.uvarint()
	// Version 1 ends with the text; version 2 has the signature mark after it.
	if d.err != nil || n > uint64(len(d.b)) || (n == uint64(len(d.b))) != (v[0] == recordVersion) || nsec >= uint64(time.Second) {
		return 0, 0, nil, false
	}
	return sec, nsec, d.b[:n], true
}

// query is a compiled search query: folded words.
type query struct {
	phrase []byte   // the folded words, joined by single spaces
	words  [][]byte // phrase split at spaces, longest first, no duplicates
}

// compileQuery folds q and splits it into words; it returns nil if q has no
// words.
func compileQuery(q string) *query {
	words := bytes.Fields(appendFold(nil, []byte(q)))
	if len(words) == 0 {
		return nil
	}
	phrase := bytes.Join(words, []byte(" "))
	// Longest first: the rarest word is likely the longest, and a message
	// is refused at its first missing word.
	slices.SortStableFunc(words, func(a, b []byte) int { return len(b) - len(a) })
	words = slices.CompactFunc(words, bytes.Equal)
	return &query{phrase: phrase, words: words}
}

// matches reports whether the folded text holds every word.
func (q *query) matches(folded []byte) bool {
	for _, w := range q.words {
		if !bytes.Contains(folded, w) {
			return false
		}
	}
	return true
}

// ranges returns the byte ranges of text that match q (see Hit.Match).
func (q *query) ranges(text string) []Range {
	folded, from := foldMap(text)
	// span returns the range of the characters that folded bytes [i, i+n)
	// come from: whole characters, even if the match starts or ends inside
	// a character's folded form ("s" in "ß", "ᄀ" in "가").
	span := func(i, n int) Range {
		last, end := from[i+n-1], len(text)
		for j := i + n; j < len(from); j++ {
			if from[j] != last {
				end = from[j]
				break
			}
		}
		return Range{Start: from[i], End: end}
	}
	if i := bytes.Index(folded, q.phrase); i >= 0 {
		return []Range{span(i, len(q.phrase))}
	}
	var out []Range
	for _, w := range q.words {
		if i := bytes.Index(folded, w); i >= 0 {
			out = append(out, span(i, len(w)))
		}
	}
	slices.SortFunc(out, func(a, b Range) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
	// Merge overlapping ranges: "ana" and "nab" in "banab".
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r.Start < merged[n-1].End {
			merged[n-1].End = max(merged[n-1].End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// hitKey identifies a hit and orders hits, newest first.
type hitKey struct {
	sec    int64
	nsec   uint64
	thread string
	seq    uint64
}

// compare orders a before b (negative) if a comes first in Search's result.
func (a hitKey) compare(b hitKey) int {
	switch {
	case a.sec != b.sec:
		if a.sec > b.sec {
			return -1
		}
		return 1
	case a.nsec != b.nsec:
		if a.nsec > b.nsec {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.thread, b.thread); c != 0 {
		return c
	}
	switch {
	case a.seq > b.seq:
		return -1
	case a.seq < b.seq:
		return 1
	}
	return 0
}

// hitHeap keeps the first limit hits in Search's order; its root is the
// last of them, the first to be dropped.
type hitHeap struct {
	limit int
	keys  []hitKey
}

func (h *hitHeap) Len() int           { return len(h.keys) }
func (h *hitHeap) Less(i, j int) bool { return h.keys[i].compare(h.keys[j]) > 0 }
func (h *hitHeap) Swap(i, j int)      { h.keys[i], h.keys[j] = h.keys[j], h.keys[i] }
func (h *hitHeap) Push(x any)         { h.keys = append(h.keys, x.(hitKey)) }
func (h *hitHeap) Pop() any {
	k := h.keys[len(h.keys)-1]
	h.keys = h.keys[:len(h.keys)-1]
	return k
}

// wants reports whether a hit k would be kept: the heap is not full, or k
// comes before its last hit. It lets Search skip matching messages that
// could not make the result.
func (h *hitHeap) wants(k hitKey) bool {
	return len(h.keys) < h.limit || k.compare(h.keys[0]) < 0
}

// add keeps k, dropping the last hit if the heap is full. k must be wanted.
func (h *hitHeap) add(k hitKey) {
	if len(h.keys) < h.limit {
		heap.Push(h, k)
		return
	}
	h.keys[0] = k
	heap.Fix(h, 0)
}
