package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"peerchat/core/delivery"
)

// Errors of the record codec.
var (
	// ErrCorrupt reports a stored record that cannot be decoded.
	ErrCorrupt = errors.New("history: corrupt record")
	// ErrVersion reports a stored record written by a newer, unknown
	// format version.
	ErrVersion = errors.New("history: unknown record version")
)

// recordVersion is the version byte that starts every thread record and
// every message record without a signature mark. Bump it, and keep decoding
// the older ones, when the layout changes.
const recordVersion = 1

// recordVersionSig starts a message record that carries a signature mark
// (Message.Signature not 0): the version 1 layout followed by the mark, a
// uvarint. A message without a mark is still written as version 1, so the
// records of a history that never stored a mark are unchanged and older
// versions of this package read them.
const recordVersionSig = 2

// Message records and thread records (see the package doc) use these bytes.
const (
	maxUvarintLen = binary.MaxVarintLen64
	fixedPartLen  = 1 + 1 + 1 // version, kind, state
)

// appendMessage appends the record of m to b (version 1, or version 2 when
// m has a Signature mark) and returns the extended slice. m.Seq is not part
// of the record: it is the record's key.
func appendMessage(b []byte, m Message) []byte {
	v := byte(recordVersion)
	if m.Signature != 0 {
		v = recordVersionSig
	}
	b = append(b, v, byte(m.Kind), byte(m.State))
	b = binary.AppendUvarint(b, m.ID)
	b = binary.AppendVarint(b, m.Time.Unix())
	b = binary.AppendUvarint(b, uint64(m.Time.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(m.From)))
	b = append(b, m.From...)
	b = binary.AppendUvarint(b, uint64(len(m.Text)))
	b = append(b, m.Text...)
	if v == recordVersionSig {
		b = binary.AppendUvarint(b, uint64(m.Signature))
	}
	return b
}

// encodedLen returns an upper bound of the length of m's record.
func encodedLen(m Message) int {
	return fixedPartLen + 6*maxUvarintLen + len(m.From) + len(m.Text)
}

// decodeMessage decodes a record written by appendMessage (either version). The returned
// Message has Seq 0 and its Time in the local time zone; its strings do not
// alias b. It never panics, whatever b holds.
func decodeMessage(b []byte) (Message, error) {
	var m Message
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if b[0] != recordVersion && b[0] != recordVersionSig {
		return m, fmt.Errorf("%w %d", ErrVersion, b[0])
	}
	if len(b) < fixedPartLen {
		return m, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(b))
	}
	m.Kind, m.State = Kind(b[1]), delivery.State(b[2])
	if !m.Kind.valid() {
		return Message{}, fmt.Errorf("%w: kind %d", ErrCorrupt, b[1])
	}
	if !m.State.Valid() {
		return Message{}, fmt.Errorf("%w: state %d", ErrCorrupt, b[2])
	}
	d := decoder{b: b[fixedPartLen:]}
	m.ID = d.uvarint()
	sec := d.varint()
	nsec := d.uvarint()
	m.From = d.string()
	m.Text = d.string()
	if b[0] == recordVersionSig {
		// Written only for a mark that is not 0: one encoding per message.
		switch sig := d.uvarint(); {
		case d.err != nil:
		case sig == 0 || sig > 0xff:
			return Message{}, fmt.Errorf("%w: signature mark %d", ErrCorrupt, sig)
		default:
			m.Signature = uint8(sig)
		}
	}
	if d.err != nil {
		return Message{}, d.err
	}
	if len(d.b) != 0 {
		return Message{}, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	if nsec >= uint64(time.Second) {
		return Message{}, fmt.Errorf("%w: nanoseconds %d", ErrCorrupt, nsec)
	}
	m.Time = time.Unix(sec, int64(nsec))
	return m, nil
}

// decoder reads varints and length-prefixed strings from b, remembering the
// first error; after an error every read returns a zero value.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint", ErrCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint", ErrCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: string of %d bytes, %d left", ErrCorrupt, n, len(d.b))
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// threadRecord is the summary kept for each thread in the info bucket.
type threadRecord struct {
	count uint64
	last  time.Time
}

// appendThread appends the version 1 encoding of r to b.
func appendThread(b []byte, r threadRecord) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, r.count)
	b = binary.AppendVarint(b, r.last.Unix())
	b = binary.AppendUvarint(b, uint64(r.last.Nanosecond()))
	return b
}

// decodeThread decodes a record written by appendThread.
func decodeThread(b []byte) (threadRecord, error) {
	var r threadRecord
	if len(b) == 0 {
		return r, fmt.Errorf("%w: empty thread record", ErrCorrupt)
	}
	if b[0] != recordVersion {
		return r, fmt.Errorf("%w %d", ErrVersion, b[0])
	}
	d := decoder{b: b[1:]}
	r.count = d.uvarint()
	sec := d.varint()
	nsec := d.uvarint()
	if d.err != nil {
		return threadRecord{}, d.err
	}
	if len(d.b) != 0 || nsec >= uint64(time.Second) {
		return threadRecord{}, fmt.Errorf("%w: thread record", ErrCorrupt)
	}
	r.last = time.Unix(sec, int64(nsec))
	return r, nil
}
