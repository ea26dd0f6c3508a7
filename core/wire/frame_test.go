package wire

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestHeaderBytes(t *testing.T) {
	got := AppendFrame(nil, []byte("hi"))
	want := []byte{0x32, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x68, 0x69}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame(hi) = %q, want %q", got, want)
	}
	if got := Encode(Broadcast{"hi"}); string(got) != "12        BROADCAST hi" {
		t.Fatalf("Encode = %q", got)
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		h    string
		n    int64
		fail bool
	}{
		{"2         ", 2, false},
		{"         2", 2, false},
		{"   42     ", 42, false},
		{"0         ", 0, false},
		{"9999999999", 9999999999, false},
		{"          ", 0, true},
		{"-1        ", 0, true},
		{"+1        ", 0, true},
		{"1_0       ", 0, true},
		{"1 0       ", 0, true},
		{"1a        ", 0, true},
		{"1\x00        ", 0, true},
		{"\t1        ", 0, true},
		{"1\n        ", 0, true},
		{"short", 0, true},
	}
	for _, tt := range tests {
		n, err := ParseHeader([]byte(tt.h))
		if tt.fail {
			if err == nil || !errors.Is(err, ErrBadHeader) {
				t.Errorf("ParseHeader(%q) = %d, %v; want ErrBadHeader", tt.h, n, err)
			}
			continue
		}
		if err != nil || n != tt.n {
			t.Errorf("ParseHeader(%q) = %d, %v; want %d", tt.h, n, err, tt.n)
		}
	}
}

func frames(ps ...string) []byte {
	var b []byte
	for _, p := range ps {
		b = AppendFrame(b, []byte(p))
	}
	return b
}

func readAll(r *Reader) ([]string, error) {
	var out []string
	for {
		p, err := r.ReadFrame()
		if err != nil {
			return out, err
		}
		out = append(out, string(p))
	}
}

func TestReaderSplitReads(t *testing.T) {
	big := strings.Repeat("é", 20000) // larger than the bufio buffer
	stream := frames("hello", "", "BROADCAST héllo wörld", big, "x")
	want := []string{"hello", "BROADCAST héllo wörld", big, "x"} // the empty frame is skipped
	sources := map[string]func() io.Reader{
		"whole":   func() io.Reader { return bytes.NewReader(stream) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"half":    func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			got, err := readAll(NewReader(src(), DefaultPeerPayload))
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d frames, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("frame %d differs (len %d vs %d)", i, len(got[i]), len(want[i]))
				}
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		max    int
		want   error
	}{
		{"bad header", "abc       hello", 100, ErrBadHeader},
		{"negative", "-5        hello", 100, ErrBadHeader},
		{"too large", "101       ", 100, ErrTooLarge},
		{"huge", "9999999999", 100, ErrTooLarge},
		{"invalid utf8", "2         \xff\xfe", 100, ErrInvalidUTF8},
		{"half header", "12  ", 100, io.ErrUnexpectedEOF},
		{"half payload", "5         abc", 100, io.ErrUnexpectedEOF},
		{"clean end", "", 100, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.stream), tt.max).ReadFrame()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if errors.Is(tt.want, io.EOF) || errors.Is(tt.want, io.ErrUnexpectedEOF) {
				return
			}
			if !IsProtocolError(err) {
				t.Fatalf("err %v is not a protocol error", err)
			}
		})
	}
}

// A header that announces more than the limit must be refused without
// reading (or allocating) the payload.
func TestReaderRefusesBeforeReading(t *testing.T) {
	src := &countingReader{r: strings.NewReader("999999999 " + strings.Repeat("x", 1000))}
	_, err := NewReader(iotest.OneByteReader(src), 64).ReadFrame()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if src.n > HeaderLen {
		t.Fatalf("read %d bytes before refusing, want at most %d", src.n, HeaderLen)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// A peer that sends half a frame and goes silent must not hold the reader
// beyond FrameTimeout, while an idle connection between frames may wait.
func TestReaderHalfFrameTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	r := NewReader(s, 100)
	r.FrameTimeout = 50 * time.Millisecond
	if _, err := c.Write([]byte("5         ab")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.ReadFrame(); done <- err }()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFrame still blocked 5 s after a half frame")
	}
}

func TestReaderIdleTimeout(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	r := NewReader(b, 100)
	r.IdleTimeout = 20 * time.Millisecond
	_, err := r.ReadFrame()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestReaderNoAllocSteadyState(t *testing.T) {
	msg := Encode(ChatMsg{"alice", strings.Repeat("x", 1000)})
	stream := bytes.Repeat(msg, 300)
	src := bytes.NewReader(stream)
	r := NewReader(src, DefaultPeerPayload)
	r.ReadFrame() // warm up
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadFrame allocates %.1f times per frame, want 0", allocs)
	}
	buf := make([]byte, 0, 2048)
	m := ChatMsg{"alice", strings.Repeat("x", 1000)}
	allocs = testing.AllocsPerRun(200, func() { buf = AppendMessage(buf[:0], m) })
	if allocs != 0 {
		t.Fatalf("AppendMessage allocates %.1f times per frame, want 0", allocs)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(frames("hello", "", "BROADCAST x"), 64, uint8(0))
	f.Add([]byte("5         ab"), 64, uint8(1))
	f.Add([]byte("99999     "), 64, uint8(2))
	f.Add([]byte(" 3 \xff\xfe\xfd"), 64, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, max int, mode uint8) {
		if max < 0 || max > 1<<16 {
			return
		}
		var src io.Reader = bytes.NewReader(data)
		switch mode % 3 {
		case 1:
			src = iotest.OneByteReader(src)
		case 2:
			src = iotest.HalfReader(src)
		}
		r := NewReader(src, max)
		for i := 0; ; i++ {
			p, err := r.ReadFrame()
			if err != nil {
				return
			}
			if len(p) == 0 || len(p) > max {
				t.Fatalf("frame %d: %d bytes with limit %d", i, len(p), max)
			}
		}
	})
}

func BenchmarkReadFrame(b *testing.B) {
	msg := Encode(ChatMsg{"alice", strings.Repeat("x", 1024)})
	stream := bytes.Repeat(msg, 1000)
	src := bytes.NewReader(stream)
	r := NewReader(src, DefaultPeerPayload)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1000 == 0 {
			src.Reset(stream)
		}
		if _, err := r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	m := ChatMsg{"alice", strings.Repeat("x", 1024)}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessage(buf[:0], m)
	}
	b.SetBytes(int64(len(buf)))
}

func TestSplitFrame(t *testing.T) {
	stream := frames("hello", "", "BROADCAST héllo")
	var got []string
	buf := stream[:0:0]
	for i := 0; i < len(stream); i++ { // feed one byte at a time
		buf = append(buf, stream[i])
		for {
			p, n, err := SplitFrame(buf, 64)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			got = append(got, string(p))
			buf = buf[n:]
		}
	}
	want := []string{"hello", "", "BROADCAST héllo"}
	if strings.Join(got, "|") != strings.Join(want, "|") || len(buf) != 0 {
		t.Fatalf("got %q (rest %q), want %q", got, buf, want)
	}
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"x         ", ErrBadHeader},
		{"65        ", ErrTooLarge}, // refused before the payload arrives
		{"1         \xff", ErrInvalidUTF8},
	} {
		if _, _, err := SplitFrame([]byte(tt.in), 64); !errors.Is(err, tt.want) {
			t.Errorf("SplitFrame(%q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

// SplitFrame and Reader agree on every input.
func FuzzSplitFrame(f *testing.F) {
	f.Add(frames("hello", "", "BROADCAST x"), 64)
	f.Add([]byte("5         ab"), 64)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		r := NewReader(bytes.NewReader(data), max)
		buf := data
		for {
			p, n, serr := SplitFrame(buf, max)
			if serr == nil && n > 0 && len(p) == 0 {
				buf = buf[n:] // Reader skips empty frames
				continue
			}
			q, rerr := r.ReadFrame()
			if serr != nil || n == 0 {
				if rerr == nil {
					t.Fatalf("Reader read %q where SplitFrame stopped (%v)", q, serr)
				}
				if serr != nil && !errors.Is(rerr, errors.Unwrap(serr)) {
					t.Fatalf("SplitFrame: %v, Reader: %v", serr, rerr)
				}
				return
			}
			if rerr != nil || !bytes.Equal(p, q) {
				t.Fatalf("SplitFrame %q, Reader %q, %v", p, q, rerr)
			}
			buf = buf[n:]
		}
	})
}
