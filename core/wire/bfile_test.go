package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var imageSum = strings.Repeat("ab", 32)

// imageVocabulary is one payload of each images frame, canonical.
var imageVocabulary = []string{
	"BIMG_LIMIT 8388608",
	"BIMG_POST k3Zq9 1234567 " + imageSum + " image/png IMG 0042.png",
	"BIMG 17 alice 1764100000123 1234567 " + imageSum + " image/jpeg a b.jpg",
	"BIMG_DATA 17 0 AAEC",
	"BIMG_DATA k3 48128 AAE",
	"BIMG_DATA k3 5 AA",
	"BIMG_END k3Zq9",
	"BIMG_END 17 42",
	"BIMG_OK k3Zq9 42",
	"BIMG_FAIL k3Zq9 too_large",
	"BIMG_DROP 17 overflow",
}

func TestImageFramesRoundTrip(t *testing.T) {
	for _, p := range imageVocabulary {
		m, err := Parse([]byte(p))
		if err != nil {
			t.Fatalf("Parse(%q): %v", p, err)
		}
		if got := string(m.AppendPayload(nil)); got != p {
			t.Errorf("round trip of %q gave %q", p, got)
		}
	}
	m, _ := Parse([]byte(imageVocabulary[2]))
	im := m.(Image)
	if im.From != "alice" || im.Time != time.UnixMilli(1764100000123) || im.Name != "a b.jpg" || im.Size != 1234567 {
		t.Errorf("BIMG parsed as %+v", im)
	}
}

func TestImageFramesMalformed(t *testing.T) {
	for _, p := range []string{
		"BIMG_LIMIT", "BIMG_LIMIT -1", "BIMG_LIMIT 01",
		"BIMG_POST k 0 " + imageSum + " image/png a", // empty picture
		"BIMG_POST k 1 " + imageSum + " image/png",   // no name
		"BIMG_POST k 1 " + strings.ToUpper(imageSum) + " image/png a",
		"BIMG_POST k/ 1 " + imageSum + " image/png a",
		"BIMG 1 a\"b 1 1 " + imageSum + " image/png a",
		"BIMG 1 alice x 1 " + imageSum + " image/png a",
		"BIMG_DATA k 0", "BIMG_DATA k 0 ", "BIMG_DATA k 0 A", "BIMG_DATA k 0 AB=",
		"BIMG_DATA k 0 A+", "BIMG_DATA k 0 AB", // AB has stray bits
		"BIMG_DATA k 01 AA", "BIMG_DATA k 0 " + strings.Repeat("A", MaxImageData+4),
		"BIMG_END", "BIMG_END k 0", "BIMG_END k x", "BIMG_END k 1 2",
		"BIMG_OK k", "BIMG_OK k 0", "BIMG_FAIL k", "BIMG_FAIL k a b", "BIMG_DROP k !",
	} {
		m, err := Parse([]byte(p))
		if err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %#v, %v; want ErrMalformed", p, m, err)
		}
	}
}

func TestImageData(t *testing.T) {
	for n := 1; n < 70; n++ {
		b := bytes.Repeat([]byte{0xfb, 0x01, 0x7f}, n)[:n]
		d := EncodeImageData(b)
		if !validImageData(d) || ImageDataLen(d) != int64(n) {
			t.Fatalf("%d bytes: %q valid %v len %d", n, d, validImageData(d), ImageDataLen(d))
		}
		got, err := DecodeImageData(d)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%d bytes: decode %v", n, err)
		}
	}
	// A full chunk with the longest ids fits the server's payload limit.
	f := ImageData{ID: strings.Repeat("x", MaxFileID), Offset: 1<<62 - 1, Data: EncodeImageData(make([]byte, ImageChunk))}
	if n := len(f.AppendPayload(nil)); n > DefaultServerPayload {
		t.Fatalf("a full BIMG_DATA is %d bytes", n)
	}
	if !IsImageType("image/webp") || IsImageType("image/svg+xml") {
		t.Fatal("IsImageType")
	}
}

// FuzzParseImage checks that Parse never panics on the images frames,
// refuses with a *ProtocolError, and that whatever it accepts is
// canonical (encodes back to the same bytes) and its data decodes to
// ImageDataLen bytes.
func FuzzParseImage(f *testing.F) {
	for _, p := range imageVocabulary {
		f.Add([]byte(p))
	}
	f.Add([]byte("BIMG_DATA k 0 AB"))
	f.Add([]byte("BIMG 1 al\xffice 1 1 " + imageSum + " image/png a"))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := Parse(p)
		if err != nil {
			if m != nil || !IsProtocolError(err) {
				t.Fatalf("Parse(%q) = %#v, %v", p, m, err)
			}
			return
		}
		if !IsImageVerb(m.Verb()) {
			return
		}
		if enc := m.AppendPayload(nil); !bytes.Equal(enc, p) {
			t.Fatalf("not canonical: %q -> %q", p, enc)
		}
		if d, ok := m.(ImageData); ok {
			b, err := DecodeImageData(d.Data)
			if err != nil || int64(len(b)) != ImageDataLen(d.Data) {
				t.Fatalf("data %q: %d bytes, %v", d.Data, len(b), err)
			}
		}
	})
}
