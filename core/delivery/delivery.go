// Package delivery names the states a chat message goes through, from the
// moment it is typed to the moment the peer's device has it. It is the one
// delivery-state type of PeerChat: the client core reports it, the history
// stores it, the UI draws it.
//
// The numeric values are stored on disk by package history and never change;
// new states take new values.
package delivery

import "strconv"

// State is the delivery state of one message.
type State uint8

// States. Messages from others (and system lines) are Received. Our own start
// Pending and move forward only: Pending → Sent → Delivered, or, for a
// private message to a peer who is away, Pending → Sent → Stored →
// Delivered; or to Failed from any of them.
const (
	// Received is someone else's message, or a system line.
	Received State = 0
	// Pending is ours, queued on this device and not yet written to any
	// connection.
	Pending State = 1
	// Delivered is ours, acknowledged by the peer's device (✓✓), or, for a
	// broadcast, echoed back by the server in its place in the feed.
	Delivered State = 2
	// Failed is ours, definitely not delivered and not retried.
	Failed State = 3
	// Sent is ours, written to the chat's connection (✓) but not yet
	// acknowledged. Base peers never acknowledge, so for them it is the
	// last state.
	Sent State = 4
	// Stored is ours, a private message kept by the server's mailbox,
	// sealed to the recipient's key, until the recipient's device takes
	// it: it will be Delivered when the recipient comes back, or Failed
	// if the server's age bound passes first.
	Stored State = 5
	// Read is ours, delivered and seen by the peer's user: only between
	// peers that both turned read receipts on. It follows Delivered.
	Read State = 6

	numStates = 7
)

// rank orders the states along a message's life, for Advances.
var rank = [numStates]uint8{Received: 0, Pending: 1, Sent: 2, Stored: 3, Delivered: 4, Failed: 4, Read: 5}

var names = [numStates]string{
	Received:  "received",
	Pending:   "pending",
	Sent:      "sent",
	Delivered: "delivered",
	Failed:    "failed",
	Stored:    "stored",
	Read:      "read",
}

// Valid reports whether s is one of the states above.
func (s State) Valid() bool { return s < numStates }

// Mine reports whether s is a state of one of our own messages.
func (s State) Mine() bool { return s.Valid() && s != Received }

// Final reports whether s can no longer change: Received, Delivered,
// Read, Failed — except that Delivered may still become Read (Advances
// says so), which only a read receipt does.
func (s State) Final() bool { return s == Received || s == Delivered || s == Read || s == Failed }

// Advances reports whether moving from s to next is progress. A late Sent
// never undoes Delivered, and nothing leaves a final state; a failed message
// that the user retries starts again as a new message.
func (s State) Advances(next State) bool {
	if s == Delivered && next == Read {
		return true
	}
	if !s.Valid() || !next.Valid() || s.Final() || next == Received {
		return false
	}
	return rank[next] > rank[s]
}

// String returns the state's name: "received", "pending", "sent",
// "stored", "delivered", "read" or "failed".
func (s State) String() string {
	if s.Valid() {
		return names[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}
