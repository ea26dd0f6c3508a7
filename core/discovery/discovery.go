// Package discovery finds PeerChat servers on the local network: a UDP probe
// (PEERCHAT_DISCOVER, answered by PEERCHAT_SERVER) and DNS-SD over mDNS
// (wire.MDNSService).
package discovery

import (
	"context"
	"net"
	"net/netip"
	"time"

	"peerchat/core/wire"
)

// Found is one server that answered a probe.
type Found struct {
	Name    string
	Addr    netip.AddrPort // TCP address to connect to
	Peers   int
	Version int
	RTT     time.Duration
}

// ProbeConfig configures Probe. Zero values mean the defaults.
type ProbeConfig struct {
	Port    int              // UDP port servers listen on; wire.DiscoveryPort
	Timeout time.Duration    // how long to collect answers; DefaultProbeTimeout
	Extra   []netip.AddrPort // also probe these addresses (e.g. 127.0.0.1 in tests)
}

// DefaultProbeTimeout is how long Probe waits for answers by default.
const DefaultProbeTimeout = time.Second

// Respond answers PEERCHAT_DISCOVER probes read from pc with info() (its
// nonce replaced by the probe's), unicast to the prober, until ctx is done.
func Respond(ctx context.Context, pc net.PacketConn, info func() wire.ServerInfo) error {
	<-ctx.Done()
	return nil
}

// Probe sends a discovery probe and returns the servers that answered.
func Probe(ctx context.Context, cfg ProbeConfig) ([]Found, error) { return nil, nil }
