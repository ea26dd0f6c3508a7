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
	want := Offer{ID: "t1", Size: int64(len(data)), SumLater: true, MIME: "application/octet-stream", Name: "big data.bin"}
	if offer != want {
		t.Fatalf("Offer = %+v, want %+v", offer, want)
	}
	if _, err := wire.ParseFile(offer.AppendPayload(nil)); err != nil {
		t.Fatalf("offer does not parse: %v", err)
	}
	// Read it back from an odd offset, as a resume does, going back once
	// (a stream that starts again from the receiver's last offset).
	var got bytes.Buffer
	got.Write(data[:1000])
	buf := make([]byte, ChunkSize)
	back := true
	for off := int64(1000); ; {
		n, err := o.ReadChunk(off, buf)
		if back && off > 300_000 {
			back, off = false, 1000
			got.Truncate(1000)
			continue
		}
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
	sum, err := o.Sum()
	if err != nil || sum != sha256.Sum256(data) {
		t.Fatalf("Sum = %x, %v; want %x", sum, err, sha256.Sum256(data))
	}
	want.SHA256, want.SumLater = sum, false
	if offer := o.Offer("t1"); offer != want {
		t.Fatalf("Offer after Sum = %+v, want %+v", offer, want)
	}
	if n, err := o.ReadChunk(o.Size()+10, buf); n != 0 || err != io.EOF {
		t.Fatalf("past the end: %d, %v", n, err)
	}
	if _, err := o.ReadChunk(-1, buf); err == nil {
		t.Fatal("negative offset accepted")
	}
}

// TestOutgoingSumFirst: Sum before any ReadChunk hashes the whole file
// (the offer to a peer without FeatureFilesEndSum), and reading after it
// changes nothing.
func TestOutgoingSumFirst(t *testing.T) {
	data := randomData(3<<20+7, 25)
	o, err := Open(writeFile(t, t.TempDir(), "f", data))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	sum, err := o.Sum()
	if err != nil || sum != sha256.Sum256(data) {
		t.Fatalf("Sum = %x, %v", sum, err)
	}
	if of := o.Offer("x"); of.SumLater || of.SHA256 != sum {
		t.Fatalf("offer %+v", of)
	}
	buf := make([]byte, ChunkSize)
	if _, err := o.ReadChunk(ChunkSize, buf); err != nil {
		t.Fatal(err)
	}
	if again, _ := o.Sum(); again != sum {
		t.Fatal("Sum changed")
	}
}

// TestOutgoingChanged: Sum hashes the bytes on disk when it reads them,
// so a file changed after the offer gives the new content's SHA-256, not
// the one the receiver got (whose check then fails).
func TestOutgoingChanged(t *testing.T) {
	data := randomData(1<<20, 26)
	p := writeFile(t, t.TempDir(), "f", data)
	o, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	buf := make([]byte, ChunkSize)
	if _, err := o.ReadChunk(0, buf); err != nil {
		t.Fatal(err)
	}
	changed := bytes.Clone(data)
	changed[len(changed)-1]++
	if err := os.WriteFile(p, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := o.Sum()
	if err != nil {
		t.Fatal(err)
	}
	if sum != sha256.Sum256(changed) {
		t.Fatalf("sum %x is not the new content's", sum)
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

// BenchmarkSum measures hashing a whole file (Open, then Sum).
func BenchmarkSum(b *testing.B) {
	dir := b.TempDir()
	const size = 64 << 20
	p := writeFile(b, dir, "h.bin", randomData(size, 23))
	b.SetBytes(size)
	for b.Loop() {
		o, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.Sum(); err != nil {
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
