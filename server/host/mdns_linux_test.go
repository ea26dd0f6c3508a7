package host

import (
	"bytes"
	"context"
	"net"
	"testing"

	"peerchat/core/discovery/discoverytest"
)

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
	ans := discoverytest.QueryLoopback(t, "host mDNS test")
	if !bytes.Contains(ans, []byte{byte(port >> 8), byte(port)}) || !bytes.Contains(ans, []byte{127, 0, 0, 1}) {
		t.Fatalf("answer lacks port %d or 127.0.0.1: %q", port, ans)
	}
}
