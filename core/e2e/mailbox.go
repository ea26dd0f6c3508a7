package e2e

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/flynn/noise"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// Mailbox items (doc: Mailbox items; docs/PROTOCOL.md §2.8, Item format).

const (
	// mboxPrologue starts the Noise prologue of every mailbox item; the
	// caller's context follows it.
	mboxPrologue = "PeerChat MBOX v1\n"

	// mboxOverhead is what the Noise X message adds to the plaintext: the
	// ephemeral key (32), the sender's static key encrypted (32 + 16), the
	// sender's public identity (64) and the payload's tag (16).
	mboxOverhead = 32 + 32 + tagLen + identity.PublicSize + tagLen

	// mboxFrameOverhead is the room SealTo leaves, within
	// wire.DefaultServerPayload, for the rest of the frames that carry an
	// item: "MBOX_PUT <to> <id> " and "MBOX <from> <id> <unix_ms> " take at
	// most 5+128+1+20+1+13+1 = 169 bytes (a 32-character nick is at most 128
	// bytes of UTF-8).
	mboxFrameOverhead = 300

	// mboxMaxPacked is the longest sealed string: wire.DefaultServerPayload
	// - mboxFrameOverhead = 65,236 bytes.
	mboxMaxPacked = wire.DefaultServerPayload - mboxFrameOverhead

	// MaxSealed is the largest plaintext SealTo seals: 56,921 bytes, the
	// largest n whose item, with 300 bytes for the rest of an MBOX_PUT or
	// MBOX frame (at most 169 with 32-character nicks), stays within
	// wire.DefaultServerPayload (64 KiB). An item of n bytes is
	// pack7Len(n + 160) bytes long; pack7Len(m) = m + ⌈m/7⌉ ≤ P holds up to
	// m = P - ⌈P/8⌉, so with P = 65,536 - 300 = 65,236, n = 65,236 - 8,155 -
	// 160 = 56,921. A 32 KiB chat payload fits with room to spare.
	MaxSealed = mboxMaxPacked - (mboxMaxPacked+7)/8 - mboxOverhead
)

// SealTo seals plaintext for the device remote as a mailbox item, from the
// device local, with the Noise one-way pattern X
// (Noise_X_25519_ChaChaPoly_BLAKE2s): only remote can open it, and opening
// it proves that local's key sealed it. context binds the item to where it
// is used (the client core passes the sender's folded nick, "\n", and the
// recipient's folded nick): OpenFrom succeeds only with the same bytes.
//
// The result is the item's text, the <data> of MBOX_PUT: pack7 of the
// Noise message, so only ASCII (control characters included, which frame
// payloads allow), pack7Len(len(plaintext) + 160) bytes long. Each call
// draws a fresh ephemeral key from crypto/rand, so sealing the same
// plaintext twice gives different items.
//
// Errors: ErrTooLarge (wrapped) for a plaintext above MaxSealed; an error
// for a nil local, a zero remote or a failing random source.
func SealTo(local *identity.Identity, remote identity.PublicIdentity, context, plaintext []byte) (string, error) {
	if local == nil || remote.IsZero() {
		return "", errors.New("e2e: SealTo needs a local and a remote identity")
	}
	return sealItem(local.X25519(), local.Public(), remote, context, plaintext, nil)
}

// sealItem is SealTo with the Noise static key and the identity put in the
// payload given apart (tests make them disagree); rnd nil means crypto/rand.
func sealItem(static *ecdh.PrivateKey, sender, remote identity.PublicIdentity, context, plaintext []byte, rnd io.Reader) (string, error) {
	if len(plaintext) > MaxSealed {
		return "", fmt.Errorf("%w: mailbox item of %d bytes, limit %d", ErrTooLarge, len(plaintext), MaxSealed)
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   newMboxSuite(static),
		Random:        rnd,
		Pattern:       noise.HandshakeX,
		Initiator:     true,
		Prologue:      mboxPrologueOf(context),
		StaticKeypair: noise.DHKey{Private: static.Bytes(), Public: static.PublicKey().Bytes()},
		PeerStatic:    remote.DHKey(),
	})
	if err != nil {
		return "", fmt.Errorf("e2e: sealing a mailbox item: %w", err)
	}
	payload := append(append(make([]byte, 0, identity.PublicSize+len(plaintext)), sender.Bytes()...), plaintext...)
	msg, _, _, err := hs.WriteMessage(make([]byte, 0, mboxOverhead+len(plaintext)), payload)
	if err != nil {
		return "", fmt.Errorf("e2e: sealing a mailbox item: %w", err)
	}
	return string(appendPack7(make([]byte, 0, pack7Len(len(msg))), msg)), nil
}

// mboxDH is noise.DH25519 (the same function: X25519, 32-byte keys, name
// "25519") that keeps the crypto/ecdh form of the keys it knows: the local
// identity's, and the ephemeral one it generated. noise.DH25519 goes through
// golang.org/x/crypto/curve25519, which rebuilds the private key, public key
// included, at every DH: two scalar multiplications instead of one.
type mboxDH struct {
	keys []*ecdh.PrivateKey
}

func newMboxSuite(local *ecdh.PrivateKey) noise.CipherSuite {
	var d mboxDH
	if local != nil {
		d.keys = append(d.keys, local)
	}
	return noise.NewCipherSuite(&d, noise.CipherChaChaPoly, noise.HashBLAKE2s)
}

// GenerateKeypair reads 32 bytes from rng (nil: crypto/rand) as the private
// key, as noise.DH25519 does.
func (d *mboxDH) GenerateKeypair(rng io.Reader) (noise.DHKey, error) {
	if rng == nil {
		rng = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(rng, b[:]); err != nil {
		return noise.DHKey{}, err
	}
	k, err := ecdh.X25519().NewPrivateKey(b[:])
	if err != nil {
		return noise.DHKey{}, err
	}
	d.keys = append(d.keys, k)
	return noise.DHKey{Private: b[:], Public: k.PublicKey().Bytes()}, nil
}

// DH returns X25519(priv, pub); an error for a low-order pub.
func (d *mboxDH) DH(priv, pub []byte) ([]byte, error) {
	var k *ecdh.PrivateKey
	for _, c := range d.keys {
		if subtle.ConstantTimeCompare(c.Bytes(), priv) == 1 {
			k = c
			break
		}
	}
	if k == nil {
		var err error
		if k, err = ecdh.X25519().NewPrivateKey(priv); err != nil {
			return nil, err
		}
	}
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return k.ECDH(p)
}

func (d *mboxDH) DHLen() int     { return 32 }
func (d *mboxDH) DHName() string { return "25519" }

func mboxPrologueOf(context []byte) []byte {
	return append(append(make([]byte, 0, len(mboxPrologue)+len(context)), mboxPrologue...), context...)
}

// OpenFrom opens a mailbox item that SealTo sealed for local with the same
// context, and returns its sender and plaintext.
//
// The sender is authenticated: the Noise X message proves (by the DH of
// both static keys) that its author holds the private X25519 key it
// carries, and the encrypted payload starts with the sender's 64-byte
// public identity, whose X25519 half OpenFrom requires to equal that key.
// The Ed25519 half is the one the holder of that X25519 key put there, as
// in the chat handshake: compare the whole identity with the one pinned or
// announced for the sender. As with any one-way pattern, OpenFrom does not
// detect an item delivered twice (the caller deduplicates by the ids inside
// the plaintext), and whoever holds local's private key can also forge
// items to local from anyone.
//
// Errors wrap ErrTooLarge (a string longer than any item of MaxSealed
// bytes), ErrMalformed (not valid pack7; an authentic payload without a
// valid identity, or whose identity's X25519 key is not the Noise static
// key), ErrTruncated (shorter than an empty item) or ErrAltered (not sealed
// to local, sealed with another context, or altered).
func OpenFrom(local *identity.Identity, context []byte, sealed string) (sender identity.PublicIdentity, plaintext []byte, err error) {
	if local == nil {
		return sender, nil, errors.New("e2e: OpenFrom needs a local identity")
	}
	if len(sealed) > pack7Len(mboxOverhead+MaxSealed) {
		return sender, nil, fmt.Errorf("%w: mailbox item of %d bytes", ErrTooLarge, len(sealed))
	}
	msg, err := appendUnpack7(nil, []byte(sealed))
	if err != nil {
		return sender, nil, fmt.Errorf("%w: mailbox item: %w", ErrMalformed, err)
	}
	if len(msg) < mboxOverhead {
		return sender, nil, fmt.Errorf("%w: mailbox item of %d bytes", ErrTruncated, len(msg))
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   newMboxSuite(local.X25519()),
		Pattern:       noise.HandshakeX,
		Prologue:      mboxPrologueOf(context),
		StaticKeypair: noise.DHKey{Private: local.X25519().Bytes(), Public: local.Public().DHKey()},
	})
	if err != nil {
		return sender, nil, fmt.Errorf("e2e: opening a mailbox item: %w", err)
	}
	payload, _, _, err := hs.ReadMessage(make([]byte, 0, len(msg)-mboxOverhead+identity.PublicSize), msg)
	if err != nil {
		return sender, nil, fmt.Errorf("%w: mailbox item", ErrAltered)
	}
	if len(payload) < identity.PublicSize {
		return sender, nil, fmt.Errorf("%w: mailbox item without a sender identity", ErrMalformed)
	}
	if string(payload[:32]) != string(hs.PeerStatic()) {
		return sender, nil, fmt.Errorf("%w: mailbox item: identity does not match the Noise static key", ErrMalformed)
	}
	sender, err = identity.FromBytes(payload[:identity.PublicSize])
	if err != nil {
		return identity.PublicIdentity{}, nil, fmt.Errorf("%w: mailbox item: %w", ErrMalformed, err)
	}
	return sender, payload[identity.PublicSize:], nil
}
