package e2e

import (
	"bytes"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"peerchat/core/wire"
)

// chatLine is a typical chat payload (~60 bytes), as the client core sends.
var chatLine = []byte(`CHAT_MSG2 1 1764536400000 "alice" see you at the meeting at 3`)

// reportQuantiles reports the p50 and p99 of ds in µs.
func reportQuantiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// msgConn is one end of a chat, encrypted or plaintext.
type msgConn interface {
	WriteMessage([]byte) error
	ReadMessage() ([]byte, error)
	Close() error
	// appendMsg appends m's frames to dst; raw is the connection.
	appendMsg(dst, m []byte) ([]byte, error)
	raw() net.Conn
}

func (s *Session) appendMsg(dst, m []byte) ([]byte, error) { return s.Seal(dst, m) }
func (s *Session) raw() net.Conn                           { return s.conn }

// plainConn is today's plaintext chat: one frame per message.
type plainConn struct {
	c net.Conn
	r *wire.Reader
}

func (p *plainConn) WriteMessage(m []byte) error { return wire.WriteFrame(p.c, m) }
func (p *plainConn) ReadMessage() ([]byte, error) {
	return p.r.ReadFrame()
}
func (p *plainConn) Close() error { return p.c.Close() }
func (p *plainConn) appendMsg(dst, m []byte) ([]byte, error) {
	return wire.AppendFrame(dst, m), nil
}
func (p *plainConn) raw() net.Conn { return p.c }

// plain, as a benchmark's suite, is plaintext frames.
const plain Cipher = 0xff

func benchPair(b *testing.B, c Cipher) (msgConn, msgConn) {
	if c != plain {
		return sessionsWith(b, c)
	}
	ci, cr := tcpPair(b)
	return &plainConn{ci, wire.NewReader(ci, wire.DefaultPeerPayload)},
		&plainConn{cr, wire.NewReader(cr, wire.DefaultPeerPayload)}
}

func benchRoundTrip(b *testing.B, c Cipher) {
	a, z := benchPair(b, c)
	done := make(chan struct{})
	go func() { // the peer acknowledges each message, as CHAT_ACK does
		defer close(done)
		ack := []byte("CHAT_ACK 1")
		for {
			if _, err := z.ReadMessage(); err != nil {
				return
			}
			if err := z.WriteMessage(ack); err != nil {
				return
			}
		}
	}()
	ds := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := a.WriteMessage(chatLine); err != nil {
			b.Fatal(err)
		}
		if _, err := a.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	b.StopTimer()
	a.Close()
	z.Close()
	<-done
	reportQuantiles(b, ds)
}

// BenchmarkRoundTrip: a chat line and its acknowledgement over loopback
// TCP, encrypted with ChaChaPoly.
func BenchmarkRoundTrip(b *testing.B) { benchRoundTrip(b, ChaChaPoly) }

// BenchmarkRoundTripAESGCM is BenchmarkRoundTrip with AESGCM.
func BenchmarkRoundTripAESGCM(b *testing.B) { benchRoundTrip(b, AESGCM) }

// BenchmarkRoundTripPlain is the same over plaintext frames, for comparison
// on the same machine at the same time.
func BenchmarkRoundTripPlain(b *testing.B) { benchRoundTrip(b, plain) }

func benchThroughput(b *testing.B, c Cipher) {
	a, z := benchPair(b, c)
	msg := bytes.Repeat([]byte("x"), 1024)
	copy(msg, "CHAT_MSG2 1 1764536400000 \"alice\" ")
	errc := make(chan error, 1)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		// Like the client core's link: frames of many messages appended to
		// one buffer, written in one call (here 32 messages per write).
		var buf []byte
		for i := 0; i < b.N; {
			buf = buf[:0]
			for j := 0; j < 32 && i < b.N; j, i = j+1, i+1 {
				var err error
				if buf, err = a.appendMsg(buf, msg); err != nil {
					errc <- err
					return
				}
			}
			if _, err := a.raw().Write(buf); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := range b.N {
		m, err := z.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if len(m) != len(msg) {
			b.Fatal("message " + strconv.Itoa(i) + " has the wrong size")
		}
	}
	b.StopTimer()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	a.Close()
	z.Close()
}

// BenchmarkThroughput1KiB: 1 KiB messages one way over loopback TCP,
// encrypted with ChaChaPoly (MB/s is of plaintext), sealed with Seal in
// batches of 32 per write, read with ReadMessage.
func BenchmarkThroughput1KiB(b *testing.B) { benchThroughput(b, ChaChaPoly) }

// BenchmarkThroughput1KiBAESGCM is BenchmarkThroughput1KiB with AESGCM.
func BenchmarkThroughput1KiBAESGCM(b *testing.B) { benchThroughput(b, AESGCM) }

// BenchmarkThroughput1KiBPlain is the same over plaintext frames.
func BenchmarkThroughput1KiBPlain(b *testing.B) { benchThroughput(b, plain) }

// BenchmarkHandshake: a complete XX handshake (ChaChaPoly) over a fresh
// loopback TCP connection (the connection's setup is not counted), as the
// initiator sees it.
func BenchmarkHandshake(b *testing.B) { benchHandshake(b, ChaChaPoly) }

// BenchmarkHandshakeAESGCM is BenchmarkHandshake with AESGCM.
func BenchmarkHandshakeAESGCM(b *testing.B) { benchHandshake(b, AESGCM) }

func benchHandshake(b *testing.B, c Cipher) {
	a, z := ident(b, 0), ident(b, 32)
	ic := Config{Local: a, Expect: expectKey(z.Public()), Cipher: c}
	rc := Config{Local: z, Expect: expectKey(a.Public()), Ciphers: bothCiphers}
	ds := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ci, cr := tcpPair(b)
		b.StartTimer()
		t0 := time.Now()
		ri, rr := handshakePair(b, ci, cr, ic, rc)
		ds = append(ds, time.Since(t0))
		if ri.err != nil || rr.err != nil {
			b.Fatal(ri.err, rr.err)
		}
		b.StopTimer()
		ri.s.Close()
		rr.s.Close()
		b.StartTimer()
	}
	b.StopTimer()
	reportQuantiles(b, ds)
}

// BenchmarkSealOpen1KiB: the CPU cost of one 1 KiB message, sealed and
// opened in one goroutine without I/O (both ends' work, no syscalls), with
// ChaChaPoly.
func BenchmarkSealOpen1KiB(b *testing.B) { benchSealOpen(b, ChaChaPoly) }

// BenchmarkSealOpen1KiBAESGCM is BenchmarkSealOpen1KiB with AESGCM.
func BenchmarkSealOpen1KiBAESGCM(b *testing.B) { benchSealOpen(b, AESGCM) }

func benchSealOpen(b *testing.B, c Cipher) {
	_, ini, res := genuineWith(b, c)
	tx := &Session{send: unsafeCipherOf(ini.send.UnsafeKey(), c)}
	rx := &Session{recv: unsafeCipherOf(res.recv.UnsafeKey(), c)}
	msg := bytes.Repeat([]byte("x"), 1024)
	var buf []byte
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for range b.N {
		var err error
		if buf, err = tx.Seal(buf[:0], msg); err != nil {
			b.Fatal(err)
		}
		p, n, err := wire.SplitFrame(buf, wire.DefaultPeerPayload)
		if err != nil || n != len(buf) {
			b.Fatal(err)
		}
		if _, ok, err := rx.Open(p); err != nil || !ok {
			b.Fatal(err)
		}
	}
}

// BenchmarkPack7 and BenchmarkUnpack7: the text-safe packing of 1 KiB.
func BenchmarkPack7(b *testing.B) {
	src := bytes.Repeat([]byte{0xa5, 0x5a, 0x01}, 350)[:1049]
	var dst []byte
	b.SetBytes(int64(len(src)))
	for range b.N {
		dst = appendPack7(dst[:0], src)
	}
}

func BenchmarkUnpack7(b *testing.B) {
	p := appendPack7(nil, bytes.Repeat([]byte{0xa5, 0x5a, 0x01}, 350)[:1049])
	var dst []byte
	b.SetBytes(1049)
	for range b.N {
		dst, _ = appendUnpack7(dst[:0], p)
	}
}
