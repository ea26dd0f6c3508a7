//go:build unix

package discovery

import "golang.org/x/sys/unix"

// shareAddr lets other sockets (another mDNS responder or browser on the
// host) bind the same address and port.
func shareAddr(fd uintptr) error {
	if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return err
	}
	return unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
}
