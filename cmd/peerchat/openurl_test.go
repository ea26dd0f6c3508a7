package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestOpenURLErrors checks that OpenURL reports an opener that is missing
// or fails (issue 9, defect 13: the UI then says so), and not one that
// works.
func TestOpenURLErrors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses a fake xdg-open")
	}
	p := &platform{log: slog.New(slog.DiscardHandler)}
	if err := p.OpenURL("file:///etc/passwd"); !errors.Is(err, errNotWebLink) {
		t.Errorf("a file link: %v, want errNotWebLink", err)
	}
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if err := p.OpenURL("https://example.com/"); err == nil {
		t.Error("no xdg-open: no error")
	}
	for _, tt := range []struct {
		script string
		fails  bool
	}{{"#!/bin/sh\nexit 3\n", true}, {"#!/bin/sh\nexit 0\n", false}} {
		if err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(tt.script), 0o755); err != nil {
			t.Fatal(err)
		}
		err := p.OpenURL("https://example.com/")
		if (err != nil) != tt.fails {
			t.Errorf("xdg-open %q: err %v, want failure %v", tt.script, err, tt.fails)
		}
	}
}
