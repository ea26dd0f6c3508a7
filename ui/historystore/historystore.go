// Package historystore keeps the UI's threads (package peerchat/ui/model)
// in the on-disk history of package peerchat/core/history. It maps the
// feed to history.Broadcasts and a private thread to its key (the folded
// nickname, as model keys it), converts messages both ways, and writes a
// list of changes in one transaction. A broadcast's signature state
// (model.Message.Signature) is stored with it, so that a broadcast marked
// as unsigned or forged stays marked after a restart.
package historystore

import (
	"fmt"
	"strings"
	"sync"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/ui/model"
)

// Store is the history of the UI's threads. Its methods are safe for
// concurrent use; Write is meant to be called by one goroutine (the session
// service's), in order.
type Store struct {
	*shared
	feed string // the history thread of the feed
}

// shared is the state of a Store and of its ForServer views.
type shared struct {
	st *history.Store

	mu    sync.Mutex
	seqs  map[uint64]seqRef // model key → history seq of our messages whose state may still change
	batch history.Batch     // reused by Write, under mu
}

type seqRef struct {
	thread string
	seq    uint64
}

// New returns a Store over st. The caller closes st after the last call.
// Its feed is history.Broadcasts, shared by every server: use ForServer to
// keep one feed per server.
func New(st *history.Store) *Store {
	return &Store{shared: &shared{st: st, seqs: map[uint64]seqRef{}}, feed: history.Broadcasts}
}

// ForServer returns a view of s whose feed (model.Everyone) is the one of
// the server at addr, as the user dialled it, so that what was said on one
// server never shows in another's feed. Private threads are shared. The
// view is safe for concurrent use with s.
func (s *Store) ForServer(addr string) *Store {
	return &Store{shared: s.shared, feed: FeedName(addr)}
}

// FeedName is the history thread that holds the feed of the server at addr:
// history.Broadcasts, a space and addr. Like history.Broadcasts it contains
// a space, so it is never a private thread's name.
func FeedName(addr string) string {
	if addr == "" {
		return history.Broadcasts
	}
	return history.Broadcasts + " " + addr
}

// isFeed reports whether the history thread name is a feed (of any server).
func isFeed(name string) bool {
	return name == history.Broadcasts || strings.HasPrefix(name, history.Broadcasts+" ")
}

// threadName maps a model thread key to a history thread: the feed to
// s.feed, a private thread to its key (already folded).
func (s *Store) threadName(key string) string {
	if key == model.Everyone {
		return s.feed
	}
	return key
}

// Threads lists the keys of the private threads that have history, most
// recent first.
func (s *Store) Threads() ([]string, error) {
	infos, err := s.st.Threads()
	if err != nil {
		return nil, fmt.Errorf("history threads: %w", err)
	}
	var out []string
	for _, ti := range infos {
		if !isFeed(ti.Name) {
			out = append(out, ti.Name)
		}
	}
	return out, nil
}

// Load returns up to n messages of thread before beforeSeq (0: the newest),
// oldest first, with their Seq set and Key 0 (the caller numbers them).
// Mine is not set: the history does not record who we were.
func (s *Store) Load(thread string, beforeSeq uint64, n int) ([]model.Message, error) {
	hs, err := s.st.Load(s.threadName(thread), beforeSeq, n)
	if err != nil {
		return nil, fmt.Errorf("history load: %w", err)
	}
	out := make([]model.Message, 0, len(hs))
	for _, h := range hs {
		m := model.Message{Seq: h.Seq, ID: h.ID, From: h.From, Text: h.Text, Time: h.Time, State: h.State, Signature: client.SigState(h.Signature)}
		switch h.Kind {
		case history.KindSystem:
			m.Kind = model.KindSystem
		case history.KindFile:
			f, err := decodeFile(h.Text)
			if err != nil {
				// Not this version's: show it as a line rather than lose
				// the thread.
				m.Kind, m.Text = model.KindSystem, "A file that cannot be shown"
				break
			}
			m.Kind, m.File, m.Text = model.KindFile, f, model.FileText(f)
		}
		out = append(out, m)
	}
	return out, nil
}

// Op says what a Write does.
type Op uint8

// Write operations.
const (
	// Append adds Msg to the end of Thread. Msg.Key names it in later
	// SetStates.
	Append Op = iota + 1
	// SetState stores Msg.State for the message Msg.Seq of Thread or, if
	// Msg.Seq is 0, for the message appended with Msg.Key.
	SetState
	// Delete removes Thread and all its messages.
	Delete
)

// Write is one change of the history.
type Write struct {
	Op     Op
	Thread string // a model thread key
	Msg    model.Message
}

// Write applies ws in one transaction, in order: all of them or none. A
// SetState whose message is unknown (never appended through this Store,
// or its thread deleted since) is skipped. A SetState of a message appended
// earlier in the same ws is folded into its Append.
func (s *Store) Write(ws []Write) error {
	if len(ws) == 0 {
		return nil
	}
	// Fold the SetStates of messages appended in this batch into their Append.
	state := make([]delivery.State, len(ws))
	folded := make([]bool, len(ws))
	appendedAt := map[uint64]int{} // key → index in ws of its Append
	for i, w := range ws {
		switch w.Op {
		case Append:
			state[i] = w.Msg.State
			if w.Msg.Key != 0 {
				appendedAt[w.Msg.Key] = i
			}
		case SetState:
			if j, ok := appendedAt[w.Msg.Key]; ok && w.Msg.Seq == 0 {
				state[j], folded[i] = w.Msg.State, true
			}
		case Delete:
			for k, j := range appendedAt {
				if ws[j].Thread == w.Thread {
					delete(appendedAt, k)
				}
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.batch
	b.Reset()
	type appended struct {
		key   uint64 // 0: its state never changes, no need to remember its seq
		name  string
		index int // among b's appends
	}
	var apps []appended
	for i, w := range ws {
		name := s.threadName(w.Thread)
		switch w.Op {
		case Append:
			kind, text := history.KindMessage, w.Msg.Text
			switch {
			case w.Msg.Kind == model.KindSystem:
				kind = history.KindSystem
			case w.Msg.Kind == model.KindFile && w.Msg.File != nil:
				kind, text = history.KindFile, encodeFile(w.Msg.File)
			}
			a := appended{name: name}
			a.index = b.Append(name, history.Message{ID: w.Msg.ID, From: w.Msg.From, Text: text, Time: w.Msg.Time, Kind: kind, State: state[i], Signature: sigMark(w.Msg.Signature)})
			if w.Msg.Mine && w.Msg.Key != 0 && state[i] != delivery.Delivered && state[i] != delivery.Read {
				a.key = w.Msg.Key
			}
			apps = append(apps, a)
		case SetState:
			if folded[i] {
				continue
			}
			seq := w.Msg.Seq
			if seq == 0 {
				ref, ok := s.seqs[w.Msg.Key]
				if !ok {
					continue
				}
				seq = ref.seq
			}
			b.SetState(name, seq, w.Msg.State)
			if w.Msg.State == delivery.Delivered || w.Msg.State == delivery.Read {
				delete(s.seqs, w.Msg.Key)
			}
		case Delete:
			b.Delete(name)
			for k, ref := range s.seqs {
				if ref.thread == name {
					delete(s.seqs, k)
				}
			}
			for j := range apps {
				if apps[j].name == name {
					apps[j].key = 0
				}
			}
		default:
			return fmt.Errorf("history write: unknown op %d", w.Op)
		}
	}
	seqs, err := s.st.Write(b)
	if err != nil {
		return fmt.Errorf("history write: %w", err)
	}
	for _, a := range apps {
		if a.key != 0 {
			s.seqs[a.key] = seqRef{thread: a.name, seq: seqs[a.index]}
		}
	}
	return nil
}

// sigMark is how a broadcast's signature state is stored
// (history.Message.Signature): the client.SigState itself, 0 (SigNone)
// for a state this version does not know.
func sigMark(s client.SigState) uint8 {
	if s < 0 || s > 0xff {
		return 0
	}
	return uint8(s)
}
