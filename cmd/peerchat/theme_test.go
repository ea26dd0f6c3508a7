package main

import (
	"context"
	"testing"
	"time"
)

// TestThemeCheckDoesNotWait reproduces issue 9, defect 12: the dark-mode
// query must not hold up the window's goroutine (the first frame). check
// returns while the query still runs, and its answer is applied with a new
// frame when it comes.
func TestThemeCheckDoesNotWait(t *testing.T) {
	release := make(chan struct{})
	invalidated := make(chan struct{}, 1)
	tw := newThemeWatcher(func(ctx context.Context) bool {
		select {
		case <-release:
			return true
		case <-ctx.Done():
			return false
		}
	}, func() { invalidated <- struct{}{} })
	defer tw.close()

	returned := make(chan struct{})
	go func() {
		tw.check()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("check waits for the desktop's answer")
	}
	if tw.Dark() {
		t.Fatal("dark before the desktop answered")
	}
	close(release)
	select {
	case <-invalidated:
	case <-time.After(5 * time.Second):
		t.Fatal("no new frame asked for after the answer")
	}
	if !tw.Dark() {
		t.Fatal("the answer (dark) was not applied")
	}
}

// TestThemeCloseCancels checks that close ends a query under way.
func TestThemeCloseCancels(t *testing.T) {
	started := make(chan struct{})
	tw := newThemeWatcher(func(ctx context.Context) bool {
		close(started)
		<-ctx.Done()
		return true
	}, func() { t.Error("invalidated after close") })
	tw.check()
	<-started
	tw.close()
	if tw.Dark() {
		t.Error("an answer after close was applied")
	}
}
