package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"

	"gioui.org/app"
	"gioui.org/x/explorer"

	"peerchat/ui"
)

// picker is the ui.FilePicker of the window: gioui.org/x/explorer (the
// desktop portal on Linux, the system dialogs elsewhere, the Storage
// Access Framework on Android). Its ListenEvents must see every event of
// the window.
type picker struct{ ex *explorer.Explorer }

func newPicker(w *app.Window) *picker { return &picker{ex: explorer.NewExplorer(w)} }

// ChooseFile shows the system's picker; giving up is ui.ErrNoPick.
func (p *picker) ChooseFile(exts ...string) (io.ReadCloser, error) {
	rc, err := p.ex.ChooseFile(exts...)
	switch {
	case errors.Is(err, explorer.ErrUserDecline):
		return nil, ui.ErrNoPick
	case err != nil && runtime.GOOS == "linux":
		// The picker is the desktop portal's, over D-Bus: a desktop
		// without one (a bare X server, some window managers) has none.
		return nil, fmt.Errorf("no file picker on this desktop (it needs xdg-desktop-portal on the session D-Bus): %w", err)
	}
	return rc, err
}

// OpenFile opens a received file, or a folder (Show in folder), with the
// system's application for it, and reports whether that failed within
// openerWait, as OpenURL does. Not on Android, where a file of the app's
// data directory cannot be handed to another app without a content
// provider.
func (p *platform) OpenFile(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		cmd = exec.Command("xdg-open", path)
	case "darwin":
		cmd = exec.Command("open", path)
	case "windows":
		cmd = exec.Command("explorer", path)
	default:
		return fmt.Errorf("open file on %s: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	return waitOpener(cmd)
}

// waitOpener starts cmd, an opener, and reports its failure: to start, or
// by exiting with an error within openerWait. One still running then is
// taken as having opened what it was given.
func waitOpener(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open file: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // reaps it, also after we stop waiting
	t := time.NewTimer(openerWait)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil && runtime.GOOS != "windows" { // explorer.exe exits 1 when it worked
			return fmt.Errorf("open file with %s: %w", cmd.Path, err)
		}
		return nil
	case <-t.C:
		return nil
	}
}
