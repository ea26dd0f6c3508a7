package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// sessionsWith returns an established pair over loopback TCP in which the
// initiator (alice) proposed c and the responder (bob) accepts both suites.
func sessionsWith(t testing.TB, c Cipher) (alice, bob *Session) {
	t.Helper()
	ci, cr := tcpPair(t)
	a, b := ident(t, 0), ident(t, 32)
	ra, rb := handshakePair(t, ci, cr,
		Config{Local: a, Expect: expectKey(b.Public()), Prologue: []byte("nonce 42"), Cipher: c},
		Config{Local: b, Expect: expectKey(a.Public()), Prologue: []byte("nonce 42"), Ciphers: bothCiphers})
	if ra.err != nil || rb.err != nil {
		t.Fatalf("handshake: %v / %v", ra.err, rb.err)
	}
	t.Cleanup(func() { ra.s.Close(); rb.s.Close() })
	return ra.s, rb.s
}

// TestCipherRoundTrip: with either suite, both sides agree on it and
// messages of every size cross both ways.
func TestCipherRoundTrip(t *testing.T) {
	for _, c := range bothCiphers {
		t.Run(c.String(), func(t *testing.T) {
			alice, bob := sessionsWith(t, c)
			if alice.Cipher() != c || bob.Cipher() != c {
				t.Fatalf("suites %v / %v, want %v", alice.Cipher(), bob.Cipher(), c)
			}
			for _, n := range []int{0, 60, 1024, MaxFragment + 1, MaxMessage} {
				msg := bytes.Repeat([]byte{byte(n)}, n)
				copy(msg, fmt.Sprintf("CHAT_MSG2 %d", n))
				for _, dir := range [][2]*Session{{alice, bob}, {bob, alice}} {
					done := make(chan error, 1)
					go func() { done <- dir[0].WriteMessage(msg) }()
					got, err := dir[1].ReadMessage()
					if err != nil || !bytes.Equal(got, msg) {
						t.Fatalf("%d bytes: %v (%d bytes back)", n, err, len(got))
					}
					if err := <-done; err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// TestCipherNotAccepted: a responder that accepts only ChaChaPoly refuses
// an AESGCM proposal with ErrCipher, and the initiator sees the handshake
// fail; an unknown suite byte and an invalid Config.Cipher are refused too.
func TestCipherNotAccepted(t *testing.T) {
	ci, cr := tcpPair(t)
	a, b := ident(t, 0), ident(t, 32)
	ra, rb := handshakePair(t, ci, cr,
		Config{Local: a, Expect: expectKey(b.Public()), Cipher: AESGCM},
		Config{Local: b, Expect: expectKey(a.Public()), Ciphers: []Cipher{ChaChaPoly}})
	if !errors.Is(rb.err, ErrCipher) || !errors.Is(rb.err, ErrHandshake) {
		t.Fatalf("responder: %v, want ErrCipher and ErrHandshake", rb.err)
	}
	if !errors.Is(ra.err, ErrHandshake) || errors.Is(ra.err, ErrCipher) {
		t.Fatalf("initiator: %v, want ErrHandshake", ra.err)
	}

	msgs, _, _ := genuine(t)
	m1, err := appendUnpack7(nil, msgs[0][len(VerbHandshake)+1:])
	if err != nil {
		t.Fatal(err)
	}
	for _, suite := range []byte{2, 0x7f} {
		res, _ := newHandshaker(Config{Role: Responder, Local: b, Expect: acceptAll, Ciphers: []Cipher{ChaChaPoly, AESGCM, Cipher(suite)}})
		m := append([]byte{suite}, m1[1:]...)
		if err := res.read(appendPack7([]byte(VerbHandshake+" "), m)); !errors.Is(err, ErrCipher) {
			t.Fatalf("suite byte %d: %v, want ErrCipher", suite, err)
		}
	}
	if _, err := newHandshaker(Config{Role: Initiator, Local: a, Expect: acceptAll, Cipher: 2}); !errors.Is(err, ErrCipher) {
		t.Fatalf("Config.Cipher 2: %v, want ErrCipher", err)
	}
}

// TestCipherTampered: a suite byte changed on the way, to a suite the
// responder accepts, is caught: the Noise protocol name (so the transcript
// and every key) differs, and the initiator cannot read message 2.
func TestCipherTampered(t *testing.T) {
	for _, c := range bothCiphers {
		t.Run(c.String(), func(t *testing.T) {
			ini, _ := newHandshaker(Config{Role: Initiator, Local: ident(t, 0), Expect: acceptAll, Cipher: c})
			res, _ := newHandshaker(Config{Role: Responder, Local: ident(t, 32), Expect: acceptAll, Ciphers: bothCiphers})
			p, err := ini.write()
			if err != nil {
				t.Fatal(err)
			}
			m, err := appendUnpack7(nil, p[len(VerbHandshake)+1:])
			if err != nil || m[0] != byte(c) {
				t.Fatalf("message 1 %x: %v", m, err)
			}
			m[0] ^= 1 // the other suite
			if err := res.read(appendPack7([]byte(VerbHandshake+" "), m)); err != nil {
				t.Fatalf("responder refused the other suite: %v", err)
			}
			p2, err := res.write()
			if err != nil {
				t.Fatal(err)
			}
			if err := ini.read(p2); !errors.Is(err, ErrHandshake) {
				t.Fatalf("initiator read message 2: %v, want ErrHandshake", err)
			}
		})
	}
}

// TestDefaultCiphers: the responder's default follows the CPU.
func TestDefaultCiphers(t *testing.T) {
	d := DefaultCiphers()
	if len(d) == 0 || d[0] != ChaChaPoly {
		t.Fatalf("DefaultCiphers() = %v, want ChaChaPoly first", d)
	}
	if got := len(d) == 2 && d[1] == AESGCM; got != HardwareAES() {
		t.Fatalf("DefaultCiphers() = %v with HardwareAES() %v", d, HardwareAES())
	}
	t.Logf("HardwareAES: %v", HardwareAES())
}
