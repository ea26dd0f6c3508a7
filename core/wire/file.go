package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"unicode/utf8"
)

// FeatureFiles (peer to peer, relayed in CAPS, only beside "e2e"): the
// peer takes files over an encrypted chat session, as the payloads
// FILE_OFFER, FILE_ACCEPT, FILE_DECLINE, FILE_CHUNK, FILE_ACK, FILE_END,
// FILE_DONE, FILE_FAIL and FILE_CANCEL inside it (docs/PROTOCOL.md §3.7).
const FeatureFiles = "files"

// FeatureFilesEndSum (peer to peer, relayed in CAPS, only beside "files"):
// the peer takes a FILE_OFFER whose SHA-256 is "-" and a FILE_END that
// names it, so a sender may hash the file while it sends it instead of
// before (docs/PROTOCOL.md §3.7). A peer without it is only ever offered
// a file with its SHA-256, and sent a bare FILE_END.
const FeatureFilesEndSum = "files-endsum"

// Verbs of the files feature. They are only ever sent sealed inside an
// end-to-end session (core/e2e), never as a frame of their own: FILE_CHUNK
// carries raw bytes that need not be UTF-8.
const (
	VerbFileOffer   = "FILE_OFFER"
	VerbFileAccept  = "FILE_ACCEPT"
	VerbFileDecline = "FILE_DECLINE"
	VerbFileChunk   = "FILE_CHUNK"
	VerbFileAck     = "FILE_ACK"
	VerbFileEnd     = "FILE_END"
	VerbFileDone    = "FILE_DONE"
	VerbFileFail    = "FILE_FAIL"
	VerbFileCancel  = "FILE_CANCEL"
)

// Limits of the files feature's fields.
const (
	// MaxFileID is the longest transfer id, in bytes of [A-Za-z0-9_-].
	MaxFileID = 32
	// MaxFileChunk is the most data one FILE_CHUNK carries.
	MaxFileChunk = 1 << 20
	// MaxFileName bounds FILE_OFFER's name field, in bytes (the receiver
	// sanitises and shortens it further).
	MaxFileName = 1024
	// MaxMIME bounds FILE_OFFER's media type, in bytes.
	MaxMIME = 127
)

// Reasons of FILE_DECLINE.
const (
	// DeclineDeclined: the user said no.
	DeclineDeclined = "declined"
	// DeclineTooLarge: the declared size is above the receiver's limit.
	DeclineTooLarge = "too_large"
	// DeclineNoSpace: the receiver's disk cannot hold the file.
	DeclineNoSpace = "no_space"
	// DeclineBusy: the receiver cannot take this transfer now (for
	// instance the id is in use by another transfer); the sender may
	// offer it again later.
	DeclineBusy = "busy"
)

// Reasons of FILE_FAIL.
const (
	// FailHash: the file's SHA-256 did not match the offer; the receiver
	// deleted what it had.
	FailHash = "hash"
	// FailIO: the receiver could not write (a full disk among others);
	// it kept what it had verified, so a later offer can resume.
	FailIO = "io"
	// FailSize: the sender sent more or less than the offered size.
	FailSize = "size"
)

// FileOffer is `FILE_OFFER <fid> <size> <sha256hex> <mime> <name>`: the
// sender proposes transfer ID (see ValidFileID) of a file of Size bytes
// whose SHA-256 is SHA256, of media type MIME (see ValidMIME) and named
// Name (the rest of the payload: 1 to MaxFileName bytes of UTF-8, spaces
// allowed; the receiver never uses it unsanitised). With SumLater, the
// field is "-" and SHA256 is zero: the SHA-256 comes with FILE_END (only
// to a peer that lists FeatureFilesEndSum).
type FileOffer struct {
	ID       string
	Size     int64
	SHA256   [32]byte
	SumLater bool
	MIME     string
	Name     string
}

// SameFile reports whether m and o offer the same transfer: the same id
// and size, and the same SHA-256 where both name one. A partial file of
// one resumes under the other; the final check against the SHA-256 that
// FILE_END or the offer names catches a file that changed.
func (m FileOffer) SameFile(o FileOffer) bool {
	return m.ID == o.ID && m.Size == o.Size && (m.SumLater || o.SumLater || m.SHA256 == o.SHA256)
}

// FileAccept is `FILE_ACCEPT <fid> <offset>`: the receiver wants the bytes
// from Offset on (0, or what it already verified of a partial file).
type FileAccept struct {
	ID     string
	Offset int64
}

// FileDecline is `FILE_DECLINE <fid> <reason>`, Reason one of the Decline*
// tokens (receivers accept any token).
type FileDecline struct {
	ID     string
	Reason string
}

// FileChunk is `FILE_CHUNK <fid> <offset> <bytes…>`: Data (1 to
// MaxFileChunk raw bytes, any values) is the file's content from Offset.
// ParseFile returns Data as a subslice of its input: it is only valid as
// long as that buffer is.
type FileChunk struct {
	ID     string
	Offset int64
	Data   []byte
}

// FileAck is `FILE_ACK <fid> <offset>`: the receiver wrote and hashed
// every byte before Offset.
type FileAck struct {
	ID     string
	Offset int64
}

// FileEnd is `FILE_END <fid>` or `FILE_END <fid> <sha256hex>`: the sender
// sent the last chunk. With HasSum, SHA256 is the whole file's SHA-256
// (the second form, only to a peer that lists FeatureFilesEndSum; it
// must follow an offer with SumLater or name the offer's SHA-256).
type FileEnd struct {
	ID     string
	SHA256 [32]byte
	HasSum bool
}

// FileDone is `FILE_DONE <fid>`: the SHA-256 matched and the file is in
// place.
type FileDone struct{ ID string }

// FileFail is `FILE_FAIL <fid> <reason>`, Reason one of the Fail* tokens
// (receivers accept any token).
type FileFail struct {
	ID     string
	Reason string
}

// FileCancel is `FILE_CANCEL <fid>`: the sending side gives the transfer
// up (either peer may send it).
type FileCancel struct{ ID string }

func (FileOffer) Verb() string   { return VerbFileOffer }
func (FileAccept) Verb() string  { return VerbFileAccept }
func (FileDecline) Verb() string { return VerbFileDecline }
func (FileChunk) Verb() string   { return VerbFileChunk }
func (FileAck) Verb() string     { return VerbFileAck }
func (FileEnd) Verb() string     { return VerbFileEnd }
func (FileDone) Verb() string    { return VerbFileDone }
func (FileFail) Verb() string    { return VerbFileFail }
func (FileCancel) Verb() string  { return VerbFileCancel }

func (m FileOffer) AppendPayload(b []byte) []byte {
	b = spi(sp(append(b, VerbFileOffer...), m.ID), m.Size)
	if m.SumLater {
		b = append(b, " -"...)
	} else {
		b = hex.AppendEncode(append(b, ' '), m.SHA256[:])
	}
	return sp(sp(b, m.MIME), m.Name)
}
func (m FileAccept) AppendPayload(b []byte) []byte {
	return spi(sp(append(b, VerbFileAccept...), m.ID), m.Offset)
}
func (m FileDecline) AppendPayload(b []byte) []byte {
	return sp(sp(append(b, VerbFileDecline...), m.ID), m.Reason)
}
func (m FileChunk) AppendPayload(b []byte) []byte {
	return append(AppendFileChunkHeader(b, m.ID, m.Offset), m.Data...)
}
func (m FileAck) AppendPayload(b []byte) []byte {
	return spi(sp(append(b, VerbFileAck...), m.ID), m.Offset)
}
func (m FileEnd) AppendPayload(b []byte) []byte {
	b = sp(append(b, VerbFileEnd...), m.ID)
	if m.HasSum {
		b = hex.AppendEncode(append(b, ' '), m.SHA256[:])
	}
	return b
}
func (m FileDone) AppendPayload(b []byte) []byte { return sp(append(b, VerbFileDone...), m.ID) }
func (m FileFail) AppendPayload(b []byte) []byte {
	return sp(sp(append(b, VerbFileFail...), m.ID), m.Reason)
}
func (m FileCancel) AppendPayload(b []byte) []byte { return sp(append(b, VerbFileCancel...), m.ID) }

// AppendFileChunkHeader appends `FILE_CHUNK <fid> <offset> ` (with the
// trailing space) to dst: a sender appends the chunk's bytes after it, for
// instance by reading the file straight into the spare capacity, so the
// data is never copied to build the payload.
func AppendFileChunkHeader(dst []byte, id string, offset int64) []byte {
	return append(spi(sp(append(dst, VerbFileChunk...), id), offset), ' ')
}

// ValidFileID reports whether s is a transfer id: 1 to MaxFileID bytes of
// ASCII letters, digits, '_' and '-'.
func ValidFileID(s string) bool { return len(s) <= MaxFileID && ValidChan(s) }

// ValidMIME reports whether s is a media type fit for FILE_OFFER: 1 to
// MaxMIME bytes, a type and a subtype of RFC 2045 token characters
// separated by one '/', no parameters (so no spaces).
func ValidMIME(s string) bool {
	if len(s) > MaxMIME {
		return false
	}
	slash := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			if slash >= 0 {
				return false
			}
			slash = i
		case !isTokenByte(c):
			return false
		}
	}
	return slash > 0 && slash < len(s)-1
}

func isTokenByte(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validReason reports whether s is a reason token: 1 to 32 bytes of
// [A-Za-z0-9_-].
func validReason(s string) bool { return ValidFileID(s) }

// IsFileVerb reports whether verb is one of the files feature's.
func IsFileVerb(verb []byte) bool {
	switch string(verb) {
	case VerbFileOffer, VerbFileAccept, VerbFileDecline, VerbFileChunk, VerbFileAck,
		VerbFileEnd, VerbFileDone, VerbFileFail, VerbFileCancel:
		return true
	}
	return false
}

// ParseFile decodes one plaintext payload of an end-to-end session. The
// files feature's payloads are parsed here (FILE_CHUNK's data may be any
// bytes, and is returned as a subslice of p, not copied); any other payload
// is handed to Parse, so a session's reader may call ParseFile for every
// payload. Errors are as Parse's: a *ProtocolError wrapping ErrMalformed
// or ErrUnknownVerb.
func ParseFile(p []byte) (Message, error) {
	verb, rest := SplitVerb(p)
	if !IsFileVerb(verb) {
		return Parse(p)
	}
	v := string(verb)
	m, err := parseFile(v, rest)
	if err != nil {
		return nil, malformed(v, err.Error())
	}
	return m, nil
}

func parseFile(verb string, rest []byte) (Message, error) {
	idb, rest, more := bytes.Cut(rest, []byte{' '})
	if !ValidFileID(string(idb)) {
		return nil, errors.New("bad id")
	}
	id := string(idb)
	switch verb {
	case VerbFileEnd:
		if !more {
			return FileEnd{ID: id}, nil
		}
		sum, ok := sha256Hex(rest)
		if !ok {
			return nil, errors.New("bad sha256")
		}
		return FileEnd{ID: id, SHA256: sum, HasSum: true}, nil
	case VerbFileDone, VerbFileCancel:
		if more {
			return nil, errors.New("unexpected text after id")
		}
		if verb == VerbFileDone {
			return FileDone{id}, nil
		}
		return FileCancel{id}, nil
	case VerbFileDecline, VerbFileFail:
		if !validReason(string(rest)) {
			return nil, errors.New("bad reason")
		}
		if verb == VerbFileDecline {
			return FileDecline{id, string(rest)}, nil
		}
		return FileFail{id, string(rest)}, nil
	case VerbFileAccept, VerbFileAck:
		off, ok := decimal(rest)
		if !ok {
			return nil, errors.New("bad offset")
		}
		if verb == VerbFileAccept {
			return FileAccept{id, off}, nil
		}
		return FileAck{id, off}, nil
	case VerbFileChunk:
		ob, data, found := bytes.Cut(rest, []byte{' '})
		off, ok := decimal(ob)
		if !ok {
			return nil, errors.New("bad offset")
		}
		if !found || len(data) == 0 {
			return nil, errors.New("no data")
		}
		if len(data) > MaxFileChunk {
			return nil, errors.New("chunk too large")
		}
		if off > 1<<63-1-int64(len(data)) {
			return nil, errors.New("offset out of range")
		}
		return FileChunk{id, off, data}, nil
	}
	// FILE_OFFER
	sb, rest, _ := bytes.Cut(rest, []byte{' '})
	size, ok := decimal(sb)
	if !ok {
		return nil, errors.New("bad size")
	}
	hb, rest, _ := bytes.Cut(rest, []byte{' '})
	later := string(hb) == "-"
	sum, ok := sha256Hex(hb)
	if !ok && !later {
		return nil, errors.New("bad sha256")
	}
	mb, name, _ := bytes.Cut(rest, []byte{' '})
	if !ValidMIME(string(mb)) {
		return nil, errors.New("bad mime type")
	}
	if len(name) == 0 || len(name) > MaxFileName || !utf8.Valid(name) {
		return nil, errors.New("bad name")
	}
	return FileOffer{id, size, sum, later, string(mb), string(name)}, nil
}

// sha256Hex decodes a SHA-256 written as 64 lowercase hex digits.
func sha256Hex(b []byte) (sum [32]byte, ok bool) {
	if len(b) != 64 || !lowerHex(b) {
		return sum, false
	}
	hex.Decode(sum[:], b)
	return sum, true
}

func lowerHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// decimal parses a canonical non-negative int64: 1 to 19 digits, no sign,
// no leading zero (except "0" itself).
func decimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 || len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}
