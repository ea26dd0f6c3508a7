// Command peerchat-cli is the PeerChat terminal client. It registers with a
// server (given with -server, found on the LAN by discovery, or hosted in
// process with -host), prints what happens (human-readable, or one JSON
// object per line with -json) and reads commands from standard input:
//
//	/peers             list the registered peers
//	/bcast TEXT        broadcast TEXT (so does any line not starting with /)
//	/chat NICK         invite NICK to a private chat
//	/accept NICK       accept NICK's invite
//	/reject NICK       decline NICK's invite
//	/msg NICK TEXT     send TEXT in the private chat with NICK
//	/leave NICK        leave the private chat with NICK
//	/verify NICK       show the safety number of NICK's key and ours
//	/trust NICK        mark NICK's key verified (after comparing the number)
//	/untrust NICK      take that back
//	/accept-key NICK   accept NICK's changed key (messages to NICK wait until then)
//	/accept-server-key accept the server's changed key (broadcasts and invites wait)
//	/quit              leave every chat and quit
//
// # Keys
//
// The client has a device identity (package core/identity), made at the
// first run and kept, with the keys pinned for peers and servers, in its
// data directory: -data DIR, by default os.UserConfigDir()/peerchat-cli
// (on Linux ~/.config/peerchat-cli), files identity.json, pins.json and
// server_pins.json, mode 0600. Run two clients at once with two
// directories. With -host, the hosted server keeps its own key and nick
// bindings in DIR/server. -no-keys runs without keys, as a client of before
// device identities: plaintext chats, no safety numbers, nothing kept.
// -require-encryption refuses every private chat that would not be
// end-to-end encrypted.
//
// A peer's key is pinned at the first encrypted chat (trust on first use).
// /verify NICK prints the safety number, 60 digits in 12 groups of 5,
// which both people compare (in -json mode {"type":"safety_number","nick",
// "number","verified"}); /trust NICK then marks the key verified
// ({"type":"trusted","nick"}). chat_open says "(encrypted)" or
// "(NOT encrypted)" ("encrypted" and "verified" in JSON, with "key" and
// "key_result" new or same when encrypted). A peer's changed key
// (key_changed: "nick", "was_verified", "key", "old_key") and a server's
// (server_key: "server", "result" new, same or changed, "key", "old_key")
// are printed loudly, and hold what would go to them until /accept-key or
// /accept-server-key. Broadcasts carry "signature": "valid", "none" (the
// sender has no key), "missing" or "bad"; human mode marks the last two
// (UNSIGNED) and (BAD SIGNATURE). registered and reconnected carry
// "server_kind": "v2", "base", or "unconfirmed" for a port that has said
// nothing yet (human mode says so).
//
// In human mode, what peers and servers say (nicknames, messages,
// broadcasts, error reasons) cannot act on the terminal: control characters
// are shown as their Control Pictures (ESC as ␛, CR as ␍, LF as ␊, TAB as
// ␉, DEL as ␡), and C1 controls, bidirectional controls, line and paragraph
// separators and other invisible format characters as <U+XXXX> (so
// <U+202E> for a right-to-left override); invalid UTF-8 bytes as <0xNN>.
// Every such message stays on its one line. -json output is not changed:
// JSON escapes control characters itself.
//
// End of input quits once the messages and broadcasts sent are delivered,
// echoed or failed (at most -drain). The exit status is 0 after a clean
// quit, 1 when the server cannot be reached or refuses the nickname or the
// data directory cannot be read (a key file others can read is refused;
// the message says how to fix it), 2 for bad usage.
// peerchat-cli -version prints the version.
package main

import (
	"context"
	"os"
	"os/signal"
)

// version is set by build.sh from the file VERSION
// (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
