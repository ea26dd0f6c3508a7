package transfer

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"peerchat/core/wire"
)

var pngHead = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOutgoing(t *testing.T) {
	dir := t.TempDir()
	data := randomData(1<<20+5, 20)
	o, err := Open(writeFile(t, dir, "big data.bin", data))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	offer := o.Offer("t1")
	want := Offer{ID: "t1", Size: int64(len(data)), SHA256: sha256.Sum256(data), MIME: "application/octet-stream", Name: "big data.bin"}
	if offer != want {
		t.Fatalf("Offer = %+v, want %+v", offer, want)
	}
	if _, err := wire.ParseFile(offer.AppendPayload(nil)); err != nil {
		t.Fatalf("offer does not parse: %v", err)
	}
	// Read it back from an odd offset, as a resume does.
	var got bytes.Buffer
	got.Write(data[:1000])
	buf := make([]byte, ChunkSize)
	for off := int64(1000); ; {
		n, err := o.ReadChunk(off, buf)
		got.Write(buf[:n])
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("ReadChunk read other bytes")
	}
	if n, err := o.ReadChunk(o.Size()+10, buf); n != 0 || err != io.EOF {
		t.Fatalf("past the end: %d, %v", n, err)
	}
	if _, err := o.ReadChunk(-1, buf); err == nil {
		t.Fatal("negative offset accepted")
	}
}

func TestOutgoingShrunk(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "s", randomData(10_000, 21))
	o, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	os.Truncate(p, 5000)
	if _, err := o.ReadChunk(4000, make([]byte, 2000)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("shrunk file: %v", err)
	}
}

func TestOutgoingMIME(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"a.png", pngHead, "image/png"},
		{"a.jpg", pngHead, "image/png"}, // content wins among images
		{"noext", pngHead, "image/png"},
		{"notes.txt", []byte("hello"), "text/plain"},
		{"README", []byte("hello"), "text/plain"},
		{"blob", []byte{0, 1, 2, 3}, "application/octet-stream"},
		{"doc.pdf", []byte("%PDF-1.7"), "application/pdf"},
		{"empty", nil, "text/plain"},
	} {
		o, err := Open(writeFile(t, dir, c.name, c.data))
		if err != nil {
			t.Fatal(err)
		}
		if got := o.Offer("x").MIME; got != c.want {
			t.Errorf("%s: MIME %q, want %q", c.name, got, c.want)
		}
		o.Close()
	}
	if _, err := Open(dir); err == nil {
		t.Error("Open of a directory succeeded")
	}
}

func BenchmarkReadChunk(b *testing.B) {
	dir := b.TempDir()
	const size = 64 << 20
	o, err := Open(writeFile(b, dir, "r.bin", randomData(size, 22)))
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	buf := make([]byte, ChunkSize)
	b.SetBytes(ChunkSize)
	b.ReportAllocs()
	off := int64(0)
	for b.Loop() {
		if _, err := o.ReadChunk(off, buf); err != nil {
			b.Fatal(err)
		}
		off = (off + ChunkSize) % size
	}
}

// BenchmarkOpen measures hashing a file to offer it.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	const size = 64 << 20
	p := writeFile(b, dir, "h.bin", randomData(size, 23))
	b.SetBytes(size)
	for b.Loop() {
		o, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		o.Close()
	}
}

// BenchmarkReceive writes 256 MiB in 64 KiB chunks per iteration, with
// the default checkpoints, and finishes (hash check and move into place).
func BenchmarkReceive(b *testing.B) {
	const size = 256 << 20
	chunk := randomData(ChunkSize, 24)
	h := sha256.New()
	for range size / ChunkSize {
		h.Write(chunk)
	}
	offer := Offer{ID: "bench", Size: size, MIME: "application/octet-stream", Name: "bench.bin"}
	h.Sum(offer.SHA256[:0])
	dir := b.TempDir()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		in, err := Receive(dir, "bob", offer, size)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += ChunkSize {
			if err := in.Write(off, chunk); err != nil {
				b.Fatal(err)
			}
		}
		path, err := in.Finish()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(path)
		b.StartTimer()
	}
}
