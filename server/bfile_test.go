package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"peerchat/core/wire"
)

// imageBytes returns n pseudo-random bytes.
func imageBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{7})
	r.Read(b)
	return b
}

// postImage sends the frames of a post of data under fid.
func (c *client) postImage(fid, mime, name string, data []byte) {
	c.t.Helper()
	sum := sha256.Sum256(data)
	c.send(string(wire.ImagePost{ID: fid, Size: int64(len(data)), SHA256: sum, MIME: mime, Name: name}.AppendPayload(nil)))
	for off := 0; off < len(data); off += wire.ImageChunk {
		end := min(off+wire.ImageChunk, len(data))
		c.send(string(wire.ImageData{ID: fid, Offset: int64(off), Data: wire.EncodeImageData(data[off:end])}.AppendPayload(nil)))
	}
	c.send("BIMG_END " + fid)
}

// writeImage writes the frames of a post of data under fid to nc.
func writeImage(nc net.Conn, fid, mime, name string, data []byte) error {
	sum := sha256.Sum256(data)
	nc.SetWriteDeadline(time.Now().Add(time.Minute))
	if err := wire.WriteFrame(nc, wire.ImagePost{ID: fid, Size: int64(len(data)), SHA256: sum, MIME: mime, Name: name}.AppendPayload(nil)); err != nil {
		return err
	}
	for off := 0; off < len(data); off += wire.ImageChunk {
		end := min(off+wire.ImageChunk, len(data))
		if err := wire.WriteFrame(nc, wire.ImageData{ID: fid, Offset: int64(off), Data: wire.EncodeImageData(data[off:end])}.AppendPayload(nil)); err != nil {
			return err
		}
	}
	return wire.WriteFrame(nc, []byte("BIMG_END "+fid))
}

// receiveImage reads one picture (BIMG, BIMG_DATA…, BIMG_END), skipping
// noise and broadcasts, and returns its header, its bytes and the
// BIMG_END; a BIMG_DROP ends it early (returned as the last message).
func (c *client) receiveImage() (wire.Image, []byte, wire.Message) {
	c.t.Helper()
	head, data, last, err := c.readImage()
	if err != nil {
		c.t.Fatal(err)
	}
	return head, data, last
}

// readImage is receiveImage for any goroutine: it returns what fails.
func (c *client) readImage() (wire.Image, []byte, wire.Message, error) {
	var head wire.Image
	var buf bytes.Buffer
	for {
		b, err := c.rd.ReadFrame()
		if err != nil {
			return head, nil, nil, err
		}
		p := string(b)
		if isNoise(p) || strings.HasPrefix(p, "BCAST ") {
			continue
		}
		m, err := wire.Parse(b)
		if err != nil {
			return head, nil, nil, err
		}
		switch m := m.(type) {
		case wire.Image:
			head = m
		case wire.ImageData:
			if m.ID != head.ID || m.Offset != int64(buf.Len()) {
				return head, nil, nil, fmt.Errorf("data %s at %d, want %s at %d", m.ID, m.Offset, head.ID, buf.Len())
			}
			d, err := wire.DecodeImageData(m.Data)
			if err != nil {
				return head, nil, nil, err
			}
			buf.Write(d)
		case wire.ImageEnd, wire.ImageDrop:
			return head, buf.Bytes(), m, nil
		default:
			return head, nil, nil, fmt.Errorf("unexpected %q", p)
		}
	}
}

// imageClient registers nick and says HELLO with hello's features, then
// reads BIMG_LIMIT if it listed images.
func imageClient(t testing.TB, addr, nick, hello string) *client {
	c := dial(t, addr)
	if hello == "" {
		c.send("REGISTER " + nick + " 1")
		c.send("PORT " + nick + " 2")
		c.expect(welcome)
		return c
	}
	c.register(nick, 1, 2)
	c.send(hello)
	if strings.Contains(hello, " images") {
		for p := c.next(); !strings.HasPrefix(p, "BIMG_LIMIT "); p = c.next() {
			if !isNoise(p) {
				t.Fatalf("%s: got %q, want BIMG_LIMIT", nick, p)
			}
		}
	}
	return c
}

// Everyone hears of a picture once: images clients get it whole, with the
// broadcast sequence number; the sender its BIMG_OK; v2 clients without
// images a BCAST text line, base clients a BROADCAST one, in the order of
// broadcasts.
func TestImagePostRelayed(t *testing.T) {
	cfg := testConfig()
	cfg.RelayRate, cfg.RelayBurst = 1e9, 1<<20
	s, addr := startServer(t, cfg)
	alice := imageClient(t, addr, "alice", "HELLO 2 bcast notice images")
	bob := imageClient(t, addr, "bob", "HELLO 2 bcast notice images")
	carol := imageClient(t, addr, "carol", "HELLO 2 bcast notice")
	dave := imageClient(t, addr, "dave", "")
	waitFor(t, "four peers", func() bool { return s.NumPeers() == 4 })

	data := imageBytes(300_000)
	alice.send("BROADCAST before")
	alice.postImage("p1", "image/png", "cat.png", data)
	alice.send("BROADCAST after")

	for _, c := range []*client{alice, bob, carol} {
		if p := c.data(); !strings.HasSuffix(p, " alice before") {
			t.Fatalf("got %q", p)
		}
	}
	head, got, end := bob.receiveImage()
	if head.From != "alice" || head.Name != "cat.png" || head.MIME != "image/png" || head.Size != int64(len(data)) || head.SHA256 != sha256.Sum256(data) {
		t.Fatalf("BIMG %+v", head)
	}
	if !bytes.Equal(got, data) || end != (wire.ImageEnd{ID: head.ID, Seq: 2}) {
		t.Fatalf("got %d bytes, then %#v", len(got), end)
	}
	alice.expectData("BIMG_OK p1 2")
	carol.expectData("BCAST 2 1700000000123 alice posted a picture: cat.png")
	dave.expectPrefix("JOINED ") // nobody else is noise for a base client
	for _, want := range []string{"BROADCAST alice: before", "BROADCAST alice: posted a picture: cat.png", "BROADCAST alice: after"} {
		for {
			if p := dave.next(); !strings.HasPrefix(p, "JOINED ") {
				if p != want {
					t.Fatalf("dave got %q, want %q", p, want)
				}
				break
			}
		}
	}
	for _, c := range []*client{alice, bob, carol} {
		if p := c.data(); !strings.HasSuffix(p, " alice after") {
			t.Fatalf("got %q", p)
		}
	}
	if st := s.Stats(); st.Images != 1 || st.ImageDrops != 0 {
		t.Fatalf("stats: %d images, %d drops", st.Images, st.ImageDrops)
	}
}

// The server refuses what it does not take, with BIMG_FAIL to the sender;
// a recipient of a post that fails midway, or whose sender leaves, gets
// BIMG_DROP cancelled.
func TestImageLimits(t *testing.T) {
	cfg := testConfig()
	cfg.ImageBytes = 100_000
	cfg.BroadcastBurst, cfg.BroadcastRate = 3, 1e-9
	s, addr := startServer(t, cfg)
	alice := imageClient(t, addr, "alice", "HELLO 2 bcast notice images")
	carol := imageClient(t, addr, "carol", "HELLO 2 bcast notice")
	waitFor(t, "two peers", func() bool { return s.NumPeers() == 2 })
	// BIMG_LIMIT says the configured limit.
	bob := dial(t, addr)
	bob.register("bob", 1, 2)
	bob.send("HELLO 2 bcast notice images")
	for p := bob.next(); p != "BIMG_LIMIT 100000"; p = bob.next() {
		if !isNoise(p) {
			t.Fatalf("got %q", p)
		}
	}
	waitFor(t, "three peers", func() bool { return s.NumPeers() == 3 })

	sum := hex.EncodeToString(make([]byte, 32))
	alice.send("BIMG_POST big 100001 " + sum + " image/png a.png")
	alice.expectData("BIMG_FAIL big too_large")
	alice.send("BIMG_POST svg 10 " + sum + " image/svg+xml a.svg")
	alice.expectData("BIMG_FAIL svg bad")
	alice.send("BIMG_DATA nope 0 AAAA")
	alice.expectDataPrefix("NOTICE bad_command ")
	carol.send("BIMG_POST c 10 " + sum + " image/png a.png")
	carol.expectDataPrefix("NOTICE unknown_command ")

	// Out of order: the post fails, bob hears it will not come.
	alice.send("BIMG_POST p1 10 " + sum + " image/png a.png")
	alice.send("BIMG_POST p2 10 " + sum + " image/png a.png")
	alice.expectData("BIMG_FAIL p2 busy")
	alice.send("BIMG_DATA p1 3 AAAA")
	alice.expectData("BIMG_FAIL p1 bad")
	head, _, end := bob.receiveImage()
	if end != (wire.ImageDrop{ID: head.ID, Reason: wire.ImageCancelled}) {
		t.Fatalf("bob got %#v", end)
	}
	// Past the size.
	alice.send("BIMG_POST p3 2 " + sum + " image/png a.png")
	alice.send("BIMG_DATA p3 0 AAAA")
	alice.expectData("BIMG_FAIL p3 bad")
	if _, _, end := bob.receiveImage(); end.(wire.ImageDrop).Reason != wire.ImageCancelled {
		t.Fatalf("bob got %#v", end)
	}
	// Over the broadcast rate (burst 3: p1, p3 and this one's broadcast).
	alice.send("BROADCAST hi")
	alice.data()
	alice.send("BIMG_POST p4 2 " + sum + " image/png a.png")
	alice.expectData("BIMG_FAIL p4 rate_limited")

	// The sender leaves mid-post.
	eve := imageClient(t, addr, "eve", "HELLO 2 bcast notice images")
	eve.send("BIMG_POST e1 20 " + sum + " image/png a.png")
	eve.send("BIMG_DATA e1 0 AAAA")
	eve.send("PING x")
	eve.expectData("PONG x") // the data was handled
	eve.nc.Close()
	h2, got, end := bob.receiveImage()
	if h2.From != "eve" || len(got) != 3 || end != (wire.ImageDrop{ID: h2.ID, Reason: wire.ImageCancelled}) {
		t.Fatalf("bob got %+v %d %#v", h2, len(got), end)
	}
}

// expectDataPrefix reads the next payload that is not noise and checks
// that it starts with prefix.
func (c *client) expectDataPrefix(prefix string) {
	c.t.Helper()
	if got := c.data(); !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("got %q, want prefix %q", got, prefix)
	}
}

// A recipient that does not read is dropped from the picture (BIMG_DROP
// overflow) once its queue holds half of QueueBytes: its queue never grows
// past QueueBytes, it is not closed, and the others get the picture whole.
func TestImageSlowRecipient(t *testing.T) {
	cfg := testConfig()
	cfg.RelayRate, cfg.RelayBurst = 1e9, 1<<20
	cfg.QueueBytes = 256 << 10
	cfg.WriteTimeout = 10 * time.Second // the drop comes first
	s, addr := startServer(t, cfg)
	alice := imageClient(t, addr, "alice", "HELLO 2 bcast notice images")
	bob := imageClient(t, addr, "bob", "HELLO 2 bcast notice images")
	slow := imageClient(t, addr, "slow", "HELLO 2 bcast notice images")
	waitFor(t, "three peers", func() bool { return s.NumPeers() == 3 })
	s.mu.RLock()
	sc := s.peers["slow"]
	s.mu.RUnlock()

	data := imageBytes(8 << 20)
	stop, finished := make(chan struct{}), make(chan struct{})
	var maxQ int
	go func() { // watches the slow client's queue
		defer close(finished)
		for {
			select {
			case <-stop:
				return
			default:
			}
			sc.qmu.Lock()
			maxQ = max(maxQ, sc.qbytes)
			sc.qmu.Unlock()
			runtime.Gosched()
		}
	}()
	var once sync.Once
	stopWatch := func() { once.Do(func() { close(stop); <-finished }) }
	defer stopWatch()
	posted := make(chan error, 1)
	go func() { posted <- writeImage(alice.nc, "big", "image/jpeg", "big.jpg", data) }()
	type result struct {
		head wire.Image
		data []byte
		last wire.Message
		err  error
	}
	bobGot := make(chan result, 1)
	go func() {
		h, d, l, err := bob.readImage()
		bobGot <- result{h, d, l, err}
	}()
	// Once dropped, the slow client reads: it finds the drop and no end.
	waitFor(t, "the slow client dropped", func() bool { return s.Stats().ImageDrops == 1 })
	h, part, last := slow.receiveImage()
	if last != (wire.ImageDrop{ID: h.ID, Reason: wire.ImageOverflow}) || len(part) >= len(data) {
		t.Fatalf("slow got %d bytes, then %#v", len(part), last)
	}
	r := <-bobGot
	if err := <-posted; err != nil || r.err != nil {
		t.Fatal(err, r.err)
	}
	if !bytes.Equal(r.data, data) || r.last != (wire.ImageEnd{ID: r.head.ID, Seq: 1}) {
		t.Fatalf("bob got %d bytes, then %#v", len(r.data), r.last)
	}
	alice.expectData("BIMG_OK big 1")
	stopWatch()
	if maxQ > cfg.QueueBytes {
		t.Fatalf("the slow client's queue reached %d bytes", maxQ)
	}
	st := s.Stats()
	if st.ImageDrops != 1 || st.Closed[ClosedQueueOverflow] != 0 || s.NumPeers() != 3 {
		t.Fatalf("stats: %d drops, %d overflows, %d peers", st.ImageDrops, st.Closed[ClosedQueueOverflow], s.NumPeers())
	}
	alice.send("BROADCAST after")
	slow.expectData("BCAST 2 1700000000123 alice after")
	t.Logf("slow client: %d of %d bytes, queue at most %d bytes", len(part), len(data), maxQ)
}

// With replay, a picture's broadcast id comes before BIMG_END and BIMG_OK,
// and SINCE replays the picture as its text line only.
func TestImageReplayKeepsText(t *testing.T) {
	cfg := keysConfig(t)
	_, addr := startServer(t, cfg)
	const hello = "HELLO 2 notice bcast keys replay images"
	a := keysClient(t, addr, "alice", seedID(t, 2), hello)
	b := keysClient(t, addr, "bob", seedID(t, 3), hello)
	a.postImage("p1", "image/gif", "anim.gif", imageBytes(1000))
	a.expectData("BID 1")
	a.expectData("BIMG_OK p1 1")
	b.expectDataPrefix("BIMG 1 alice ")
	b.expectDataPrefix("BIMG_DATA 1 0 ")
	b.expectData("BID 1")
	b.expectData("BIMG_END 1 1")

	c := keysClient(t, addr, "carol", seedID(t, 4), hello)
	c.send("SINCE 0")
	c.expectData("BID 1")
	c.expectData(bcast(1, "alice", "posted a picture: anim.gif"))
	c.expectData("SINCE_END 1")
}

// BenchmarkImagePost measures one 8 MiB picture posted to three readers
// through the server on loopback (relay rate unlimited): bytes are the
// picture's.
func BenchmarkImagePost(b *testing.B) {
	cfg := testConfig()
	cfg.RelayRate, cfg.RelayBurst = 1e12, 1<<20
	s, addr := startServer(b, cfg)
	alice := imageClient(b, addr, "alice", "HELLO 2 bcast notice images")
	var rs []*client
	for _, n := range []string{"r1", "r2", "r3"} {
		rs = append(rs, imageClient(b, addr, n, "HELLO 2 bcast notice images"))
	}
	waitFor(b, "four peers", func() bool { return s.NumPeers() == 4 })
	data := imageBytes(8 << 20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := range b.N {
		errs := make(chan error, len(rs)+1)
		go func() { errs <- writeImage(alice.nc, "p"+itoa(i), "image/png", "p.png", data) }()
		for _, r := range rs {
			go func() {
				_, d, last, err := r.readImage()
				if err == nil && (len(d) != len(data) || last.Verb() != wire.VerbImageEnd) {
					err = fmt.Errorf("got %d bytes, then %v", len(d), last)
				}
				errs <- err
			}()
		}
		for range len(rs) + 1 {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		alice.expectData("BIMG_OK p" + itoa(i) + " " + itoa(i+1))
	}
}
