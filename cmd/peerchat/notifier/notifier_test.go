package notifier

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestSystemNotify(t *testing.T) {
	errBus := errors.New("bus gone")
	tests := []struct {
		name        string
		title, body string
		fail        error
	}{
		{"ok", "ana", "hello", nil},
		{"empty body", "PeerChat", "", nil},
		{"unicode", "Zoë 👋", "line one\nline two", nil},
		{"platform error", "ana", "hi", errBus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotTitle, gotBody string
			n := wrap(func(title, body string) error {
				gotTitle, gotBody = title, body
				return tt.fail
			})
			err := n.Notify(tt.title, tt.body)
			if !errors.Is(err, tt.fail) || (tt.fail == nil) != (err == nil) {
				t.Fatalf("Notify = %v, want %v", err, tt.fail)
			}
			if gotTitle != tt.title || gotBody != tt.body {
				t.Fatalf("platform got (%q, %q), want (%q, %q)", gotTitle, gotBody, tt.title, tt.body)
			}
		})
	}
}

// TestSystemConcurrent checks that calls reach the platform one at a time.
func TestSystemConcurrent(t *testing.T) {
	var inside, calls atomic.Int32
	n := wrap(func(title, body string) error {
		calls.Add(1)
		defer inside.Add(-1)
		if inside.Add(1) > 1 {
			return errors.New("two calls at once")
		}
		runtime.Gosched() // give another call the chance to come in
		return nil
	})
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := n.Notify("t", "b"); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if c := calls.Load(); c != 400 {
		t.Fatalf("%d calls, want 400", c)
	}
}

func TestNop(t *testing.T) {
	var n Notifier = Nop{}
	if err := n.Notify("t", "b"); err != nil {
		t.Fatal(err)
	}
}

// TestNew checks New's contract on this machine: a notifier, or an error and
// no notifier (there is no D-Bus session bus in CI). It does not show a
// notification.
func TestNew(t *testing.T) {
	n, err := New()
	if (n == nil) == (err == nil) {
		t.Fatalf("New = %v, %v: want exactly one of them", n, err)
	}
	t.Logf("New: %T, %v", n, err)
}
