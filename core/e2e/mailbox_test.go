package e2e

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flynn/noise"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// mboxContext is what the client core passes: sender nick, "\n", the
// recipient's folded nick.
var mboxContext = []byte("alice\nbob")

// isIntegrityErr reports whether err wraps one of the errors OpenFrom
// documents.
func isIntegrityErr(err error) bool {
	for _, e := range []error{ErrTooLarge, ErrMalformed, ErrTruncated, ErrAltered} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func mustSeal(t testing.TB, from *identity.Identity, to identity.PublicIdentity, context, p []byte) string {
	t.Helper()
	s, err := SealTo(from, to, context, p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMailboxRoundTrip(t *testing.T) {
	alice, bob := ident(t, 0), ident(t, 32)
	for _, n := range []int{0, 1, 60, 1024, 32 << 10, MaxSealed} {
		p := bytes.Repeat([]byte{0xa5, 'x', 0}, n/3+1)[:n]
		item := mustSeal(t, alice, bob.Public(), mboxContext, p)
		if len(item) != pack7Len(n+mboxOverhead) {
			t.Errorf("n=%d: item of %d bytes, want %d", n, len(item), pack7Len(n+mboxOverhead))
		}
		for i := 0; i < len(item); i++ {
			if item[i] >= 0x80 {
				t.Fatalf("n=%d: byte %d is %#x", n, i, item[i])
			}
		}
		if !utf8.ValidString(item) {
			t.Fatalf("n=%d: not UTF-8", n)
		}
		from, got, err := OpenFrom(bob, mboxContext, item)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if from != alice.Public() || !bytes.Equal(got, p) {
			t.Fatalf("n=%d: got sender %v, %d bytes", n, from, len(got))
		}
		if again := mustSeal(t, alice, bob.Public(), mboxContext, p); again == item {
			t.Fatalf("n=%d: two seals gave the same item", n)
		}
	}
}

// TestMailboxFitsFrame: an item of MaxSealed bytes, in MBOX_PUT and MBOX
// frames with 32-character nicks of 4-byte characters, stays within the
// server's default payload limit; one more byte is refused.
func TestMailboxFitsFrame(t *testing.T) {
	if MaxSealed != 56_921 {
		t.Errorf("MaxSealed = %d, the doc says 56,921", MaxSealed)
	}
	if pack7Len(MaxSealed+mboxOverhead)+mboxFrameOverhead > wire.DefaultServerPayload ||
		pack7Len(MaxSealed+1+mboxOverhead)+mboxFrameOverhead <= wire.DefaultServerPayload {
		t.Errorf("MaxSealed %d is not the largest that fits", MaxSealed)
	}
	alice, bob := ident(t, 0), ident(t, 32)
	item := mustSeal(t, alice, bob.Public(), mboxContext, make([]byte, MaxSealed))
	nick := string(bytes.Repeat([]byte("𝄞"), wire.MaxNickLen))
	const maxID, maxMs = ^uint64(0), 9_999_999_999_999
	for _, m := range []interface{ AppendPayload([]byte) []byte }{
		wire.MboxPut{To: nick, ID: maxID, Data: item},
		wire.Mbox{From: nick, ID: maxID, Time: time.UnixMilli(maxMs), Data: item},
	} {
		if n := len(m.AppendPayload(nil)); n > wire.DefaultServerPayload {
			t.Errorf("%T payload of %d bytes, limit %d", m, n, wire.DefaultServerPayload)
		}
	}
	if _, err := SealTo(alice, bob.Public(), mboxContext, make([]byte, MaxSealed+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxSealed+1: %v, want ErrTooLarge", err)
	}
	long := item + "\x00\x00\x00\x00\x00\x00\x00\x00"
	if _, _, err := OpenFrom(bob, mboxContext, long); !errors.Is(err, ErrTooLarge) {
		t.Errorf("longer item: %v, want ErrTooLarge", err)
	}
}

func TestMailboxWrongRecipient(t *testing.T) {
	alice, bob, carol := ident(t, 0), ident(t, 32), ident(t, 64)
	item := mustSeal(t, alice, bob.Public(), mboxContext, []byte("for bob"))
	for _, who := range []*identity.Identity{carol, alice} {
		if _, _, err := OpenFrom(who, mboxContext, item); !errors.Is(err, ErrAltered) {
			t.Errorf("opened by %v: %v, want ErrAltered", who.Public(), err)
		}
	}
}

func TestMailboxContext(t *testing.T) {
	alice, bob := ident(t, 0), ident(t, 32)
	item := mustSeal(t, alice, bob.Public(), mboxContext, []byte("hi"))
	for _, c := range [][]byte{nil, []byte("mallory\nbob"), []byte("alice\nbob\n"), []byte("Alice\nbob"), []byte("\nalice\nbob")} {
		if _, _, err := OpenFrom(bob, c, item); !errors.Is(err, ErrAltered) {
			t.Errorf("context %q: %v, want ErrAltered", c, err)
		}
	}
	// An empty context is a context like any other.
	item = mustSeal(t, alice, bob.Public(), nil, []byte("hi"))
	if _, _, err := OpenFrom(bob, []byte{}, item); err != nil {
		t.Errorf("empty context: %v", err)
	}
	if _, _, err := OpenFrom(bob, []byte("x"), item); !errors.Is(err, ErrAltered) {
		t.Errorf("context x for an empty one: %v, want ErrAltered", err)
	}
}

// TestMailboxTamper changes every byte of a short item and sampled bytes of
// a long one, to another 7-bit value and to one with the high bit: each
// must be refused.
func TestMailboxTamper(t *testing.T) {
	alice, bob := ident(t, 0), ident(t, 32)
	for _, n := range []int{0, 100, 32 << 10} {
		item := []byte(mustSeal(t, alice, bob.Public(), mboxContext, bytes.Repeat([]byte("m"), n)))
		step := 1
		if len(item) > 2000 {
			step = 499 // odd: positions fall in every place of the 8-byte groups
		}
		check := func(i int, b []byte) {
			t.Helper()
			_, _, err := OpenFrom(bob, mboxContext, string(b))
			if err == nil || !isIntegrityErr(err) {
				t.Fatalf("n=%d, byte %d changed to %#x: %v", n, i, b[i], err)
			}
		}
		for i := 0; i < len(item); i += step {
			b := bytes.Clone(item)
			b[i] ^= 1
			check(i, b)
			b[i] = item[i] ^ 0x40
			check(i, b)
			b[i] = item[i] | 0x80
			check(i, b)
		}
		check(len(item)-1, append(bytes.Clone(item[:len(item)-1]), item[len(item)-1]^0x7f))
	}
}

func TestMailboxTruncated(t *testing.T) {
	alice, bob := ident(t, 0), ident(t, 32)
	item := mustSeal(t, alice, bob.Public(), mboxContext, []byte("a short note"))
	for n := 0; n < len(item); n++ {
		_, _, err := OpenFrom(bob, mboxContext, item[:n])
		if !isIntegrityErr(err) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
		if n < pack7Len(mboxOverhead)-1 && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d: %v, want ErrTruncated or ErrMalformed", n, err)
		}
	}
	if _, _, err := OpenFrom(bob, mboxContext, ""); !errors.Is(err, ErrTruncated) {
		t.Errorf("empty: %v, want ErrTruncated", err)
	}
}

// TestMailboxSenderBinding: an item whose payload identity is not the key
// that sealed it (its X25519 half differs from the Noise static) is
// refused, though the Noise message is authentic.
func TestMailboxSenderBinding(t *testing.T) {
	alice, bob, mallory := ident(t, 0), ident(t, 32), ident(t, 96)
	static := mallory.X25519()
	item, err := sealItem(static, alice.Public(), bob.Public(), mboxContext, []byte("I am alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	from, p, err := OpenFrom(bob, mboxContext, item)
	if !errors.Is(err, ErrMalformed) || !from.IsZero() || p != nil {
		t.Fatalf("claimed identity accepted: %v %v %q", err, from, p)
	}
	// The same key with its own identity is accepted: the refusal is the
	// mismatch.
	item, err = sealItem(static, mallory.Public(), bob.Public(), mboxContext, []byte("I am mallory"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if from, _, err := OpenFrom(bob, mboxContext, item); err != nil || from != mallory.Public() {
		t.Fatalf("genuine: %v %v", from, err)
	}
}

func TestMailboxBadArgs(t *testing.T) {
	alice := ident(t, 0)
	if _, err := SealTo(nil, alice.Public(), nil, nil); err == nil {
		t.Error("SealTo with a nil local")
	}
	if _, err := SealTo(alice, identity.PublicIdentity{}, nil, nil); err == nil {
		t.Error("SealTo to the zero identity")
	}
	if _, _, err := OpenFrom(nil, nil, ""); err == nil {
		t.Error("OpenFrom with a nil local")
	}
}

// FuzzOpenFrom feeds a context and an item to OpenFrom for bob. It must
// never panic, fail only with the errors OpenFrom documents, and succeed
// only for a genuine item (sealed to bob by alice) with its own context.
func FuzzOpenFrom(f *testing.F) {
	alice, bob := ident(f, 0), ident(f, 32)
	type genuineItem struct{ context, plaintext string }
	genuine := map[string]genuineItem{}
	static := alice.X25519()
	rng := rand.NewChaCha8([32]byte{'m', 'b', 'o', 'x'})
	for _, g := range []genuineItem{{"alice\nbob", "CHAT_MSG2 1 1764536400000 \"alice\" hi"}, {"", ""}, {"x", "y"}} {
		// Deterministic ephemeral keys: every fuzzing worker runs this set-up
		// and must make the same items as the coordinator that seeded it.
		item, err := sealItem(static, alice.Public(), bob.Public(), []byte(g.context), []byte(g.plaintext), rng)
		if err != nil {
			f.Fatal(err)
		}
		genuine[item] = g
		f.Add([]byte(g.context), item)
	}
	f.Add([]byte("alice\nbob"), "")
	f.Add([]byte("alice\nbob"), "\x7f\x80")
	f.Fuzz(func(t *testing.T, context []byte, sealed string) {
		from, p, err := OpenFrom(bob, context, sealed)
		if err != nil {
			if !isIntegrityErr(err) {
				t.Fatalf("untyped error %v", err)
			}
			if !from.IsZero() || p != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		g, ok := genuine[sealed]
		if !ok || g.context != string(context) {
			t.Fatalf("accepted a forged item %q with context %q", sealed, context)
		}
		if from != alice.Public() || string(p) != g.plaintext {
			t.Fatalf("genuine item opened to %v %q", from, p)
		}
	})
}

// BenchmarkSealOpenMailbox: sealing and opening one mailbox item of 1 KiB
// (the sender's and the recipient's work); open-µs is the opening alone.
func BenchmarkSealOpenMailbox(b *testing.B) {
	alice, bob := ident(b, 0), ident(b, 32)
	p := bytes.Repeat([]byte("x"), 1024)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for range b.N {
		item, err := SealTo(alice, bob.Public(), mboxContext, p)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := OpenFrom(bob, mboxContext, item); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenMailbox: opening one mailbox item of 1 KiB, what the client
// core does for every stored item on its return.
func BenchmarkOpenMailbox(b *testing.B) {
	alice, bob := ident(b, 0), ident(b, 32)
	p := bytes.Repeat([]byte("x"), 1024)
	item := mustSeal(b, alice, bob.Public(), mboxContext, p)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for range b.N {
		if _, _, err := OpenFrom(bob, mboxContext, item); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMailboxStockNoise: items are Noise_X_25519_ChaChaPoly_BLAKE2s as
// flynn/noise's own DH25519 makes and reads them (mboxDH only caches keys),
// both ways.
func TestMailboxStockNoise(t *testing.T) {
	alice, bob := ident(t, 0), ident(t, 32)
	payload := append(alice.Public().Bytes(), "stock"...)
	prologue := []byte("PeerChat MBOX v1\nalice\nbob")
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: suiteChaChaPoly, Pattern: noise.HandshakeX, Initiator: true, Prologue: prologue,
		StaticKeypair: noise.DHKey{Private: alice.X25519().Bytes(), Public: alice.Public().DHKey()},
		PeerStatic:    bob.Public().DHKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, _, _, err := hs.WriteMessage(nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	from, p, err := OpenFrom(bob, mboxContext, string(appendPack7(nil, msg)))
	if err != nil || from != alice.Public() || string(p) != "stock" {
		t.Fatalf("stock item: %v %q %v", from, p, err)
	}

	item := mustSeal(t, alice, bob.Public(), mboxContext, []byte("ours"))
	msg, err = appendUnpack7(nil, []byte(item))
	if err != nil {
		t.Fatal(err)
	}
	hs, err = noise.NewHandshakeState(noise.Config{
		CipherSuite: suiteChaChaPoly, Pattern: noise.HandshakeX, Prologue: prologue,
		StaticKeypair: noise.DHKey{Private: bob.X25519().Bytes(), Public: bob.Public().DHKey()},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, _, err := hs.ReadMessage(nil, msg)
	if err != nil || string(got) != string(append(alice.Public().Bytes(), "ours"...)) ||
		string(hs.PeerStatic()) != string(alice.Public().DHKey()) {
		t.Fatalf("stock open: %q %v", got, err)
	}
}
