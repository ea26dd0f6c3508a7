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
//	/quit              leave every chat and quit
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
// echoed or failed (at most -drain). The exit status is 0 after a clean quit, 1 when the server
// cannot be reached or refuses the nickname, 2 for bad usage.
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
