package e2e

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestPack7(t *testing.T) {
	src := make([]byte, 300)
	for i := range src {
		src[i] = byte(i*151 + 7)
	}
	src[5], src[6] = 0xff, 0x80
	for n := 0; n <= len(src); n++ {
		p := appendPack7([]byte("E2E "), src[:n])
		enc := p[4:]
		if len(enc) != pack7Len(n) {
			t.Fatalf("%d: packed length %d, want %d", n, len(enc), pack7Len(n))
		}
		for _, c := range enc {
			if c >= 0x80 {
				t.Fatalf("%d: byte %#x", n, c)
			}
		}
		got, err := appendUnpack7([]byte("x"), enc)
		if err != nil || !bytes.Equal(got[1:], src[:n]) || got[0] != 'x' {
			t.Fatalf("%d: round trip: %v", n, err)
		}
	}
	// Fixed vector: the format is part of the protocol.
	if got := appendPack7(nil, []byte{0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x80}); string(got) != "\x7f\x01\x04\x10\x30\x00\x41\x02\x00\x01" {
		t.Fatalf("vector: %q", got)
	}
	for name, bad := range map[string][]byte{
		"high byte":       {0x80, 0, 0, 0, 0, 0, 0, 0},
		"high tail":       {0x01, 0x81},
		"one-byte tail":   {1, 2, 3, 4, 5, 6, 7, 8, 9},
		"unused bits":     {0x7f, 0x02}, // 1 byte: only bit 0 of the 2nd may be set
		"utf-8 multibyte": []byte("é"),
	} {
		if _, err := appendUnpack7(nil, bad); err == nil {
			t.Errorf("%s: %q accepted", name, bad)
		}
	}
}

// refPack7 is the definition of pack7, bit by bit: bit j of the input is
// bit j%7 of output byte j/7, and a partial last group adds one byte.
func refPack7(src []byte) []byte {
	out := make([]byte, pack7Len(len(src)))
	for j := range 8 * len(src) {
		if src[j/8]>>(j%8)&1 != 0 {
			out[j/7] |= 1 << (j % 7)
		}
	}
	return out
}

// TestPack7Reference checks the word-at-a-time code against refPack7, at
// every length and alignment its loops distinguish.
func TestPack7Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		for range 4 {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			want := refPack7(src)
			got := appendPack7([]byte("E2E "), src)
			if string(got[4:]) != string(want) {
				t.Fatalf("%d bytes %x: packed %x, want %x", n, src, got[4:], want)
			}
			u, err := appendUnpack7([]byte{1, 2, 3}, want)
			if err != nil || !bytes.Equal(u[3:], src) || !bytes.Equal(u[:3], []byte{1, 2, 3}) {
				t.Fatalf("%d bytes: unpacked %x, %v", n, u, err)
			}
			if n == 0 {
				continue
			}
			// A high bit anywhere is refused, and dst is left as it was.
			bad := bytes.Clone(want)
			bad[rng.IntN(len(bad))] |= 0x80
			if u, err := appendUnpack7([]byte{9}, bad); err == nil || string(u) != "\x09" {
				t.Fatalf("%d bytes: high bit accepted (%x, %v)", n, u, err)
			}
		}
	}
}

func FuzzPack7(f *testing.F) {
	f.Add([]byte("hello, world"), false)
	f.Add([]byte{0x7f, 0x01}, true)
	f.Fuzz(func(t *testing.T, b []byte, asPacked bool) {
		if !asPacked {
			p := appendPack7(nil, b)
			if !utf8.Valid(p) {
				t.Fatal("packed form is not UTF-8")
			}
			u, err := appendUnpack7(nil, p)
			if err != nil || !bytes.Equal(u, b) {
				t.Fatalf("round trip: %v", err)
			}
			return
		}
		u, err := appendUnpack7(nil, b)
		if err != nil {
			return
		}
		if p := appendPack7(nil, u); !bytes.Equal(p, b) {
			t.Fatalf("%q unpacks but is not canonical (%q)", b, p)
		}
	})
}

// TestFrameCost checks the sizes the package documentation promises.
func TestFrameCost(t *testing.T) {
	_, ini, _ := genuine(t)
	s := &Session{send: unsafeCipher(ini.send.UnsafeKey())}
	for n, want := range map[int]int{60: 102, 1024: 1203, MaxFragment: 4 + pack7Len(MaxFragment+25)} {
		buf, err := s.Seal(nil, make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(buf) - 10; got != want {
			t.Errorf("%d bytes: frame payload of %d bytes, want %d", n, got, want)
		}
	}
}
