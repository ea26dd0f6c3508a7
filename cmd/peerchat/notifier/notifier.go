// Package notifier shows a system notification (a desktop notification on
// Linux through D-Bus, a toast on Windows, a notification on Android) when a
// message arrives while PeerChat is not in front. It wraps gioui.org/x/notify
// behind one small interface, so that the UI can be tested with a fake and
// can fall back to Nop where notifications are unavailable.
package notifier

import (
	"errors"
	"fmt"
	"sync"
)

// ErrUnsupported reports a platform or build that cannot show notifications.
var ErrUnsupported = errors.New("notifier: notifications are not supported on this platform or build")

// Notifier shows notifications.
type Notifier interface {
	// Notify shows a notification with a title and a body. It does not wait
	// for the user; it may block briefly while the platform service takes
	// the request. Implementations are safe for concurrent use.
	Notify(title, body string) error
}

// New returns the platform's notifier. It fails on a platform or build
// without notifications (ErrUnsupported: Android and macOS builds without cgo),
// and on Linux when no D-Bus session bus is reachable; the caller then
// typically uses Nop.
func New() (Notifier, error) {
	n, err := newPlatform()
	if err != nil {
		return nil, fmt.Errorf("notifier: %w", err)
	}
	return wrap(n), nil
}

// Nop is a Notifier that shows nothing and never fails.
type Nop struct{}

// Notify does nothing and returns nil.
func (Nop) Notify(title, body string) error { return nil }

// sendFunc shows one notification through the platform.
type sendFunc func(title, body string) error

// system is the Notifier of New. Calls are serialised because the platform
// implementations do not promise to be safe for concurrent use.
type system struct {
	mu   sync.Mutex
	send sendFunc
}

func wrap(send sendFunc) *system { return &system{send: send} }

// Notify shows one notification; see Notifier.
func (s *system) Notify(title, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.send(title, body); err != nil {
		return fmt.Errorf("notifier: notify %q: %w", title, err)
	}
	return nil
}
