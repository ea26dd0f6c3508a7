package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Framing errors. A *ProtocolError wraps one of them; test with errors.Is.
var (
	// ErrBadHeader: the header has a byte other than digits surrounded by spaces.
	ErrBadHeader = errors.New("bad frame header")
	// ErrTooLarge: the announced payload exceeds the reader's limit.
	ErrTooLarge = errors.New("frame too large")
	// ErrInvalidUTF8: the payload is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("payload is not valid UTF-8")
)

// ProtocolError is a violation of the protocol by the remote side. Its
// Reason is short and fit to send back as "ERROR <reason>".
type ProtocolError struct {
	Err    error  // one of the Err* values of this package, or a codec error
	Reason string // human-readable detail, without newlines
}

func (e *ProtocolError) Error() string { return e.Reason }
func (e *ProtocolError) Unwrap() error { return e.Err }

// IsProtocolError reports whether err was caused by the remote side breaking
// the protocol (as opposed to an I/O error or a timeout).
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// ParseHeader returns the payload length a 10-byte header announces.
// It accepts leading and trailing spaces around the digits and nothing else.
func ParseHeader(h []byte) (int64, error) {
	if len(h) != HeaderLen {
		return 0, &ProtocolError{ErrBadHeader, fmt.Sprintf("bad frame header: %d bytes, want %d", len(h), HeaderLen)}
	}
	i := 0
	for i < len(h) && h[i] == ' ' {
		i++
	}
	start := i
	var n int64
	for i < len(h) && h[i] >= '0' && h[i] <= '9' {
		n = n*10 + int64(h[i]-'0')
		i++
	}
	if i == start {
		return 0, &ProtocolError{ErrBadHeader, "bad frame header " + strconv.Quote(string(h)) + ": no length"}
	}
	for ; i < len(h); i++ {
		if h[i] != ' ' {
			return 0, &ProtocolError{ErrBadHeader, "bad frame header " + strconv.Quote(string(h))}
		}
	}
	return n, nil
}

// AppendHeader appends the header for a payload of n bytes to dst.
// n must be between 0 and MaxHeaderValue.
func AppendHeader(dst []byte, n int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for len(dst)-start < HeaderLen {
		dst = append(dst, ' ')
	}
	return dst
}

// AppendFrame appends payload, framed, to dst.
func AppendFrame(dst, payload []byte) []byte {
	dst = AppendHeader(dst, len(payload))
	return append(dst, payload...)
}

// AppendMessage appends m's payload, framed, to dst, without an intermediate
// copy of the payload. It does not allocate when dst has room.
func AppendMessage[M Message](dst []byte, m M) []byte {
	start := len(dst)
	dst = append(dst, "          "...)
	dst = m.AppendPayload(dst)
	n := len(dst) - start - HeaderLen
	var digits [HeaderLen]byte
	d := strconv.AppendInt(digits[:0], int64(n), 10)
	copy(dst[start:], d)
	return dst
}

// Encode returns m as a complete frame.
func Encode[M Message](m M) []byte { return AppendMessage(make([]byte, 0, 64), m) }

// WriteFrame writes payload to w as one frame, in one Write call.
func WriteFrame(w io.Writer, payload []byte) error {
	buf := make([]byte, 0, HeaderLen+len(payload))
	_, err := w.Write(AppendFrame(buf, payload))
	return err
}

// WriteMessage writes m to w as one frame, in one Write call.
func WriteMessage[M Message](w io.Writer, m M) error {
	_, err := w.Write(Encode(m))
	return err
}

// deadliner is the part of net.Conn the Reader uses to bound reads.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// Reader reads frames from a byte stream. It is not safe for concurrent use:
// one goroutine owns a Reader.
//
// A Reader never allocates the announced length before checking it against its
// limit, reuses one buffer for all payloads (no allocation per frame once the
// buffer has grown to the largest payload seen), and skips zero-length frames.
type Reader struct {
	br  *bufio.Reader
	dl  deadliner // nil when the source cannot time out
	max int
	buf []byte

	// IdleTimeout bounds the wait for the first byte of a frame; zero means
	// no bound. FrameTimeout bounds the rest of a frame once its first byte
	// has arrived; zero means no bound. Both apply only when the source has
	// a SetReadDeadline method (a net.Conn). Such a Reader owns the
	// conn's read deadline: ReadFrame sets it (a zero IdleTimeout clears it),
	// so a caller bounds a read with IdleTimeout, never SetReadDeadline.
	IdleTimeout  time.Duration
	FrameTimeout time.Duration

	// Now returns the current time; nil means time.Now. Tests inject a clock.
	Now func() time.Time
}

// NewReader returns a Reader of frames from r whose payloads may be at most
// max bytes. If r has a SetReadDeadline method (a net.Conn), the Reader bounds
// a half-sent frame by FrameTimeout, which defaults to DefaultFrameTimeout.
func NewReader(r io.Reader, max int) *Reader {
	fr := &Reader{max: max, FrameTimeout: DefaultFrameTimeout}
	if d, ok := r.(deadliner); ok {
		fr.dl = d
	}
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= 4096 {
		fr.br = br
	} else {
		fr.br = bufio.NewReaderSize(r, 16<<10)
	}
	return fr
}

// Max returns the reader's payload limit.
func (r *Reader) Max() int { return r.max }

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reader) deadline(d time.Duration) {
	if r.dl == nil {
		return
	}
	var t time.Time
	if d > 0 {
		t = r.now().Add(d)
	}
	r.dl.SetReadDeadline(t)
}

// ReadFrame returns the next non-empty payload. The slice is valid only until
// the next call. Errors: io.EOF at a clean end between frames,
// io.ErrUnexpectedEOF inside a frame, a *ProtocolError (wrapping ErrBadHeader,
// ErrTooLarge or ErrInvalidUTF8) for a bad frame, or the source's error
// (such as a timeout). After an error the Reader must not be used again.
func (r *Reader) ReadFrame() ([]byte, error) {
	for {
		p, err := r.readOne()
		if err != nil || len(p) > 0 {
			return p, err
		}
	}
}

func (r *Reader) readOne() ([]byte, error) {
	timed := false
	if r.br.Buffered() < HeaderLen {
		if r.dl != nil && (r.IdleTimeout > 0 || r.FrameTimeout > 0) {
			if r.br.Buffered() == 0 {
				r.deadline(r.IdleTimeout)
				if _, err := r.br.Peek(1); err != nil {
					return nil, err
				}
			}
			r.deadline(r.FrameTimeout)
			timed = true
		}
	}
	h, err := r.br.Peek(HeaderLen)
	if err != nil {
		if err == io.EOF && r.br.Buffered() > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n, err := payloadLen(h, r.max)
	if err != nil {
		return nil, err
	}
	r.br.Discard(HeaderLen)
	if n == 0 {
		return nil, nil
	}
	if !timed && r.br.Buffered() < n && r.dl != nil && r.FrameTimeout > 0 {
		r.deadline(r.FrameTimeout)
	}
	var p []byte
	if r.br.Buffered() >= n {
		// The whole payload is in the buffer: hand out a view of it.
		p, _ = r.br.Peek(n)
		r.br.Discard(n)
	} else {
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		p = r.buf[:n]
		if _, err := io.ReadFull(r.br, p); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	if err := checkPayload(p); err != nil {
		return nil, err
	}
	return p, nil
}

// payloadLen parses header h and checks the length it announces against max.
func payloadLen(h []byte, max int) (int, error) {
	n, err := ParseHeader(h)
	if err != nil {
		return 0, err
	}
	if n > int64(max) {
		return 0, &ProtocolError{ErrTooLarge, fmt.Sprintf("frame too large: %d bytes, limit %d", n, max)}
	}
	return int(n), nil
}

func checkPayload(p []byte) error {
	if !utf8.Valid(p) {
		return &ProtocolError{ErrInvalidUTF8, "payload is not valid UTF-8"}
	}
	return nil
}

// SplitFrame takes the first frame off buf, for readers that collect bytes
// themselves (an event loop over non-blocking sockets). It returns the
// payload (a view into buf, possibly empty for a zero-length frame) and the
// number of bytes the frame took. With n == 0 and a nil error, buf holds only
// part of a frame: read more and call again. The checks are those of Reader:
// header, limit (before the payload has arrived), UTF-8.
func SplitFrame(buf []byte, max int) (payload []byte, n int, err error) {
	if len(buf) < HeaderLen {
		return nil, 0, nil
	}
	size, err := payloadLen(buf[:HeaderLen], max)
	if err != nil {
		return nil, 0, err
	}
	if len(buf) < HeaderLen+size {
		return nil, 0, nil
	}
	p := buf[HeaderLen : HeaderLen+size]
	if err := checkPayload(p); err != nil {
		return nil, 0, err
	}
	return p, HeaderLen + size, nil
}
