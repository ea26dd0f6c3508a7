package netbackend

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives its test: a backend's
// probes and hosted servers must end with their context or Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
