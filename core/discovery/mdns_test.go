package discovery

import (
	"context"
	"io"
	"log"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hashicorp/mdns"

	"peerchat/core/wire"
)

// TestAnnounceLookup announces a server and finds it with hashicorp/mdns's
// own query, on the first multicast-capable interface. It is skipped where
// multicast sockets cannot be opened.
func TestAnnounceLookup(t *testing.T) {
	ifc := multicastIface(t)
	a, err := Announce(AnnounceConfig{
		Instance: "Test server 1.0", Port: 4321, Host: "testhost",
		IPs: []netip.Addr{netip.MustParseAddr("192.0.2.77")}, Iface: ifc,
	})
	if err != nil {
		t.Skipf("no multicast here: %v", err)
	}
	defer a.Close()

	entries := make(chan *mdns.ServiceEntry, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go func() {
		mdns.QueryContext(ctx, &mdns.QueryParam{
			Service: wire.MDNSService, Domain: "local", Interface: ifc,
			Entries: entries, DisableIPv6: true, Timeout: 3 * time.Second,
			Logger: log.New(io.Discard, "", 0),
		})
	}()
	for {
		select {
		case e := <-entries:
			if e.Port != 4321 || !e.AddrV4.Equal(net.ParseIP("192.0.2.77")) {
				t.Logf("other entry %+v", e)
				continue
			}
			if e.Name != `Test\ server\ 1-0._peerchat._tcp.local.` && e.Name != "Test server 1-0._peerchat._tcp.local." {
				t.Errorf("name %q", e.Name)
			}
			if len(e.InfoFields) != 1 || e.InfoFields[0] != "version=2" {
				t.Errorf("TXT %q", e.InfoFields)
			}
			return
		case <-ctx.Done():
			t.Skip("no answer over multicast on this host (multicast loopback may be filtered)")
		}
	}
}

func multicastIface(t *testing.T) *net.Interface {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skip(err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagMulticast != 0 {
			return &ifc
		}
	}
	t.Skip("no multicast interface")
	return nil
}

func TestDNSLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"srv", "srv"},
		{"a.b", "a-b"},
		{"", "peerchat"},
		{"tab\there", "tab-here"},
	}
	for _, tt := range tests {
		if got := dnsLabel(tt.in); got != tt.want {
			t.Errorf("dnsLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := dnsLabel(string(make([]rune, 0)) + "ééééééééééééééééééééééééééééééééééééééééééé")
	if len(long) > 63 {
		t.Errorf("dnsLabel kept %d bytes", len(long))
	}
}
