package testbin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	dir, cleanup, err := Build("testbin-test", "peerchat-server", "peerchat-cli")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"peerchat-server", "peerchat-cli"} {
		fi, err := os.Stat(filepath.Join(dir, cmd))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: mode %v, want an executable file", cmd, fi.Mode())
		}
	}
	cleanup()
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after cleanup, stat %s: %v, want fs.ErrNotExist", dir, err)
	}
}

func TestBuildFails(t *testing.T) {
	prefix := fmt.Sprintf("testbin-fail-%d-", os.Getpid())
	dir, cleanup, err := Build(prefix, "peerchat-server", "no-such-command")
	if err == nil {
		cleanup()
		t.Fatalf("Build of no-such-command: nil error, directory %s", dir)
	}
	if !strings.Contains(err.Error(), "build no-such-command") {
		t.Errorf("error %q does not name the command", err)
	}
	if dir != "" || cleanup != nil {
		t.Errorf("Build failed but returned dir %q, cleanup %v", dir, cleanup != nil)
	}
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	if len(left) > 0 {
		t.Errorf("failed Build left %v behind", left)
	}
}
