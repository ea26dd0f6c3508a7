package discovery

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestCoreImportsNoServer checks that no package under peerchat/core
// depends, directly or not, on a package under peerchat/server: clients link
// no server code (hosting lives in peerchat/server/host).
func TestCoreImportsNoServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "peerchat/core/...").Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "peerchat/core/client") || !slices.Contains(deps, "peerchat/core/wire") {
		t.Fatalf("go list -deps peerchat/core/... lacks the core packages:\n%s", out)
	}
	for _, p := range deps {
		if p == "peerchat/server" || strings.HasPrefix(p, "peerchat/server/") {
			t.Errorf("a core package depends on %s", p)
		}
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
