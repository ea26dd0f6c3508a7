package wire

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any of them leaves a goroutine
// running (a reader blocked on a pipe nobody closes).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
