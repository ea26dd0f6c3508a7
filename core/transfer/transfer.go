// Package transfer holds the file side of PeerChat's file transfers
// (docs/PROTOCOL.md §3.7): reading a file to send and hashing it on the
// way (Outgoing), receiving one into a hidden partial file that survives a
// kill and resumes from its last verified byte (Incoming), sanitising the
// names peers offer (SanitizeName), and measuring progress (Meter).
//
// It does no networking: the client core carries the wire.File* payloads
// over an end-to-end session and drives these types.
package transfer

import (
	"errors"
	"fmt"
	"io/fs"

	"peerchat/core/wire"
)

// Offer is what a FILE_OFFER carries: id, size, SHA-256, media type, name.
type Offer = wire.FileOffer

const (
	// ChunkSize is the chunk size of a direct transfer. A sender may use
	// smaller chunks (the relay path does); a chunk holds 1 to MaxChunk
	// bytes.
	ChunkSize = 64 << 10
	// MaxChunk is the largest chunk a receiver accepts.
	MaxChunk = wire.MaxFileChunk
	// Window is the most a sender keeps in flight beyond the receiver's
	// last FILE_ACK.
	Window = 4 << 20
	// SyncEvery is how much an Incoming writes between two durable
	// checkpoints (data fsynced, then the state file), which run in the
	// background while it goes on writing: after a system crash, at most
	// twice this much is received again (after the app was killed,
	// nothing it wrote: see Incoming's mark).
	SyncEvery = 64 << 20
)

// Errors of the package; test with errors.Is.
var (
	// ErrTooLarge: the offered size is above the receiver's limit; nothing
	// was written.
	ErrTooLarge = errors.New("transfer: file too large")
	// ErrNoSpace: the disk is full. The partial file and its state are
	// kept, so the transfer can resume once there is room.
	ErrNoSpace = errors.New("transfer: no space left on device")
	// ErrHash: the received file's SHA-256 is not the offered one; the
	// partial file was removed.
	ErrHash = errors.New("transfer: SHA-256 mismatch")
	// ErrSize: a chunk goes past the offered size, or Finish was called
	// before all of it arrived.
	ErrSize = errors.New("transfer: size mismatch")
	// ErrOffset: a chunk does not start where the received data ends.
	ErrOffset = errors.New("transfer: chunk out of order")
	// ErrBadOffer: the offer's id or size is not valid.
	ErrBadOffer = errors.New("transfer: invalid offer")
	// ErrBusy: another peer's partial file holds this id and name.
	ErrBusy = errors.New("transfer: id in use")
	// ErrClosed: the Incoming was closed, cancelled or finished.
	ErrClosed = errors.New("transfer: closed")
	// ErrNotFound wraps fs.ErrNotExist: Resume found no partial file.
	ErrNotFound = fmt.Errorf("transfer: no partial file: %w", fs.ErrNotExist)
)
