package e2e

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/flynn/noise"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/cpu"
)

// Cipher is the AEAD of a session's cipher suite (doc: Cipher suites). Its
// value is the suite byte of handshake message 1.
type Cipher uint8

const (
	// ChaChaPoly is ChaCha20-Poly1305: Noise_XX_25519_ChaChaPoly_BLAKE2s.
	// Every device supports it; it is the zero Cipher.
	ChaChaPoly Cipher = 0
	// AESGCM is AES-256-GCM: Noise_XX_25519_AESGCM_BLAKE2s. Only fast and
	// constant time with hardware AES (HardwareAES).
	AESGCM Cipher = 1
)

// String returns the Noise name of c ("ChaChaPoly", "AESGCM").
func (c Cipher) String() string {
	switch c {
	case ChaChaPoly:
		return "ChaChaPoly"
	case AESGCM:
		return "AESGCM"
	}
	return fmt.Sprintf("Cipher(%d)", uint8(c))
}

func (c Cipher) valid() bool { return c == ChaChaPoly || c == AESGCM }

// suite returns c's Noise cipher suite.
func (c Cipher) suite() noise.CipherSuite {
	if c == AESGCM {
		return suiteAESGCM
	}
	return suiteChaChaPoly
}

var (
	suiteChaChaPoly = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)
	suiteAESGCM     = noise.NewCipherSuite(noise.DH25519, noise.CipherAESGCM, noise.HashBLAKE2s)
)

// hardwareAES: AES rounds and carry-less multiplication (for GHASH) in
// hardware, which crypto/aes and crypto/cipher then use: constant time and
// several GB/s.
var hardwareAES = cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ ||
	cpu.ARM64.HasAES && cpu.ARM64.HasPMULL

// HardwareAES reports whether this CPU has AES and carry-less
// multiplication instructions (amd64: AES-NI and PCLMULQDQ; arm64: AES and
// PMULL), so that AESGCM is fast and constant time here.
func HardwareAES() bool { return hardwareAES }

// DefaultCiphers returns the suites a responder accepts when
// Config.Ciphers is nil: ChaChaPoly, and AESGCM if HardwareAES.
func DefaultCiphers() []Cipher {
	if HardwareAES() {
		return []Cipher{ChaChaPoly, AESGCM}
	}
	return []Cipher{ChaChaPoly}
}

// errNonceExhausted: 2^64-1 messages were sent or received in one direction.
var errNonceExhausted = errors.New("e2e: nonces exhausted; a new handshake is needed")

// cipherState is a Noise CipherState for the transport phase: the AEAD of
// the suite with the key the handshake split, and the nonce n. It does what
// noise.CipherState does (ENCRYPT(k, n, ad, p) with the nonce 32 zero bits
// || n, little-endian for ChaChaPoly and big-endian for AESGCM, n
// incremented after each success, 2^64-1 reserved), with the nonce kept in
// the state so that sealing and opening allocate nothing. Not safe for
// concurrent use.
type cipherState struct {
	aead cipher.AEAD
	be   bool // AESGCM: the nonce's counter is big-endian
	n    uint64
	nb   [chacha20poly1305.NonceSize]byte
}

func newCipherState(cs *noise.CipherState, c Cipher) (*cipherState, error) {
	k := cs.UnsafeKey()
	var a cipher.AEAD
	var err error
	switch c {
	case ChaChaPoly:
		a, err = chacha20poly1305.New(k[:])
	case AESGCM:
		var b cipher.Block
		if b, err = aes.NewCipher(k[:]); err == nil {
			a, err = cipher.NewGCM(b)
		}
	default:
		err = fmt.Errorf("%w: %v", ErrCipher, c)
	}
	if err != nil {
		return nil, err
	}
	return &cipherState{aead: a, be: c == AESGCM, n: cs.Nonce()}, nil
}

func (c *cipherState) nonce() []byte {
	if c.be {
		binary.BigEndian.PutUint64(c.nb[4:], c.n)
	} else {
		binary.LittleEndian.PutUint64(c.nb[4:], c.n)
	}
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
