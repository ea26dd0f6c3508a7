package identity

import (
	"crypto/sha512"
	"strings"
)

// SafetyIterations is the number of SHA-512 iterations per side of a safety
// number (Signal's value).
const SafetyIterations = 5200

// SafetyDigits is the number of digits of a safety number.
const SafetyDigits = 60

// safetyVersion is the fingerprint version, two bytes, as in Signal.
var safetyVersion = []byte{0, 0}

// SafetyNumber returns the safety number of the pair a, b: 60 digits in 12
// groups of 5 separated by single spaces (71 characters). It is symmetric,
// SafetyNumber(a, b) == SafetyNumber(b, a), so both people read the same
// number; it changes when either key changes. The algorithm is in the package
// documentation. It costs 10,400 SHA-512 computations (5.5–8 ms on the
// loaded reference machine): compute it once when the verify dialog opens,
// not in every frame. It never fails.
func SafetyNumber(a, b PublicIdentity) string {
	x, y := safetyHalf(a.Bytes(), nil), safetyHalf(b.Bytes(), nil)
	if y < x {
		x, y = y, x
	}
	digits := x + y
	var sb strings.Builder
	sb.Grow(SafetyDigits + SafetyDigits/5 - 1)
	for i := 0; i < SafetyDigits; i += 5 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(digits[i : i+5])
	}
	return sb.String()
}

// safetyHalf returns one side's 30 digits for a key and a stable id (always
// empty in PeerChat; the tests pass libsignal's to check against its vector).
func safetyHalf(key, stableID []byte) string {
	// As libsignal: hash = version || key || stable id, then
	// SafetyIterations times hash = SHA-512(hash || key).
	sum := append(append(append([]byte(nil), safetyVersion...), key...), stableID...)
	h := sha512.New()
	for i := 0; i < SafetyIterations; i++ {
		h.Reset()
		h.Write(sum)
		h.Write(key)
		sum = h.Sum(sum[:0])
	}
	var out [30]byte
	for c := 0; c < 6; c++ {
		b := sum[c*5 : c*5+5]
		v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
		v %= 100000
		for d := 4; d >= 0; d-- {
			out[c*5+d] = byte('0' + v%10)
			v /= 10
		}
	}
	return string(out[:])
}
