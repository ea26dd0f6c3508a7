package wire

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// FeatureImages (WELCOME and HELLO): pictures posted to Everyone
// (docs/PROTOCOL.md §2.10). A client that lists it may post a picture
// (BIMG_POST, BIMG_DATA, BIMG_END) and receives the pictures others post
// (BIMG, BIMG_DATA, BIMG_END); a client that does not gets a text line in
// their place.
const FeatureImages = "images"

// Verbs of the images feature.
const (
	VerbImageLimit = "BIMG_LIMIT" // S→C: the largest picture the server takes
	VerbImagePost  = "BIMG_POST"  // C→S: a picture to post follows
	VerbImage      = "BIMG"       // S→C: a picture from another client follows
	VerbImageData  = "BIMG_DATA"  // both: a chunk of the picture
	VerbImageEnd   = "BIMG_END"   // both: the last chunk was sent (S→C: with the broadcast sequence)
	VerbImageOK    = "BIMG_OK"    // S→C: our post went out
	VerbImageFail  = "BIMG_FAIL"  // S→C: our post was refused or failed
	VerbImageDrop  = "BIMG_DROP"  // S→C: a picture being received will not be complete
)

// Limits of the images feature.
const (
	// MaxImageData is the most base64url characters one BIMG_DATA
	// carries (48 KiB of picture): with its header it stays within
	// DefaultServerPayload.
	MaxImageData = 64 << 10
	// ImageChunk is the number of picture bytes a PeerChat client puts
	// in one BIMG_DATA (62,806 characters of base64url): the frame the
	// server forwards, whatever its ids, stays within DefaultServerPayload.
	ImageChunk = 47 << 10
)

// Reasons of BIMG_FAIL and BIMG_DROP (receivers accept any token).
const (
	// ImageTooLarge: the declared size is above the server's limit.
	ImageTooLarge = "too_large"
	// ImageRateLimited: the sender posts more than the broadcast rate.
	ImageRateLimited = "rate_limited"
	// ImageBad: not a picture the server takes (media type, size 0), or
	// data out of order or past the declared size.
	ImageBad = "bad"
	// ImageBusy: the sender has a post under way already.
	ImageBusy = "busy"
	// ImageTooLong: a forwarded chunk would pass the payload limit.
	ImageTooLong = "too_long"
	// ImageOverflow (BIMG_DROP): the recipient's queue was too full.
	ImageOverflow = "overflow"
	// ImageCancelled (BIMG_DROP): the sender failed or left mid-post.
	ImageCancelled = "cancelled"
)

// ImageTypes are the media types a picture posted to Everyone may have.
var ImageTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// IsImageType reports whether mime is one of ImageTypes.
func IsImageType(mime string) bool {
	for _, t := range ImageTypes {
		if mime == t {
			return true
		}
	}
	return false
}

// ImageLimit is `BIMG_LIMIT <bytes>`: the server takes pictures of up to
// Bytes bytes. Sent once to a client whose HELLO listed images.
type ImageLimit struct{ Bytes int64 }

// ImagePost is `BIMG_POST <fid> <size> <sha256hex> <mime> <name>`: the
// client posts picture ID (ValidFileID, chosen by it, unique among its
// posts) of Size bytes (at least 1), whose SHA-256 is SHA256, of media
// type MIME, named Name (the rest of the payload, 1 to MaxFileName bytes
// of UTF-8).
type ImagePost struct {
	ID     string
	Size   int64
	SHA256 [32]byte
	MIME   string
	Name   string
}

// Image is `BIMG <id> <from> <unix_ms> <size> <sha256hex> <mime> <name>`:
// client From posted a picture at Time; its chunks follow under the
// server's ID.
type Image struct {
	ID     string
	From   string
	Time   time.Time
	Size   int64
	SHA256 [32]byte
	MIME   string
	Name   string
}

// ImageData is `BIMG_DATA <id> <offset> <data>`: Data is the picture's
// bytes from Offset, in base64url without padding (1 to MaxImageData
// characters; see DecodeImageData).
type ImageData struct {
	ID     string
	Offset int64
	Data   string
}

// ImageEnd is `BIMG_END <id>` (C→S) or `BIMG_END <id> <seq>` (S→C): the
// last chunk was sent; from the server, Seq is the picture's broadcast
// sequence number (as BCAST's).
type ImageEnd struct {
	ID  string
	Seq uint64 // 0: none (C→S)
}

// ImageOK is `BIMG_OK <fid> <seq>`: the sender's post ID went out, as
// broadcast sequence number Seq.
type ImageOK struct {
	ID  string
	Seq uint64
}

// ImageFail is `BIMG_FAIL <fid> <reason>`: the sender's post ID was
// refused or failed (Reason one of the Image* tokens).
type ImageFail struct {
	ID     string
	Reason string
}

// ImageDrop is `BIMG_DROP <id> <reason>`: picture ID, announced by BIMG,
// will not be complete for this recipient (ImageOverflow,
// ImageCancelled).
type ImageDrop struct {
	ID     string
	Reason string
}

func (ImageLimit) Verb() string { return VerbImageLimit }
func (ImagePost) Verb() string  { return VerbImagePost }
func (Image) Verb() string      { return VerbImage }
func (ImageData) Verb() string  { return VerbImageData }
func (ImageEnd) Verb() string   { return VerbImageEnd }
func (ImageOK) Verb() string    { return VerbImageOK }
func (ImageFail) Verb() string  { return VerbImageFail }
func (ImageDrop) Verb() string  { return VerbImageDrop }

func (m ImageLimit) AppendPayload(b []byte) []byte {
	return spi(append(b, VerbImageLimit...), m.Bytes)
}
func (m ImagePost) AppendPayload(b []byte) []byte {
	b = spi(sp(append(b, VerbImagePost...), m.ID), m.Size)
	b = hex.AppendEncode(append(b, ' '), m.SHA256[:])
	return sp(sp(b, m.MIME), m.Name)
}
func (m Image) AppendPayload(b []byte) []byte {
	b = sp(sp(append(b, VerbImage...), m.ID), m.From)
	b = spi(spi(b, m.Time.UnixMilli()), m.Size)
	b = hex.AppendEncode(append(b, ' '), m.SHA256[:])
	return sp(sp(b, m.MIME), m.Name)
}
func (m ImageData) AppendPayload(b []byte) []byte {
	return sp(spi(sp(append(b, VerbImageData...), m.ID), m.Offset), m.Data)
}
func (m ImageEnd) AppendPayload(b []byte) []byte {
	b = sp(append(b, VerbImageEnd...), m.ID)
	if m.Seq != 0 {
		b = spu(b, m.Seq)
	}
	return b
}
func (m ImageOK) AppendPayload(b []byte) []byte {
	return spu(sp(append(b, VerbImageOK...), m.ID), m.Seq)
}
func (m ImageFail) AppendPayload(b []byte) []byte {
	return sp(sp(append(b, VerbImageFail...), m.ID), m.Reason)
}
func (m ImageDrop) AppendPayload(b []byte) []byte {
	return sp(sp(append(b, VerbImageDrop...), m.ID), m.Reason)
}

// EncodeImageData returns p in the encoding of BIMG_DATA (base64url
// without padding).
func EncodeImageData(p []byte) string { return base64.RawURLEncoding.EncodeToString(p) }

// DecodeImageData decodes the data of a BIMG_DATA that Parse accepted.
func DecodeImageData(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// ImageDataLen returns the number of bytes data of a BIMG_DATA that Parse
// accepted decodes to, without decoding it.
func ImageDataLen(data string) int64 { return int64(len(data)) * 6 / 8 }

// validImageData reports whether s is canonical unpadded base64url of 1
// to MaxImageData characters: alphabet, length, and no stray bits in the
// last character (so that decoding and encoding again gives s).
func validImageData(s string) bool {
	if len(s) == 0 || len(s) > MaxImageData || len(s)%4 == 1 {
		return false
	}
	var bad byte
	for i := 0; i < len(s); i++ {
		bad |= notBase64URL[s[i]]
	}
	if bad != 0 {
		return false
	}
	if tail := s[len(s)&^3:]; tail != "" {
		// The last group's unused bits must be zero.
		if _, err := base64.RawURLEncoding.Strict().DecodeString(tail); err != nil {
			return false
		}
	}
	return true
}

// notBase64URL is 1 for the bytes outside the base64url alphabet.
var notBase64URL = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			t[i] = 1
		}
	}
	return t
}()

// IsImageVerb reports whether verb is one of the images feature's.
func IsImageVerb(verb string) bool {
	switch verb {
	case VerbImageLimit, VerbImagePost, VerbImage, VerbImageData, VerbImageEnd,
		VerbImageOK, VerbImageFail, VerbImageDrop:
		return true
	}
	return false
}

// parseImage parses the images feature's payloads for Parse; ok is false
// for another verb.
func parseImage(verb, s string) (m Message, err error, ok bool) {
	if !IsImageVerb(verb) {
		return nil, nil, false
	}
	m, err = parseImageFrame(verb, s)
	if err != nil {
		return nil, malformed(verb, err.Error()), true
	}
	return m, nil, true
}

func parseImageFrame(verb, s string) (Message, error) {
	if verb == VerbImageLimit {
		n, ok := decimal([]byte(s))
		if !ok {
			return nil, errors.New("bad size")
		}
		return ImageLimit{n}, nil
	}
	id, rest, more := strings.Cut(s, " ")
	if !ValidFileID(id) {
		return nil, errors.New("bad id")
	}
	switch verb {
	case VerbImageEnd:
		if !more {
			return ImageEnd{ID: id}, nil
		}
		seq, ok := decimal([]byte(rest))
		if !ok || seq == 0 {
			return nil, errors.New("bad seq")
		}
		return ImageEnd{id, uint64(seq)}, nil
	case VerbImageOK:
		seq, ok := decimal([]byte(rest))
		if !ok || seq == 0 {
			return nil, errors.New("bad seq")
		}
		return ImageOK{id, uint64(seq)}, nil
	case VerbImageFail, VerbImageDrop:
		if !validReason(rest) {
			return nil, errors.New("bad reason")
		}
		if verb == VerbImageFail {
			return ImageFail{id, rest}, nil
		}
		return ImageDrop{id, rest}, nil
	case VerbImageData:
		ob, data, _ := strings.Cut(rest, " ")
		off, ok := decimal([]byte(ob))
		if !ok {
			return nil, errors.New("bad offset")
		}
		if !validImageData(data) {
			return nil, errors.New("bad data")
		}
		if off > 1<<62 {
			return nil, errors.New("offset out of range")
		}
		return ImageData{id, off, data}, nil
	}
	var from string
	var t time.Time
	if verb == VerbImage {
		var err error
		if from, rest, err = word(rest, "nick"); err != nil {
			return nil, err
		}
		if ValidateNick(from) != nil {
			return nil, errors.New("bad nick")
		}
		tb, r, _ := strings.Cut(rest, " ")
		ms, ok := decimal([]byte(tb))
		if !ok {
			return nil, errors.New("bad time")
		}
		t, rest = time.UnixMilli(ms), r
	}
	sb, rest, _ := strings.Cut(rest, " ")
	size, ok := decimal([]byte(sb))
	if !ok || size == 0 {
		return nil, errors.New("bad size")
	}
	hb, rest, _ := strings.Cut(rest, " ")
	var sum [32]byte
	if len(hb) != 64 || !lowerHex([]byte(hb)) {
		return nil, errors.New("bad sha256")
	}
	hex.Decode(sum[:], []byte(hb))
	mt, name, _ := strings.Cut(rest, " ")
	if !ValidMIME(mt) {
		return nil, errors.New("bad mime type")
	}
	if len(name) == 0 || len(name) > MaxFileName || !utf8.ValidString(name) {
		return nil, errors.New("bad name")
	}
	if verb == VerbImage {
		return Image{id, from, t, size, sum, mt, name}, nil
	}
	return ImagePost{id, size, sum, mt, name}, nil
}
