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
// core by the program and by fakes in tests. Once connected, a session
// service (package peerchat/ui/session) owns the Session: on its own
// goroutine it drains the client core, writes History and raises
// notifications, whether or not frames are drawn. The goroutine that calls
// Layout owns all UI state; at the start of each frame it applies the model
// Changes the service queued (events.go is that seam, and the only one).
//
// History (optional) keeps every thread across runs: the service seeds the
// newest HistoryPage messages of each thread, and the chat screen loads older
// pages off the UI goroutine as the user scrolls up; a thread's header deletes
// its history. Notifications go through Platform.Notify for private
// messages, broadcasts that mention the user and chat requests, unless the
// user turned them off in the settings panel or is looking at the thread
// concerned. When the window gets the focus back (or the program calls
// App.Resume after Android brought the app back), a session whose server
// link is down reconnects at once.
//
// Messages that always arrive (issue 11): the header of an open private
// chat says its route, direct or through the server (model.Thread.Route);
// each of our messages shows its state: waiting on this device (a clock),
// sent ✓, on the server (a server, until the peer is back), delivered ✓✓,
// read (✓✓ on a chip of Palette.Read, when both peers turned on "Send
// read receipts" in the settings panel, Settings.ReadReceipts, which
// applies from the next connection), or not delivered with why
// (session.FailureText, the one place that puts the client core's errors
// into words). A message that comes again with the same id after a
// restart is shown once (the session drops it). A private thread whose peer is away
// keeps its composer: the messages wait in the server's mailbox. One whose
// peer is online takes messages at once, chat open or not: sending asks the
// peer for a chat, as the command line's /msg does (the client core's Send
// invites), which a quiet line over the field says; only the peer's own
// request (Accept, Decline) or an offline peer stands for the field. Each
// session keeps the newest broadcast id it saw per server (feedmarks.go);
// the next connection to that server asks for the broadcasts after it
// (ReplayBackend), which the feed shows under "While you were away".
//
// Files and pictures (issue 12): the composer of a private chat has an
// attach button that shows the platform's file picker (Config.Picker; on
// Android the stream it gives is first copied to the data directory);
// the feed's posts a picture to everyone (pictures only). Ctrl+V (Cmd+V)
// in the message field also sends a picture the clipboard holds, where
// the platform has an ImagePaster (paste.go; Linux with xclip or
// wl-paste), as if it had been attached. A file is a
// message of kind model.KindFile whose model.File the session service
// keeps up to date from the client core's events (session.Files): a
// card with the file's name (shortened in its middle), size, type icon, a
// progress bar with the speed and time left and Cancel while it moves,
// "Paused — resumes when … is back" while the chat is down, Accept and
// Decline on an offer that waits (Settings.AskFilesAbove: from verified
// peers, smaller files arrive by themselves), why it failed
// (session.FailureText), and Open and Show in folder once done (through
// the Platform's FileOpener). A picture that arrived shows as a thumbnail,
// decoded and scaled off the UI goroutine (thumbs.go, EXIF orientation
// respected, JPEG, PNG, GIF's first frame, WebP); a tap opens it full size
// (pictureview.go), a screen of the back stack. Gio's clipboard gives text
// only, so pictures cannot be pasted.
//
// The people list shows the chats first, under the feed: whoever has unread
// private messages or a missed chat request, then open and pending chats
// and recent conversations, each most recent first; then, under its
// caption, everyone else (model.Model.Ordered), so that nothing unread is
// below the fold however many people are online; App.Unread, the window
// title's count, counts the same private unreads and missed requests, not
// broadcasts (the feed's row has its own badge). While the server link is down, presence is shown
// as unknown. When the Platform cannot show notifications
// (Platform.NotifyErr), the settings panel says so and its switch is off.
//
// # Layout of the package
//
// State (package ui/model) is kept apart from drawing, and within this
// package widget state is kept apart from style, in the manner of
// gioverse/chat: a state type (fooState, or a pane's type) holds the
// clickables, editors and lists and handles their input in an update method;
// a style type (fooStyle) is built for one frame from the theme, the model
// and that state, and draws it with Layout. The screens form a back stack
// (app.go); the App asks a screen only through small interfaces, never by
// its type.
//
//   - app.go: App, the screen stack; connect.go: the connect screen, its
//     probing and connecting; connectview.go: its form.
//   - chat.go: the chat screen, which routes input to the session and
//     composes the panes below; events.go: the seam to the session service;
//     history.go: paging older history.
//   - search.go, searchview.go: the search pane, which takes the place of
//     the people pane, searches all history off the UI goroutine
//     (session.Service.Search) and opens a thread at the result picked,
//     highlighted for a moment; switcher.go, switcherview.go: the quick
//     switcher (Ctrl+K) and the keyboard shortcuts of the chat screen.
//   - people.go: the people pane and its rows; settingspanel.go: the
//     settings panel; thread.go: the thread pane (header, Delete history);
//     messages.go: the message list; bubble.go: one message, bodytext.go:
//     its text with links and mentions; composer.go: the composer and what
//     stands in for it; cards.go: chat requests and notices.
//   - threadheader.go: the thread's header (mute, leave, names too long
//     shortened in their middle with a tooltip, nameLabel).
//   - selection.go: selecting and copying a message's text with the mouse.
//   - msgmenu.go: the message menu (right click, long press): Copy.
//   - unread.go: the "New messages" divider and the jump to the first unread;
//     messages.go draws it, and the "While you were away" divider.
//   - feedmarks.go: the last broadcast seen on each server, and
//     ReplayBackend, which asks for those sent since.
//   - autocomplete.go: the @-completion of nicknames in the composer.
//   - settings.go, prefs.go: the saved Settings and applying them (theme,
//     text size, connecting at start, muted chats).
//   - toast.go: short messages over the bottom of the window (a link that
//     did not open).
//   - files.go: the attach button's picker, the file card, opening files;
//     paste.go: a picture pasted from the clipboard;
//     picture.go: decoding pictures (EXIF orientation); thumbs.go: the
//     cache of decoded pictures; pictureview.go: a picture full size.
//   - verify.go: the verify dialog (safety number) and the marks of
//     encryption; keychange.go: the notice of a peer's changed key, which
//     holds the composer; serverkey.go: the warning of a changed server key.
//   - theme.go: palette and typography; widgets.go, shapes.go, tooltip.go:
//     shared drawing helpers (buttons, fields, avatars, rounded shapes,
//     tooltips, the focus ring, mouse wheel scrolling).
//
// # Keyboard
//
// Every element that takes the keyboard focus draws a ring of
// Palette.Focus while it has it (focusRing). Tab follows the reading order:
// the people pane (its header's buttons, the filter, the cards, the rows),
// then the thread (its header, the messages' buttons, the composer, Send).
// Leaving the server (✕) asks first. The composer takes the focus when a
// thread opens, or when the chat the user accepted or asked for opens.
// Ctrl+F (or Ctrl+Shift+F, or the header's search button) opens the search
// pane; Ctrl+K the quick switcher (type part of a nickname, ↑/↓, Enter);
// Alt+↑/↓ open the chat above or below in the people list.
// Esc (Android: back) closes the question of ✕, then the settings panel,
// then the switcher, then takes the focus off a chat request's card, then,
// on a phone, closes the thread, and last the search pane.
package ui
