package wire

import (
	"bufio"
	"io"
)

// MinReaderSize is the smallest read buffer NewReaderSize uses.
const MinReaderSize = 4096

// NewReaderSize is like NewReader but reads through a buffer of size bytes
// (at least MinReaderSize), so that a server holding many idle connections
// can keep its memory per connection small. As with NewReader, if r has a
// SetReadDeadline method (a net.Conn) the Reader applies IdleTimeout and
// FrameTimeout to it.
func NewReaderSize(r io.Reader, limit, size int) *Reader {
	size = max(size, MinReaderSize)
	fr := NewReader(bufio.NewReaderSize(r, size), limit)
	if d, ok := r.(deadliner); ok {
		fr.dl = d
	}
	return fr
}
