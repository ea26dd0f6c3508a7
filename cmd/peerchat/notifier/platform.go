//go:build cgo || !(android || darwin || ios)

package notifier

import "gioui.org/x/notify"

// newPlatform connects to gioui.org/x/notify's notifier for this platform.
func newPlatform() (sendFunc, error) {
	n, err := notify.NewNotifier()
	if err != nil {
		return nil, err
	}
	return func(title, body string) error {
		_, err := n.CreateNotification(title, body)
		return err
	}, nil
}
