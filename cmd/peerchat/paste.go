package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"peerchat/ui"
)

// pasteWait bounds reading a picture from the clipboard: listing its
// types and reading one.
const pasteWait = 3 * time.Second

// pasteTypes are the picture types read from the clipboard, the one
// preferred first: those the app shows (ui/model.PictureType).
var pasteTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// errNoClipTool: the desktop's clipboard cannot be read for pictures
// without a command that is not installed.
var errNoClipTool = errors.New("install xclip or wl-clipboard to paste pictures")

// clipTool is a command that reads the clipboard of the desktop: wl-paste
// (wl-clipboard) on Wayland, xclip on X11.
type clipTool struct {
	path string
	// list and read are the arguments that list the clipboard's types,
	// one a line, and that write its content of type typ.
	list []string
	read func(typ string) []string
}

var (
	wlPaste = clipTool{
		path: "wl-paste",
		list: []string{"--list-types"},
		read: func(typ string) []string { return []string{"--no-newline", "--type", typ} },
	}
	xclip = clipTool{
		path: "xclip",
		list: []string{"-selection", "clipboard", "-t", "TARGETS", "-o"},
		read: func(typ string) []string { return []string{"-selection", "clipboard", "-t", typ, "-o"} },
	}
)

var _ ui.ImagePaster = (*platform)(nil)

// PasteImage implements ui.ImagePaster on Linux and the BSDs with
// wl-paste under Wayland (WAYLAND_DISPLAY), else xclip under X11
// (DISPLAY). Without either command it returns errNoClipTool once, then
// an error wrapping errors.ErrUnsupported, so that the user is told once
// and not on every paste of text. Elsewhere (Windows, macOS, Android),
// errors.ErrUnsupported: Gio's clipboard carries text only. It blocks up
// to pasteWait.
func (p *platform) PasteImage(ctx context.Context, max int64) ([]byte, string, error) {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
	default:
		return nil, "", fmt.Errorf("paste a picture on %s: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	tool, err := findClipTool()
	if errors.Is(err, errNoClipTool) && p.pasteWarned.Swap(true) {
		return nil, "", fmt.Errorf("paste a picture: %w (%w)", err, errors.ErrUnsupported)
	}
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, pasteWait)
	defer cancel()
	return tool.paste(ctx, max)
}

// findClipTool returns the clipboard command of this desktop.
func findClipTool() (clipTool, error) {
	wayland, x11 := os.Getenv("WAYLAND_DISPLAY") != "", os.Getenv("DISPLAY") != ""
	var tools []clipTool
	if wayland {
		tools = append(tools, wlPaste)
	}
	if x11 { // also XWayland, which shares the clipboard
		tools = append(tools, xclip)
	}
	if len(tools) == 0 {
		return clipTool{}, fmt.Errorf("paste a picture: no display (neither WAYLAND_DISPLAY nor DISPLAY): %w", errors.ErrUnsupported)
	}
	for _, t := range tools {
		if path, err := exec.LookPath(t.path); err == nil {
			t.path = path
			return t, nil
		}
	}
	return clipTool{}, errNoClipTool
}

// paste reads the clipboard's picture of the type preferred
// (pasteTypes), up to max bytes.
func (t clipTool) paste(ctx context.Context, max int64) ([]byte, string, error) {
	out, err := t.run(ctx, 64<<10, t.list...)
	if errors.Is(err, errToolFailed) {
		// xclip and wl-paste fail when the clipboard is empty (no owner).
		return nil, "", fmt.Errorf("%w: %w", ui.ErrNoImage, err)
	}
	if err != nil {
		return nil, "", err
	}
	offered := map[string]bool{}
	other := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		typ := strings.ToLower(strings.TrimSpace(sc.Text()))
		offered[typ] = true
		if strings.HasPrefix(typ, "image/") && other == "" {
			other = typ
		}
	}
	for _, typ := range pasteTypes {
		if !offered[typ] {
			continue
		}
		data, err := t.run(ctx, max, t.read(typ)...)
		if err != nil {
			return nil, "", err
		}
		if len(data) == 0 {
			return nil, "", fmt.Errorf("%s: the clipboard's %s is empty", t.path, typ)
		}
		return data, typ, nil
	}
	if other != "" {
		return nil, "", fmt.Errorf("the clipboard's picture is %s, which the app does not send (it sends PNG, JPEG, GIF, WebP)", other)
	}
	return nil, "", ui.ErrNoImage
}

// errToolFailed: the clipboard command exited with an error.
var errToolFailed = errors.New("failed")

// run runs the tool with args and returns what it wrote, up to max bytes:
// more is ui.ErrPasteTooLarge. It stops the tool when ctx is done.
func (t clipTool) run(ctx context.Context, max int64, args ...string) ([]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.path, args...)
	cmd.WaitDelay = 500 * time.Millisecond // a child holding stdout open
	var stderr bytes.Buffer
	cmd.Stderr = &limitWriter{w: &stderr, n: 1 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	data, rerr := io.ReadAll(io.LimitReader(stdout, max+1))
	tooLarge := int64(len(data)) > max
	if tooLarge {
		cancel()
	}
	werr := cmd.Wait()
	switch {
	case tooLarge:
		return nil, fmt.Errorf("%s: more than %d bytes: %w", t.path, max, ui.ErrPasteTooLarge)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: no answer from the clipboard within %v: %w", t.path, pasteWait, ctx.Err())
	case werr != nil:
		msg := strings.TrimSpace(stderr.String())
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			return nil, fmt.Errorf("%s %w (%v): %s", t.path, errToolFailed, werr, msg)
		}
		return nil, fmt.Errorf("%s: %w", t.path, werr)
	case rerr != nil:
		return nil, fmt.Errorf("%s: %w", t.path, rerr)
	}
	return data, nil
}

// limitWriter writes the first n bytes to w and drops the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(b []byte) (int, error) {
	if l.n > 0 {
		k := min(len(b), l.n)
		l.n -= k
		l.w.Write(b[:k])
	}
	return len(b), nil
}
