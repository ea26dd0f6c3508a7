package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// TestOpenerCmd: each system's opener, one for links and files but on
// Windows, where files go to explorer.exe, whose exit status says nothing.
func TestOpenerCmd(t *testing.T) {
	for _, tt := range []struct {
		goos string
		kind openKind
		args []string
		ign  bool
	}{
		{"linux", openLink, []string{"xdg-open", "T"}, false},
		{"linux", openPath, []string{"xdg-open", "T"}, false},
		{"freebsd", openPath, []string{"xdg-open", "T"}, false},
		{"darwin", openLink, []string{"open", "T"}, false},
		{"darwin", openPath, []string{"open", "T"}, false},
		{"windows", openLink, []string{"rundll32", "url.dll,FileProtocolHandler", "T"}, false},
		{"windows", openPath, []string{"explorer", "T"}, true},
	} {
		cmd, ign, err := openerCmd(tt.goos, "T", tt.kind)
		if err != nil || !slices.Equal(cmd.Args, tt.args) || ign != tt.ign {
			t.Errorf("%s %s: %q ignoreExit %v, %v; want %q %v", tt.goos, tt.kind, cmd.Args, ign, err, tt.args, tt.ign)
		}
	}
	if _, _, err := openerCmd("android", "T", openPath); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("android: %v, want ErrUnsupported", err)
	}
}

// TestOpenFileErrors: OpenFile reports a missing file and an opener that
// fails, not one that works.
func TestOpenFileErrors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses a fake xdg-open")
	}
	p := &platform{log: slog.New(slog.DiscardHandler)}
	dir := t.TempDir()
	if err := p.OpenFile(filepath.Join(dir, "missing.pdf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want ErrNotExist", err)
	}
	t.Setenv("PATH", dir)
	for _, tt := range []struct {
		script string
		fails  bool
	}{{"#!/bin/sh\nexit 3\n", true}, {"#!/bin/sh\nexit 0\n", false}} {
		if err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(tt.script), 0o755); err != nil {
			t.Fatal(err)
		}
		err := p.OpenFile(dir)
		if (err != nil) != tt.fails {
			t.Errorf("xdg-open %q: err %v, want failure %v", tt.script, err, tt.fails)
		}
	}
}
