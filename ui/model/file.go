package model

import (
	"path"
	"strings"
	"time"
)

// FileStatus is where one transfer of a file stands.
type FileStatus uint8

// File statuses.
const (
	// FileOffered: a peer offers the file; it waits for the user's
	// Accept or Decline.
	FileOffered FileStatus = iota + 1
	// FileMoving: the file is being sent or received.
	FileMoving
	// FilePaused: the chat is down; the transfer resumes when the peer is
	// back.
	FilePaused
	// FileDone: sent and verified by the peer, or received, verified and
	// saved (File.Path).
	FileDone
	// FileFailed: ended for good; File.Err says why.
	FileFailed
)

// Final reports whether nothing more happens to a file with status s.
func (s FileStatus) Final() bool { return s == FileDone || s == FileFailed }

// File is the file or picture of a message of kind KindFile. A Message
// holds it by pointer and the session replaces it whole (OpFile): never
// change one in place.
type File struct {
	ID       string // the transfer's id (client.FileInfo.ID)
	Name     string // the file's name, sanitised by the client core
	Size     int64
	MIME     string
	SHA256   [32]byte
	Outgoing bool
	// Path is the file on this device: the one we send, or where a
	// received one was saved ("" before it is).
	Path   string
	Parked bool // it goes (or came) through the server's mailbox
	Status FileStatus
	// Done, Rate and Left are the progress of a moving or paused transfer:
	// bytes so far, bytes per second (0: unknown), time left (0: unknown).
	Done int64
	Rate float64
	Left time.Duration
	// Err is why a FileFailed transfer ended (session.FailureText).
	Err string
}

// pictureTypes are the MIME types shown as pictures, by extension too.
var pictureTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
	".gif": "image/gif", ".webp": "image/webp",
}

// PictureType returns the MIME type of a picture the app shows inline,
// from mime or else from name's extension, or "" if it is not one.
func PictureType(mime, name string) string {
	mime = strings.ToLower(strings.TrimSpace(mime))
	if i := strings.IndexByte(mime, ';'); i >= 0 {
		mime = strings.TrimSpace(mime[:i])
	}
	for _, t := range pictureTypes {
		if mime == t {
			return t
		}
	}
	return pictureTypes[strings.ToLower(path.Ext(name))]
}

// Picture reports whether f is a picture the app shows inline (JPEG, PNG,
// GIF or WebP, by MIME type or extension).
func (f *File) Picture() bool { return PictureType(f.MIME, f.Name) != "" }

// Said reports whether m was written or sent by a person: a text message
// or a file (not a system line).
func (m *Message) Said() bool { return m.Kind == KindText || m.Kind == KindFile }

// FileText is how a file message reads where only text fits (the people
// list's preview, notifications): a clip and the file's name.
func FileText(f *File) string {
	if f == nil {
		return ""
	}
	return "📎 " + f.Name
}
