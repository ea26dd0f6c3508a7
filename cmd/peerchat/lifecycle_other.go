//go:build !android

package main

import "gioui.org/io/event"

// viewEvent reports whether e says that the window's view was attached or
// detached; only Android windows say so.
func viewEvent(event.Event) (attached, ok bool) { return false, false }
