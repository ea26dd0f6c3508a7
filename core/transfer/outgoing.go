package transfer

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"peerchat/core/wire"
)

// Outgoing is a file being sent: opened, then read chunk by chunk from
// any offset, and hashed on the way (the SHA-256 of FILE_END, or of
// FILE_OFFER once Sum was called). Its memory use does not depend on the
// file's size. It is safe for concurrent use; Close must come after the
// last ReadChunk or Sum.
type Outgoing struct {
	f    *os.File
	size int64
	mime string
	name string

	mu     sync.Mutex
	h      hash.Hash // the SHA-256 of the bytes before hashed
	hashed int64
	sum    [32]byte
	summed bool // sum is the whole file's
}

// Open opens the regular file at path for sending. It reads only the
// first 512 bytes (to sniff the media type): the file is hashed as
// ReadChunk reads it, or by Sum. The media type is the extension's (by
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
	n, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return &Outgoing{f: f, size: fi.Size(), mime: mediaType(name, head[:n]), name: name, h: sha256.New()}, nil
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

// Offer returns the FILE_OFFER of this file under transfer id: with its
// SHA-256 once Sum returned it, else with SumLater (the SHA-256 then goes
// with FILE_END).
func (o *Outgoing) Offer(id string) Offer {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Offer{ID: id, Size: o.size, SHA256: o.sum, SumLater: !o.summed, MIME: o.mime, Name: offerName(o.name)}
}

// offerName makes a base name fit for FILE_OFFER (non-empty, bounded,
// valid UTF-8).
func offerName(name string) string {
	return SanitizeName(name)
}

// Size is the file's size when it was opened: what is offered and sent,
// even if the file grows meanwhile.
func (o *Outgoing) Size() int64 { return o.size }

// ReadChunk reads up to len(buf) bytes of the file from offset into buf,
// for the FILE_CHUNK at offset, and hashes them if they are the next
// bytes to hash (bytes before offset not hashed yet are read and hashed
// first, as after a resume). It returns io.EOF (with n == 0) at or after
// Size, and stops there even if the file grew since. A file that shrank
// gives io.ErrUnexpectedEOF.
func (o *Outgoing) ReadChunk(offset int64, buf []byte) (n int, err error) {
	if offset < 0 {
		return 0, fmt.Errorf("transfer: negative offset %d", offset)
	}
	if offset >= o.size {
		return 0, io.EOF
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.hashTo(offset); err != nil {
		return 0, err
	}
	n, err = o.readAt(buf, offset)
	if err == nil && offset == o.hashed {
		o.h.Write(buf[:n])
		o.hashed += int64(n)
	}
	return n, err
}

// readAt reads what buf holds of the file at offset, not past Size.
func (o *Outgoing) readAt(buf []byte, offset int64) (int, error) {
	if left := o.size - offset; int64(len(buf)) > left {
		buf = buf[:left]
	}
	n, err := o.f.ReadAt(buf, offset)
	if n == len(buf) {
		err = nil
	} else if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// hashTo hashes the file up to offset (a no-op for bytes hashed already).
// The caller holds o.mu.
func (o *Outgoing) hashTo(offset int64) error {
	if o.hashed >= offset {
		return nil
	}
	buf := make([]byte, 256<<10)
	for o.hashed < offset {
		n, err := o.readAt(buf[:min(int64(len(buf)), offset-o.hashed)], o.hashed)
		if err != nil {
			return err
		}
		o.h.Write(buf[:n])
		o.hashed += int64(n)
	}
	return nil
}

// Sum returns the file's SHA-256, hashing what ReadChunk has not (all of
// it, if called first). Later calls return the same sum.
func (o *Outgoing) Sum() ([32]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.summed {
		return o.sum, nil
	}
	if err := o.hashTo(o.size); err != nil {
		return o.sum, err
	}
	o.h.Sum(o.sum[:0])
	o.summed = true
	return o.sum, nil
}

// Close closes the file.
func (o *Outgoing) Close() error { return o.f.Close() }
