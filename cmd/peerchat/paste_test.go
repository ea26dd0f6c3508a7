package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"peerchat/ui"
)

// fakeTool writes a shell script named name into dir: it answers the
// listing of the clipboard's types (an argument TARGETS or --list-types)
// with list, and a read with the content of file data.
func fakeTool(t *testing.T, dir, name, list, data string) {
	t.Helper()
	script := "#!/bin/sh\ncase \"$*\" in\n*TARGETS*|*--list-types*) printf '%s' '" + list + "' ;;\n*) " + catPath + " '" + data + "' ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// catPath is the cat of the fake commands, whose PATH has no cat.
var catPath string

// pngHeader is the start of every PNG file.
var pngHeader = []byte("\x89PNG\r\n\x1a\n")

// TestPasteImageTools: PasteImage reads the clipboard's picture with
// xclip (X11) or wl-paste (Wayland), the PNG first; text only is
// ui.ErrNoImage, a picture over the limit ui.ErrPasteTooLarge; a missing
// command is said once, then ErrUnsupported.
func TestPasteImageTools(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses a fake xclip and wl-paste")
	}
	var err error
	if catPath, err = exec.LookPath("cat"); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	pic := filepath.Join(dir, "pic")
	want := append(append([]byte{}, pngHeader...), bytes.Repeat([]byte{7}, 1000)...)
	if err := os.WriteFile(pic, want, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("DISPLAY", ":78")
	p := &platform{log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()

	// No command: said once, then unsupported (no word on each paste).
	if _, _, err := p.PasteImage(ctx, 1<<20); !errors.Is(err, errNoClipTool) || errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("no xclip: %v, want errNoClipTool", err)
	}
	if _, _, err := p.PasteImage(ctx, 1<<20); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("no xclip again: %v, want ErrUnsupported", err)
	}

	for _, tt := range []struct {
		name, tool, list string
		wayland          bool
		max              int64
		typ              string // "": an error
		err              error
	}{
		{"x11 png", "xclip", "TARGETS\nimage/jpeg\nimage/png\nUTF8_STRING\n", false, 1 << 20, "image/png", nil},
		{"x11 jpeg", "xclip", "TARGETS\nimage/jpeg\n", false, 1 << 20, "image/jpeg", nil},
		{"x11 text", "xclip", "TARGETS\nUTF8_STRING\ntext/plain\n", false, 1 << 20, "", ui.ErrNoImage},
		{"x11 too large", "xclip", "image/png\n", false, 500, "", ui.ErrPasteTooLarge},
		{"wayland png", "wl-paste", "text/plain\nimage/png\n", true, 1 << 20, "image/png", nil},
	} {
		os.Remove(filepath.Join(dir, "xclip"))
		os.Remove(filepath.Join(dir, "wl-paste"))
		fakeTool(t, dir, tt.tool, tt.list, pic)
		if tt.wayland {
			t.Setenv("WAYLAND_DISPLAY", "wayland-0")
		}
		data, typ, err := p.PasteImage(ctx, tt.max)
		switch {
		case tt.err != nil && !errors.Is(err, tt.err):
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		case tt.err == nil && (err != nil || typ != tt.typ || !bytes.Equal(data, want)):
			t.Errorf("%s: %d bytes of %q, %v; want %d bytes of %q", tt.name, len(data), typ, err, len(want), tt.typ)
		}
	}

	// An empty clipboard: xclip fails.
	t.Setenv("WAYLAND_DISPLAY", "")
	script := "#!/bin/sh\necho 'Error: target TARGETS not available' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "xclip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.PasteImage(ctx, 1<<20); !errors.Is(err, ui.ErrNoImage) {
		t.Errorf("empty clipboard: %v, want ErrNoImage", err)
	}

	// A clipboard that does not answer: given up at the deadline.
	script = "#!/bin/sh\nexec sleep 30\n"
	if err := os.WriteFile(filepath.Join(dir, "xclip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":/bin:/usr/bin")
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, _, err = p.PasteImage(tctx, 1<<20)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("a hung xclip: %v, want the deadline", err)
	}
	if d := time.Since(start); d > pasteWait {
		t.Errorf("a hung xclip took %v", d)
	}
}
