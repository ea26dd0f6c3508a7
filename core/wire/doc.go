// Package wire is PeerChat's wire layer: the length-prefixed framing that every
// TCP stream uses (server and peer to peer), the typed codec for every payload of
// the base and v2 vocabularies, the UDP datagrams (invites and discovery), and
// the nickname rules.
//
// It is the only frame reader and the only codec in the project: the server,
// the client core, the terminal client and the load generator all use it.
// The contract it implements is docs/PROTOCOL.md.
//
// Nothing in this package keeps global mutable state; a Reader belongs to one
// goroutine, and every function is safe for concurrent use.
package wire
