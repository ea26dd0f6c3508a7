package discoverytest

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"peerchat/core/wire"
)

// QueryLoopback sends one DNS-SD PTR query for wire.MDNSService to the mDNS
// group over the loopback interface only (IP_MULTICAST_IF 127.0.0.1; no
// group is joined, so nothing reaches another interface), and returns the
// first answer that names instance, or fails tb after two seconds. Where
// the kernel refuses multicast over loopback it skips tb, unless CI=true,
// where it fails.
func QueryLoopback(tb testing.TB, instance string) []byte {
	tb.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInet4Addr(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, [4]byte{127, 0, 0, 1})
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(tb.Context(), "udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	q := make([]byte, 12, 64) // header: id 0, flags 0, one question
	binary.BigEndian.PutUint16(q[4:], 1)
	for _, l := range strings.Split(wire.MDNSService+".local", ".") {
		q = append(append(q, byte(len(l))), l...)
	}
	q = append(q, 0, 0, 12, 0, 1) // root, type PTR, class IN
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	if _, err := pc.WriteTo(q, group); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("no multicast over loopback: %v", err)
		}
		tb.Skipf("no multicast over loopback here: %v", err)
	}
	label := append([]byte{byte(len(instance))}, instance...)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 9000)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			tb.Fatalf("no mDNS answer naming %q over loopback: %v", instance, err)
		}
		if bytes.Contains(buf[:n], label) {
			return bytes.Clone(buf[:n])
		}
	}
}
