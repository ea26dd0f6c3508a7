package client

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/transfer"
	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/servertest"
)

// makeFile writes size random bytes to a new file in dir and returns its
// path and SHA-256.
func makeFile(t testing.TB, dir string, size int64) (string, [32]byte) {
	t.Helper()
	f, err := os.CreateTemp(dir, "send-*.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return f.Name(), sum
}

func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// fileIs matches the events of transfer id.
func fileIs(id string) func(Event) bool {
	return func(e Event) bool { return e.File != nil && e.File.ID == id }
}

// fileCfg is a keyed config that takes files into a new directory.
func fileCfg(t testing.TB, addr, nick string) Config {
	cfg := keyedConfig(addr, nick)
	cfg.Downloads = t.TempDir()
	return cfg
}

// acceptOffer waits for the offer of id and accepts it.
func (c *tc) acceptOffer(from, id string) {
	c.t.Helper()
	c.wait(EventFileOffer, fileIs(id))
	if err := c.AcceptFile(from, id); err != nil {
		c.t.Fatal(err)
	}
}

// checkReceived waits for the end of transfer id on both sides and checks
// the saved file.
func checkReceived(t *testing.T, a, b *tc, id string, sum [32]byte) {
	t.Helper()
	e := b.waitLong(EventFileDone, fileIs(id))
	ae := a.waitLong(EventFileDone, fileIs(id))
	if got := fileSum(t, e.File.Path); got != sum {
		t.Fatalf("received %s: SHA-256 mismatch", e.File.Path)
	}
	if e.File.SHA256 != sum || ae.File.SHA256 != sum {
		t.Fatalf("done with SHA-256 %x (receiver), %x (sender); want %x", e.File.SHA256, ae.File.SHA256, sum)
	}
	if filepath.Dir(e.File.Path) != b.cfg.Downloads {
		t.Fatalf("saved at %s, not in %s", e.File.Path, b.cfg.Downloads)
	}
}

// waitLong is wait with a longer deadline, for transfers.
func (c *tc) waitLong(kind EventKind, ok func(Event) bool) Event {
	c.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; {
		c.hmu.Lock()
		c.all = c.Poll(c.all)
		for len(c.used) < len(c.all) {
			c.used = append(c.used, false)
		}
		for i, e := range c.all {
			if !c.used[i] && e.Kind == kind && (ok == nil || ok(e)) {
				c.used[i] = true
				c.hmu.Unlock()
				return e
			}
			if !c.used[i] && e.Kind == EventFileFailed && kind != EventFileFailed && (ok == nil || ok(e)) {
				c.hmu.Unlock()
				c.t.Fatalf("%s: transfer failed: %v", c.Nick(), e.Err)
			}
		}
		c.hmu.Unlock()
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no event %v; events: %s", c.Nick(), kind, c.history())
		}
		select {
		case <-c.Events():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestFileDirect: a few MiB go over a direct encrypted chat, are accepted
// and arrive with the right SHA-256; progress is reported.
func TestFileDirect(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config { return fileCfg(t, addr, "alice") },
		func(addr string) Config { return fileCfg(t, addr, "bob") })
	path, sum := makeFile(t, t.TempDir(), 5<<20+123)
	id, err := a.SendFile("bob", path)
	if err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	b.acceptOffer("alice", id)
	msg, _ := a.Send("bob", "a message beside the file")
	a.wait(EventDelivered, func(e Event) bool { return e.ID == msg })
	checkReceived(t, a, b, id, sum)
	if n := a.count(EventFileProgress); n == 0 {
		t.Fatal("no progress reported")
	}

	if len(a.Files()) != 0 || len(b.Files()) != 0 {
		t.Fatalf("transfers left: %v / %v", a.Files(), b.Files())
	}
}

// TestFileEarlierPeer: a peer that does not list files-endsum (an
// earlier version) is offered the file with its SHA-256, hashed first, and
// gets a bare FILE_END; the transfer completes the same.
func TestFileEarlierPeer(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config { return fileCfg(t, addr, "alice") },
		func(addr string) Config {
			cfg := fileCfg(t, addr, "bob")
			cfg.noEndSum = true
			return cfg
		})
	path, sum := makeFile(t, t.TempDir(), 2<<20+5)
	id, err := a.SendFile("bob", path)
	if err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	if e := b.wait(EventFileOffer, fileIs(id)); e.File.SHA256 != sum {
		t.Fatalf("offer without the SHA-256: %x", e.File.SHA256)
	}
	if err := b.AcceptFile("alice", id); err != nil {
		t.Fatal(err)
	}
	checkReceived(t, a, b, id, sum)
}

// senderRun is a transfer whose sender left midway (senderGone).
type senderRun struct {
	slow *atomic.Bool // alice's pacing, on: turn it off before she restarts
	acfg Config       // alice's config (with a FileState), to dial her again
	b    *tc          // bob, receiving
	path string       // the file
	sum  [32]byte
	id   string
}

// senderGone starts alice (paced, with a FileState) sending a file of
// size bytes to bob, who accepts it; once bob has at least midway bytes,
// alice's Client is closed and bob has seen her leave.
func senderGone(t *testing.T, size, midway int64) senderRun {
	t.Helper()
	r := senderRun{slow: new(atomic.Bool)}
	r.slow.Store(true)
	ts := startServer(t)
	r.acfg = slowed(fileCfg(t, ts.Addr, "alice"), r.slow)
	r.acfg.FileState = t.TempDir()
	a := dial(t, r.acfg)
	r.b = dial(t, fileCfg(t, ts.Addr, "bob"))
	a.waitKey("bob")
	r.b.waitKey("alice")
	a.waitCaps("bob")
	r.path, r.sum = makeFile(t, t.TempDir(), size)
	r.id, _ = a.SendFile("bob", r.path)
	r.b.wait(EventInvite, peerIs("alice"))
	r.b.Accept("alice")
	r.b.wait(EventChatOpen, peerIs("alice"))
	r.b.acceptOffer("alice", r.id)
	r.b.midway(r.id, midway)
	a.Close()
	r.b.wait(EventPeerLeft, peerIs("alice"))
	return r
}

// TestFileChangedWhileAway: the sender restarts mid-transfer and the file
// was changed meanwhile (same size): the SHA-256 that FILE_END names is
// not what the receiver has, so the file is never shown as received —
// both sides fail it, and the partial file is gone.
func TestFileChangedWhileAway(t *testing.T) {
	checkGoroutines(t)
	// 64 MiB at the paced 64 MB/s: alice cannot finish in the moment
	// between bob's 2 MiB and her Close, even on a loaded machine.
	r := senderGone(t, 64<<20, 2<<20)
	b, path, id, acfg := r.b, r.path, r.id, r.acfg
	// A byte the receiver has already is changed.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{'!'}, 1000)
	f.Close()
	r.slow.Store(false)
	a2 := dial(t, acfg)
	b.reopened("alice")
	if e := b.waitLong(EventFileFailed, fileIs(id)); !errors.Is(e.Err, transfer.ErrHash) {
		t.Fatalf("receiver: %v, want ErrHash", e.Err)
	}
	a2.waitLong(EventFileFailed, fileIs(id))
	if b.count(EventFileDone) != 0 {
		t.Fatal("a file that changed was shown as received")
	}
	b.Close()
	if ents, _ := os.ReadDir(b.cfg.Downloads); len(ents) != 0 {
		t.Fatalf("left in downloads: %v", ents)
	}
}

// TestFileRelay: with every datagram dropped, the file goes through the
// server's relay, end to end encrypted.
func TestFileRelay(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config { return isolated(fileCfg(t, addr, "alice"), nil) },
		func(addr string) Config { return isolated(fileCfg(t, addr, "bob"), nil) })
	path, sum := makeFile(t, t.TempDir(), 3<<20+7)
	id, err := a.SendFile("bob", path)
	if err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	if e := a.wait(EventChatOpen, nil); e.Route != RouteRelay {
		t.Fatalf("route %v, want relay", e.Route)
	}
	b.acceptOffer("alice", id)
	checkReceived(t, a, b, id, sum)
}

// slowConn paces writes (about 64 MB/s), so that a transfer is still
// under way when the test interrupts it.
type slowConn struct {
	net.Conn
	on *atomic.Bool
}

func (s slowConn) Write(b []byte) (int, error) {
	if s.on.Load() {
		time.Sleep(time.Duration(len(b)) * time.Second / (64 << 20))
	}
	return s.Conn.Write(b)
}

func slowed(cfg Config, on *atomic.Bool) Config {
	h := &hooks{}
	if cfg.hooks != nil {
		*h = *cfg.hooks
	}
	h.conn = func(c net.Conn) net.Conn { return slowConn{c, on} }
	cfg.hooks = h
	return cfg
}

// midway waits until c reported progress of transfer id past done bytes.
func (c *tc) midway(id string, done int64) {
	c.t.Helper()
	c.waitLong(EventFileProgress, func(e Event) bool {
		return e.File != nil && e.File.ID == id && e.Progress.Done >= done && !e.Paused
	})
}

// TestFileResumeCut: the chat socket breaks mid-transfer; the transfer
// pauses, resumes on the reopened chat from the receiver's verified
// offset, and the receiver gets at most one chunk more than the file.
func TestFileResumeCut(t *testing.T) {
	checkGoroutines(t)
	var slow atomic.Bool
	slow.Store(true)
	a, b := keyedPair(t,
		func(addr string) Config { return slowed(fileCfg(t, addr, "alice"), &slow) },
		func(addr string) Config { return fileCfg(t, addr, "bob") })
	const size = 24 << 20
	path, sum := makeFile(t, t.TempDir(), size)
	id, _ := a.SendFile("bob", path)
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	b.acceptOffer("alice", id)
	b.midway(id, 4<<20)
	a.mu.Lock()
	a.chats["bob"].l.conn.Close() // the Wi-Fi dropped the socket
	a.mu.Unlock()
	a.waitLong(EventFileProgress, func(e Event) bool { return e.Paused && e.File.ID == id })
	slow.Store(false)
	checkReceived(t, a, b, id, sum)
	rx := b.fx.rx.Load()
	t.Logf("receiver got %d chunk bytes for %d, sender sent %d", rx, size, a.fx.tx.Load())
	if rx > size+transfer.ChunkSize {
		t.Fatalf("receiver got %d bytes for a file of %d: more than one chunk re-sent", rx, size)
	}
}

// TestFileResumeReceiverRestart: the receiver's app is closed mid-transfer
// and started again with the same Downloads and identity: the transfer
// resumes from the partial file without asking again.
func TestFileResumeReceiverRestart(t *testing.T) {
	checkGoroutines(t)
	var slow atomic.Bool
	slow.Store(true)
	ts := startServer(t)
	a := dial(t, slowed(fileCfg(t, ts.Addr, "alice"), &slow))
	bcfg := fileCfg(t, ts.Addr, "bob")
	b := dial(t, bcfg)
	a.waitKey("bob")
	b.waitKey("alice")
	a.waitCaps("bob")
	const size = 24 << 20
	path, sum := makeFile(t, t.TempDir(), size)
	id, _ := a.SendFile("bob", path)
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	b.acceptOffer("alice", id)
	b.midway(id, 4<<20)
	b.Close()
	rx1 := b.fx.rx.Load()
	a.wait(EventPeerLeft, peerIs("bob"))
	slow.Store(false)
	b2 := dial(t, bcfg)
	b2.reopened("alice")
	e := b2.waitLong(EventFileDone, fileIs(id))
	a.waitLong(EventFileDone, fileIs(id))
	if fileSum(t, e.File.Path) != sum {
		t.Fatal("SHA-256 mismatch")
	}
	rx := rx1 + b2.fx.rx.Load()
	t.Logf("receivers got %d chunk bytes for %d", rx, size)
	if rx > size+transfer.ChunkSize {
		t.Fatalf("receivers got %d bytes for %d", rx, size)
	}
	if b2.count(EventFileOffer) != 0 {
		t.Fatal("the resumed transfer was offered again to the user")
	}
}

// TestFileResumeSenderRestart: the sender's app is closed mid-transfer and
// started again with the same FileState: the transfer resumes.
func TestFileResumeSenderRestart(t *testing.T) {
	checkGoroutines(t)
	const size = 24 << 20
	r := senderGone(t, size, 4<<20)
	b, sum, id, acfg := r.b, r.sum, r.id, r.acfg
	r.slow.Store(false)
	a2 := dial(t, acfg)
	if fs := a2.Files(); len(fs) != 1 || fs[0].ID != id {
		t.Fatalf("after the restart: %+v", fs)
	}
	b.reopened("alice")
	e := b.waitLong(EventFileDone, fileIs(id))
	a2.waitLong(EventFileDone, fileIs(id))
	if fileSum(t, e.File.Path) != sum {
		t.Fatal("SHA-256 mismatch")
	}
	rx := b.fx.rx.Load()
	t.Logf("receiver got %d chunk bytes for %d", rx, size)
	if rx > size+transfer.ChunkSize {
		t.Fatalf("receiver got %d bytes for %d", rx, size)
	}
	if ents, _ := os.ReadDir(acfg.FileState); len(ents) != 0 {
		t.Fatalf("file state left: %v", ents)
	}
}

// TestFileDecline: a declined file fails on the sender's side with
// ErrFileDeclined, and nothing is written.
func TestFileDecline(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config { return fileCfg(t, addr, "alice") },
		func(addr string) Config { return fileCfg(t, addr, "bob") })
	path, _ := makeFile(t, t.TempDir(), 1000)
	id, _ := a.SendFile("bob", path)
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	b.wait(EventFileOffer, fileIs(id))
	if err := b.DeclineFile("alice", id); err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventFileFailed, fileIs(id)); !errors.Is(e.Err, ErrFileDeclined) {
		t.Fatalf("failed with %v", e.Err)
	}
	if err := b.AcceptFile("alice", id); !errors.Is(err, ErrNoTransfer) {
		t.Fatalf("accept after decline: %v", err)
	}
	if ents, _ := os.ReadDir(b.cfg.Downloads); len(ents) != 0 {
		t.Fatalf("written: %v", ents)
	}
}

// TestFileTooLarge: an offer above MaxFileSize is declined (too_large)
// before anything is written; a peer without files gets ErrNoFiles.
func TestFileTooLarge(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config { return fileCfg(t, addr, "alice") },
		func(addr string) Config {
			cfg := fileCfg(t, addr, "bob")
			cfg.MaxFileSize = 1 << 20
			return cfg
		})
	path, _ := makeFile(t, t.TempDir(), 1<<20+1)
	id, _ := a.SendFile("bob", path)
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	if e := b.wait(EventFileFailed, fileIs(id)); !errors.Is(e.Err, transfer.ErrTooLarge) {
		t.Fatalf("bob: %v", e.Err)
	}
	if e := a.wait(EventFileFailed, fileIs(id)); !errors.Is(e.Err, ErrFileDeclined) {
		t.Fatalf("alice: %v", e.Err)
	}
	if ents, _ := os.ReadDir(b.cfg.Downloads); len(ents) != 0 {
		t.Fatalf("written: %v", ents)
	}
	c := dial(t, testConfig(b.cfg.Server, "carol")) // no identity: no files
	a.waitCaps("carol")
	if _, err := a.SendFile("carol", path); !errors.Is(err, ErrNoFiles) {
		t.Fatalf("to a peer without files: %v", err)
	}
	if _, err := c.SendFile("alice", path); !errors.Is(err, ErrNoFiles) {
		t.Fatalf("without an identity: %v", err)
	}
}

// TestFileParked: a file to a peer who is away is parked in the server's
// mailbox and delivered, verified, when it comes back.
func TestFileParked(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	a := dial(t, fileCfg(t, ts.Addr, "alice"))
	bcfg := fileCfg(t, ts.Addr, "bob")
	b := dial(t, bcfg)
	a.waitKey("bob")
	b.Close()
	a.wait(EventPeerLeft, peerIs("bob"))
	path, sum := makeFile(t, t.TempDir(), 1<<20+5)
	id, err := a.SendFile("bob", path)
	if err != nil {
		t.Fatal(err)
	}
	a.waitLong(EventFileProgress, func(e Event) bool { return e.File.ID == id && e.File.Parked && e.Progress.Done > 0 })
	b2 := dial(t, bcfg)
	e := b2.waitLong(EventFileDone, fileIs(id))
	if !e.File.Parked || fileSum(t, e.File.Path) != sum {
		t.Fatalf("received %+v", e.File)
	}
	a.waitLong(EventFileDone, fileIs(id))
}

// TestFileParkedRefused: a parked file above the mailbox's bound fails
// with ErrMailbox.
func TestFileParkedRefused(t *testing.T) {
	checkGoroutines(t)
	ts := servertest.NewServer(t, server.Config{Name: "test", MailBytes: 256 << 10})
	a := dial(t, fileCfg(t, ts.Addr, "alice"))
	b := dial(t, fileCfg(t, ts.Addr, "bob"))
	a.waitKey("bob")
	b.Close()
	a.wait(EventPeerLeft, peerIs("bob"))
	path, _ := makeFile(t, t.TempDir(), 1<<20)
	id, _ := a.SendFile("bob", path)
	if e := a.waitLong(EventFileFailed, fileIs(id)); !errors.Is(e.Err, ErrMailbox) {
		t.Fatalf("failed with %v", e.Err)
	}
}

// TestFileHostile: chunks for an unknown transfer, before FILE_ACCEPT's
// answer matters, and out of order end that transfer (EventFileFailed),
// never the chat or the process.
func TestFileHostile(t *testing.T) {
	checkGoroutines(t)
	direct := func(addr, nick string) Config {
		cfg := fileCfg(t, addr, nick)
		cfg.NoRelay = true // one path: the chat does not move under the injections
		return cfg
	}
	a, b := keyedPair(t,
		func(addr string) Config { return direct(addr, "alice") },
		func(addr string) Config { return direct(addr, "bob") })
	openChat(t, a, b)
	inject := func(m wire.Message) {
		a.mu.Lock()
		send(a.chats["bob"].l, m, 0)
		a.mu.Unlock()
	}
	inject(wire.FileChunk{ID: "nosuch", Offset: 0, Data: []byte("junk")})
	offer := wire.FileOffer{ID: "evil1", Size: 1000, MIME: "text/plain", Name: "../../etc/passwd"}
	inject(offer)
	e := b.wait(EventFileOffer, fileIs("evil1"))
	if e.File.Name != "etc_passwd" && filepath.Base(e.File.Name) != e.File.Name {
		t.Fatalf("name %q not sanitised", e.File.Name)
	}
	if err := b.AcceptFile("alice", "evil1"); err != nil {
		t.Fatal(err)
	}
	b.waitReceiving("alice", "evil1")
	inject(wire.FileChunk{ID: "evil1", Offset: 100, Data: []byte("out of order")})
	if e := b.wait(EventFileFailed, fileIs("evil1")); !errors.Is(e.Err, transfer.ErrOffset) {
		t.Fatalf("failed with %v", e.Err)
	}
	inject(wire.FileOffer{ID: "evil2", Size: 10, MIME: "text/plain", Name: "x"})
	b.wait(EventFileOffer, fileIs("evil2"))
	b.AcceptFile("alice", "evil2")
	b.waitReceiving("alice", "evil2")
	inject(wire.FileChunk{ID: "evil2", Offset: 0, Data: make([]byte, 11)})
	if e := b.wait(EventFileFailed, fileIs("evil2")); !errors.Is(e.Err, transfer.ErrSize) {
		t.Fatalf("failed with %v", e.Err)
	}
	if _, err := a.Send("bob", "still here"); err != nil {
		t.Fatal(err)
	}
	b.wait(EventChatMsg, func(e Event) bool { return e.Text == "still here" })
	b.Close() // its goroutines are done with the partial files
	if ents, _ := os.ReadDir(b.cfg.Downloads); len(ents) != 0 {
		t.Fatalf("left in downloads: %v", ents)
	}
}

// waitReceiving waits until c accepted transfer id from peer and opened
// its partial file (polling the table).
func (c *tc) waitReceiving(peer, id string) {
	c.t.Helper()
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); {
		c.fx.mu.Lock()
		x := c.fx.xs[xkey(false, foldKey(peer), id)]
		ok := x != nil && x.state == xReceiving
		c.fx.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling the table
	}
	c.t.Fatalf("%s: transfer %s not accepted", c.Nick(), id)
}

// reopened waits until the chat with peer is open again, accepting its
// invite if one comes (a chat the peer left without LEFT_CHAT is taken
// back without asking).
func (c *tc) reopened(peer string) {
	c.t.Helper()
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); {
		c.hmu.Lock()
		c.all = c.Poll(c.all)
		for len(c.used) < len(c.all) {
			c.used = append(c.used, false)
		}
		for i, e := range c.all {
			if c.used[i] || e.Peer != peer {
				continue
			}
			switch e.Kind {
			case EventInvite:
				c.used[i] = true
				c.Accept(peer)
			case EventChatOpen:
				c.used[i] = true
				c.hmu.Unlock()
				return
			}
		}
		c.hmu.Unlock()
		select {
		case <-c.Events():
		case <-time.After(50 * time.Millisecond):
		}
	}
	c.t.Fatalf("%s: chat with %s not reopened; events: %s", c.Nick(), peer, c.history())
}

// benchFiles returns two keyed clients that take files, on a server
// that relays fast (relay: no datagram gets through), with an open chat
// on the path asked for.
func benchFiles(b *testing.B, relay bool) (a, c *tc) {
	ts := servertest.NewServer(b, server.Config{Name: "bench", RelayRate: 1 << 30, RelayBurst: 64 << 20})
	acfg, ccfg := fileCfg(b, ts.Addr, "ana"), fileCfg(b, ts.Addr, "bob")
	if relay {
		acfg, ccfg = isolated(acfg, nil), isolated(ccfg, nil)
	} else {
		acfg.NoRelay, ccfg.NoRelay = true, true
	}
	a, c = dial(b, acfg), dial(b, ccfg)
	a.waitKey("bob")
	c.waitKey("ana")
	a.waitCaps("bob")
	c.waitCaps("ana")
	openChat(b, a, c)
	want := RouteDirect
	if relay {
		want = RouteRelay
	}
	if r := a.Route("bob"); r != want {
		b.Fatalf("route %v, want %v", r, want)
	}
	return a, c
}

// benchFile sends size bytes per op; besides the rate it reports the CPU
// time of the process (both clients and the server) per op, the peak heap
// in use over a base taken before the first op, and the process's peak
// resident size (VmHWM, Linux).
func benchFile(b *testing.B, relay bool, size int64) {
	a, c := benchFiles(b, relay)
	path, _ := makeFile(b, b.TempDir(), size)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := heapPeak(b)
	cpu0 := cpuTime()
	b.SetBytes(size)
	b.ResetTimer()
	defer func() {
		b.StopTimer()
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(int64(peak())-int64(base))/(1<<20), "heap-growth-MiB")
		if hwm := vmHWM(); hwm > 0 {
			b.ReportMetric(float64(hwm)/(1<<20), "VmHWM-MiB")
		}
	}()
	for range b.N {
		id, err := a.SendFile("bob", path)
		if err != nil {
			b.Fatal(err)
		}
		c.acceptOffer("ana", id)
		e := c.waitLong(EventFileDone, fileIs(id))
		a.waitLong(EventFileDone, fileIs(id))
		b.StopTimer()
		os.Remove(e.File.Path)
		b.StartTimer()
	}
}

// BenchmarkFileTransfer sends 256 MiB per op over a direct encrypted chat
// on loopback: hashing by the sender, chunks, writing and hashing by the
// receiver, the final check.
func BenchmarkFileTransfer(b *testing.B) { benchFile(b, false, 256<<20) }

// BenchmarkFileTransfer1GiB sends 1 GiB per op over a direct encrypted
// chat on loopback: run it with -benchtime 1x to see that the heap and
// the resident size stay flat.
func BenchmarkFileTransfer1GiB(b *testing.B) { benchFile(b, false, 1<<30) }

// vmHWM returns the process's peak resident size from /proc/self/status,
// or 0 where there is none.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkFileTransferRelay sends 64 MiB per op through the server's
// relay (its rate limit raised), end to end encrypted.
func BenchmarkFileTransferRelay(b *testing.B) { benchFile(b, true, 64<<20) }

// TestFileCancel: the sender cancels mid-transfer; the receiver hears it
// (ErrFileCancelled) and deletes its partial file.
func TestFileCancel(t *testing.T) {
	checkGoroutines(t)
	var slow atomic.Bool
	slow.Store(true)
	a, b := keyedPair(t,
		func(addr string) Config { return slowed(fileCfg(t, addr, "alice"), &slow) },
		func(addr string) Config { return fileCfg(t, addr, "bob") })
	path, _ := makeFile(t, t.TempDir(), 16<<20)
	id, _ := a.SendFile("bob", path)
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	b.acceptOffer("alice", id)
	b.midway(id, 1<<20)
	if err := a.CancelFile("bob", id); err != nil {
		t.Fatal(err)
	}
	if e := a.wait(EventFileFailed, fileIs(id)); !errors.Is(e.Err, ErrFileCancelled) {
		t.Fatalf("alice: %v", e.Err)
	}
	if e := b.wait(EventFileFailed, fileIs(id)); !errors.Is(e.Err, ErrFileCancelled) {
		t.Fatalf("bob: %v", e.Err)
	}
	if err := a.CancelFile("bob", id); !errors.Is(err, ErrNoTransfer) {
		t.Fatalf("cancel again: %v", err)
	}
	b.Close() // its goroutines are done with the partial file
	if ents, _ := os.ReadDir(b.cfg.Downloads); len(ents) != 0 {
		t.Fatalf("left in downloads: %v", ents)
	}
}

// TestFileResumeThree is issue 12's test on loopback: one transfer is
// interrupted three times — its chat socket reset, the receiver's app
// closed and started again, the sender's app closed and started again —
// and completes with the right SHA-256, the receivers having got at most
// one chunk more than the file per interruption.
func TestFileResumeThree(t *testing.T) {
	checkGoroutines(t)
	var slow atomic.Bool
	slow.Store(true)
	ts := startServer(t)
	acfg := slowed(fileCfg(t, ts.Addr, "alice"), &slow)
	acfg.FileState = t.TempDir()
	bcfg := fileCfg(t, ts.Addr, "bob")
	a, b := dial(t, acfg), dial(t, bcfg)
	a.waitKey("bob")
	b.waitKey("alice")
	a.waitCaps("bob")
	const size = 32 << 20
	path, sum := makeFile(t, t.TempDir(), size)
	id, err := a.SendFile("bob", path)
	if err != nil {
		t.Fatal(err)
	}
	b.wait(EventInvite, peerIs("alice"))
	b.Accept("alice")
	b.acceptOffer("alice", id)

	// 1. The connection is reset.
	b.midway(id, 4<<20)
	a.mu.Lock()
	a.chats["bob"].l.conn.Close()
	a.mu.Unlock()
	a.waitLong(EventFileProgress, func(e Event) bool { return e.Paused && e.File.ID == id })

	// 2. The receiver is closed without warning and started again.
	b.midway(id, 12<<20)
	b.Close()
	rx := b.fx.rx.Load()
	a.wait(EventPeerLeft, peerIs("bob"))
	b2 := dial(t, bcfg)
	b2.reopened("alice")

	// 3. The sender is closed without warning and started again.
	b2.midway(id, 20<<20)
	a.Close()
	b2.wait(EventPeerLeft, peerIs("alice"))
	slow.Store(false)
	a2 := dial(t, acfg)
	b2.reopened("alice")

	e := b2.waitLong(EventFileDone, fileIs(id))
	a2.waitLong(EventFileDone, fileIs(id))
	if fileSum(t, e.File.Path) != sum {
		t.Fatal("SHA-256 mismatch")
	}
	rx += b2.fx.rx.Load()
	t.Logf("receivers got %d chunk bytes for a file of %d (%d extra)", rx, size, rx-size)
	if rx > size+3*transfer.ChunkSize {
		t.Fatalf("receivers got %d bytes for %d: more than one chunk re-sent per interruption", rx, size)
	}
	if b2.count(EventFileOffer) != 0 {
		t.Fatal("the resumed transfer was offered again to the user")
	}
}

// TestFileHeapFlat: 64 MiB go directly between two clients on loopback
// with the right SHA-256, and neither side's heap grows with the file:
// the in-use heap stays within a few windows of where it started.
func TestFileHeapFlat(t *testing.T) {
	checkGoroutines(t)
	a, b := keyedPair(t,
		func(addr string) Config { return fileCfg(t, addr, "alice") },
		func(addr string) Config { return fileCfg(t, addr, "bob") })
	openChat(t, a, b)
	const size = 64 << 20
	path, sum := makeFile(t, t.TempDir(), size)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := heapPeak(t)
	id, err := a.SendFile("bob", path)
	if err != nil {
		t.Fatal(err)
	}
	b.acceptOffer("alice", id)
	checkReceived(t, a, b, id, sum)
	top := peak()
	growth := int64(top) - int64(base)
	t.Logf("heap in use: %d MiB before, %d MiB at most during a %d MiB transfer", base>>20, top>>20, size>>20)
	// The window, the receiver's queue, the links' buffers: a few MiB.
	if growth > size/4 {
		t.Fatalf("heap grew by %d MiB for a file of %d MiB", growth>>20, size>>20)
	}
}

// heapPeak samples runtime.MemStats.HeapInuse every 10 ms until the
// function it returns is called, which returns the largest sample.
func heapPeak(t testing.TB) func() uint64 {
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var top uint64
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapInuse)
			select {
			case <-stop:
				done <- top
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	var top uint64
	f := func() uint64 {
		once.Do(func() { close(stop); top = <-done })
		return top
	}
	t.Cleanup(func() { f() })
	return f
}
