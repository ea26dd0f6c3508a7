package ui

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"gioui.org/layout"
	"gioui.org/widget"

	"peerchat/core/history"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// searchLimit is the most results the search pane shows.
const searchLimit = 100

// searcher is what the search pane needs of the session:
// *session.Service.Search. A session that cannot search leaves the pane
// saying so.
type searcher interface {
	Search(query string, limit int) ([]historystore.Hit, error)
}

// searchPane is the state of the search pane, which takes the place of the
// people pane while it is open: the query field, the results of the last
// search and their rows. The search itself runs off the UI goroutine, one
// at a time; a query typed meanwhile is searched when it ends. Owned by the
// UI goroutine.
type searchPane struct {
	open  bool
	field widget.Editor
	close iconButtonState
	list  widget.List
	rows  []widget.Clickable // one per result

	query   string // the query of results
	results []historystore.Hit
	err     error
	picked  *historystore.Hit // the result last opened, drawn selected
	running bool              // a search is under way
	dirty   bool              // the field changed since the running search started
	done    chan searchResult
}

// searchResult is what a search run off the UI goroutine hands back.
type searchResult struct {
	query string
	hits  []historystore.Hit
	err   error
}

func newSearchPane() *searchPane {
	p := &searchPane{done: make(chan searchResult, 1)}
	p.field.SingleLine, p.field.Submit = true, true
	p.list.Axis = layout.Vertical
	return p
}

// show opens the pane with the focus in its field, the text selected.
func (p *searchPane) show(gtx C) {
	p.open = true
	p.field.SetCaret(p.field.Len(), 0)
	gtx.Execute(focusCmd(&p.field))
}

// update takes in a finished search, starts one when the query changed,
// and calls pick with the result the user clicked (or the first one, on
// Enter). run runs a function off the UI goroutine, until ctx is done.
func (p *searchPane) update(gtx C, sr searcher, run func(func(ctx context.Context)), invalidate func(), pick func(historystore.Hit)) {
	select {
	case r := <-p.done:
		p.running = false
		p.query, p.results, p.err = r.query, r.hits, r.err
		p.list.Position, p.picked = layout.Position{}, nil
	default:
	}
	if p.close.Clicked(gtx) {
		p.open = false
	}
	if !p.open {
		return
	}
	for {
		ev, ok := p.field.Update(gtx)
		if !ok {
			break
		}
		switch ev.(type) {
		case widget.ChangeEvent:
			p.dirty = true
		case widget.SubmitEvent:
			if len(p.results) > 0 && p.query == strings.TrimSpace(p.field.Text()) {
				p.picked = &p.results[0]
				pick(p.results[0])
			}
		}
	}
	for len(p.rows) < len(p.results) {
		p.rows = append(p.rows, widget.Clickable{})
	}
	for i := range p.results {
		if p.rows[i].Clicked(gtx) {
			p.picked = &p.results[i]
			pick(p.results[i])
		}
	}
	if p.dirty && !p.running {
		p.dirty = false
		q := strings.TrimSpace(p.field.Text())
		if q == p.query && p.err == nil {
			return
		}
		if q == "" || sr == nil {
			p.query, p.results, p.err = q, nil, nil
			return
		}
		p.running = true
		run(func(ctx context.Context) {
			hits, err := sr.Search(q, searchLimit)
			select {
			case p.done <- searchResult{query: q, hits: hits, err: err}:
				invalidate()
			case <-ctx.Done():
			}
		})
	}
}

// seek is a message to bring into view once its thread has loaded it.
type seek struct {
	thread string
	seq    uint64
}

// openAt opens the thread of a search result at its message; seekStep
// brings it into view, paging in older history until it is loaded.
func (s *chatScreen) openAt(h historystore.Hit) {
	s.open(h.Thread)
	s.seeking = &seek{thread: h.Thread, seq: h.Msg.Seq}
	s.seekStep()
}

// seekStep scrolls the thread being sought to its message if it is loaded,
// else loads the page before what the thread holds (historyPager), unless
// the message is gone.
func (s *chatScreen) seekStep() {
	sk := s.seeking
	if sk == nil {
		return
	}
	t := s.m.Lookup(sk.thread)
	if t == nil || sk.seq == 0 {
		s.seeking = nil
		return
	}
	for i := range t.Messages {
		if t.Messages[i].Seq == sk.seq {
			// The hit near the top, under the message before it.
			ts := s.view(sk.thread)
			ts.list.Position = layout.Position{First: max(i-1, 0), BeforeEnd: true}
			ts.flash, ts.flashUntil = t.Messages[i].Key, time.Time{}
			s.seeking = nil
			return
		}
	}
	if t.More && len(t.Messages) > 0 && t.Messages[0].Seq > sk.seq {
		s.hist.loadOlder(t)
		return
	}
	s.seeking = nil
	s.m.Notify("That message is no longer in the history.")
}

// updateSearch handles the search pane: Enter or a click on a result
// opens its thread at the message.
func (s *chatScreen) updateSearch(gtx C) {
	sr, _ := s.sess.(searcher)
	if s.people.search.Clicked(gtx) {
		s.search.show(gtx)
	}
	s.search.update(gtx, sr, func(f func(ctx context.Context)) {
		ctx := s.ctx
		s.a.go_(func(context.Context) { f(ctx) })
	}, s.a.cfg.Invalidate, s.openAt)
	s.seekStep()
}

// snipSpan is a piece of a search result's snippet: matched text or not.
type snipSpan struct {
	text string
	hit  bool
}

// snippetContext is how many characters of a message a snippet shows
// before its first match, at most.
const snippetContext = 24

// snippet returns the part of text a search result shows, split into the
// matched ranges and the rest: at most maxRunes characters, starting a
// little before the first match (with "…" if text was cut there), on one
// line (line breaks become spaces).
func snippet(text string, match []history.Range, maxRunes int) []snipSpan {
	start := 0
	if len(match) > 0 {
		first := match[0].Start
		if n := utf8.RuneCountInString(text[:first]); n > snippetContext {
			// Back up snippetContext characters from the match, then to
			// the start of that word.
			i := first
			for k := 0; k < snippetContext; k++ {
				_, size := utf8.DecodeLastRuneInString(text[:i])
				i -= size
			}
			if before, _ := utf8.DecodeLastRuneInString(text[:i]); before != ' ' && before != '\n' {
				if j := strings.IndexAny(text[i:first], " \n"); j >= 0 {
					i += j + 1
				}
			}
			start = i
		}
	}
	var out []snipSpan
	add := func(s string, hit bool) {
		if s != "" {
			out = append(out, snipSpan{text: strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s), hit: hit})
		}
	}
	if start > 0 {
		add("…", false)
	}
	left := maxRunes
	at := start
	cut := func(s string) (string, bool) {
		if n := utf8.RuneCountInString(s); n <= left {
			left -= n
			return s, false
		}
		i := 0
		for k := 0; k < left; k++ {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		left = 0
		return s[:i], true
	}
	for i := 0; i <= len(match); i++ {
		r := history.Range{Start: len(text), End: len(text)} // the rest
		if i < len(match) {
			r = match[i]
		}
		if r.Start < at || r.End > len(text) {
			continue
		}
		plain, over := cut(text[at:r.Start])
		add(plain, false)
		if over {
			add("…", false)
			return out
		}
		hit, over := cut(text[r.Start:r.End])
		add(hit, true)
		if over {
			add("…", false)
			return out
		}
		at = r.End
	}
	return out
}

// threadName is how a search result names its thread.
func threadName(m *model.Model, key string) string {
	if key == model.Everyone {
		return "Everyone"
	}
	if t := m.Lookup(key); t != nil {
		return t.Name()
	}
	return key
}
