package discovery

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestDNSLabel(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "peerchat",
		"Office server 1.0": "Office server 1-0",
		"a\x00b":            "a-b",
	} {
		if got := dnsLabel(in); got != want {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func testZone() zone {
	return newZone(AnnounceConfig{
		Instance: `Zoë's "server" (1.0)`, Port: 4321, Host: "desk",
		IPs: []netip.Addr{netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("fe80::1")},
		TXT: []string{"version=2"},
	})
}

// What the responder answers to a browser's PTR query is what the browser
// turns back into the server, with the instance name unescaped.
func TestZoneAnswerBrowsed(t *testing.T) {
	z := testZone()
	q := new(dns.Msg)
	q.SetQuestion("_peerchat._tcp.local.", dns.TypePTR)
	r := z.answer(q)
	if r == nil {
		t.Fatal("no answer to the service's PTR query")
	}
	wire, err := r.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var back dns.Msg
	if err := back.Unpack(wire); err != nil {
		t.Fatal(err)
	}
	var b browser
	b.add(&back, netip.MustParseAddr("10.0.0.99"), time.Millisecond)
	if len(b.found) != 1 {
		t.Fatalf("found %+v, want one server", b.found)
	}
	f := b.found[0]
	if f.Name != `Zoë's "server" (1-0)` || f.Addr != netip.MustParseAddrPort("10.0.0.7:4321") || f.Version != 2 || f.Peers != -1 {
		t.Fatalf("found %+v", f)
	}
	other := new(dns.Msg)
	other.SetQuestion("_other._tcp.local.", dns.TypePTR)
	if z.answer(other) != nil {
		t.Fatal("answered a query for another service")
	}
}

// FuzzMDNS feeds arbitrary datagrams to the responder's and the browser's
// parsing: nothing panics, and an answer is always a packable message.
func FuzzMDNS(f *testing.F) {
	z := testZone()
	q := new(dns.Msg)
	q.SetQuestion("_peerchat._tcp.local.", dns.TypePTR)
	b, _ := q.Pack()
	f.Add(b)
	if r := z.answer(q); r != nil {
		b, _ = r.Pack()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var m dns.Msg
		if m.Unpack(p) != nil {
			return
		}
		if r := z.answer(&m); r != nil {
			if _, err := r.Pack(); err != nil {
				t.Fatalf("answer does not pack: %v", err)
			}
		}
		var br browser
		br.add(&m, netip.MustParseAddr("10.0.0.1"), 0)
		for _, f := range br.found {
			if !f.Addr.IsValid() || f.Addr.Port() == 0 {
				t.Fatalf("found an unusable address: %+v", f)
			}
		}
	})
}
