package e2e

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"math"

	"github.com/flynn/noise"
	"golang.org/x/crypto/chacha20poly1305"
)

// errNonceExhausted: 2^64-1 messages were sent or received in one direction.
var errNonceExhausted = errors.New("e2e: nonces exhausted; a new handshake is needed")

// cipherState is a Noise CipherState for the transport phase: the AEAD of
// the suite (ChaChaPoly) with the key the handshake split, and the nonce n.
// It does what noise.CipherState does (ENCRYPT(k, n, ad, p) with the nonce
// 32 zero bits || n little-endian, n incremented after each success, 2^64-1
// reserved), with the nonce kept in the state so that sealing and opening
// allocate nothing. Not safe for concurrent use.
type cipherState struct {
	aead cipher.AEAD
	n    uint64
	nb   [chacha20poly1305.NonceSize]byte
}

func newCipherState(cs *noise.CipherState) (*cipherState, error) {
	k := cs.UnsafeKey()
	a, err := chacha20poly1305.New(k[:])
	if err != nil {
		return nil, err
	}
	return &cipherState{aead: a, n: cs.Nonce()}, nil
}

func (c *cipherState) nonce() []byte {
	binary.LittleEndian.PutUint64(c.nb[4:], c.n)
	return c.nb[:]
}

// seal appends the sealed p to out and advances the nonce.
func (c *cipherState) seal(out, ad, p []byte) ([]byte, error) {
	if c.n == math.MaxUint64 {
		return out, errNonceExhausted
	}
	out = c.aead.Seal(out, c.nonce(), p, ad)
	c.n++
	return out, nil
}

// open appends the opened ct to out and advances the nonce; on failure the
// nonce stays.
func (c *cipherState) open(out, ad, ct []byte) ([]byte, error) {
	if c.n == math.MaxUint64 {
		return out, errNonceExhausted
	}
	out, err := c.aead.Open(out, c.nonce(), ct, ad)
	if err != nil {
		return out, err
	}
	c.n++
	return out, nil
}
