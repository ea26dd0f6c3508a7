package ui

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives its test: the App's
// helpers (probes, connecting, history pages) and the session service end
// when the App or the chat screen closes.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
