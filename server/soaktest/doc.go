// Package soaktest is a soak test of private messages and broadcasts that
// must always arrive (issue 11): real peerchat-server and peerchat-cli
// processes on loopback, random app kills (SIGKILL, then a restart with
// the same -data) and freezes (SIGSTOP, SIGCONT) of the clients, and the
// server killed with SIGKILL and restarted with its -data, while thousands
// of private messages and broadcasts go between five clients. Afterwards
// every client's received history (the union of its runs' -json output)
// must hold exactly what was sent to it, in order per sender: nothing
// lost, nothing twice.
//
// Its one test, TestSoak, runs a CI-sized soak (about 2,000 messages, a
// minute or two) with go test. The full size is
//
//	PEERCHAT_SOAK=full go test -count=1 -timeout 30m -run TestSoak -v ./server/soaktest
//
// (about 20,000 messages and 40 app kills, ten minutes or so). Either prints
// its counts with t.Logf (-v shows them on success).
//
// Accounting: a private message counts as sent once its sender printed
// delivered or stored for it; one whose sender was killed before that is
// "in doubt", counted apart: it may arrive or not, but never twice. A
// broadcast counts as sent once its sender printed its echo; it must reach
// every other client at most once, in order per sender, and is allowed to
// be missing only for a client that was away when it was sent and either
// the server was killed shortly after it (the server writes its kept
// broadcasts in batches, docs/PROTOCOL.md §2.9) or the client had not
// printed a single broadcast before going away (no last id to ask the
// server from); both are counted apart.
package soaktest
