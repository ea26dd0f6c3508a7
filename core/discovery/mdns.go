package discovery

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/mdns"

	"peerchat/core/wire"
)

// AnnounceConfig configures Announce.
type AnnounceConfig struct {
	Instance string       // service instance name, e.g. the server's name; required
	Port     int          // the server's TCP port; required
	Host     string       // host name without domain; os.Hostname() when empty
	IPs      []netip.Addr // addresses to announce; LANAddrs() when empty
	TXT      []string     // TXT records; "version=2" when nil
	Iface    *net.Interface
	Logger   *log.Logger // hashicorp/mdns's own logging; nil discards it
}

// Announcer answers mDNS queries for one wire.MDNSService instance until
// Close.
type Announcer struct{ srv *mdns.Server }

// Close stops answering. It is safe to call more than once.
func (a *Announcer) Close() error { return a.srv.Shutdown() }

// Announce starts answering DNS-SD queries over multicast DNS for
// wire.MDNSService ("_peerchat._tcp.local."): PTR, SRV (host and port), TXT
// and A records for cfg's instance. It fails when no multicast socket can be
// opened (for instance in a container without multicast).
func Announce(cfg AnnounceConfig) (*Announcer, error) {
	if cfg.Instance == "" || cfg.Port == 0 {
		return nil, fmt.Errorf("discovery: announce: instance and port are required")
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("discovery: announce: %w", err)
		}
		cfg.Host = h
	}
	if len(cfg.IPs) == 0 {
		cfg.IPs = LANAddrs()
	}
	if len(cfg.IPs) == 0 {
		cfg.IPs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	if cfg.TXT == nil {
		cfg.TXT = []string{fmt.Sprintf("version=%d", wire.Version)}
	}
	if cfg.Logger == nil {
		cfg.Logger = log.New(io.Discard, "", 0)
	}
	ips := make([]net.IP, len(cfg.IPs))
	for i, a := range cfg.IPs {
		ips[i] = net.IP(a.AsSlice())
	}
	host := dnsLabel(cfg.Host) + ".local."
	svc, err := mdns.NewMDNSService(dnsLabel(cfg.Instance), wire.MDNSService, "local.", host, cfg.Port, ips, cfg.TXT)
	if err != nil {
		return nil, fmt.Errorf("discovery: announce %q: %w", cfg.Instance, err)
	}
	srv, err := mdns.NewServer(&mdns.Config{Zone: svc, Iface: cfg.Iface, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("discovery: announce %q: %w", cfg.Instance, err)
	}
	return &Announcer{srv: srv}, nil
}

// dnsLabel makes s usable as one DNS label: no dots, at most 63 bytes.
func dnsLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '.' || r < ' ' {
			return '-'
		}
		return r
	}, s)
	for len(s) > 63 {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	if s == "" {
		s = "peerchat"
	}
	return s
}
