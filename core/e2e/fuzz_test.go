package e2e

import (
	"errors"
	"testing"

	"peerchat/core/identity"
)

func acceptAll(identity.PublicIdentity) error { return nil }

// bothCiphers is a responder's Config.Ciphers that accepts either suite,
// whatever the test machine's CPU.
var bothCiphers = []Cipher{ChaChaPoly, AESGCM}

// genuine runs an in-memory ChaChaPoly handshake between two handshakers and
// returns the three handshake frame payloads and both sides' states.
func genuine(t testing.TB) (msgs [3][]byte, ini, res *handshaker) {
	return genuineWith(t, ChaChaPoly)
}

// genuineWith is genuine with the initiator proposing suite c.
func genuineWith(t testing.TB, c Cipher) (msgs [3][]byte, ini, res *handshaker) {
	var err error
	ini, err = newHandshaker(Config{Role: Initiator, Local: ident(t, 0), Expect: acceptAll, Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	res, err = newHandshaker(Config{Role: Responder, Local: ident(t, 32), Expect: acceptAll, Ciphers: bothCiphers})
	if err != nil {
		t.Fatal(err)
	}
	from, to := ini, res
	for i := range msgs {
		if msgs[i], err = from.write(); err != nil {
			t.Fatal(err)
		}
		if err = to.read(msgs[i]); err != nil {
			t.Fatal(err)
		}
		from, to = to, from
	}
	if ini.send == nil || res.send == nil || ini.cipher != c || res.cipher != c {
		t.Fatal("handshake did not finish with the proposed suite")
	}
	return msgs, ini, res
}

// FuzzHandshakeRead feeds a handshake frame payload to a handshaker waiting
// for message step%3+1 (after the genuine earlier messages), the initiator
// proposing the suite (step/3)%2 (the responder accepts both). It must
// never panic, and never complete with a message that is not the genuine
// one.
func FuzzHandshakeRead(f *testing.F) {
	for _, c := range bothCiphers {
		msgs, _, _ := genuineWith(f, c)
		for i, m := range msgs {
			f.Add(uint8(i+3*int(c)), m)
		}
	}
	f.Add(uint8(0), []byte("E2E_HS "))
	f.Add(uint8(0), appendPack7([]byte("E2E_HS "), append([]byte{7}, make([]byte, 32)...))) // unknown suite
	f.Add(uint8(0), appendPack7([]byte("E2E_HS "), []byte{byte(AESGCM)}))                   // suite, no key
	f.Add(uint8(1), []byte("E2E_HS AAAA"))
	f.Fuzz(func(t *testing.T, step uint8, p []byte) {
		c := Cipher(step / 3 % 2)
		step %= 3
		ini, _ := newHandshaker(Config{Role: Initiator, Local: ident(t, 0), Expect: acceptAll, Cipher: c})
		res, _ := newHandshaker(Config{Role: Responder, Local: ident(t, 32), Expect: acceptAll, Ciphers: bothCiphers})
		// Replay the genuine messages before step (with fresh ephemerals,
		// so the fuzzed message is checked against new state).
		from, to := ini, res
		for i := uint8(0); i < step; i++ {
			m, err := from.write()
			if err != nil {
				t.Fatal(err)
			}
			if err := to.read(m); err != nil {
				t.Fatal(err)
			}
			from, to = to, from
		}
		err := to.read(p)
		if err != nil {
			var rej *RejectedError
			if !errors.Is(err, ErrHandshake) && !errors.As(err, &rej) {
				t.Fatalf("error %v is neither ErrHandshake nor RejectedError", err)
			}
			return
		}
		// Message 1 is unauthenticated (an ephemeral key): any well-formed
		// one is fine. Messages 2 and 3 must come from the real peer, whose
		// ephemeral keys this run has not used: accepting one is a forgery.
		if step > 0 {
			t.Fatalf("step %d accepted a forged message %q", step+1, p)
		}
	})
}

// FuzzOpen feeds a transport frame payload to an established ChaChaPoly
// session expecting its first message. It must never panic, fail with one
// of the package's integrity errors, and succeed only for the genuine frame.
func FuzzOpen(f *testing.F) { fuzzOpen(f, ChaChaPoly) }

// FuzzOpenAESGCM is FuzzOpen for an AESGCM session.
func FuzzOpenAESGCM(f *testing.F) { fuzzOpen(f, AESGCM) }

func fuzzOpen(f *testing.F, c Cipher) {
	_, ini, res := genuineWith(f, c)
	sender := &Session{send: unsafeCipherOf(ini.send.UnsafeKey(), c), conn: &captureConn{}}
	if err := sender.WriteMessage([]byte("CHAT_MSG2 1 1764536400000 \"alice\" hi")); err != nil {
		f.Fatal(err)
	}
	capt := sender.conn.(*captureConn)
	frames := capt.frames(f)
	f.Add(frames[0])
	f.Add([]byte("E2E "))
	f.Add([]byte("CHAT_MSG2 1 2 \"x\" y"))
	recvKey := res.recv.UnsafeKey()
	f.Fuzz(func(t *testing.T, p []byte) {
		s := &Session{recv: unsafeCipherOf(recvKey, c)}
		_, _, err := s.open(p)
		if err == nil {
			if string(p) != string(frames[0]) {
				t.Fatalf("accepted a forged frame %q", p)
			}
			return
		}
		for _, e := range []error{ErrReplayed, ErrReordered, ErrTruncated, ErrAltered, ErrNotEncrypted, ErrMalformed, ErrTooLarge} {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("untyped error %v", err)
	})
}

// TestCipherStateMatchesNoise checks that cipherState seals and opens exactly
// as noise.CipherState does (the Noise spec's ENCRYPT/DECRYPT), both ways.
func TestCipherStateMatchesNoise(t *testing.T) {
	for _, c := range bothCiphers {
		t.Run(c.String(), func(t *testing.T) { testCipherStateMatchesNoise(t, c) })
	}
}

func testCipherStateMatchesNoise(t *testing.T, c Cipher) {
	_, ini, res := genuineWith(t, c)
	mine, err := newCipherState(ini.send, c)
	if err != nil {
		t.Fatal(err)
	}
	theirs := res.recv // the same key, nonce 0
	for i := range 3 {
		ad := []byte{byte(i)}
		ct, err := mine.seal(nil, ad, []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := theirs.Decrypt(nil, ad, ct)
		if err != nil || string(pt) != "hello" {
			t.Fatalf("message %d: noise cannot open ours: %v", i, err)
		}
	}
	back, err := newCipherState(ini.recv, c)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := res.send.Encrypt(nil, []byte("x"), []byte("world"))
	if pt, err := back.open(nil, []byte("x"), ct); err != nil || string(pt) != "world" {
		t.Fatalf("we cannot open noise's: %v", err)
	}
	if _, err := back.open(nil, []byte("x"), ct); err == nil {
		t.Fatal("opened the same message twice")
	}
	back.n = 1<<64 - 1
	if _, err := back.seal(nil, nil, nil); err != errNonceExhausted {
		t.Fatalf("nonce 2^64-1: %v", err)
	}
}
