// Package historystore implements ui.History over the on-disk history of
// package peerchat/core/history. Writes go through a queue served by one
// goroutine, so the UI never waits for the disk.
package historystore

import (
	"fmt"
	"log/slog"
	"sync"

	"peerchat/core/history"
	"peerchat/core/wire"
	"peerchat/ui"
	"peerchat/ui/model"
)

// Store is a ui.History. Its methods are safe for concurrent use.
type Store struct {
	st  *history.Store
	log *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []op
	closing bool
	seqs    map[uint64]uint64 // model key → history seq, for Update
	done    chan struct{}
}

type op struct {
	thread string
	m      model.Message
	kind   opKind
}

type opKind int

const (
	opSave opKind = iota
	opUpdate
	opDelete
)

var _ ui.History = (*Store)(nil)

// New returns a Store writing to st and starts its writer. The caller must
// Close the Store, then st.
func New(st *history.Store, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{st: st, log: log, seqs: map[uint64]uint64{}, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.writer()
	return s
}

// threadName maps a UI thread to a history thread: the feed to
// history.Broadcasts, a private thread to the folded nickname, so that
// "Ana" and "ana" are one thread.
func threadName(thread string) string {
	if thread == model.Everyone {
		return history.Broadcasts
	}
	return wire.FoldNick(thread)
}

// Threads lists the private threads that have history, most recent first,
// by their folded nicknames.
func (s *Store) Threads() ([]string, error) {
	infos, err := s.st.Threads()
	if err != nil {
		return nil, fmt.Errorf("history threads: %w", err)
	}
	var out []string
	for _, ti := range infos {
		if ti.Name != history.Broadcasts {
			out = append(out, ti.Name)
		}
	}
	return out, nil
}

// Load returns up to n messages of thread before beforeSeq (0: the newest),
// oldest first.
func (s *Store) Load(thread string, beforeSeq uint64, n int) ([]model.Message, error) {
	hs, err := s.st.Load(threadName(thread), beforeSeq, n)
	if err != nil {
		return nil, fmt.Errorf("history load: %w", err)
	}
	out := make([]model.Message, 0, len(hs))
	for _, h := range hs {
		m := model.Message{Seq: h.Seq, ID: h.ID, From: h.From, Text: h.Text, Time: h.Time}
		if h.Kind == history.KindSystem {
			m.Kind = model.KindSystem
		}
		switch h.State {
		case history.StateSending:
			m.State = model.Sending
		case history.StateDelivered:
			m.State = model.Delivered
		case history.StateFailed:
			m.State = model.Failed
		}
		out = append(out, m)
	}
	return out, nil
}

// Save queues m to be appended to thread. It never blocks.
func (s *Store) Save(thread string, m model.Message) { s.push(op{thread: thread, m: m}) }

// Update queues the new state of m. It never blocks.
func (s *Store) Update(thread string, m model.Message) {
	s.push(op{thread: thread, m: m, kind: opUpdate})
}

// Delete queues the removal of thread, after the writes queued before. It
// never blocks.
func (s *Store) Delete(thread string) { s.push(op{thread: thread, kind: opDelete}) }

func (s *Store) push(o op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.queue = append(s.queue, o)
	s.cond.Signal()
}

// Close writes what is queued and stops the writer. It does not close the
// underlying history.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closing = true
	s.cond.Signal()
	s.mu.Unlock()
	<-s.done
	return nil
}

func (s *Store) writer() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closing {
			s.cond.Wait()
		}
		q := s.queue
		s.queue = nil
		closing := s.closing
		s.mu.Unlock()
		for _, o := range q {
			s.write(o)
		}
		if closing && len(q) == 0 {
			return
		}
	}
}

func state(d model.Delivery) history.State {
	switch d {
	case model.Sending:
		return history.StateSending
	case model.Sent, model.Delivered:
		// A base peer never acknowledges: transport acceptance is the most we learn.
		return history.StateDelivered
	case model.Failed:
		return history.StateFailed
	}
	return history.StateReceived
}

func (s *Store) write(o op) {
	name := threadName(o.thread)
	switch o.kind {
	case opDelete:
		if err := s.st.Delete(name); err != nil {
			s.log.Warn("history delete", "thread", name, "err", err)
		}
		return
	case opUpdate:
		seq := o.m.Seq
		if seq == 0 {
			s.mu.Lock()
			seq = s.seqs[o.m.Key]
			s.mu.Unlock()
		}
		if seq == 0 {
			return
		}
		if err := s.st.SetState(name, seq, state(o.m.State)); err != nil {
			s.log.Warn("history update", "thread", name, "err", err)
		}
		return
	}
	kind := history.KindMessage
	if o.m.Kind == model.KindSystem {
		kind = history.KindSystem
	}
	seq, err := s.st.Append(name, history.Message{ID: o.m.ID, From: o.m.From, Text: o.m.Text, Time: o.m.Time, Kind: kind, State: state(o.m.State)})
	if err != nil {
		s.log.Warn("history append", "thread", name, "err", err)
		return
	}
	s.mu.Lock()
	s.seqs[o.m.Key] = seq
	s.mu.Unlock()
}
