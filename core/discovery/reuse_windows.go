package discovery

import "syscall"

// shareAddr lets other sockets (another mDNS responder or browser on the
// host) bind the same address and port.
func shareAddr(fd uintptr) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
}
