//go:build !unix

package server

import (
	"errors"
	"syscall"
)

var errWouldBlock = errors.New("server: write would block")

// fastWrite reports whether writeNow can write without blocking here.
const fastWrite = false

// writeNow is not available on this system: it writes nothing.
func writeNow(raw syscall.RawConn, b []byte) (int, error) { return 0, errWouldBlock }

// waitWritable is not available on this system; writeNow never is used.
func waitWritable(raw syscall.RawConn) error { return errWouldBlock }
