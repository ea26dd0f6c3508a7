package client

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"peerchat/core/transfer"
	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/servertest"
)

// writePNG writes a PNG of random pixels of about size bytes to dir.
func writePNG(t *testing.T, dir, name string, size int) string {
	t.Helper()
	side := 1
	for side*side*4 < size {
		side++
	}
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	r := rand.NewChaCha8([32]byte{1})
	r.Read(img.Pix)
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A 2 MiB PNG posted to Everyone reaches the two clients that take
// pictures whole (same SHA-256, in their Downloads), once, in order with
// the broadcasts; a client without Downloads gets the text line; the
// sender gets its post's EventBroadcast.
func TestImageBroadcast(t *testing.T) {
	srv := startServer(t)
	addr := srv.Addr
	cfg := func(nick string, downloads bool) Config {
		c := testConfig(addr, nick)
		if downloads {
			c.Downloads = t.TempDir()
		}
		return c
	}
	alice := dial(t, cfg("alice", true))
	bob := dial(t, cfg("bob", true))
	dave := dial(t, cfg("dave", true))
	carol := dial(t, cfg("carol", false))
	for _, c := range []*tc{alice, bob, dave, carol} {
		others := []string{}
		for _, n := range []string{"alice", "bob", "carol", "dave"} {
			if n != c.Nick() {
				others = append(others, n)
			}
		}
		c.waitPeers(others...)
	}
	path := writePNG(t, t.TempDir(), "cat.png", 2<<20)
	want, _ := os.ReadFile(path)
	sum := sha256.Sum256(want)

	if _, err := alice.Broadcast("before"); err != nil {
		t.Fatal(err)
	}
	alice.wait(EventBroadcast, func(e Event) bool { return e.Text == "before" })
	start := time.Now()
	fid, err := alice.BroadcastImage(path)
	if err != nil {
		t.Fatal(err)
	}
	own := alice.wait(EventBroadcast, func(e Event) bool { return e.File != nil })
	if own.File.ID != fid || own.From != "alice" || own.File.Path != path || own.File.SHA256 != sum || own.ID == 0 || !own.File.Outgoing {
		t.Fatalf("alice's own post: %+v %+v", own, own.File)
	}
	if _, err := alice.Broadcast("after"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*tc{bob, dave} {
		e := c.wait(EventBroadcast, func(e Event) bool { return e.From == "alice" })
		if e.Text != "before" {
			t.Fatalf("%s: first %q", c.Nick(), e.Text)
		}
		e = c.wait(EventBroadcast, func(e Event) bool { return e.From == "alice" })
		f := e.File
		if f == nil || f.From != "alice" || f.Name != "cat.png" || f.MIME != "image/png" || f.Size != int64(len(want)) || f.SHA256 != sum {
			t.Fatalf("%s: picture %+v %+v", c.Nick(), e, f)
		}
		if filepath.Dir(f.Path) != c.cfg.Downloads || e.Seq != own.Seq {
			t.Fatalf("%s: saved at %s, seq %d (alice's %d)", c.Nick(), f.Path, e.Seq, own.Seq)
		}
		got, err := os.ReadFile(f.Path)
		if err != nil || sha256.Sum256(got) != sum {
			t.Fatalf("%s: the saved picture differs (%v)", c.Nick(), err)
		}
		if e := c.wait(EventBroadcast, func(e Event) bool { return e.From == "alice" }); e.Text != "after" || e.File != nil {
			t.Fatalf("%s: then %q", c.Nick(), e.Text)
		}
		ents, _ := os.ReadDir(c.cfg.Downloads)
		if len(ents) != 1 {
			t.Fatalf("%s: downloads holds %d files", c.Nick(), len(ents))
		}
	}
	t.Logf("%d bytes posted and received by two clients in %v", len(want), time.Since(start).Round(time.Millisecond))
	carol.wait(EventBroadcast, func(e Event) bool { return e.Text == "before" })
	if e := carol.wait(EventBroadcast, func(e Event) bool { return e.From == "alice" }); e.Text != "posted a picture: cat.png" || e.File != nil {
		t.Fatalf("carol: %+v", e)
	}
	if n := bob.count(EventError); n != 0 {
		t.Fatalf("bob: %d errors: %s", n, bob.history())
	}
}

// BroadcastImage refuses at once what the server would refuse: a file
// over the server's -image-bytes, one that is not a picture, a client
// without the images feature.
func TestImageRefused(t *testing.T) {
	srv := servertest.NewServer(t, server.Config{Name: "test", ImageBytes: 100_000})
	cfg := testConfig(srv.Addr, "alice")
	cfg.Downloads = t.TempDir()
	alice := dial(t, cfg)
	bob := dial(t, testConfig(srv.Addr, "bob"))
	alice.waitPeers("bob")
	dir := t.TempDir()
	big := writePNG(t, dir, "big.png", 2<<20)
	small := writePNG(t, dir, "small.png", 10_000)

	waitLimit(t, alice, 100_000)
	if _, err := alice.BroadcastImage(big); !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("big picture: %v", err)
	}
	txt := filepath.Join(dir, "notes.txt")
	os.WriteFile(txt, []byte("hello"), 0o644)
	if _, err := alice.BroadcastImage(txt); !errors.Is(err, ErrNotImage) {
		t.Fatalf("text file: %v", err)
	}
	// A .png that is no picture fails once read.
	fake := filepath.Join(dir, "fake.png")
	os.WriteFile(fake, []byte("hello, not a picture"), 0o644)
	fid, err := alice.BroadcastImage(fake)
	if err != nil {
		t.Fatal(err)
	}
	e := alice.wait(EventSendFailed, nil)
	if !errors.Is(e.Err, ErrNotImage) || e.File == nil || e.File.ID != fid {
		t.Fatalf("fake picture: %+v", e)
	}
	if _, err := bob.BroadcastImage(small); !errors.Is(err, ErrNoImages) {
		t.Fatalf("bob without Downloads: %v", err)
	}
	if _, err := alice.BroadcastImage(small); err != nil {
		t.Fatal(err)
	}
	alice.wait(EventBroadcast, func(e Event) bool { return e.File != nil })
	bob.wait(EventBroadcast, func(e Event) bool { return e.Text == "posted a picture: small.png" && e.From == "alice" })
}

// waitLimit waits until c knows the server's picture limit: the server
// sent BIMG_LIMIT when it read our HELLO, so before the echo of a
// broadcast sent after it.
func waitLimit(t *testing.T, c *tc, want int64) {
	t.Helper()
	id, err := c.Broadcast("sync")
	if err != nil {
		t.Fatal(err)
	}
	c.wait(EventBroadcast, func(e Event) bool { return e.ID == id })
	c.mu.Lock()
	got := c.img.limit
	c.mu.Unlock()
	if got != want {
		t.Fatalf("limit %d, want %d", got, want)
	}
}

// A picture that does not reach us whole is an EventError, never a
// broadcast, and leaves nothing in Downloads: one whose SHA-256 does not
// match (transfer.ErrHash), one whose sender leaves midway
// (ErrImageDropped).
func TestImageIncomingFails(t *testing.T) {
	srv := startServer(t)
	cfg := testConfig(srv.Addr, "bob")
	cfg.Downloads = t.TempDir()
	bob := dial(t, cfg)
	// The server takes bob for an images client once it read his HELLO,
	// which its BIMG_LIMIT answers; before, it would send him the text
	// line that stands for a picture.
	for deadline := time.Now().Add(waitTimeout); ; {
		bob.mu.Lock()
		lim := bob.img.limit
		bob.mu.Unlock()
		if lim > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob got no BIMG_LIMIT")
		}
		select {
		case <-bob.Events():
		case <-time.After(10 * time.Millisecond):
		}
	}
	nc, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	poster := newFramed(nc)
	poster.send(t, wire.Register{Nick: "mallory", UDPPort: 1})
	poster.send(t, wire.Port{Nick: "mallory", TCPPort: 2})
	poster.expect(t, wire.VerbWelcome)
	poster.send(t, wire.Hello{Version: 2, Features: []string{"images"}})
	poster.expect(t, wire.VerbImageLimit)
	bob.waitPeers("mallory")

	data := bytes.Repeat([]byte("\x89PNG\r\n\x1a\n"), 10_000)
	post := func(fid string, sum [32]byte, n int) {
		poster.send(t, wire.ImagePost{ID: fid, Size: int64(len(data)), SHA256: sum, MIME: "image/png", Name: "x.png"})
		for off := 0; off < n; off += wire.ImageChunk {
			end := min(off+wire.ImageChunk, n)
			poster.send(t, wire.ImageData{ID: fid, Offset: int64(off), Data: wire.EncodeImageData(data[off:end])})
		}
	}
	post("bad", [32]byte{1}, len(data))
	poster.send(t, wire.ImageEnd{ID: "bad"})
	e := bob.wait(EventError, nil)
	if !errors.Is(e.Err, transfer.ErrHash) || e.File == nil || e.File.From != "mallory" {
		t.Fatalf("bad hash: %+v", e)
	}
	post("cut", sha256.Sum256(data), len(data)/2)
	nc.Close()
	e = bob.wait(EventError, nil)
	if !errors.Is(e.Err, ErrImageDropped) || e.File == nil || e.File.Name != "x.png" {
		t.Fatalf("cut: %+v", e)
	}
	bob.wait(EventPeerLeft, peerIs("mallory"))
	if n := bob.count(EventBroadcast); n != 0 {
		t.Fatalf("%d broadcasts: %s", n, bob.history())
	}
	if ents, _ := os.ReadDir(cfg.Downloads); len(ents) != 0 {
		t.Fatalf("downloads holds %d files", len(ents))
	}
}
