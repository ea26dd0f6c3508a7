package identity

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strings"
)

// SeedSize is the size of a device's secret seed in bytes.
const SeedSize = 32

// PublicSize is the size of a public identity in bytes: an X25519 public key
// followed by an Ed25519 public key.
const PublicSize = 64

// TextPrefix starts the text form of every version-1 public identity.
const TextPrefix = "pc1."

// TextLen is the length of the text form of a public identity.
const TextLen = len(TextPrefix) + 86 // base64 of 64 bytes, unpadded

const (
	infoX25519  = "peerchat identity v1 x25519"
	infoEd25519 = "peerchat identity v1 ed25519"
)

// ErrBadPublic is wrapped by every error ParsePublic returns.
var ErrBadPublic = errors.New("identity: malformed public identity")

// PublicIdentity is a device's public keys. The zero value is no identity
// (IsZero). PublicIdentity is comparable with ==; two values are equal when
// they are the same device's keys.
type PublicIdentity struct {
	dh   [32]byte // X25519
	sign [32]byte // Ed25519
}

// Identity is a device's private identity: the seed and the keys derived
// from it. It is immutable and safe for concurrent use.
type Identity struct {
	seed [SeedSize]byte
	dh   *ecdh.PrivateKey
	sign ed25519.PrivateKey
	pub  PublicIdentity
}

// Generate makes a new identity from a fresh seed read from rand; a nil rand
// means crypto/rand.
func Generate(rnd io.Reader) (*Identity, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var seed [SeedSize]byte
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		return nil, err
	}
	return FromSeed(seed[:])
}

// FromSeed derives the identity of a SeedSize-byte seed. It is
// deterministic: tests and the identity file use it.
func FromSeed(seed []byte) (*Identity, error) {
	if len(seed) != SeedSize {
		return nil, errors.New("identity: seed must be 32 bytes")
	}
	id := &Identity{}
	copy(id.seed[:], seed)
	dhb, err := hkdf.Key(sha256.New, seed, nil, infoX25519, 32)
	if err != nil {
		return nil, err
	}
	edb, err := hkdf.Key(sha256.New, seed, nil, infoEd25519, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	if id.dh, err = ecdh.X25519().NewPrivateKey(dhb); err != nil {
		return nil, err
	}
	id.sign = ed25519.NewKeyFromSeed(edb)
	copy(id.pub.dh[:], id.dh.PublicKey().Bytes())
	copy(id.pub.sign[:], id.sign.Public().(ed25519.PublicKey))
	return id, nil
}

// Public returns the identity's public keys.
func (id *Identity) Public() PublicIdentity { return id.pub }

// X25519 returns the X25519 private key, the static key of Noise handshakes.
func (id *Identity) X25519() *ecdh.PrivateKey { return id.dh }

// Sign returns the Ed25519 signature of msg.
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.sign, msg) }

// DHKey returns the X25519 public key (32 bytes, a copy).
func (p PublicIdentity) DHKey() []byte { return append([]byte(nil), p.dh[:]...) }

// SigningKey returns the Ed25519 public key (a copy).
func (p PublicIdentity) SigningKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), p.sign[:]...)
}

// Verify reports whether sig is p's valid Ed25519 signature of msg. The zero
// PublicIdentity verifies nothing.
func (p PublicIdentity) Verify(msg, sig []byte) bool {
	if p.IsZero() {
		return false
	}
	return ed25519.Verify(p.sign[:], msg, sig)
}

// IsZero reports whether p is the zero value (no identity).
func (p PublicIdentity) IsZero() bool { return p == PublicIdentity{} }

// Bytes returns the PublicSize-byte binary form: X25519 key || Ed25519 key.
func (p PublicIdentity) Bytes() []byte {
	b := make([]byte, 0, PublicSize)
	return append(append(b, p.dh[:]...), p.sign[:]...)
}

// String returns the text form, "pc1." followed by 86 base64url characters,
// or "" for the zero value.
func (p PublicIdentity) String() string {
	if p.IsZero() {
		return ""
	}
	return TextPrefix + base64.RawURLEncoding.EncodeToString(p.Bytes())
}

// MarshalText implements encoding.TextMarshaler with the text form. The zero
// value cannot be marshalled.
func (p PublicIdentity) MarshalText() ([]byte, error) {
	if p.IsZero() {
		return nil, errors.New("identity: marshalling the zero public identity")
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParsePublic.
func (p *PublicIdentity) UnmarshalText(b []byte) error {
	q, err := ParsePublic(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

var strictB64 = base64.RawURLEncoding.Strict()

// ParsePublic parses the text form of a public identity. It accepts exactly
// what String returns for some identity: the "pc1." prefix, 86 characters of
// unpadded base64url with zero unused bits, an X25519 key below 2^255-19
// whose point is not of small order. That last check costs one X25519
// operation (tens of µs). Errors wrap ErrBadPublic.
func ParsePublic(s string) (PublicIdentity, error) {
	var p PublicIdentity
	if len(s) != TextLen || !strings.HasPrefix(s, TextPrefix) {
		return p, badPublic("want pc1. and 86 characters")
	}
	var b [PublicSize]byte
	n, err := strictB64.Decode(b[:], []byte(s[len(TextPrefix):]))
	if err != nil || n != PublicSize {
		return p, badPublic("bad base64url")
	}
	return FromBytes(b[:])
}

// FromBytes parses the PublicSize-byte binary form with the checks of
// ParsePublic. Errors wrap ErrBadPublic.
func FromBytes(b []byte) (PublicIdentity, error) {
	var p PublicIdentity
	if len(b) != PublicSize {
		return p, badPublic("want 64 bytes")
	}
	copy(p.dh[:], b[:32])
	copy(p.sign[:], b[32:])
	if err := checkX25519(p.dh[:]); err != nil {
		return PublicIdentity{}, err
	}
	return p, nil
}

// fieldP is 2^255-19, little-endian.
var fieldP = [32]byte{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}

// probe is a fixed X25519 private key used only to detect small-order points.
var probe, _ = ecdh.X25519().NewPrivateKey(make([]byte, 32))

func checkX25519(k []byte) error {
	// Canonical: k < p as a little-endian integer (this also rules out the
	// top bit, which X25519 ignores).
	less := false
	for i := 31; i >= 0; i-- {
		if k[i] != fieldP[i] {
			less = k[i] < fieldP[i]
			break
		}
	}
	if !less {
		return badPublic("X25519 key not canonical")
	}
	// Small order: the shared secret with any scalar is all zeros, which
	// crypto/ecdh reports as an error.
	pk, err := ecdh.X25519().NewPublicKey(k)
	if err != nil {
		return badPublic("bad X25519 key")
	}
	if _, err := probe.ECDH(pk); err != nil {
		return badPublic("X25519 key of small order")
	}
	return nil
}

func badPublic(why string) error { return &parseError{why} }

type parseError struct{ why string }

func (e *parseError) Error() string { return "identity: malformed public identity: " + e.why }
func (e *parseError) Unwrap() error { return ErrBadPublic }
