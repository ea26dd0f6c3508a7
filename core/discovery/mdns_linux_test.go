package discovery

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"peerchat/core/discovery/discoverytest"
)

// TestAnnounceLoopback announces a server on the loopback interface and
// finds it there with a raw DNS-SD query.
func TestAnnounceLoopback(t *testing.T) {
	lo := loopbackIface(t)
	a, err := Announce(AnnounceConfig{
		Instance: "Test server 1.0", Port: 4321, Host: "testhost",
		IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Iface: lo,
	})
	if err != nil {
		t.Fatalf("announce on %s: %v", lo.Name, err)
	}
	defer a.Close()
	ans := discoverytest.QueryLoopback(t, "Test server 1-0")
	for _, want := range [][]byte{
		[]byte("\x08testhost\x05local"), // SRV target
		{0x10, 0xe1},                    // SRV port 4321
		[]byte("\x09version=2"),         // TXT
		{127, 0, 0, 1},                  // A
	} {
		if !bytes.Contains(ans, want) {
			t.Errorf("answer lacks %q: %q", want, ans)
		}
	}
}

func loopbackIface(t *testing.T) *net.Interface {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 && ifc.Flags&net.FlagUp != 0 {
			return &ifc
		}
	}
	t.Fatal("no loopback interface")
	return nil
}
