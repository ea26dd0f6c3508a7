package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"

	"github.com/flynn/noise"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// Frame verbs.
const (
	// VerbHandshake starts a frame carrying a Noise handshake message.
	VerbHandshake = "E2E_HS"
	// VerbData starts a frame carrying a Noise transport message.
	VerbData = "E2E"
)

const (
	// MaxMessage is the largest application message a Session carries: the
	// plaintext limit of a chat frame, wire.DefaultPeerPayload.
	MaxMessage = wire.DefaultPeerPayload
	// MaxFragment is the most plaintext one transport message carries:
	// Noise's 65,535-byte limit minus the 16-byte tag.
	MaxFragment = noise.MaxMsgLen - tagLen
	// RelayFragment is the fragment size (Session.SetMaxFragment) of a
	// session relayed through a server with the default payload limit,
	// wire.DefaultServerPayload (65,536 bytes): 55 KiB, the largest whole
	// number of KiB whose frame fits. A fragment of n bytes is the frame
	// payload "E2E " + pack7 of (9 + n + 16) bytes, 4 + m + ⌈m/7⌉ bytes with
	// m = n + 25; for n = 56,320, m = 56,345 and the payload is 4 + 56,345 +
	// 8,050 = 64,399 bytes. With "RELAYED <32-char nick> <32-char chan> " in
	// front (8 + 32 + 1 + 32 + 1 = 74 bytes) that is 64,473 ≤ 65,536; even
	// with a nick of 128 bytes (32 four-byte characters, 170 bytes in front)
	// and the inner frame's 10-byte header, 64,579. 56 KiB (57,344) would
	// already make a 65,569-byte E2E payload.
	RelayFragment = 55 << 10
	// minFragment is SetMaxFragment's lower clamp.
	minFragment = 1 << 10

	tagLen    = 16
	headerLen = 9 // seq (8) || flag (1)

	flagFinal = 0
	flagMore  = 1

	prologue = "PeerChat E2E v1\n"

	// maxHandshake bounds a decoded handshake message (the largest, message
	// 2, is 32 + 48 + 64 + 16 = 160 bytes).
	maxHandshake = 512
)

// Errors. Each integrity error ends the session; test with errors.Is.
var (
	// ErrHandshake: the handshake failed (bad message, wrong prologue, a
	// peer that closed); it wraps the cause.
	ErrHandshake = errors.New("e2e: handshake failed")
	// ErrCipher: the initiator proposed a cipher suite the responder does
	// not accept (Config.Ciphers), or an unknown suite byte. The responder's
	// Handshake returns an error wrapping both ErrHandshake and ErrCipher;
	// the initiator sees the responder close (ErrHandshake).
	ErrCipher = errors.New("e2e: cipher suite not accepted")
	// ErrRejected is wrapped by *RejectedError.
	ErrRejected = errors.New("e2e: remote identity refused")
	// ErrReplayed: a transport message that was already received.
	ErrReplayed = errors.New("e2e: replayed message")
	// ErrReordered: a transport message ahead of the next expected one (one
	// was dropped or reordered).
	ErrReordered = errors.New("e2e: reordered or missing message")
	// ErrTruncated: the stream ended inside a frame or inside a fragmented
	// message, or a frame too short to hold a tag. Such errors also wrap
	// io.ErrUnexpectedEOF when the stream ended.
	ErrTruncated = errors.New("e2e: truncated message")
	// ErrAltered: a transport message whose authentication failed.
	ErrAltered = errors.New("e2e: altered message")
	// ErrNotEncrypted: a frame other than E2E inside an encrypted session.
	ErrNotEncrypted = errors.New("e2e: unencrypted frame in an encrypted session")
	// ErrMalformed: an E2E frame whose bytes are not validly packed, or with
	// a bad flag.
	ErrMalformed = errors.New("e2e: malformed frame")
	// ErrTooLarge: a message above MaxMessage (sent or received).
	ErrTooLarge = errors.New("e2e: message too large")
)

// RejectedError is returned by Handshake when Config.Expect refused the
// remote identity. Remote is the identity the peer proved it holds; Err is
// Expect's error.
type RejectedError struct {
	Remote identity.PublicIdentity
	Err    error
}

func (e *RejectedError) Error() string {
	return "e2e: remote identity " + e.Remote.String() + " refused: " + e.Err.Error()
}

// Unwrap returns ErrRejected and Expect's error.
func (e *RejectedError) Unwrap() []error { return []error{ErrRejected, e.Err} }

// Role says which side of the handshake a peer plays.
type Role int

const (
	// Initiator sends the first handshake message: the side that dialled.
	Initiator Role = iota + 1
	// Responder answers: the side that accepted the connection.
	Responder
)

// Config describes one side of a handshake.
type Config struct {
	Role  Role               // required
	Local *identity.Identity // required: this device
	// Expect is called once with the remote identity, after the remote
	// proved it holds the key and before the session is established (for
	// the initiator: before it reveals its own identity). A non-nil error
	// aborts the handshake with a *RejectedError wrapping it. Typically it
	// compares remote with the key the server announced and the pin
	// (identity.PinStore). Required.
	Expect func(remote identity.PublicIdentity) error
	// Prologue binds the handshake to its context; both sides must pass the
	// same bytes, else the handshake fails. Optional.
	Prologue []byte
	// Cipher is the suite the initiator proposes in message 1 (the zero
	// value is ChaChaPoly). The responder ignores it.
	Cipher Cipher
	// Ciphers are the suites the responder accepts; nil means
	// DefaultCiphers(). The initiator ignores it.
	Ciphers []Cipher
}

// handshaker is the handshake state machine, separate from I/O so that it
// can be fuzzed.
type handshaker struct {
	cfg        Config
	cipher     Cipher
	hs         *noise.HandshakeState // the responder's is made by message 1
	remote     identity.PublicIdentity
	send, recv *noise.CipherState
}

func newHandshaker(cfg Config) (*handshaker, error) {
	if cfg.Local == nil || cfg.Expect == nil || (cfg.Role != Initiator && cfg.Role != Responder) {
		return nil, errors.New("e2e: Config needs Role, Local and Expect")
	}
	h := &handshaker{cfg: cfg}
	if cfg.Role == Responder {
		return h, nil // the suite comes with message 1
	}
	if !cfg.Cipher.valid() {
		return nil, fmt.Errorf("%w: %v", ErrCipher, cfg.Cipher)
	}
	return h, h.start(cfg.Cipher)
}

// start makes the Noise handshake state for suite c.
func (h *handshaker) start(c Cipher) error {
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   c.suite(),
		Pattern:       noise.HandshakeXX,
		Initiator:     h.cfg.Role == Initiator,
		Prologue:      append([]byte(prologue), h.cfg.Prologue...),
		StaticKeypair: noise.DHKey{Private: h.cfg.Local.X25519().Bytes(), Public: h.cfg.Local.Public().DHKey()},
	})
	if err != nil {
		return err
	}
	h.hs, h.cipher = hs, c
	return nil
}

// index returns the index of the next handshake message (0, 1, 2; 3 when
// done).
func (h *handshaker) index() int {
	if h.hs == nil {
		return 0
	}
	return h.hs.MessageIndex()
}

// accepts reports whether the responder accepts suite c.
func (h *handshaker) accepts(c Cipher) bool {
	cs := h.cfg.Ciphers
	if cs == nil {
		cs = DefaultCiphers()
	}
	return c.valid() && slices.Contains(cs, c)
}

// write returns the next handshake frame payload.
func (h *handshaker) write() ([]byte, error) {
	if h.hs == nil {
		return nil, fmt.Errorf("%w: the responder cannot write before message 1", ErrHandshake)
	}
	var payload, msg []byte
	if h.hs.MessageIndex() > 0 { // messages 2 and 3 carry the sender's identity
		payload = h.cfg.Local.Public().Bytes()
	} else { // message 1 starts with the suite byte
		msg = []byte{byte(h.cipher)}
	}
	msg, cs1, cs2, err := h.hs.WriteMessage(msg, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	h.split(cs1, cs2)
	out := append(make([]byte, 0, len(VerbHandshake)+1+pack7Len(len(msg))), VerbHandshake+" "...)
	return appendPack7(out, msg), nil
}

// read consumes one handshake frame payload. When it carries the remote
// identity, read checks it and calls Expect.
func (h *handshaker) read(frame []byte) error {
	verb, rest := wire.SplitVerb(frame)
	if string(verb) != VerbHandshake || len(rest) > pack7Len(maxHandshake) {
		return fmt.Errorf("%w: want an %s frame", ErrHandshake, VerbHandshake)
	}
	msg, err := appendUnpack7(nil, rest)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if h.hs == nil { // the responder, at message 1: suite byte || Noise message
		if len(msg) == 0 {
			return fmt.Errorf("%w: message 1 without a suite byte", ErrHandshake)
		}
		if c := Cipher(msg[0]); !h.accepts(c) {
			return fmt.Errorf("%w: %w: %v", ErrHandshake, ErrCipher, c)
		}
		if err := h.start(Cipher(msg[0])); err != nil {
			return fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		msg = msg[1:]
	}
	payload, cs1, cs2, err := h.hs.ReadMessage(nil, msg)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if h.hs.MessageIndex() == 1 { // message 1 carries no payload
		if len(payload) != 0 {
			return fmt.Errorf("%w: unexpected payload in message 1", ErrHandshake)
		}
		return nil
	}
	remote, err := identity.FromBytes(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if string(remote.DHKey()) != string(h.hs.PeerStatic()) {
		return fmt.Errorf("%w: identity does not match the Noise static key", ErrHandshake)
	}
	if err := h.cfg.Expect(remote); err != nil {
		return &RejectedError{Remote: remote, Err: err}
	}
	h.remote = remote
	h.split(cs1, cs2)
	return nil
}

func (h *handshaker) split(cs1, cs2 *noise.CipherState) {
	if cs1 == nil {
		return
	}
	if h.cfg.Role == Initiator {
		h.send, h.recv = cs1, cs2
	} else {
		h.send, h.recv = cs2, cs1
	}
}

// Handshake runs the handshake of cfg over conn and returns the session.
// r reads conn's frames: pass the Reader that already read the chat's first
// frames (buffered bytes are not lost), or nil for a new one with the limit
// wire.DefaultPeerPayload. On any failure Handshake closes conn and returns
// ctx's error if ctx ended (closing conn is how it interrupts the I/O), a
// *RejectedError if Expect refused the remote, or an error wrapping
// ErrHandshake.
func Handshake(ctx context.Context, conn net.Conn, r *wire.Reader, cfg Config) (sess *Session, err error) {
	h, err := newHandshaker(cfg)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = wire.NewReader(conn, wire.DefaultPeerPayload)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		if !stop() || err != nil { // ctx ended (conn is closed) or failure
			conn.Close()
			if ctx.Err() != nil {
				sess, err = nil, ctx.Err()
			}
		}
	}()
	for h.send == nil {
		if (h.index()%2 == 0) == (cfg.Role == Initiator) {
			p, err := h.write()
			if err != nil {
				return nil, err
			}
			if err := wire.WriteFrame(conn, p); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
			}
			continue
		}
		p, err := r.ReadFrame()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		if err := h.read(p); err != nil {
			return nil, err
		}
	}
	send, err := newCipherState(h.send, h.cipher)
	if err != nil {
		return nil, err
	}
	recv, err := newCipherState(h.recv, h.cipher)
	if err != nil {
		return nil, err
	}
	sess = &Session{conn: conn, r: r, remote: h.remote, cipher: h.cipher, send: send, recv: recv}
	// Confirmation: the responder's first transport message is empty. The
	// initiator finishes the Noise handshake first (message 3), so without
	// it the initiator could not tell a responder that refused its key from
	// one that accepted.
	if cfg.Role == Responder {
		if err := sess.WriteMessage(nil); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		return sess, nil
	}
	m, err := sess.ReadMessage()
	switch {
	case err == io.EOF:
		return nil, fmt.Errorf("%w: the responder closed (it refused this device's key?): %w", ErrHandshake, io.ErrUnexpectedEOF)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	case len(m) != 0:
		return nil, fmt.Errorf("%w: confirmation not empty", ErrHandshake)
	}
	return sess, nil
}

// Session is an established encrypted chat. It offers two ways to move
// messages: WriteMessage and ReadMessage do the I/O on the connection; Seal
// and Open only transform frames, for a caller that batches writes or owns
// the read loop (the client core's link). Do not mix the two on one
// direction. Seal and WriteMessage are safe for concurrent use, with each
// other and with the read side; ReadMessage and Open must be called from one
// goroutine at a time. The session owns conn: its first error, or Close,
// closes conn, and every later call returns that first error.
type Session struct {
	conn   net.Conn
	r      *wire.Reader
	remote identity.PublicIdentity
	cipher Cipher

	wmu     sync.Mutex
	send    *cipherState
	maxFrag int // 0: MaxFragment
	ad      [headerLen]byte
	sbuf    []byte // one sealed fragment
	wbuf    []byte // WriteMessage's frames
	werr    error

	recv    *cipherState
	dbuf    []byte // one decoded frame; a one-fragment message is opened in place
	msg     []byte // the message being reassembled
	partial bool   // msg holds fragments of an unfinished message
	done    bool   // msg was returned; reset it on the next call
	rerr    error
	closeMu sync.Once
}

// Remote returns the remote identity, as accepted by Config.Expect.
func (s *Session) Remote() identity.PublicIdentity { return s.remote }

// Cipher returns the session's cipher suite, as the initiator proposed it.
func (s *Session) Cipher() Cipher { return s.cipher }

// SetMaxFragment sets the most plaintext one E2E frame made by Seal and
// WriteMessage carries, n clamped to [1 KiB, MaxFragment]; the default is
// MaxFragment. A session relayed through a server uses RelayFragment so that
// every frame fits its payload limit. It changes only how messages are
// split: the receiver's Open reassembles fragments of any size. Call it
// before the session's writers start (it is safe with concurrent Seal
// calls, but a message sealed concurrently may use either size).
func (s *Session) SetMaxFragment(n int) {
	n = min(max(n, minFragment), MaxFragment)
	s.wmu.Lock()
	s.maxFrag = n
	s.wmu.Unlock()
}

// Seal encrypts p, an application payload (a chat frame's payload such as
// "CHAT_MSG2 …"), and appends it to dst as one or more complete E2E frames
// (header included), ready to be written. Frames must be written in the
// order of the Seal calls that made them (a caller appending to a shared
// buffer under its own lock does so). p may be at most MaxMessage bytes
// (else an error wrapping ErrTooLarge, and the session goes on); other
// errors (the nonce space exhausted after 2^64 messages) end the session.
func (s *Session) Seal(dst, p []byte) ([]byte, error) {
	if len(p) > MaxMessage {
		return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(p), MaxMessage)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.seal(dst, p)
}

// seal is Seal with s.wmu held.
func (s *Session) seal(dst, p []byte) ([]byte, error) {
	if s.werr != nil {
		return dst, s.werr
	}
	maxFrag := s.maxFrag
	if maxFrag == 0 {
		maxFrag = MaxFragment
	}
	for first := true; first || len(p) > 0; first = false {
		n := min(len(p), maxFrag)
		ad := s.ad[:] // a field, not a local: it would escape to the heap
		binary.BigEndian.PutUint64(ad[:8], s.send.n)
		ad[8] = flagFinal
		if n < len(p) {
			ad[8] = flagMore
		}
		var err error
		s.sbuf, err = s.send.seal(append(s.sbuf[:0], ad...), ad, p[:n])
		if err != nil {
			return dst, s.failWrite(err)
		}
		p = p[n:]
		dst = wire.AppendHeader(dst, len(VerbData)+1+pack7Len(len(s.sbuf)))
		dst = append(dst, VerbData+" "...)
		dst = appendPack7(dst, s.sbuf)
	}
	return dst, nil
}

// WriteMessage seals p as Seal does and writes its frames to conn in one
// Write. A write error ends the session.
func (s *Session) WriteMessage(p []byte) error {
	if len(p) > MaxMessage {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(p), MaxMessage)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var err error
	if s.wbuf, err = s.seal(s.wbuf[:0], p); err != nil {
		return err
	}
	if _, err := s.conn.Write(s.wbuf); err != nil {
		return s.failWrite(err)
	}
	return nil
}

// failWrite records the write side's first error and closes. s.wmu held.
func (s *Session) failWrite(err error) error {
	s.werr = err
	s.Close()
	return err
}

// ReadMessage reads frames from the session's Reader until a message is
// complete and returns it. The slice is valid until the next call. Errors:
// io.EOF when the stream ended cleanly between messages; an error wrapping
// one of the integrity errors of this package; the Reader's errors (a
// timeout, a *wire.ProtocolError). Every error ends the session.
func (s *Session) ReadMessage() ([]byte, error) {
	for {
		if s.rerr != nil {
			return nil, s.rerr
		}
		frame, err := s.r.ReadFrame()
		if err != nil {
			switch {
			case err == io.EOF && s.partial:
				err = fmt.Errorf("%w: stream ended inside a message: %w", ErrTruncated, io.ErrUnexpectedEOF)
			case errors.Is(err, io.ErrUnexpectedEOF):
				err = fmt.Errorf("%w: stream ended inside a frame: %w", ErrTruncated, err)
			}
			return nil, s.failRead(err)
		}
		msg, complete, err := s.Open(frame)
		if err != nil {
			return nil, s.failRead(err)
		}
		if complete {
			return msg, nil
		}
	}
}

// Open decrypts one frame payload (as wire.Reader.ReadFrame returns it).
// When the frame completes a message, Open returns it with complete true;
// the slice is valid until the next call. A frame that carries a fragment of
// a longer message gives complete false. Errors wrap one of the integrity
// errors of this package (or ErrTooLarge) and end the session. A caller
// reading frames itself must use the Reader it passed to Handshake (which
// may hold buffered frames), and treat the end of the stream while Pending
// as truncation. Open never closes the connection: the caller reads it and
// closes it when it has handled the error (so that nothing it does in
// between races with the peer seeing the close).
func (s *Session) Open(frame []byte) (msg []byte, complete bool, err error) {
	if s.rerr != nil {
		return nil, false, s.rerr
	}
	if s.done {
		s.msg, s.done = s.msg[:0], false
	}
	msg, final, err := s.open(frame)
	if err != nil {
		s.rerr = err
		return nil, false, err
	}
	s.partial = !final
	if final {
		s.done = true
		return msg, true, nil
	}
	return nil, false, nil
}

// Pending reports whether a fragmented message is incomplete: the stream
// must not end now. Call it from the reading goroutine.
func (s *Session) Pending() bool { return s.partial }

// open decrypts one frame payload. A message in one fragment is opened in
// place in s.dbuf and returned; a fragment of a longer message is appended
// to s.msg, which is returned after the last one.
func (s *Session) open(frame []byte) (msg []byte, final bool, err error) {
	verb, rest := wire.SplitVerb(frame)
	if string(verb) != VerbData {
		return nil, false, fmt.Errorf("%w: %.16q", ErrNotEncrypted, verb)
	}
	if len(rest) > pack7Len(headerLen+noise.MaxMsgLen) {
		return nil, false, fmt.Errorf("%w: frame of %d bytes", ErrMalformed, len(rest))
	}
	s.dbuf, err = appendUnpack7(s.dbuf[:0], rest)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	b := s.dbuf
	if len(b) < headerLen+tagLen {
		return nil, false, fmt.Errorf("%w: %d bytes", ErrTruncated, len(b))
	}
	seq, want := binary.BigEndian.Uint64(b[:8]), s.recv.n
	switch {
	case seq < want:
		return nil, false, fmt.Errorf("%w: message %d, expected %d", ErrReplayed, seq, want)
	case seq > want:
		return nil, false, fmt.Errorf("%w: message %d, expected %d", ErrReordered, seq, want)
	}
	if len(s.msg)+len(b)-headerLen-tagLen > MaxMessage {
		return nil, false, fmt.Errorf("%w: message above %d bytes", ErrTooLarge, MaxMessage)
	}
	flag := b[8] // authenticated by the open below
	whole := flag == flagFinal && len(s.msg) == 0
	out := s.msg
	if whole {
		out = b[headerLen:headerLen] // in place: no copy of the plaintext
	}
	out, err = s.recv.open(out, b[:headerLen], b[headerLen:])
	if err == errNonceExhausted {
		return nil, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: message %d", ErrAltered, seq)
	}
	switch {
	case whole:
		return out, true, nil
	case flag == flagFinal:
		s.msg = out
		return out, true, nil
	case flag == flagMore:
		s.msg = out
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("%w: flag %d", ErrMalformed, flag)
}

func (s *Session) failRead(err error) error {
	s.rerr = err
	s.Close()
	return err
}

// Close closes the connection. ReadMessage and WriteMessage then fail.
// Close is safe to call more than once and concurrently; it returns the
// first Close's error.
func (s *Session) Close() error {
	var err error
	s.closeMu.Do(func() { err = s.conn.Close() })
	return err
}
