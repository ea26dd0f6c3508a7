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
//	/msg NICK TEXT     send TEXT to NICK privately (opens the chat if needed)
//	/route NICK        print the path of the chat with NICK: direct, relay or none
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
// # Private messages
//
// /msg NICK TEXT sends whether a chat with NICK is open or not: the core
// opens it, peer to peer or through the server (relay) when the two devices
// cannot reach each other, whichever opens first, and moves the chat to the
// direct path once that opens. To a peer who is away, whose key this device
// saw, the message is sealed for that key and kept by the server
// (mailbox) until the peer's device takes it. Only an error from the core is
// printed at once (say, for a nick that was never seen: no key to seal for).
//
// In -json mode each message can be followed by its local id: queued
// ("peer", "id", "text": /msg took it; "peer" "" for a broadcast, whose
// echo is the broadcast with that "id", or send_failed), then sent ("peer", "id", "final":
// written to the chat; final when the peer does not acknowledge), stored
// ("peer", "id": the server keeps it for the absent peer), delivered
// ("peer", "id": the peer's device has it; after stored this may come in a
// later run, with the same id) or send_failed ("peer", "id", "text",
// "error"). chat_open and chat_msg carry "route": "direct" or "relay"
// ("mailbox" on a chat_msg the server kept while we were away); route
// ("peer", "route") says that an open chat moved path, and /route NICK
// answers route_info ("peer", "route": "direct", "relay" or "none").
//
// A private message is printed once, also across runs: the (sender, id)
// of the last 20,000 printed are kept in -data, in received.log, and a
// message sent again by a sender that missed our acknowledgement (say,
// after this client was killed) is reported as duplicate ("from", "id",
// "route") in -json mode, and not at all in human mode.
//
// # Missed broadcasts
//
// broadcast carries "bid", its server-wide id (0 from a server without
// replay), and "missed": true for one sent while we were away, which the
// server replays when we come back. The id of the last broadcast printed is
// kept in -data, in last_broadcast.json (per server address, replaced
// atomically after the output is flushed), and the next run asks the
// server for the broadcasts after it; -last-broadcast ID overrides it.
// Nothing is kept with -no-keys or -host.
//
// End of input quits once the messages and broadcasts sent are delivered,
// stored, echoed or failed (at most -drain). The exit status is 0 after a clean
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
