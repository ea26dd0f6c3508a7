package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"peerchat/core/wire"
)

// queryLoopback sends one DNS-SD PTR query for wire.MDNSService to the mDNS
// group over the loopback interface only (IP_MULTICAST_IF 127.0.0.1; no
// group is joined, so nothing reaches another interface), and returns the
// first answer that names instance, or fails t after two seconds.
func queryLoopback(t *testing.T, instance string) []byte {
	t.Helper()
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
	pc, err := lc.ListenPacket(t.Context(), "udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
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
		t.Skipf("no multicast over loopback here: %v", err)
	}
	label := append([]byte{byte(len(instance))}, instance...)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 9000)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no mDNS answer naming %q over loopback: %v", instance, err)
		}
		if bytes.Contains(buf[:n], label) {
			return bytes.Clone(buf[:n])
		}
	}
}

// TestAnnounceLoopback hosts a server announced on the loopback interface
// only, and finds it there with a raw DNS-SD query.
func TestAnnounceLoopback(t *testing.T) {
	cfg := loopback("host mDNS test")
	cfg.NoAnnounce = false
	// AnnounceIface nil: a server on 127.0.0.1 is announced on loopback only.
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if !h.Announced() {
		t.Fatal("not announced on loopback")
	}
	port := h.ListenAddr().(*net.TCPAddr).Port
	ans := queryLoopback(t, "host mDNS test")
	if !bytes.Contains(ans, []byte{byte(port >> 8), byte(port)}) || !bytes.Contains(ans, []byte{127, 0, 0, 1}) {
		t.Fatalf("answer lacks port %d or 127.0.0.1: %q", port, ans)
	}
}
