// Package discovery finds PeerChat servers on the local network. Two
// mechanisms, both optional on the server side:
//
//   - a UDP probe: a client broadcasts `PEERCHAT_DISCOVER <version> <nonce>`
//     to wire.DiscoveryPort; each server answers, unicast to the prober,
//     `PEERCHAT_SERVER <version> <nonce> <tcp_port> <peers> <name>` (Respond,
//     Probe);
//   - DNS-SD over multicast DNS: servers announce wire.MDNSService
//     ("_peerchat._tcp") with PeerChat's own responder over
//     github.com/miekg/dns (Announce), so `avahi-browse -rt _peerchat._tcp`
//     and phones' service browsers list them; clients browse for it
//     (Browse) beside the probe. Answers are multicast to the mDNS group,
//     which desktop firewalls admit, where the probe's unicast answer is
//     dropped as a datagram nobody asked for.
//
// Datagrams are parsed by core/wire; anything malformed, oversized, not
// valid UTF-8 or carrying another nonce is ignored.
package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"peerchat/core/wire"
)

// Defaults.
const (
	// DefaultProbeTimeout is how long Probe collects answers.
	DefaultProbeTimeout = time.Second

	// ProbeResends is how many times Probe sends its probe (the first at
	// once, the others spread over the first half of the timeout), since
	// UDP may lose datagrams.
	ProbeResends = 3

	// MaxNonceLen is the longest nonce a Responder echoes.
	MaxNonceLen = 64

	// ReplyRate and ReplyBurst bound how many answers per second a
	// Responder sends, so it cannot be used to flood a network.
	ReplyRate  rate.Limit = 50
	ReplyBurst int        = 50
)

// ErrNoRoute is returned by Probe when no probe could be sent at all.
var ErrNoRoute = errors.New("discovery: no probe could be sent")

// Found is one server that answered a probe.
type Found struct {
	Name    string
	Addr    netip.AddrPort // TCP address to connect to: the answer's source IP and its tcp_port
	Peers   int            // registered clients when it answered; -1 when unknown (found by mDNS)
	Version int
	RTT     time.Duration // from the first probe to the answer
}

// ProbeConfig configures Probe. Zero values mean the defaults.
type ProbeConfig struct {
	Port    int              // UDP port servers listen on; wire.DiscoveryPort
	Timeout time.Duration    // how long to collect answers; DefaultProbeTimeout
	Extra   []netip.AddrPort // also probe these addresses (unicast), e.g. 127.0.0.1:port in tests
	// NoBroadcast skips 255.255.255.255 and the interfaces' broadcast
	// addresses, and mDNS, so that only Extra is probed.
	NoBroadcast bool
	// NoMDNS skips browsing mDNS (Browse) beside the probe.
	NoMDNS bool
}

// Respond answers PEERCHAT_DISCOVER probes read from pc until ctx is done
// or pc fails, and returns nil after ctx is done. The answer is info() with
// Version set to wire.Version and Nonce to the probe's, sent unicast to the
// prober; a Name too long for one datagram (wire.MaxDatagram) is cut. info
// is called once per valid probe and must be safe to call from Respond's
// goroutine. Respond does not close pc; the caller does, after it returns.
func Respond(ctx context.Context, pc net.PacketConn, info func() wire.ServerInfo) error {
	stop := context.AfterFunc(ctx, func() { pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	lim := rate.NewLimiter(ReplyRate, ReplyBurst)
	buf := make([]byte, wire.MaxDatagram+1)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("discovery: respond: %w", err)
		}
		reply := Answer(buf[:n], info)
		if reply == nil || !lim.Allow() {
			continue
		}
		pc.WriteTo(reply, from)
	}
}

// Answer returns the datagram answering probe, or nil if probe is not a
// valid PEERCHAT_DISCOVER. It is Respond's handling of one datagram.
func Answer(probe []byte, info func() wire.ServerInfo) []byte {
	if len(probe) > wire.MaxDatagram || !utf8.Valid(probe) {
		return nil
	}
	m, err := wire.Parse(probe)
	if err != nil {
		return nil
	}
	d, ok := m.(wire.Discover)
	if !ok || len(d.Nonce) > MaxNonceLen {
		return nil
	}
	si := info()
	si.Version, si.Nonce = wire.Version, d.Nonce
	if si.Name == "" {
		si.Name = "peerchat"
	}
	reply := si.AppendPayload(nil)
	for len(reply) > wire.MaxDatagram {
		over := len(reply) - wire.MaxDatagram
		name := si.Name[:max(0, len(si.Name)-over)]
		for len(name) > 0 && !utf8.ValidString(name) {
			name = name[:len(name)-1]
		}
		if name == "" {
			name = "peerchat"
		}
		si.Name = name
		reply = si.AppendPayload(nil)
	}
	return reply
}

// Probe broadcasts a PEERCHAT_DISCOVER datagram to 255.255.255.255 and to
// each up IPv4 interface's broadcast address (unless NoBroadcast), and to
// each of cfg.Extra, on cfg.Port; it returns the servers that answered with
// the probe's nonce before the timeout or ctx ended, one per address, in the
// order they answered. Meanwhile (unless NoBroadcast or NoMDNS) it browses
// mDNS (Browse), which finds servers whose answer to the probe a firewall
// drops; a server found both ways is listed once, with the probe's answer.
// It returns ErrNoRoute if no probe could be sent and mDNS found nothing.
func Probe(ctx context.Context, cfg ProbeConfig) ([]Found, error) {
	if cfg.NoBroadcast || cfg.NoMDNS {
		return probe(ctx, cfg)
	}
	var mdns []Found
	done := make(chan struct{})
	go func() {
		defer close(done)
		mdns, _ = Browse(ctx, cfg.Timeout) // mDNS is a complement: its failure is not the probe's
	}()
	found, err := probe(ctx, cfg)
	<-done
	seen := map[netip.AddrPort]bool{}
	for _, f := range found {
		seen[f.Addr] = true
	}
	for _, f := range mdns {
		if !seen[f.Addr] {
			seen[f.Addr] = true
			found = append(found, f)
		}
	}
	if len(found) > 0 && errors.Is(err, ErrNoRoute) {
		err = nil
	}
	return found, err
}

func probe(ctx context.Context, cfg ProbeConfig) ([]Found, error) {
	if cfg.Port == 0 {
		cfg.Port = wire.DiscoveryPort
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultProbeTimeout
	}
	pc, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return nil, fmt.Errorf("discovery: probe: %w", err)
	}
	defer pc.Close()
	nonce := newNonce()
	probe := wire.Discover{Version: wire.Version, Nonce: nonce}.AppendPayload(nil)

	var targets []netip.AddrPort
	if !cfg.NoBroadcast {
		targets = append(targets, netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), uint16(cfg.Port)))
		for _, b := range BroadcastAddrs() {
			targets = append(targets, netip.AddrPortFrom(b, uint16(cfg.Port)))
		}
	}
	targets = append(targets, cfg.Extra...)
	slices.SortFunc(targets, netip.AddrPort.Compare)
	targets = slices.Compact(targets)

	start := time.Now()
	deadline := start.Add(cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	stop := context.AfterFunc(ctx, func() { pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	send := func() int {
		sent := 0
		for _, t := range targets {
			if _, err := pc.WriteToUDPAddrPort(probe, t); err == nil {
				sent++
			}
		}
		return sent
	}
	if send() == 0 {
		return nil, ErrNoRoute
	}
	resends := 1
	nextSend := func() time.Time {
		return start.Add(cfg.Timeout / 2 * time.Duration(resends) / (ProbeResends - 1))
	}

	var found []Found
	seen := map[netip.AddrPort]bool{}
	buf := make([]byte, wire.MaxDatagram+1)
	for ctx.Err() == nil {
		wake := deadline
		if resends < ProbeResends && nextSend().Before(wake) {
			wake = nextSend()
		}
		pc.SetReadDeadline(wake)
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		now := time.Now()
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return found, fmt.Errorf("discovery: probe: %w", err)
			}
			if !now.Before(deadline) || ctx.Err() != nil {
				break
			}
			if resends < ProbeResends && !now.Before(nextSend()) {
				send()
				resends++
			}
			continue
		}
		f, ok := parseAnswer(buf[:n], nonce, from)
		if !ok || seen[f.Addr] {
			continue
		}
		seen[f.Addr] = true
		f.RTT = now.Sub(start)
		found = append(found, f)
	}
	return found, nil
}

// parseAnswer decodes a PEERCHAT_SERVER datagram from from, and reports
// whether it is a valid answer to the probe with nonce.
func parseAnswer(p []byte, nonce string, from netip.AddrPort) (Found, bool) {
	if len(p) > wire.MaxDatagram || !utf8.Valid(p) {
		return Found{}, false
	}
	m, err := wire.Parse(p)
	if err != nil {
		return Found{}, false
	}
	si, ok := m.(wire.ServerInfo)
	if !ok || si.Nonce != nonce || si.TCPPort == 0 {
		return Found{}, false
	}
	return Found{
		Name:    si.Name,
		Addr:    netip.AddrPortFrom(from.Addr().Unmap(), uint16(si.TCPPort)),
		Peers:   si.Peers,
		Version: si.Version,
	}, true
}

func newNonce() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// BroadcastAddrs returns the IPv4 broadcast address of every up,
// broadcast-capable, non-loopback interface.
func BroadcastAddrs() []netip.Addr {
	var out []netip.Addr
	for _, p := range interfacePrefixes() {
		a := p.Addr().As4()
		bits := p.Bits()
		v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		v |= (1<<(32-bits) - 1)
		out = append(out, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	return out
}

// LANAddrs returns the IPv4 address of every up, non-loopback interface:
// the addresses phones on the LAN can reach this host at.
func LANAddrs() []netip.Addr {
	var out []netip.Addr
	for _, p := range interfacePrefixes() {
		out = append(out, p.Addr())
	}
	return out
}

func interfacePrefixes() []netip.Prefix {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			p, ok := netipPrefix(ipn)
			if ok && p.Addr().Is4() && p.Bits() < 32 {
				out = append(out, p)
			}
		}
	}
	return out
}

func netipPrefix(ipn *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(ipn.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, _ := ipn.Mask.Size()
	if a.Is4() && len(ipn.Mask) == net.IPv6len {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones), true
}
