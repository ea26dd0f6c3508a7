package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
)

// This file is an Incoming's mark: after every chunk written, its offset
// and SHA-256 state, not fsynced, so that a receiver whose app was killed
// resumes from its last chunk written rather than its last checkpoint.

// markMagic starts a mark file's record: magic, offset (8 bytes, big
// endian), the marshaled SHA-256 state, CRC-32 (IEEE) of all before it.
const markMagic = "PCM1"

// writeMark records in.off and the hash state in the mark file. It is
// not fsynced: it is for a resume after the app (not the system) died,
// and fromMark checks it against the data anyway.
func (in *Incoming) writeMark() {
	if in.mf == nil {
		return
	}
	b := append(in.markBuf[:0], markMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(in.off))
	b, err := in.h.(encoding.BinaryAppender).AppendBinary(b)
	if err != nil {
		return
	}
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	in.markBuf = b
	in.mf.WriteAt(b, 0)
}

// fromMark moves the offset from the checkpoint (in.off, in.h) to the
// mark's, if the mark is newer, within size (the partial file's size)
// and the bytes between hash from the checkpoint's state to the mark's.
func (in *Incoming) fromMark(size int64) {
	b, err := os.ReadFile(in.mark)
	if err != nil || len(b) < len(markMagic)+8+4 || string(b[:len(markMagic)]) != markMagic {
		return
	}
	body, crc := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != crc {
		return
	}
	off := int64(binary.BigEndian.Uint64(body[len(markMagic):]))
	state := body[len(markMagic)+8:]
	if off <= in.off || off > size || off > in.offer.Size {
		return
	}
	hs, err := in.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return
	}
	h := sha256.New()
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(hs) != nil {
		return
	}
	if _, err := io.Copy(h, io.NewSectionReader(in.f, in.off, off-in.off)); err != nil {
		return
	}
	if got, err := h.(encoding.BinaryMarshaler).MarshalBinary(); err != nil || !bytes.Equal(got, state) {
		return
	}
	in.h, in.off = h, off
}

// closeMark closes the mark file (it stays on disk for a resume).
func (in *Incoming) closeMark() {
	if in.mf != nil {
		in.mf.Close()
		in.mf = nil
	}
}
