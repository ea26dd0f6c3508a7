package ui

import (
	"context"

	"peerchat/ui/model"
)

// historyPager loads older pages of a thread's history off the UI goroutine
// as the user scrolls up (loadOlder), and puts them before what the thread
// shows (applyPages). The session seeds the newest page of every thread
// and writes new messages; Thread.More says whether older ones remain.
// Owned by the UI goroutine.
type historyPager struct {
	a      *App
	sess   chatSession
	m      *model.Model
	ctx    context.Context // done when the chat screen closes
	pagers map[string]*pager
	pages  chan page // loaded pages, handed back to the UI goroutine
}

// pager is the paging state of one thread's history.
type pager struct {
	loading bool // a Load is running
	gen     int  // bumped by a delete: a page loaded before it is dropped
}

// page is the result of loading an older page of a thread.
type page struct {
	peer string
	gen  int
	msgs []model.Message
	err  error
}

func newHistoryPager(ctx context.Context, a *App, sess chatSession, m *model.Model) *historyPager {
	return &historyPager{a: a, sess: sess, m: m, ctx: ctx, pagers: map[string]*pager{}, pages: make(chan page, 1)}
}

func (p *historyPager) pager(peer string) *pager {
	pg := p.pagers[peer]
	if pg == nil {
		pg = new(pager)
		p.pagers[peer] = pg
	}
	return pg
}

// loadOlder starts loading the page of history before the oldest message
// of t, unless one is loading or there is none.
func (p *historyPager) loadOlder(t *model.Thread) {
	if !t.More || len(t.Messages) == 0 || t.Messages[0].Seq == 0 {
		return
	}
	pg := p.pager(t.Peer)
	if pg.loading {
		return
	}
	pg.loading = true
	peer, before, gen := t.Peer, t.Messages[0].Seq, pg.gen
	p.a.go_(func(context.Context) {
		msgs, err := p.sess.Load(peer, before, HistoryPage)
		select {
		case p.pages <- page{peer: peer, gen: gen, msgs: msgs, err: err}:
			p.a.cfg.Invalidate()
		case <-p.ctx.Done():
		}
	})
}

// applyPages prepends the pages loaded since the last frame. For each, it
// calls added with the thread and the number of messages put before what
// it showed, so that the caller keeps what the user sees in place.
func (p *historyPager) applyPages(added func(peer string, n int)) {
	for {
		var pg page
		select {
		case pg = <-p.pages:
		default:
			return
		}
		st := p.pagers[pg.peer]
		if st == nil || st.gen != pg.gen {
			continue
		}
		st.loading = false
		if pg.err != nil {
			p.a.log.Warn("history", "thread", pg.peer, "err", pg.err)
			p.m.Thread(pg.peer).More = false
			continue
		}
		p.m.Seed(pg.peer, "", pg.msgs, len(pg.msgs) == HistoryPage)
		added(pg.peer, len(pg.msgs))
	}
}

// reset drops every page still loading: the session replaced the model's
// state with a snapshot (model.OpReset), so those pages no longer fit
// before what the threads show.
func (p *historyPager) reset() {
	for _, st := range p.pagers {
		st.gen++
		st.loading = false
	}
}

// delete deletes the history of thread peer; the session empties the
// thread. A page of it still loading is dropped.
func (p *historyPager) delete(peer string) {
	p.sess.DeleteHistory(peer)
	st := p.pager(peer)
	st.gen++
	st.loading = false
}
