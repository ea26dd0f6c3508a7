package wire

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func TestNewReaderSizeKeepsDeadlines(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	r := NewReaderSize(a, 1024, 100)
	if got := r.br.Size(); got != MinReaderSize {
		t.Fatalf("buffer size %d, want %d", got, MinReaderSize)
	}
	r.IdleTimeout = 20 * time.Millisecond
	done := make(chan error, 1)
	go func() { _, err := r.ReadFrame(); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("ReadFrame on a silent conn: %v, want deadline exceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("IdleTimeout not applied: ReadFrame still blocked")
	}
}

func TestNewReaderSizeReads(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go WriteFrame(b, []byte("hello"))
	r := NewReaderSize(a, 1024, 8192)
	p, err := r.ReadFrame()
	if err != nil || string(p) != "hello" {
		t.Fatalf("ReadFrame = %q, %v; want hello", p, err)
	}
}
