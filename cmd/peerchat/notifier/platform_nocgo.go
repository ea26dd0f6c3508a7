//go:build !cgo && (android || darwin || ios)

package notifier

import "fmt"

// newPlatform fails: notifications on Android (JNI) and Apple platforms
// (Objective-C) need cgo. gogio builds Android apps with cgo and the NDK.
func newPlatform() (sendFunc, error) {
	return nil, fmt.Errorf("%w: notifications here need cgo (build the app with gogio)", ErrUnsupported)
}
