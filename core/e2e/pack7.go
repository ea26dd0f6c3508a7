package e2e

import (
	"encoding/binary"
	"errors"
	"slices"
)

// Binary data travels in frames, whose payloads must be valid UTF-8, packed
// 7 bits per byte ("pack7"): every 7 bytes, read as a 56-bit little-endian
// integer v, become 8 bytes, byte i being (v >> 7i) & 0x7f; a last group of
// k < 7 bytes becomes k+1 bytes the same way, with the 7-k unused high bits
// zero. All bytes are below 0x80, hence ASCII and valid UTF-8. Unpacking
// refuses a byte of 0x80 or more, a last group of one byte, and non-zero
// unused bits, so every binary string has exactly one packed form.

var errPack7 = errors.New("bad pack7 encoding")

// pack7Len returns the packed length of n bytes: n + ⌈n/7⌉.
func pack7Len(n int) int { return n + (n+6)/7 }

// appendPack7 appends the packed form of src to dst.
func appendPack7(dst, src []byte) []byte {
	start := len(dst)
	n := pack7Len(len(src))
	dst = slices.Grow(dst, n)[:start+n]
	o := dst[start:]
	// One 8-byte load per 7 bytes (so the last group loaded this way needs
	// a spare byte), one 8-byte store per group; four groups per round.
	for len(src) >= 29 && len(o) >= 32 {
		o0 := spread(binary.LittleEndian.Uint64(src[0:]))
		o1 := spread(binary.LittleEndian.Uint64(src[7:]))
		o2 := spread(binary.LittleEndian.Uint64(src[14:]))
		o3 := spread(binary.LittleEndian.Uint64(src[21:]))
		binary.LittleEndian.PutUint64(o[0:], o0)
		binary.LittleEndian.PutUint64(o[8:], o1)
		binary.LittleEndian.PutUint64(o[16:], o2)
		binary.LittleEndian.PutUint64(o[24:], o3)
		src, o = src[28:], o[32:]
	}
	for len(src) >= 8 && len(o) >= 8 {
		binary.LittleEndian.PutUint64(o, spread(binary.LittleEndian.Uint64(src)))
		src, o = src[7:], o[8:]
	}
	for len(src) > 0 {
		k := min(len(src), 7)
		var v uint64
		for i := k - 1; i >= 0; i-- {
			v = v<<8 | uint64(src[i])
		}
		v = spread(v)
		for i := 0; i <= k && i < len(o); i++ { // k bytes become k+1
			o[i] = byte(v >> (8 * i))
		}
		src, o = src[k:], o[k+1:]
	}
	return dst
}

// spread turns the low 56 bits of v into 8 bytes of 7 bits (byte i holds
// bits 7i..7i+6), in three steps: 28-bit halves to 32-bit lanes, 14-bit
// quarters to 16-bit lanes, 7-bit eighths to bytes. The last two steps move
// the high half h of every lane up by s bits as v - h + h<<s, that is
// v + h*(2^s - 1); the first also drops bits 56-63.
func spread(v uint64) uint64 {
	v = v&0x000000000fffffff | (v&0x00fffffff0000000)<<4
	v += (v & 0x0fffc0000fffc000) * 3
	return v + v&0x3f803f803f803f80
}

// gather is the inverse of spread; the high bit of every byte of o must be
// 0. Each step moves the high half h of every lane down by s bits:
// o - h + h>>s, that is o - (h>>s)*(2^s - 1).
func gather(o uint64) uint64 {
	o -= (o & 0x7f007f007f007f00) >> 1
	o -= (o & 0x3fff00003fff0000) >> 2 * 3
	return o - (o&0x0fffffff00000000)>>4*15
}

// appendUnpack7 appends the bytes src packs to dst. On error, dst is
// returned unchanged with errPack7.
func appendUnpack7(dst, src []byte) ([]byte, error) {
	start := len(dst)
	full, r := len(src)/8, len(src)%8
	if r == 1 {
		return dst[:start], errPack7
	}
	n := full * 7
	if r > 0 {
		n += r - 1
	}
	// Store 8 bytes per 7 decoded, so keep one spare byte.
	out := slices.Grow(dst, n+1)[:start+n+1]
	o := out[start:]
	var high uint64 // the high bits of all bytes, checked once at the end
	for len(src) >= 32 && len(o) >= 29 {
		w0 := binary.LittleEndian.Uint64(src[0:])
		w1 := binary.LittleEndian.Uint64(src[8:])
		w2 := binary.LittleEndian.Uint64(src[16:])
		w3 := binary.LittleEndian.Uint64(src[24:])
		high |= w0 | w1 | w2 | w3
		binary.LittleEndian.PutUint64(o[0:], gather(w0))
		binary.LittleEndian.PutUint64(o[7:], gather(w1))
		binary.LittleEndian.PutUint64(o[14:], gather(w2))
		binary.LittleEndian.PutUint64(o[21:], gather(w3))
		src, o = src[32:], o[28:]
	}
	for len(src) >= 8 && len(o) >= 8 {
		w := binary.LittleEndian.Uint64(src)
		high |= w
		binary.LittleEndian.PutUint64(o, gather(w))
		src, o = src[8:], o[7:]
	}
	if high&0x8080808080808080 != 0 {
		return dst[:start], errPack7
	}
	if r > 0 {
		var w uint64
		for i := r - 1; i >= 0; i-- {
			if src[i] >= 0x80 {
				return dst[:start], errPack7
			}
			w = w<<8 | uint64(src[i])
		}
		v, k := gather(w), r-1
		if v>>(8*k) != 0 {
			return dst[:start], errPack7
		}
		for i := 0; i < k && i < len(o); i++ {
			o[i] = byte(v >> (8 * i))
		}
	}
	return out[:start+n], nil
}
