package client

import (
	"errors"

	"peerchat/core/transfer"
)

// This file is the API of file transfers (issue 12, docs/PROTOCOL.md
// §3.7): files and pictures sent in a private chat over its end-to-end
// session (direct or through the server), resumed after any interruption,
// parked in the server's mailbox for a peer who is away; and pictures
// posted to Everyone.

// FileInfo describes one transfer. It is a value: events carry copies.
type FileInfo struct {
	// ID names the transfer (wire.FileOffer.ID): chosen by the sender,
	// unique per sender; the same ID after a restart resumes it.
	ID string
	// Peer is the other side; "" for a picture posted to Everyone.
	Peer string
	// From is the sender's nick (ours for an outgoing transfer).
	From string
	// Name is the file's name: the base name we send, or the sanitised
	// name offered to us (transfer.SanitizeName).
	Name string
	Size int64
	MIME string
	// SHA256 is the whole file's SHA-256 once known: zero for a file we
	// send until it was read to the end (a peer that lists
	// wire.FeatureFilesEndSum is offered it before we hash it), and for
	// a file offered to us until FILE_END named it; always set in
	// EventFileDone.
	SHA256 [32]byte
	// Outgoing is true for a file we send.
	Outgoing bool
	// Path is the file on this device: the one we send, or, once
	// received and verified, where it was saved ("" before).
	Path string
	// Parked is true for a file that goes (or came) through the server's
	// mailbox because its recipient was away.
	Parked bool
}

// Events of file transfers (their kinds are in api.go).
//
//	EventFileOffer    File: a peer offers a file; it waits for AcceptFile
//	                  or DeclineFile (unless Config.AutoAcceptBelow took it,
//	                  or it resumes a partial file; a parked file is taken
//	                  without an offer).
//	EventFileProgress File, Progress: at most ProgressEvery apart per
//	                  transfer; Paused set while the chat is down.
//	EventFileDone     File: sent and verified by the peer, or received,
//	                  verified (SHA-256) and saved (File.Path).
//	EventFileFailed   File, Err: ended for good (declined, cancelled,
//	                  refused as too large, hash mismatch, no space).

// Errors of file transfers; test with errors.Is.
var (
	// ErrNoFiles: the peer cannot receive files (a base peer, a peer
	// without the files feature, or a chat that would not be end-to-end
	// encrypted).
	ErrNoFiles = errors.New("this peer cannot receive files")
	// ErrNoTransfer: no transfer has that id.
	ErrNoTransfer = errors.New("no such file transfer")
	// ErrFileDeclined: the peer declined the file (or refused it: its
	// reason is in the error's text).
	ErrFileDeclined = errors.New("the peer declined the file")
	// ErrFileCancelled: the transfer was cancelled, by us or the peer.
	ErrFileCancelled = errors.New("the file transfer was cancelled")
)

// DefaultMaxFileSize is the largest incoming file taken when
// Config.MaxFileSize is 0: 4 GiB. A larger offer is declined (too_large)
// before anything is written.
const DefaultMaxFileSize int64 = 4 << 30

// Progress is how far one transfer got (transfer.Progress), reported
// with EventFileProgress.
type Progress = transfer.Progress
