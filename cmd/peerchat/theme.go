package main

import (
	"context"
	"sync"
	"sync/atomic"
)

// themeWatcher keeps the system's dark mode for the window. The query to
// the desktop (darkMode, which may run a command for up to
// themeQueryTimeout) never runs on the window's goroutine: check starts it
// on its own and returns at once, and the answer is applied by a new frame
// (invalidate) when it comes. Until the first answer, the theme is light.
type themeWatcher struct {
	query      func(context.Context) bool
	invalidate func()

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	dark atomic.Bool
}

func newThemeWatcher(query func(context.Context) bool, invalidate func()) *themeWatcher {
	t := &themeWatcher{query: query, invalidate: invalidate}
	t.ctx, t.stop = context.WithCancel(context.Background())
	return t
}

// check asks the desktop again, off the calling goroutine.
func (t *themeWatcher) check() {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if d := t.query(t.ctx); d != t.dark.Load() && t.ctx.Err() == nil {
			t.dark.Store(d)
			t.invalidate()
		}
	}()
}

// Dark reports the last answer.
func (t *themeWatcher) Dark() bool { return t.dark.Load() }

// close cancels the queries under way and waits for them to end.
func (t *themeWatcher) close() {
	t.stop()
	t.wg.Wait()
}
