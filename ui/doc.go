// Package ui is the PeerChat user interface, written with Gio.
//
// The UI is one App. The program that owns the window (cmd/peerchat) creates
// it with New, calls Layout for every frame from the window's goroutine, and
// forwards invalidation requests. App never imports gioui.org/app: everything
// it needs from the platform (data directory, notifications, opening links,
// the system's dark mode) comes through Platform and Env, so the package
// builds for every Gio target, Android included.
//
// The network lives behind Backend and Session, implemented over the client
// core by the program and by fakes in tests. One goroutine, the one calling
// Layout, owns all UI state: core events are drained with Session.Poll at the
// start of each frame, and the session's notify callback only invalidates the
// window.
//
// History (optional) keeps every thread across runs: a chat screen shows the
// newest HistoryPage messages of each thread and loads older pages off the
// UI goroutine as the user scrolls up; a thread's header deletes its history.
// Notifications go through Platform.Notify, only while the window is not
// focused, for private messages, broadcasts that mention the user and chat
// requests, unless the user turned them off in the settings panel. When the
// window gets the focus back (or the program calls App.Resume after Android
// brought the app back), a session whose server link is down reconnects at
// once.
//
// State (package ui/model) is kept apart from drawing: the files of this
// package named after a screen lay out the model; theme.go holds the palette
// and typography, widgets.go the shared drawing helpers.
package ui
