package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var sum = [32]byte{0: 0xab, 31: 0x01}

const sumHex = "ab000000000000000000000000000000000000000000000000000000000000" + "01"

var fileVocabulary = []struct {
	payload string
	msg     Message
}{
	{"FILE_OFFER a1 1234 " + sumHex + " image/png My photo (1).png", FileOffer{"a1", 1234, sum, false, "image/png", "My photo (1).png"}},
	{"FILE_OFFER a1 1234 - image/png IMG 1.png", FileOffer{"a1", 1234, [32]byte{}, true, "image/png", "IMG 1.png"}},
	{"FILE_OFFER x_-Z 0 " + sumHex + " application/octet-stream  lead space", FileOffer{"x_-Z", 0, sum, false, "application/octet-stream", " lead space"}},
	{"FILE_ACCEPT a1 0", FileAccept{"a1", 0}},
	{"FILE_ACCEPT a1 9223372036854775807", FileAccept{"a1", 1<<63 - 1}},
	{"FILE_DECLINE a1 too_large", FileDecline{"a1", DeclineTooLarge}},
	{"FILE_CHUNK a1 65536 \x00\xff \n", FileChunk{"a1", 65536, []byte("\x00\xff \n")}},
	{"FILE_ACK a1 4194304", FileAck{"a1", 4 << 20}},
	{"FILE_END a1", FileEnd{ID: "a1"}},
	{"FILE_END a1 " + sumHex, FileEnd{ID: "a1", SHA256: sum, HasSum: true}},
	{"FILE_DONE a1", FileDone{"a1"}},
	{"FILE_FAIL a1 hash", FileFail{"a1", FailHash}},
	{"FILE_CANCEL a1", FileCancel{"a1"}},
}

func TestFileRoundTrip(t *testing.T) {
	for _, v := range fileVocabulary {
		if got := Payload(v.msg); got != v.payload {
			t.Errorf("encode %#v = %q, want %q", v.msg, got, v.payload)
		}
		m, err := ParseFile([]byte(v.payload))
		if err != nil {
			t.Errorf("ParseFile(%q): %v", v.payload, err)
			continue
		}
		if !reflect.DeepEqual(m, v.msg) {
			t.Errorf("ParseFile(%q) = %#v, want %#v", v.payload, m, v.msg)
		}
	}
}

func TestFileChunkNoCopy(t *testing.T) {
	p := AppendFileChunkHeader(nil, "f", 7)
	p = append(p, "data"...)
	m, err := ParseFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c := m.(FileChunk)
	if &c.Data[0] != &p[len(p)-4] {
		t.Fatal("chunk data was copied")
	}
}

func TestParseFileOtherVerbs(t *testing.T) {
	m, err := ParseFile([]byte("CHAT_ACK 5"))
	if err != nil || m != (ChatAck{5}) {
		t.Fatalf("ParseFile(CHAT_ACK 5) = %#v, %v", m, err)
	}
	if _, err := ParseFile([]byte("FILE_NOPE x")); !errors.Is(err, ErrUnknownVerb) {
		t.Fatalf("unknown verb: %v", err)
	}
}

func TestParseFileMalformed(t *testing.T) {
	long := strings.Repeat("n", MaxFileName+1)
	for _, p := range []string{
		"FILE_END",
		"FILE_END ",
		"FILE_END a1 ",
		"FILE_END a1 x",
		"FILE_END a1 -",
		"FILE_END a1 " + strings.ToUpper(sumHex),
		"FILE_END a1 " + sumHex + " ",
		"FILE_END a1 " + sumHex[2:],
		"FILE_END a/b",
		"FILE_END " + strings.Repeat("a", MaxFileID+1),
		"FILE_ACCEPT a1",
		"FILE_ACCEPT a1 -1",
		"FILE_ACCEPT a1 +1",
		"FILE_ACCEPT a1 01",
		"FILE_ACCEPT a1 1 ",
		"FILE_ACCEPT a1 9223372036854775808",
		"FILE_ACK a1 x",
		"FILE_DECLINE a1",
		"FILE_DECLINE a1 no way",
		"FILE_FAIL a1 ",
		"FILE_CHUNK a1 0",
		"FILE_CHUNK a1 0 ",
		"FILE_CHUNK a1 x y",
		"FILE_CHUNK a1 9223372036854775807 xy",
		"FILE_CHUNK a1 0 " + strings.Repeat("x", MaxFileChunk+1),
		"FILE_OFFER a1 1 " + sumHex + " image/png",
		"FILE_OFFER a1 1 " + sumHex + " image/png ",
		"FILE_OFFER a1 1 " + strings.ToUpper(sumHex) + " image/png n",
		"FILE_OFFER a1 1 " + sumHex[:63] + " image/png n",
		"FILE_OFFER a1 1 -- image/png n",
		"FILE_OFFER a1 1  image/png n",
		"FILE_OFFER a1 -1 " + sumHex + " image/png n",
		"FILE_OFFER a1 1 " + sumHex + " image n",
		"FILE_OFFER a1 1 " + sumHex + " image/ n",
		"FILE_OFFER a1 1 " + sumHex + " /png n",
		"FILE_OFFER a1 1 " + sumHex + " a/b/c n",
		"FILE_OFFER a1 1 " + sumHex + " image/png;x=y n",
		"FILE_OFFER a1 1 " + sumHex + " image/png \xff",
		"FILE_OFFER a1 1 " + sumHex + " image/png " + long,
	} {
		m, err := ParseFile([]byte(p))
		if err == nil || m != nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseFile(%.80q) = %#v, %v; want ErrMalformed", p, m, err)
		}
	}
}

func TestFileOfferSameFile(t *testing.T) {
	a := FileOffer{ID: "a1", Size: 5, SHA256: sum}
	later := FileOffer{ID: "a1", Size: 5, SumLater: true}
	other := a
	other.SHA256[0]++
	for _, c := range []struct {
		x, y FileOffer
		want bool
	}{
		{a, a, true}, {a, later, true}, {later, a, true}, {later, later, true},
		{a, other, false},
		{a, FileOffer{ID: "a1", Size: 6, SHA256: sum}, false},
		{later, FileOffer{ID: "a2", Size: 5, SumLater: true}, false},
	} {
		if got := c.x.SameFile(c.y); got != c.want {
			t.Errorf("%+v.SameFile(%+v) = %v", c.x, c.y, got)
		}
	}
}

func TestValidMIME(t *testing.T) {
	for s, want := range map[string]bool{
		"image/png": true, "application/vnd.ms-excel": true, "text/x-c++": true,
		"": false, "/": false, "image": false, "a b/c": false, "a/b c": false,
		"text/plain; charset=utf-8": false, strings.Repeat("a", 64) + "/" + strings.Repeat("b", 63): false,
	} {
		if ValidMIME(s) != want {
			t.Errorf("ValidMIME(%q) = %v", s, !want)
		}
	}
}

func BenchmarkParseFileChunk(b *testing.B) {
	p := AppendFileChunkHeader(nil, "bench", 1<<30)
	p = append(p, bytes.Repeat([]byte{0xaa}, 64<<10)...)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFile(p); err != nil {
			b.Fatal(err)
		}
	}
}
