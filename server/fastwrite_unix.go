//go:build unix

package server

import (
	"errors"
	"syscall"
)

// errWouldBlock is what writeNow returns when the socket buffer is full.
var errWouldBlock = errors.New("server: write would block")

// fastWrite reports whether writeNow can write without blocking here.
const fastWrite = true

// writeNow makes one non-blocking write(2) of b to raw's socket and returns
// how many bytes it took. It never waits: a full socket buffer gives
// errWouldBlock (n may then be > 0 for a partial write); an error of raw
// itself (closed, write deadline passed) is returned as is, with n == 0.
func writeNow(raw syscall.RawConn, b []byte) (n int, err error) {
	var werr error
	if err := raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // never let RawConn.Write wait for writability
	}); err != nil {
		return 0, err
	}
	n = max(n, 0)
	switch {
	case werr == nil && n < len(b), errors.Is(werr, syscall.EAGAIN), errors.Is(werr, syscall.EINTR):
		return n, errWouldBlock
	}
	return n, werr
}

// waitWritable waits until raw's socket can take more bytes, or its write
// deadline passes (then it returns that error). It may return early once;
// the caller then gets errWouldBlock again and waits again.
func waitWritable(raw syscall.RawConn) error {
	waited := false
	return raw.Write(func(uintptr) bool {
		if waited {
			return true
		}
		waited = true
		return false // wait for writability
	})
}
