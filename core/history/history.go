// Package history keeps PeerChat's chat history on disk so that it survives a
// restart: one thread per private chat plus the broadcast feed (the thread
// named Broadcasts), each an ordered list of messages numbered by Append.
//
// A Store is one bbolt database file (go.etcd.io/bbolt, pure Go, so it builds
// for every target with CGO_ENABLED=0). Every call that writes is one bbolt
// read-write transaction, which is atomic and fsync'ed before the call
// returns: after a crash or a power cut the file holds every write that had
// returned, and nothing of one that had not. Write applies a Batch (many
// appends, state changes and deletes) in one such transaction: all of it or
// none of it, for the cost of one fsync.
//
// # On-disk layout
//
// The file has three top-level buckets:
//
//	"meta"    "version" → one byte, the layout version (1)
//	"threads" <thread name> → a bucket of messages:
//	              <seq, 8 bytes big-endian> → message record
//	          the bucket's bbolt sequence is the last seq handed out
//	"info"    <thread name> → thread record
//
// Thread names are raw UTF-8 bytes, compared byte-wise: callers that key
// private chats by nickname pass a canonical form (wire.FoldNick). Seq keys
// are big-endian so that bbolt's byte order is message order.
//
// A message record (version 1) is:
//
//	version  1 byte, 1
//	kind     1 byte (Kind)
//	state    1 byte (delivery.State: 0 received, 1 pending,
//	         2 delivered, 3 failed, 4 sent)
//	id       uvarint
//	time     varint Unix seconds, then uvarint nanoseconds (< 1e9)
//	from     uvarint length, then that many bytes
//	text     uvarint length, then that many bytes
//
// A thread record (version 1) is the version byte 1, then the thread's
// message count (uvarint) and the time of its newest message (varint Unix
// seconds, uvarint nanoseconds). It is rewritten in the same transaction as
// every Append, so it is never out of step with the messages.
//
// The state values are those of package peerchat/core/delivery and never
// change. Values 0 to 3 are those of the first release; 4 (Sent: written to
// the peer's connection, not yet acknowledged) was added later without a new
// record version, so files written before it are read unchanged. A build
// that predates it refuses a record in state 4 with ErrCorrupt (it never
// misreads it as another state).
//
// Varints are those of encoding/binary. A record whose version byte is
// unknown is refused with ErrVersion, so that an old build never misreads a
// file written by a newer one.
//
// # Search
//
// Store.Search finds messages across every thread by scanning the message
// records in one read-only transaction and comparing a folded copy of each
// text (case folded, accents removed), made on the fly, with the folded
// query. There is no search index, so the layout above is unchanged by it
// (still version 1), deleting a thread removes its messages from search in
// the same transaction, and nothing can be out of step after a crash.
// Measured on a shared 2-core virtual machine: 100,000 messages of 2 to 36
// words, one word in six accented or not Latin, searched in 19 to 26 ms
// (BenchmarkSearch100k); 100,000 messages all in Cyrillic, the slowest
// text to fold, in 35 to 60 ms (BenchmarkSearch100kCyrillic). Both are
// within the 100 ms a search as the user types can take. An index (a
// folded copy of each text written beside it) would be a layout change, to
// consider only if histories grow well past that size.
package history

import (
	"errors"
	"fmt"
	"time"

	"peerchat/core/delivery"
)

// Broadcasts is the name of the thread that holds the broadcast feed
// ("Everyone"). It contains a space, so it can never be a nickname
// (wire.ValidateNick refuses whitespace) and never collides with the thread
// of a private chat named after the peer.
const Broadcasts = "* everyone"

// Defaults and limits.
const (
	// MaxThreadName is the longest thread name, in bytes, that the store
	// accepts.
	MaxThreadName = 1024
	// DefaultOpenTimeout is how long Open waits for another process that
	// holds the file's lock before it gives up with ErrLocked.
	DefaultOpenTimeout = 2 * time.Second
	// FileMode is the permission of a database file that Open creates.
	FileMode = 0o600
	// DirMode is the permission of the directories that Open creates.
	DirMode = 0o700
)

// Errors of the Store. Errors returned by its methods wrap one of these or an
// error of the file system or of bbolt.
var (
	// ErrNotFound reports a thread or message that does not exist.
	ErrNotFound = errors.New("history: not found")
	// ErrClosed reports a call on a closed Store.
	ErrClosed = errors.New("history: store closed")
	// ErrLocked reports a database file that another process holds open.
	ErrLocked = errors.New("history: file in use by another process")
	// ErrThreadName reports an empty or overlong thread name.
	ErrThreadName = errors.New("history: invalid thread name")
	// ErrInvalid reports a Kind or delivery.State out of range.
	ErrInvalid = errors.New("history: invalid message")
)

// Kind says what a stored line is.
type Kind uint8

// Kinds of stored lines.
const (
	KindMessage Kind = iota // a chat message from a user
	KindSystem              // a system line: joined, left, chat closed, …
	// KindFile is a file or picture sent or received; Text holds its
	// description, in a format the caller defines (PeerChat's app: JSON).
	// Search does not look into it. Added in issue 12: records of the
	// other kinds are unchanged, and older versions of this package refuse
	// a record of this kind as corrupt.
	KindFile
	numKinds
)

func (k Kind) valid() bool { return k < numKinds }

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindSystem:
		return "system"
	case KindFile:
		return "file"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Message is one stored line of a thread.
type Message struct {
	Seq   uint64         // assigned by Append: 1, 2, 3, … within a thread
	ID    uint64         // the sender's message id, 0 if none
	From  string         // the sender's nickname; empty for system lines
	Text  string         // the text, as received
	Time  time.Time      // stored to the nanosecond, returned in the local zone
	Kind  Kind           // message or system line
	State delivery.State // delivery state
	// Signature is a mark of the message's signature that the caller
	// defines (PeerChat stores client.SigState, what the client core found
	// of a broadcast's signature); 0, the zero value, means none. A record
	// without a mark is written in the original layout (version 1).
	Signature uint8
}

// ThreadInfo summarises one thread.
type ThreadInfo struct {
	Name  string    // the thread's name (Broadcasts for the feed)
	Count int       // number of messages
	Last  time.Time // Time of the newest message; zero if it had none
}
