// Package testbin builds the repository's commands (peerchat/cmd/...) for
// tests that run them as real processes, such as server/lantest and
// server/soaktest: their TestMain builds the binaries once, into a
// temporary directory, and removes it when the tests end.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build builds each of cmds, a command name under peerchat/cmd such as
// "peerchat-server", with the go command found in PATH into a new
// temporary directory whose name starts with prefix. It returns the
// directory, where each binary is named after its command, and a cleanup
// that removes it. On error nothing is left behind; a failed build's error
// holds the go command's output.
func Build(prefix string, cmds ...string) (dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	gobin, err := exec.LookPath("go")
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go not found: %w", err)
	}
	for _, cmd := range cmds {
		b := exec.Command(gobin, "build", "-o", filepath.Join(dir, cmd), "peerchat/cmd/"+cmd)
		if out, err := b.CombinedOutput(); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("build %s: %w\n%s", cmd, err, out)
		}
	}
	return dir, cleanup, nil
}

// Main is a TestMain for a package whose tests run cmds: it builds them
// (Build), sets *dir to their directory, runs the tests, removes the
// directory and exits with the tests' code. When the build fails it
// prints why on standard error and exits with code 1 without running any
// test.
func Main(m *testing.M, dir *string, prefix string, cmds ...string) {
	d, cleanup, err := Build(prefix, cmds...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*dir = d
	code := m.Run()
	cleanup()
	os.Exit(code)
}
