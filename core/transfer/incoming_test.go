package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

func randomData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func offerOf(id, name string, data []byte) Offer {
	return Offer{ID: id, Size: int64(len(data)), SHA256: sha256.Sum256(data), MIME: "application/octet-stream", Name: name}
}

// send writes data[from:to] in chunks of size n.
func send(t testing.TB, in *Incoming, data []byte, from, to, n int) {
	t.Helper()
	for off := from; off < to; off += n {
		end := min(off+n, to)
		if err := in.Write(int64(off), data[off:end]); err != nil {
			t.Fatalf("Write(%d, %d bytes): %v", off, end-off, err)
		}
	}
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func setSyncEvery(t *testing.T, n int64) {
	old := syncEvery
	syncEvery = n
	t.Cleanup(func() { syncEvery = old })
}

func TestReceive(t *testing.T) {
	dir := t.TempDir()
	data := randomData(1<<20+123, 1)
	in, err := Receive(dir, "alice", offerOf("f1", "../report.pdf", data), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != 0 || in.Name() != "_report.pdf" {
		t.Fatalf("Offset %d, Name %q", in.Offset(), in.Name())
	}
	send(t, in, data, 0, len(data), ChunkSize)
	path, err := in.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "_report.pdf") {
		t.Fatalf("path %q", path)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if names := list(t, dir); len(names) != 1 {
		t.Fatalf("dir holds %q", names)
	}
	if err := in.Write(int64(len(data)), []byte{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Finish: %v", err)
	}
}

func TestReceiveEmptyFile(t *testing.T) {
	dir := t.TempDir()
	in, err := Receive(dir, "alice", offerOf("e", "empty", nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	path, err := in.Finish()
	if err != nil || filepath.Base(path) != "empty" {
		t.Fatalf("Finish = %q, %v", path, err)
	}
}

func TestTooLargeBeforeAnything(t *testing.T) {
	dir := t.TempDir()
	o := offerOf("big", "big.iso", nil)
	o.Size = 1 << 40
	if _, err := Receive(dir, "alice", o, 1<<30); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Receive: %v, want ErrTooLarge", err)
	}
	if names := list(t, dir); len(names) != 0 {
		t.Fatalf("dir holds %q", names)
	}
	for _, o := range []Offer{{ID: "", Size: 1}, {ID: "a/b", Size: 1}, {ID: "x", Size: -1}} {
		if _, err := Receive(dir, "alice", o, 1<<30); !errors.Is(err, ErrBadOffer) {
			t.Errorf("Receive(%+v): %v, want ErrBadOffer", o, err)
		}
	}
}

func TestWrongOffsetRefused(t *testing.T) {
	dir := t.TempDir()
	data := randomData(1000, 2)
	in, err := Receive(dir, "alice", offerOf("w", "w.bin", data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Cancel()
	if err := in.Write(1, data[1:10]); !errors.Is(err, ErrOffset) {
		t.Fatalf("ahead: %v", err)
	}
	send(t, in, data, 0, 500, 100)
	for _, off := range []int64{0, 499, 501} {
		if err := in.Write(off, data[off:off+1]); !errors.Is(err, ErrOffset) {
			t.Fatalf("Write at %d: %v", off, err)
		}
	}
	if err := in.Write(500, make([]byte, 501)); !errors.Is(err, ErrSize) {
		t.Fatalf("past the size: %v", err)
	}
	if in.Offset() != 500 {
		t.Fatalf("Offset %d after refused writes", in.Offset())
	}
	if _, err := in.Finish(); !errors.Is(err, ErrSize) {
		t.Fatalf("early Finish: %v", err)
	}
	send(t, in, data, 500, 1000, 100)
	if _, err := in.Finish(); err != nil {
		t.Fatal(err)
	}
}

// checkState checks that the state file never vouches for more than the
// partial file holds, and that its hash state is the hash of exactly
// that prefix.
func checkState(t *testing.T, in *Incoming) int64 {
	t.Helper()
	b, err := os.ReadFile(in.state)
	if err != nil {
		t.Fatal(err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	part, err := os.ReadFile(in.part)
	if err != nil {
		t.Fatal(err)
	}
	if st.Offset > int64(len(part)) || st.Offset > in.Offset() {
		t.Fatalf("state at %d, partial file %d bytes, written %d", st.Offset, len(part), in.Offset())
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(part[:st.Offset])
	if !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("hash state at %d is not the partial file's", st.Offset)
	}
	return st.Offset
}

func TestStateNeverAheadOfData(t *testing.T) {
	setSyncEvery(t, 10_000)
	dir := t.TempDir()
	data := randomData(100_000, 3)
	in, err := Receive(dir, "alice", offerOf("s", "s.bin", data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, in)
	saves := 0
	last := int64(0)
	for off := 0; off < len(data); off += 3000 {
		send(t, in, data, off, min(off+3000, len(data)), 3000)
		if o := checkState(t, in); o != last {
			saves++
			last = o
			if in.Offset()-o > 2*syncEvery+3000 { // a checkpoint may still run
				t.Fatalf("state %d behind", in.Offset()-o)
			}
		}
	}
	if saves < 5 {
		t.Fatalf("%d checkpoints in 100 kB at 10 kB", saves)
	}
	in.Close()
	if o := checkState(t, in); o != int64(len(data)) {
		t.Fatalf("state at %d after Close", o)
	}
}

// kill abandons in as a killed process would: its file is closed without a
// checkpoint, and bytes that never reached the disk's durable state are
// simulated by garbage past the written data.
func kill(t *testing.T, in *Incoming) {
	t.Helper()
	in.reap(true) // a checkpoint under way ends, or the kill comes before it
	in.f.Close()
	in.closeMark()
	in.done = true
	f, err := os.OpenFile(in.part, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("garbage that was never verified"))
	f.Close()
}

// TestResumeAfterKill: after the app dies (its writes are in the
// system's page cache), a transfer resumes from the last chunk written,
// not from the last checkpoint: what is received again is only what was
// lost.
func TestResumeAfterKill(t *testing.T) {
	setSyncEvery(t, 64<<10)
	dir := t.TempDir()
	data := randomData(1<<20, 4)
	offer := offerOf("r1", "movie.mkv", data)
	in, err := Receive(dir, "bob", offer, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	send(t, in, data, 0, 300_000, 10_000)
	kill(t, in)

	ps, err := Pending(dir)
	if err != nil || len(ps) != 1 {
		t.Fatalf("Pending = %+v, %v", ps, err)
	}
	p := ps[0]
	if p.From != "bob" || p.Offer != offer || p.Offset > 300_000 || p.Offset < 300_000-syncEvery {
		t.Fatalf("Pending = %+v", p)
	}
	in, err = Resume(dir, "bob", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != 300_000 {
		t.Fatalf("resumed at %d, want 300000 (checkpoint %d)", in.Offset(), p.Offset)
	}
	if fi, _ := os.Stat(in.part); fi.Size() != 300_000 {
		t.Fatalf("partial file %d bytes, resumed at %d", fi.Size(), in.Offset())
	}
	send(t, in, data, int(in.Offset()), 700_000, 30_000)
	kill(t, in)

	// The sender offers again after a restart: Receive resumes.
	in, err = Receive(dir, "bob", offer, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != 700_000 {
		t.Fatalf("Receive resumed at %d, want 700000", in.Offset())
	}
	send(t, in, data, int(in.Offset()), len(data), ChunkSize)
	path, err := in.Finish()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if sha256.Sum256(got) != offer.SHA256 {
		t.Fatal("SHA-256 differs after resume")
	}
	if ps, _ := Pending(dir); len(ps) != 0 {
		t.Fatalf("Pending after Finish: %+v", ps)
	}
	if _, err := Resume(dir, "bob", "r1"); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Resume after Finish: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left in the directory: %v", ents)
	}
}

// TestResumeAfterCrash: when the bytes after the last checkpoint did not
// survive (a system crash: the mark says more than the data holds), the
// mark is not trusted and the transfer resumes from the checkpoint.
func TestResumeAfterCrash(t *testing.T) {
	setSyncEvery(t, 64<<10)
	dir := t.TempDir()
	data := randomData(1<<20, 6)
	offer := offerOf("c1", "c.bin", data)
	in, err := Receive(dir, "bob", offer, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	send(t, in, data, 0, 300_000, 10_000)
	kill(t, in)
	ps, _ := Pending(dir)
	if len(ps) != 1 || ps[0].Offset >= 300_000 {
		t.Fatalf("Pending = %+v", ps)
	}
	ck := ps[0].Offset
	// What was written after the checkpoint is zeros now.
	f, err := os.OpenFile(in.part, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(make([]byte, 300_000-ck), ck)
	f.Close()
	in, err = Resume(dir, "bob", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != ck {
		t.Fatalf("resumed at %d, want the checkpoint %d", in.Offset(), ck)
	}
	send(t, in, data, int(ck), len(data), ChunkSize)
	path, err := in.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); sha256.Sum256(got) != offer.SHA256 {
		t.Fatal("SHA-256 differs")
	}
}

// TestSumLater: an offer without a SHA-256 (FILE_OFFER … - …) is checked
// against the one FILE_END names (SetSum); without one it fails; a
// partial file of it resumes under an offer that names the sum, and the
// other way round.
func TestSumLater(t *testing.T) {
	dir := t.TempDir()
	data := randomData(200_000, 7)
	named := offerOf("s1", "s.bin", data)
	later := named
	later.SHA256, later.SumLater = [32]byte{}, true

	in, err := Receive(dir, "bob", later, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	send(t, in, data, 0, 100_000, 10_000)
	in.Close()
	// Resumed under the offer that names the sum (a sender that restarted).
	in, err = Receive(dir, "bob", named, 1<<20)
	if err != nil || in.Offset() != 100_000 {
		t.Fatalf("Receive named: %v at %d", err, in.Offset())
	}
	in.Close()
	// And under a SumLater offer again: the named sum is kept.
	in, err = Receive(dir, "bob", later, 1<<20)
	if err != nil || in.Offset() != 100_000 {
		t.Fatalf("Receive later: %v at %d", err, in.Offset())
	}
	wrong := named.SHA256
	wrong[0] ^= 1
	if err := in.SetSum(wrong); !errors.Is(err, ErrHash) {
		t.Fatalf("SetSum of another sum than the offer's: %v", err)
	}
	send(t, in, data, 100_000, len(data), 10_000)
	if err := in.SetSum(named.SHA256); err != nil {
		t.Fatal(err)
	}
	path, err := in.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}

	// No sum at all: the file is never shown as received.
	in, err = Receive(dir, "bob", offerLater("s2", data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	send(t, in, data, 0, len(data), 50_000)
	if _, err := in.Finish(); !errors.Is(err, ErrHash) {
		t.Fatalf("Finish without a sum: %v", err)
	}
	// A wrong sum named at the end: removed.
	in, err = Receive(dir, "bob", offerLater("s3", data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	send(t, in, data, 0, len(data), 50_000)
	in.SetSum(wrong)
	if _, err := in.Finish(); !errors.Is(err, ErrHash) {
		t.Fatalf("Finish with a wrong sum: %v", err)
	}
	if ps, _ := Pending(dir); len(ps) != 0 {
		t.Fatalf("left: %+v", ps)
	}
}

// offerLater is an offer of data under id with SumLater.
func offerLater(id string, data []byte) Offer {
	return Offer{ID: id, Size: int64(len(data)), SumLater: true, MIME: "application/octet-stream", Name: id + ".bin"}
}

func TestResumeLostData(t *testing.T) {
	setSyncEvery(t, 1000)
	dir := t.TempDir()
	data := randomData(10_000, 5)
	offer := offerOf("l", "l.bin", data)
	in, _ := Receive(dir, "bob", offer, 1<<20)
	send(t, in, data, 0, 5000, 500)
	in.Close()
	os.Truncate(in.part, 100) // the partial file lost what the state vouched for
	in, err := Resume(dir, "bob", "l")
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() != 0 {
		t.Fatalf("resumed at %d over a truncated partial file", in.Offset())
	}
	send(t, in, data, 0, len(data), 4096)
	if _, err := in.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestReceiveOtherPeerOrFile(t *testing.T) {
	dir := t.TempDir()
	data := randomData(5000, 6)
	in, _ := Receive(dir, "bob", offerOf("x", "same.txt", data), 1<<20)
	send(t, in, data, 0, 2000, 1000)
	in.Close()
	if _, err := Receive(dir, "eve", offerOf("x", "same.txt", data), 1<<20); !errors.Is(err, ErrBusy) {
		t.Fatalf("other peer, same id and name: %v", err)
	}
	other := randomData(3000, 7)
	in, err := Receive(dir, "bob", offerOf("x", "same.txt", other), 1<<20)
	if err != nil || in.Offset() != 0 {
		t.Fatalf("same peer and id, new file: offset %d, %v", in.Offset(), err)
	}
	send(t, in, other, 0, len(other), 1000)
	if _, err := in.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestFinishNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"photo.png", "photo (1).png"} {
		os.WriteFile(filepath.Join(dir, n), []byte("mine"), 0o644)
	}
	data := randomData(777, 8)
	in, _ := Receive(dir, "bob", offerOf("p", "photo.png", data), 1<<20)
	send(t, in, data, 0, len(data), 100)
	path, err := in.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "photo (2).png" {
		t.Fatalf("saved as %q", path)
	}
	for _, n := range []string{"photo.png", "photo (1).png"} {
		if b, _ := os.ReadFile(filepath.Join(dir, n)); string(b) != "mine" {
			t.Fatalf("%s overwritten", n)
		}
	}
}

func TestFinishHashMismatch(t *testing.T) {
	dir := t.TempDir()
	data := randomData(5000, 9)
	offer := offerOf("h", "h.bin", data)
	offer.SHA256[0] ^= 1
	in, _ := Receive(dir, "bob", offer, 1<<20)
	send(t, in, data, 0, len(data), 1000)
	if _, err := in.Finish(); !errors.Is(err, ErrHash) {
		t.Fatalf("Finish: %v, want ErrHash", err)
	}
	if names := list(t, dir); len(names) != 0 {
		t.Fatalf("dir holds %q", names)
	}
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	data := randomData(5000, 10)
	in, _ := Receive(dir, "bob", offerOf("c", "c.bin", data), 1<<20)
	send(t, in, data, 0, 3000, 1000)
	if err := in.Cancel(); err != nil {
		t.Fatal(err)
	}
	if names := list(t, dir); len(names) != 0 {
		t.Fatalf("dir holds %q", names)
	}
}

func TestConcurrentFinishSameName(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	for round := range 10 {
		name := "same" + string(rune('a'+round)) + ".txt"
		var ins [n]*Incoming
		var datas [n][]byte
		for i := range ins {
			datas[i] = randomData(4096+i, uint64(100*round+i))
			in, err := Receive(dir, "peer"+string(rune('0'+i)), offerOf("id"+string(rune('0'+i)), name, datas[i]), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			send(t, in, datas[i], 0, len(datas[i]), 1000)
			ins[i] = in
		}
		var wg sync.WaitGroup
		var paths [n]string
		var errs [n]error
		for i := range ins {
			wg.Go(func() { paths[i], errs[i] = ins[i].Finish() })
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range ins {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if seen[paths[i]] {
				t.Fatalf("two transfers finished as %q", paths[i])
			}
			seen[paths[i]] = true
			if b, _ := os.ReadFile(paths[i]); !bytes.Equal(b, datas[i]) {
				t.Fatalf("%s holds another transfer's data", paths[i])
			}
		}
	}
}

// failingWriter fails every write with err.
type failingWriter struct{ err error }

func (w failingWriter) WriteAt([]byte, int64) (int, error) { return 0, w.err }

// TestNoSpaceSeam injects a full disk through the write seam: the error
// wraps ErrNoSpace, nothing counts as written, and the transfer resumes.
func TestNoSpaceSeam(t *testing.T) {
	setSyncEvery(t, 1000)
	dir := t.TempDir()
	data := randomData(10_000, 11)
	in, _ := Receive(dir, "bob", offerOf("n", "n.bin", data), 1<<20)
	send(t, in, data, 0, 4500, 500)
	in.w = failingWriter{&fs.PathError{Op: "write", Path: in.part, Err: syscall.ENOSPC}}
	err := in.Write(4500, data[4500:5000])
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write on a full disk: %v", err)
	}
	if in.Offset() != 4500 || checkState(t, in) != 4500 {
		t.Fatalf("offset %d after a failed write", in.Offset())
	}
	in.Close()
	in, err = Resume(dir, "bob", "n")
	if err != nil || in.Offset() != 4500 {
		t.Fatalf("Resume: %v at %d", err, in.Offset())
	}
	send(t, in, data, 4500, len(data), 500)
	if _, err := in.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestReceiveMakesDir: the downloads directory is made on the first
// transfer (a new -data directory has none yet).
func TestReceiveMakesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "downloads")
	data := randomData(1000, 7)
	in, err := Receive(dir, "alice", offerOf("d", "new.bin", data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	send(t, in, data, 0, len(data), 100)
	if path, err := in.Finish(); err != nil || filepath.Dir(path) != dir {
		t.Fatalf("Finish = %q, %v", path, err)
	}
}

// BenchmarkIncoming writes and hashes 256 MiB per op in 64 KiB chunks,
// checkpointing (fsync, state file) every sync bytes.
func BenchmarkIncoming(b *testing.B) {
	data := randomData(ChunkSize, 1)
	const size = 256 << 20
	for _, sync := range []int64{16 << 20, 64 << 20, 256 << 20} {
		b.Run(fmt.Sprintf("sync=%dMiB", sync>>20), func(b *testing.B) {
			old := syncEvery
			syncEvery = sync
			defer func() { syncEvery = old }()
			b.SetBytes(size)
			for i := range b.N {
				in, err := Receive(b.TempDir(), "alice", Offer{ID: fmt.Sprint("b", i), Size: size, MIME: "application/octet-stream", Name: "b"}, size)
				if err != nil {
					b.Fatal(err)
				}
				for off := int64(0); off < size; off += ChunkSize {
					if err := in.Write(off, data); err != nil {
						b.Fatal(err)
					}
				}
				in.Cancel()
			}
		})
	}
}

// FuzzMark: whatever a mark file holds, resuming never panics and never
// goes past what hashes to the mark's state: the file it finishes is the
// offered one.
func FuzzMark(f *testing.F) {
	data := randomData(100_000, 8)
	offer := offerOf("m1", "m.bin", data)
	// A valid mark at 60,000, as a receiver writes it.
	dir := f.TempDir()
	in, err := Receive(dir, "bob", offer, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	if err := in.Write(0, data[:60_000]); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(in.mark)
	if err != nil {
		f.Fatal(err)
	}
	in.Cancel()
	f.Add(valid)
	f.Add([]byte(markMagic))
	f.Add(append([]byte(markMagic), make([]byte, 200)...))
	f.Fuzz(func(t *testing.T, mark []byte) {
		dir := t.TempDir()
		in, err := Receive(dir, "bob", offer, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Write(0, data[:80_000]); err != nil {
			t.Fatal(err)
		}
		in.Close() // checkpoint at 80,000
		if err := os.WriteFile(in.mark, mark, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err = Resume(dir, "bob", "m1")
		if err != nil {
			t.Fatal(err)
		}
		if in.Offset() != 80_000 {
			t.Fatalf("resumed at %d from a mark behind the checkpoint or invalid", in.Offset())
		}
		if err := in.Write(in.Offset(), data[in.Offset():]); err != nil {
			t.Fatal(err)
		}
		if _, err := in.Finish(); err != nil {
			t.Fatal(err)
		}
	})
}
