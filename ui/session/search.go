package session

import (
	"errors"

	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// ErrNoSearch is returned by Service.Search when the Service has no Store
// that can search (no history, or a Store that is not a Searcher).
var ErrNoSearch = errors.New("no history to search")

// Searcher is a Store that can also search it: *historystore.Store.
type Searcher interface {
	// Search returns up to limit messages whose text holds every word of
	// query, newest first (historystore.Store.Search).
	Search(query string, limit int) ([]historystore.Hit, error)
}

// Search returns up to limit messages of the history (the private threads
// and this server's feed) whose text holds every word of query, newest
// first, with Mine set on ours; ErrNoSearch if the Store cannot search.
// Like Load it reads the disk: the UI calls it off its goroutine. It is
// safe for concurrent use.
func (s *Service) Search(query string, limit int) ([]historystore.Hit, error) {
	sr, ok := s.st.(Searcher)
	if !ok {
		return nil, ErrNoSearch
	}
	hits, err := sr.Search(query, limit)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	me := model.Key(s.j.me)
	s.mu.Unlock()
	for i := range hits {
		m := &hits[i].Msg
		m.Mine = m.From != "" && model.Key(m.From) == me
	}
	return hits, nil
}
