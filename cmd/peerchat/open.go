package main

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"
)

// openKind is what the system's opener is given.
type openKind int

const (
	openLink openKind = iota // a web link: the browser
	openPath                 // a file or a folder: its application, the file manager
)

func (k openKind) String() string {
	if k == openLink {
		return "link"
	}
	return "file"
}

// openerCmd returns the command that opens target (a kind) on goos with
// the user's application for it, and whether its exit status says nothing
// (explorer.exe exits 1 when it worked). It is the one place that knows
// each system's opener; OpenURL and OpenFile run what it returns with
// runOpener.
func openerCmd(goos, target string, kind openKind) (cmd *exec.Cmd, ignoreExit bool, err error) {
	switch goos {
	case "linux", "freebsd", "openbsd", "netbsd":
		return exec.Command("xdg-open", target), false, nil
	case "darwin":
		return exec.Command("open", target), false, nil
	case "windows":
		if kind == openLink {
			return exec.Command("rundll32", "url.dll,FileProtocolHandler", target), false, nil
		}
		return exec.Command("explorer", target), true, nil
	}
	return nil, false, fmt.Errorf("open %s on %s: %w", kind, goos, errors.ErrUnsupported)
}

// runOpener opens target with this system's opener (openerCmd) and
// reports its failure: to start, or by exiting with an error within
// openerWait. An opener still running then is taken as having opened
// what it was given. It blocks up to openerWait.
func runOpener(target string, kind openKind) error {
	cmd, ignoreExit, err := openerCmd(runtime.GOOS, target, kind)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open %s: %w", kind, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // reaps it, also after we stop waiting
	t := time.NewTimer(openerWait)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil && !ignoreExit {
			return fmt.Errorf("open %s with %s: %w", kind, cmd.Path, err)
		}
		return nil
	case <-t.C:
		return nil
	}
}
