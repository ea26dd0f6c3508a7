package netbackend

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/server"
	"peerchat/server/servertest"
	"peerchat/ui/session"
)

// TestFileWired sends a file between two sessions of real Backends over
// loopback: the offer waits (the peer is not verified), bruno accepts, and
// the file is saved in his Downloads with the same bytes and SHA-256.
func TestFileWired(t *testing.T) {
	ts := servertest.NewServer(t, server.Config{Name: "files-test"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	down := t.TempDir()
	connect := func(nick, downloads string) (*waiter, session.Files) {
		w := newWaiter(t)
		b := New(Config{ListenAddr: "127.0.0.1", DataDir: t.TempDir(), Downloads: downloads, AutoAcceptBelow: func() int64 { return 1 << 30 }})
		s, err := b.Connect(ctx, ts.Addr, nick, w.notify)
		if err != nil {
			t.Fatalf("connect %s: %v", nick, err)
		}
		t.Cleanup(func() { s.Close() })
		w.s = s
		f, ok := s.(session.Files)
		if !ok {
			t.Fatal("the session does not transfer files")
		}
		return w, f
	}
	wa, ana := connect("ana", t.TempDir())
	wb, bruno := connect("bruno", down)
	if err := wa.s.Invite("bruno"); err != nil {
		t.Fatal(err)
	}
	wb.wait(client.EventInvite)
	if err := wb.s.Accept("ana"); err != nil {
		t.Fatal(err)
	}
	wa.wait(client.EventChatOpen)
	wb.wait(client.EventChatOpen)

	data := make([]byte, 300_000)
	rand.Read(data)
	src := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := ana.SendFile("bruno", src)
	if err != nil {
		t.Fatal(err)
	}
	offer := wb.wait(client.EventFileOffer) // not verified: it waits
	if offer.File.ID != id || offer.File.Name != "photo.jpg" || offer.File.Size != int64(len(data)) {
		t.Fatalf("offer %+v", offer.File)
	}
	if err := bruno.AcceptFile("ana", id); err != nil {
		t.Fatal(err)
	}
	done := wb.wait(client.EventFileDone)
	got, err := os.ReadFile(done.File.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || done.File.SHA256 != sha256.Sum256(data) || filepath.Dir(done.File.Path) != down {
		t.Fatalf("received %d bytes at %s", len(got), done.File.Path)
	}
	wa.wait(client.EventFileDone)
}

// TestDownloadsDir: the user's Downloads folder when it exists, else the
// data directory's.
func TestDownloadsDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	data := t.TempDir()
	if got := DownloadsDir(data); got != filepath.Join(data, "Downloads") {
		t.Fatalf("without ~/Downloads: %s", got)
	}
	if err := os.Mkdir(filepath.Join(home, "Downloads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got := DownloadsDir(data); got != filepath.Join(home, "Downloads") {
		t.Fatalf("with ~/Downloads: %s", got)
	}
}
