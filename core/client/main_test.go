package client

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine is still running once
// they are all over, beside the per-test checks of checkGoroutines.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
