package ui

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoAppImport checks that package ui does not depend on gioui.org/app:
// the program owns the window (see the package doc).
func TestNoAppImport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "gioui.org/layout") {
		t.Fatalf("go list -deps gave no Gio package: %q", deps)
	}
	if slices.Contains(deps, "gioui.org/app") {
		t.Fatal("package ui depends on gioui.org/app")
	}
}
