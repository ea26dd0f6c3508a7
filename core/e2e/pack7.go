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
	dst = slices.Grow(dst, pack7Len(len(src)))
	for len(src) >= 8 { // one 8-byte load per 7 bytes
		v := binary.LittleEndian.Uint64(src)
		dst = binary.LittleEndian.AppendUint64(dst, spread(v))
		src = src[7:]
	}
	for len(src) > 0 {
		k := min(len(src), 7)
		var v uint64
		for i := k - 1; i >= 0; i-- {
			v = v<<8 | uint64(src[i])
		}
		o := spread(v)
		for i := 0; i <= k; i++ { // k bytes become k+1
			dst = append(dst, byte(o>>(8*i)))
		}
		src = src[k:]
	}
	return dst
}

// spread turns the low 56 bits of v into 8 bytes of 7 bits (byte i holds
// bits 7i..7i+6), in three steps: 28-bit halves to 32-bit lanes, 14-bit
// quarters to 16-bit lanes, 7-bit eighths to bytes.
func spread(v uint64) uint64 {
	v = v&0x000000000fffffff | (v&0x00fffffff0000000)<<4
	v = v&0x00003fff00003fff | (v&0x0fffc0000fffc000)<<2
	return v&0x007f007f007f007f | (v&0x3f803f803f803f80)<<1
}

// gather is the inverse of spread; the high bit of every byte of o must be 0.
func gather(o uint64) uint64 {
	o = o&0x007f007f007f007f | (o&0x7f007f007f007f00)>>1
	o = o&0x00003fff00003fff | (o&0x3fff00003fff0000)>>2
	return o&0x000000000fffffff | (o&0x0fffffff00000000)>>4
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
	j := start
	for len(src) >= 8 {
		o := binary.LittleEndian.Uint64(src)
		if o&0x8080808080808080 != 0 {
			return dst[:start], errPack7
		}
		binary.LittleEndian.PutUint64(out[j:], gather(o))
		j += 7
		src = src[8:]
	}
	dst = out[:j]
	if r > 0 {
		var o uint64
		for i := r - 1; i >= 0; i-- {
			if src[i] >= 0x80 {
				return dst[:start], errPack7
			}
			o = o<<8 | uint64(src[i])
		}
		v, k := gather(o), r-1
		if v>>(8*k) != 0 {
			return dst[:start], errPack7
		}
		for i := range k {
			dst = append(dst, byte(v>>(8*i)))
		}
	}
	return dst, nil
}
