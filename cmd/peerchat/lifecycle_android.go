//go:build android

package main

import (
	"gioui.org/app"
	"gioui.org/io/event"
)

// viewEvent reports whether e says that the window's Android view was
// attached (the activity started again: the app is back in the foreground)
// or detached (the activity is gone: the app runs in the background).
func viewEvent(e event.Event) (attached, ok bool) {
	v, ok := e.(app.AndroidViewEvent)
	return v.View != 0, ok
}
