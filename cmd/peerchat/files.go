package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

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
// openerWait, as OpenURL does (runOpener). Not on Android, where a file of
// the app's data directory cannot be handed to another app without a
// content provider.
func (p *platform) OpenFile(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	return runOpener(path, openPath)
}
