package wire

import (
	"bytes"
	"testing"
	"unsafe"
)

// FuzzParseFile checks that ParseFile never panics, refuses with a
// *ProtocolError, returns FILE_CHUNK data that aliases its input, and that
// whatever it accepts survives a round trip unchanged.
func FuzzParseFile(f *testing.F) {
	for _, v := range fileVocabulary {
		f.Add([]byte(v.payload))
	}
	f.Add([]byte("FILE_CHUNK a 0 \xff"))
	f.Add([]byte("FILE_OFFER a 1 " + sumHex + " a/b \xc3"))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := ParseFile(p)
		if err != nil {
			if m != nil || !IsProtocolError(err) {
				t.Fatalf("ParseFile(%q) = %#v, %v", p, m, err)
			}
			return
		}
		if !IsFileVerb([]byte(m.Verb())) {
			return // Parse's business, fuzzed by FuzzParse
		}
		enc := m.AppendPayload(nil)
		if !bytes.Equal(enc, p) {
			t.Fatalf("not canonical: %q -> %q", p, enc)
		}
		if c, ok := m.(FileChunk); ok {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
			d := uintptr(unsafe.Pointer(unsafe.SliceData(c.Data)))
			if d < start || d+uintptr(len(c.Data)) > start+uintptr(len(p)) {
				t.Fatal("chunk data does not alias the input")
			}
		}
		again, err := ParseFile(enc)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", enc, err)
		}
		if !bytes.Equal(again.AppendPayload(nil), enc) {
			t.Fatalf("round trip changed %q", enc)
		}
	})
}
