package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flynn/noise"
	"go.uber.org/goleak"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ident(t testing.TB, start byte) *identity.Identity {
	t.Helper()
	seed := make([]byte, identity.SeedSize)
	for i := range seed {
		seed[i] = start + byte(i)
	}
	id, err := identity.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// expectKey accepts exactly want.
func expectKey(want identity.PublicIdentity) func(identity.PublicIdentity) error {
	return func(got identity.PublicIdentity) error {
		if got != want {
			return errWrongKey
		}
		return nil
	}
}

var errWrongKey = errors.New("not the expected key")

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (dialer, acceptor net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return d, r.c
}

type hsResult struct {
	s   *Session
	err error
}

// handshakePair runs both handshakes over the two conns and returns both
// results (initiator on ci, responder on cr).
func handshakePair(t testing.TB, ci, cr net.Conn, ic, rc Config) (hsResult, hsResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ic.Role, rc.Role = Initiator, Responder
	ch := make(chan hsResult, 1)
	go func() {
		s, err := Handshake(ctx, cr, nil, rc)
		ch <- hsResult{s, err}
	}()
	s, err := Handshake(ctx, ci, nil, ic)
	return hsResult{s, err}, <-ch
}

// sessions returns an established pair over loopback TCP: alice dialled bob.
func sessions(t testing.TB, ci, cr net.Conn) (alice, bob *Session) {
	t.Helper()
	a, b := ident(t, 0), ident(t, 32)
	ra, rb := handshakePair(t, ci, cr,
		Config{Local: a, Expect: expectKey(b.Public()), Prologue: []byte("nonce 42")},
		Config{Local: b, Expect: expectKey(a.Public()), Prologue: []byte("nonce 42")})
	if ra.err != nil || rb.err != nil {
		t.Fatalf("handshake: %v / %v", ra.err, rb.err)
	}
	t.Cleanup(func() { ra.s.Close(); rb.s.Close() })
	return ra.s, rb.s
}

func TestRoundTrip(t *testing.T) {
	ci, cr := tcpPair(t)
	alice, bob := sessions(t, ci, cr)
	if alice.Remote() != ident(t, 32).Public() || bob.Remote() != ident(t, 0).Public() {
		t.Fatal("Remote is not the peer's identity")
	}
	sizes := []int{0, 1, 60, 1024, MaxFragment - 1, MaxFragment, MaxFragment + 1, 3*MaxFragment + 7, MaxMessage}
	done := make(chan error, 1)
	go func() { // bob echoes every message
		for range sizes {
			m, err := bob.ReadMessage()
			if err != nil {
				done <- err
				return
			}
			if err := bob.WriteMessage(m); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for _, n := range sizes {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		copy(msg, fmt.Sprintf("CHAT_MSG2 %d", n))
		if err := alice.WriteMessage(msg); err != nil {
			t.Fatalf("%d: write: %v", n, err)
		}
		got, err := alice.ReadMessage()
		if err != nil {
			t.Fatalf("%d: read: %v", n, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%d: echo differs (%d bytes back)", n, len(got))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := alice.WriteMessage(make([]byte, MaxMessage+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized write: %v", err)
	}
	// The session goes on after a refused oversized write; a clean close
	// between messages is io.EOF.
	if err := alice.WriteMessage([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if m, err := bob.ReadMessage(); err != nil || string(m) != "bye" {
		t.Fatalf("after oversized: %q %v", m, err)
	}
	alice.Close()
	if _, err := bob.ReadMessage(); err != io.EOF {
		t.Fatalf("after close: %v, want io.EOF", err)
	}
}

// tap forwards between two loopback connections and records both directions.
type tap struct {
	ln     net.Listener
	mu     sync.Mutex
	up, dn bytes.Buffer // client→server, server→client
	wg     sync.WaitGroup
	target string
}

func newTap(t *testing.T, target string) *tap {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{ln: ln, target: target}
	tp.wg.Add(1)
	go func() {
		defer tp.wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			return
		}
		tp.wg.Add(2)
		go tp.pipe(s, c, &tp.up)
		go tp.pipe(c, s, &tp.dn)
	}()
	return tp
}

func (tp *tap) pipe(dst, src net.Conn, rec *bytes.Buffer) {
	defer tp.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			tp.mu.Lock()
			rec.Write(buf[:n])
			tp.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestTapSeesNoPlaintext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := newTap(t, ln.Addr().String())
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	ci, err := net.Dial("tcp", tp.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cr := <-accepted
	ln.Close()
	alice, bob := sessions(t, ci, cr)

	secrets := []string{
		"CHAT_MSG2 1 1764536400000 \"alice\" the vault code is 7731",
		"CHAT_MSG2 2 1764536400001 \"bob\" meet me at the north door",
		strings.Repeat("LONG SECRET ", 10000), // fragmented
	}
	for i, s := range secrets {
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		if err := from.WriteMessage([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if m, err := to.ReadMessage(); err != nil || string(m) != s {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	alice.Close()
	bob.Close()
	tp.ln.Close()
	tp.wg.Wait()
	if tp.up.Len() == 0 || tp.dn.Len() == 0 {
		t.Fatal("the tap saw nothing")
	}
	a, b := ident(t, 0).Public(), ident(t, 32).Public()
	for dir, rec := range map[string][]byte{"alice→bob": tp.up.Bytes(), "bob→alice": tp.dn.Bytes()} {
		// What the tap can read: the raw stream, and every frame's bytes
		// unpacked (a listener knows the format).
		views := [][]byte{rec}
		frames := 0
		for b := rec; len(b) > 0; {
			p, n, err := wire.SplitFrame(b, wire.DefaultPeerPayload)
			if err != nil || n == 0 {
				t.Fatalf("%s: the tap cannot split frames: %v", dir, err)
			}
			b = b[n:]
			verb, rest := wire.SplitVerb(p)
			if string(verb) != VerbData && string(verb) != VerbHandshake {
				t.Fatalf("%s: a %q frame", dir, verb)
			}
			bin, err := appendUnpack7(nil, rest)
			if err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			views = append(views, bin)
			frames++
		}
		if frames < 3 {
			t.Fatalf("%s: the tap saw %d frames", dir, frames)
		}
		for _, v := range views {
			for _, s := range []string{"the vault code is 7731", "meet me at the north door", "LONG SECRET LONG", "CHAT_MSG2 1 1764536400000"} {
				if bytes.Contains(v, []byte(s)) {
					t.Errorf("%s: the tap saw %q", dir, s)
				}
			}
			// Identity hiding: neither device's keys in clear.
			for _, k := range [][]byte{a.DHKey(), b.DHKey(), a.SigningKey(), b.SigningKey()} {
				if bytes.Contains(v, k) {
					t.Errorf("%s: a public key is visible", dir)
				}
			}
		}
	}
}

func TestManInTheMiddle(t *testing.T) {
	alice, bob, mallory := ident(t, 0), ident(t, 32), ident(t, 64)

	// alice dials "bob", but mallory answers (the server announced
	// mallory's key as bob's, or redirected the connection).
	ci, cr := tcpPair(t)
	ra, rm := handshakePair(t, ci, cr,
		Config{Local: alice, Expect: expectKey(bob.Public())},
		Config{Local: mallory, Expect: func(identity.PublicIdentity) error { return nil }})
	var rej *RejectedError
	if !errors.As(ra.err, &rej) || !errors.Is(ra.err, ErrRejected) || !errors.Is(ra.err, errWrongKey) {
		t.Fatalf("alice: %v, want a RejectedError", ra.err)
	}
	if rej.Remote != mallory.Public() {
		t.Fatal("RejectedError does not carry the key presented")
	}
	// alice refused before sending her identity: mallory learns nothing
	// and gets no session.
	if rm.err == nil || !errors.Is(rm.err, ErrHandshake) {
		t.Fatalf("mallory: %v, want ErrHandshake", rm.err)
	}

	// mallory dials bob pretending to be alice.
	ci, cr = tcpPair(t)
	rm, rb := handshakePair(t, ci, cr,
		Config{Local: mallory, Expect: func(identity.PublicIdentity) error { return nil }},
		Config{Local: bob, Expect: expectKey(alice.Public())})
	if !errors.As(rb.err, &rej) || rej.Remote != mallory.Public() {
		t.Fatalf("bob: %v, want a RejectedError for mallory's key", rb.err)
	}
	// The responder's confirmation never comes: mallory gets no session
	// either, and is told the handshake failed.
	if rm.s != nil || !errors.Is(rm.err, ErrHandshake) || !errors.Is(rm.err, io.ErrUnexpectedEOF) {
		t.Fatalf("mallory: %v, want ErrHandshake (closed)", rm.err)
	}
}

func TestPrologueMismatch(t *testing.T) {
	a, b := ident(t, 0), ident(t, 32)
	ci, cr := tcpPair(t)
	ra, rb := handshakePair(t, ci, cr,
		Config{Local: a, Expect: expectKey(b.Public()), Prologue: []byte("nonce 1")},
		Config{Local: b, Expect: expectKey(a.Public()), Prologue: []byte("nonce 2")})
	if !errors.Is(ra.err, ErrHandshake) || !errors.Is(rb.err, ErrHandshake) {
		t.Fatalf("%v / %v, want ErrHandshake on both sides", ra.err, rb.err)
	}
}

func TestHandshakeCancel(t *testing.T) {
	ci, cr := tcpPair(t)
	defer cr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Handshake(ctx, ci, nil, Config{Role: Initiator, Local: ident(t, 0), Expect: func(identity.PublicIdentity) error { return nil }})
		done <- err
	}()
	// The responder never answers; wait for message 1, then cancel.
	r := wire.NewReader(cr, wire.DefaultPeerPayload)
	if p, err := r.ReadFrame(); err != nil || !bytes.HasPrefix(p, []byte(VerbHandshake+" ")) {
		t.Fatalf("message 1: %q %v", p, err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Handshake did not return after cancel")
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("conn not closed: %v", err)
	}
}

// capture replaces a session's conn so that its frames are kept instead of
// sent; it returns the real conn and the function returning the frames.
type captureConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *captureConn) Write(p []byte) (int, error) { return c.buf.Write(p) }

func (c *captureConn) frames(t testing.TB) [][]byte {
	var out [][]byte
	b := c.buf.Bytes()
	for len(b) > 0 {
		p, n, err := wire.SplitFrame(b, wire.DefaultPeerPayload)
		if err != nil || n == 0 {
			t.Fatalf("captured bytes: %v", err)
		}
		out = append(out, append([]byte(nil), p...))
		b = b[n:]
	}
	c.buf.Reset()
	return out
}

// tamper decodes an E2E frame payload, lets f change the binary, re-encodes.
func tamper(p []byte, f func(b []byte) []byte) []byte {
	b, err := appendUnpack7(nil, p[len(VerbData)+1:])
	if err != nil {
		panic(err)
	}
	return appendPack7([]byte(VerbData+" "), f(b))
}

func TestIntegrity(t *testing.T) {
	type attack struct {
		name string
		want error
		// send writes frames on raw, the sender's real conn, given the
		// genuine frames of messages "m0", "m1", "m2" and of one message of
		// three fragments.
		send  func(raw net.Conn, f, big [][]byte)
		reads int // messages that must arrive before the error
	}
	wf := func(raw net.Conn, ps ...[]byte) {
		for _, p := range ps {
			wire.WriteFrame(raw, p)
		}
	}
	attacks := []attack{
		{"replay", ErrReplayed, func(raw net.Conn, f, _ [][]byte) { wf(raw, f[0], f[1], f[0]) }, 2},
		{"reorder", ErrReordered, func(raw net.Conn, f, _ [][]byte) { wf(raw, f[1], f[0]) }, 0},
		{"drop", ErrReordered, func(raw net.Conn, f, _ [][]byte) { wf(raw, f[0], f[2]) }, 1},
		{"truncate frame", ErrTruncated, func(raw net.Conn, f, _ [][]byte) {
			fr := wire.AppendFrame(nil, f[0])
			raw.Write(fr[:len(fr)-5])
			raw.Close()
		}, 0},
		{"truncate message", ErrTruncated, func(raw net.Conn, _, big [][]byte) { wf(raw, big[0], big[1]); raw.Close() }, 0},
		{"short frame", ErrTruncated, func(raw net.Conn, f, _ [][]byte) {
			wf(raw, tamper(f[0], func(b []byte) []byte { return b[:headerLen+tagLen-1] }))
		}, 0},
		{"cut ciphertext", ErrAltered, func(raw net.Conn, f, _ [][]byte) {
			wf(raw, tamper(f[0], func(b []byte) []byte { return b[:len(b)-1] }))
		}, 0},
		{"bit flip", ErrAltered, func(raw net.Conn, f, _ [][]byte) {
			wf(raw, f[0], tamper(f[1], func(b []byte) []byte { b[headerLen+1] ^= 0x04; return b }))
		}, 1},
		{"flag flip", ErrAltered, func(raw net.Conn, _, big [][]byte) {
			wf(raw, tamper(big[0], func(b []byte) []byte { b[8] = flagFinal; return b }))
		}, 0},
		{"tag flip", ErrAltered, func(raw net.Conn, f, _ [][]byte) {
			wf(raw, tamper(f[0], func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }))
		}, 0},
		{"plaintext frame", ErrNotEncrypted, func(raw net.Conn, f, _ [][]byte) {
			wf(raw, f[0], []byte(`CHAT_MSG2 9 1764536400000 "bob" forged`))
		}, 1},
		{"bad packing", ErrMalformed, func(raw net.Conn, f, _ [][]byte) {
			wf(raw, append([]byte(VerbData+" é"), f[0][len(VerbData)+2:]...)) // valid UTF-8, not pack7
		}, 0},
	}
	for _, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			ci, cr := tcpPair(t)
			alice, bob := sessions(t, ci, cr)
			capt := &captureConn{Conn: alice.conn}
			alice.conn = capt
			for _, m := range []string{"m0", "m1", "m2"} {
				if err := alice.WriteMessage([]byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			f := capt.frames(t)
			// The fragments of one big message, on a second pair so that
			// their nonces also start at 0.
			ci2, cr2 := tcpPair(t)
			alice2, bob2 := sessions(t, ci2, cr2)
			capt2 := &captureConn{Conn: alice2.conn}
			alice2.conn = capt2
			if err := alice2.WriteMessage(bytes.Repeat([]byte("x"), 2*MaxFragment+1)); err != nil {
				t.Fatal(err)
			}
			big := capt2.frames(t)
			if len(big) != 3 {
				t.Fatalf("%d fragments, want 3", len(big))
			}
			raw, target := capt.Conn, bob
			if strings.HasPrefix(at.name, "truncate message") || at.name == "flag flip" {
				raw, target = capt2.Conn, bob2
			}
			at.send(raw, f, big)
			for i := 0; i < at.reads; i++ {
				if m, err := target.ReadMessage(); err != nil || string(m) != fmt.Sprintf("m%d", i) {
					t.Fatalf("message %d: %q %v", i, m, err)
				}
			}
			_, err := target.ReadMessage()
			if !errors.Is(err, at.want) {
				t.Fatalf("err = %v, want %v", err, at.want)
			}
			for _, other := range []error{ErrReplayed, ErrReordered, ErrTruncated, ErrAltered, ErrNotEncrypted, ErrMalformed} {
				if other != at.want && errors.Is(err, other) {
					t.Fatalf("err %v is also %v", err, other)
				}
			}
			if at.want == ErrTruncated && strings.HasPrefix(at.name, "truncate") && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err %v does not wrap io.ErrUnexpectedEOF", err)
			}
			// Sticky, and the session closed its conn: the sender sees EOF.
			if _, err2 := target.ReadMessage(); err2 != err {
				t.Fatalf("second read: %v, want the first error", err2)
			}
			if target == bob && at.name != "truncate frame" {
				r := wire.NewReader(raw, wire.DefaultPeerPayload)
				raw.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := r.ReadFrame(); err != io.EOF {
					t.Fatalf("sender's read after the failure: %v, want io.EOF", err)
				}
			}
		})
	}
}

// unsafeCipher returns a fresh ChaChaPoly cipher state with key k at nonce
// 0 (fuzzing needs one per input).
func unsafeCipher(k [32]byte) *cipherState { return unsafeCipherOf(k, ChaChaPoly) }

// unsafeCipherOf is unsafeCipher for suite c.
func unsafeCipherOf(k [32]byte, c Cipher) *cipherState {
	cs, err := newCipherState(noise.UnsafeNewCipherState(c.suite(), k, 0), c)
	if err != nil {
		panic(err)
	}
	return cs
}
