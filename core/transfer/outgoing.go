package transfer

import (
	"crypto/sha256"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"peerchat/core/wire"
)

// Outgoing is a file being sent: opened, hashed once, then read chunk by
// chunk from any offset. Its memory use does not depend on the file's
// size. ReadChunk may be called from several goroutines at once; Close
// must come after the last ReadChunk.
type Outgoing struct {
	f    *os.File
	size int64
	sum  [32]byte
	mime string
	name string
}

// Open opens the regular file at path for sending and hashes it (reading
// it once, in constant memory). The media type is the extension's (by
// mime.TypeByExtension) unless the content sniffs (net/http's
// DetectContentType on its first 512 bytes) as a different image type, or
// the extension is unknown; parameters are dropped, and
// application/octet-stream stands for anything not fit for FILE_OFFER.
func Open(path string) (*Outgoing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	o, err := newOutgoing(f, filepath.Base(path))
	if err != nil {
		f.Close()
		return nil, err
	}
	return o, nil
}

func newOutgoing(f *os.File, name string) (*Outgoing, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("transfer: %s is not a regular file", name)
	}
	var head [512]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	h := sha256.New()
	h.Write(head[:n])
	size, err := io.CopyBuffer(h, f, make([]byte, 256<<10))
	if err != nil {
		return nil, err
	}
	size += int64(n)
	o := &Outgoing{f: f, size: size, mime: mediaType(name, head[:n]), name: name}
	h.Sum(o.sum[:0])
	return o, nil
}

// mediaType picks the offered media type of a file named name that starts
// with head.
func mediaType(name string, head []byte) string {
	byExt := bare(mime.TypeByExtension(filepath.Ext(name)))
	sniffed := bare(http.DetectContentType(head))
	t := byExt
	if t == "" || strings.HasPrefix(sniffed, "image/") && sniffed != byExt {
		t = sniffed
	}
	if !wire.ValidMIME(t) {
		return "application/octet-stream"
	}
	return t
}

// bare drops a media type's parameters and lowers it ("" if unparsable).
func bare(t string) string {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return ""
	}
	return mt
}

// Offer returns the FILE_OFFER of this file under transfer id.
func (o *Outgoing) Offer(id string) Offer {
	return Offer{ID: id, Size: o.size, SHA256: o.sum, MIME: o.mime, Name: offerName(o.name)}
}

// offerName makes a base name fit for FILE_OFFER (non-empty, bounded,
// valid UTF-8).
func offerName(name string) string {
	return SanitizeName(name)
}

// Size is the file's size when it was hashed.
func (o *Outgoing) Size() int64 { return o.size }

// ReadChunk reads up to len(buf) bytes of the file from offset into buf,
// for the FILE_CHUNK at offset. It returns io.EOF (with n == 0) at or
// after the hashed size, and stops there even if the file grew since.
// A file that shrank gives io.ErrUnexpectedEOF.
func (o *Outgoing) ReadChunk(offset int64, buf []byte) (n int, err error) {
	if offset < 0 {
		return 0, fmt.Errorf("transfer: negative offset %d", offset)
	}
	if offset >= o.size {
		return 0, io.EOF
	}
	if left := o.size - offset; int64(len(buf)) > left {
		buf = buf[:left]
	}
	n, err = o.f.ReadAt(buf, offset)
	if n == len(buf) {
		err = nil
	} else if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Close closes the file.
func (o *Outgoing) Close() error { return o.f.Close() }
