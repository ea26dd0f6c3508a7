package server

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"peerchat/core/wire"
)

// chunkConn hands out data in reads of the sizes in chunks (cycled), like a
// socket that delivers a stream in pieces. Deadlines are accepted and
// ignored.
type chunkConn struct {
	data   []byte
	chunks []byte
	i      int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(c.chunks) > 0 {
		n = min(n, int(c.chunks[c.i%len(c.chunks)])+1)
		c.i++
	}
	n = copy(p, c.data[:min(n, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}

func (c *chunkConn) SetReadDeadline(time.Time) error { return nil }

// readAll reads frames until an error and returns the payloads and the
// error.
func readAll(next func() ([]byte, error)) ([]string, error) {
	var got []string
	for {
		p, err := next()
		if err != nil {
			return got, err
		}
		got = append(got, string(p))
	}
}

// sameErr reports whether two read errors mean the same.
func sameErr(a, b error) bool {
	switch {
	case wire.IsProtocolError(a) || wire.IsProtocolError(b):
		return wire.IsProtocolError(a) && wire.IsProtocolError(b) && a.Error() == b.Error()
	default:
		return errors.Is(a, b)
	}
}

// FuzzFrameReader: the server's frameReader returns the same payloads and
// the same final error as wire.Reader, the project's reference frame
// reader, whatever the bytes and however the stream is cut into reads.
func FuzzFrameReader(f *testing.F) {
	frames := func(ps ...string) []byte {
		var b []byte
		for _, p := range ps {
			b = wire.AppendFrame(b, []byte(p))
		}
		return b
	}
	f.Add(frames("REGISTER a 1", "PORT a 2", "", "BROADCAST hi"), []byte{0, 3, 200})
	f.Add(frames(strings.Repeat("x", 5000), "y"), []byte{255})
	f.Add(append(frames("a"), "12        abc"...), []byte{})
	f.Add([]byte("abc       x"), []byte{1})
	f.Add([]byte("99999     "), []byte{})
	f.Add([]byte("2         \xc3\x28"), []byte{0})
	f.Fuzz(func(t *testing.T, data, chunks []byte) {
		const limit = 8 << 10
		ref := wire.NewReader(&chunkConn{data: data, chunks: chunks}, limit)
		want, wantErr := readAll(ref.ReadFrame)
		fr := newFrameReader(&chunkConn{data: data, chunks: chunks}, limit)
		got, gotErr := readAll(fr.ReadFrame)
		if !slices.Equal(got, want) {
			t.Fatalf("payloads %q, wire.Reader %q", got, want)
		}
		if !sameErr(gotErr, wantErr) {
			t.Fatalf("error %v, wire.Reader %v", gotErr, wantErr)
		}
		if errors.Is(gotErr, io.EOF) && fr.buf != nil { // idle between frames
			t.Fatalf("buffer kept at a clean end: %d bytes", len(fr.buf))
		}
	})
}
