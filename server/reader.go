package server

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"peerchat/core/wire"
)

// frameReader reads a connection's frames, cut and checked by
// wire.SplitFrame (header, limit before the payload arrives, UTF-8), with
// the timeouts of wire.Reader. Unlike wire.Reader it holds a read buffer
// only while it has unread bytes: an idle connection waits for the first
// byte of its next frame with a one-byte read and no buffer, and a buffer
// comes from a pool when that byte arrives. So an idle connection costs no
// read buffer; a busy one costs one more read(2) each time it goes idle.
//
// A frameReader is owned by the connection's serve goroutine.
type frameReader struct {
	nc  readConn
	max int // payload limit

	// IdleTimeout bounds the wait for the first byte of a frame; zero means
	// no bound. FrameTimeout bounds the rest of a frame once its first byte
	// has arrived; zero means no bound. They are applied with
	// SetReadDeadline: the frameReader owns nc's read deadline, but for
	// Latest.
	IdleTimeout  time.Duration
	FrameTimeout time.Duration
	// Latest, if not nil and not zero, is a deadline (Unix nanoseconds)
	// that no deadline the frameReader sets may pass: whoever stores it
	// then sets it on nc (conn.lingerClose) knows that a read started
	// after either step ends by then.
	Latest *atomic.Int64

	buf   []byte // nil while idle; buf[r:w] is unread
	r, w  int
	timed bool   // the FrameTimeout of the frame being read is set
	last  []byte // a copy of the last payload read, when it emptied buf
	one   [1]byte
}

// maxLastCopy is the longest payload ReadFrame copies out of the buffer to
// give the buffer back before the payload is handled (registration can wait
// for the registry): a chat's frames are short.
const maxLastCopy = 256

// readBufSize is the size of the pooled read buffers: enough for every
// frame of a chat, which is short; a longer frame gets a buffer of its own.
const readBufSize = wire.MinReaderSize

var readBufs = sync.Pool{New: func() any { return new([readBufSize]byte) }}

// readConn is the part of a net.Conn a frameReader uses.
type readConn interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

func newFrameReader(nc readConn, max int) *frameReader {
	return &frameReader{nc: nc, max: max}
}

// ReadFrame returns the next non-empty payload, valid until the next call.
// Errors: a *wire.ProtocolError for a malformed frame, io.EOF at a clean end
// between frames, io.ErrUnexpectedEOF inside one, or nc's read error (a
// timeout when IdleTimeout or FrameTimeout passed).
func (fr *frameReader) ReadFrame() ([]byte, error) {
	for {
		if fr.r == fr.w {
			fr.release() // the caller is done with the last payload
		} else {
			p, n, err := wire.SplitFrame(fr.buf[fr.r:fr.w], fr.max)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				fr.r += n
				fr.timed = false
				if len(p) == 0 {
					continue // an empty frame: skipped, as by wire.Reader
				}
				if fr.r == fr.w && len(p) <= maxLastCopy {
					// The buffer is empty: give it back now, not at
					// the next call, which may come much later.
					fr.last = append(fr.last[:0], p...)
					fr.release()
					return fr.last, nil
				}
				return p, nil
			}
		}
		if err := fr.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more bytes: the first byte of a frame without a buffer when
// nothing is buffered, else the rest of the frame into the buffer.
func (fr *frameReader) fill() error {
	if fr.buf == nil {
		fr.deadline(fr.IdleTimeout)
		n, err := fr.nc.Read(fr.one[:])
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
		fr.buf = readBufs.Get().(*[readBufSize]byte)[:]
		fr.buf[0] = fr.one[0]
		fr.r, fr.w = 0, 1
		return nil
	}
	if !fr.timed {
		fr.deadline(fr.FrameTimeout)
		fr.timed = true
	}
	if fr.r > 0 { // make room at the end
		fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.r = 0
	}
	if fr.w == len(fr.buf) { // a frame longer than the buffer
		size := len(fr.buf) * 2
		if fr.w >= wire.HeaderLen {
			if n, err := wire.ParseHeader(fr.buf[:wire.HeaderLen]); err == nil && n <= int64(fr.max) {
				size = wire.HeaderLen + int(n) // SplitFrame checked it
			}
		}
		b := make([]byte, size)
		w := copy(b, fr.buf[:fr.w])
		fr.release()
		fr.buf, fr.w = b, w
	}
	n, err := fr.nc.Read(fr.buf[fr.w:])
	fr.w += n
	if n > 0 {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // inside a frame
	} else if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// release lets the buffer go (back to the pool if it came from there) and
// forgets its unread bytes.
func (fr *frameReader) release() {
	if len(fr.buf) == readBufSize {
		readBufs.Put((*[readBufSize]byte)(fr.buf))
	}
	fr.buf, fr.r, fr.w = nil, 0, 0
}

// deadline sets nc's read deadline d from now, or none for d <= 0.
func (fr *frameReader) deadline(d time.Duration) {
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	fr.nc.SetReadDeadline(t)
	// Checked after setting: a Latest stored before this load is applied
	// here, one stored after it is set on nc after our deadline.
	if fr.Latest == nil {
		return
	}
	if l := fr.Latest.Load(); l != 0 {
		if lt := time.Unix(0, l); t.IsZero() || lt.Before(t) {
			fr.nc.SetReadDeadline(lt)
		}
	}
}
