package historystore

import (
	"fmt"
	"slices"
	"strings"

	"peerchat/core/client"
	"peerchat/core/history"
	"peerchat/ui/model"
)

// Hit is one message found by Search.
type Hit struct {
	// Thread is the model thread key of the message: model.Everyone for
	// the feed, else the peer's folded nickname.
	Thread string
	// Msg is the message as Load returns it: Seq set, Key 0, Mine unset.
	Msg model.Message
	// Match lists the byte ranges of Msg.Text that the query matched, in
	// increasing order and not overlapping (history.Hit.Match).
	Match []history.Range
}

// Search returns the chat messages of the private threads and of this
// Store's feed whose text contains every word of query, newest first, at
// most limit of them (limit ≤ 0: history.DefaultSearchLimit). Matching is
// history.Store.Search's: case and accents are ignored. The feeds of other
// servers are not searched. It reads the disk and takes time in proportion
// to the number of stored messages: call it off the UI goroutine.
func (s *Store) Search(query string, limit int) ([]Hit, error) {
	if limit <= 0 {
		limit = history.DefaultSearchLimit
	}
	infos, err := s.st.Threads()
	if err != nil {
		return nil, fmt.Errorf("history search: %w", err)
	}
	foreign := slices.ContainsFunc(infos, func(ti history.ThreadInfo) bool { return isFeed(ti.Name) && ti.Name != s.feed })
	if !foreign {
		// Every thread is ours: one search, which decodes only the hits
		// it returns.
		hs, err := s.st.Search(query, history.SearchOptions{Limit: limit})
		if err != nil {
			return nil, fmt.Errorf("history search: %w", err)
		}
		return s.hits(hs), nil
	}
	var hits []history.Hit
	for _, ti := range infos {
		if isFeed(ti.Name) && ti.Name != s.feed {
			continue // another server's feed
		}
		hs, err := s.st.Search(query, history.SearchOptions{Limit: limit, Thread: ti.Name})
		if err != nil {
			return nil, fmt.Errorf("history search: %w", err)
		}
		hits = append(hits, hs...)
	}
	// The order of history.Store.Search: newest first, then by thread,
	// then newest Seq first.
	slices.SortFunc(hits, func(a, b history.Hit) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.Thread, b.Thread); c != 0 {
			return c
		}
		switch {
		case a.Seq > b.Seq:
			return -1
		case a.Seq < b.Seq:
			return 1
		}
		return 0
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return s.hits(hits), nil
}

// hits converts the history's hits to the UI's.
func (s *Store) hits(hits []history.Hit) []Hit {
	out := make([]Hit, len(hits))
	for i, h := range hits {
		thread := h.Thread
		if isFeed(thread) {
			thread = model.Everyone
		}
		out[i] = Hit{
			Thread: thread,
			Msg:    model.Message{Seq: h.Seq, ID: h.ID, From: h.From, Text: h.Text, Time: h.Time, State: h.State, Signature: client.SigState(h.Signature)},
			Match:  h.Match,
		}
	}
	return out
}
