// Package netbackend implements ui.Backend over the client core
// (peerchat/core/client) and LAN discovery (peerchat/core/discovery).
package netbackend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"

	"peerchat/core/client"
	"peerchat/core/discovery"
	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/host"
	"peerchat/ui"
)

// Config configures a Backend.
type Config struct {
	Logger *slog.Logger // nil: discard
	// ListenAddr is the IP the client's peer listeners bind to; "" means all.
	ListenAddr string
	// ProbeExtra are addresses probed besides the LAN broadcast (e.g. 127.0.0.1:12345).
	ProbeExtra []netip.AddrPort
	// HostName is the name a hosted server announces; "" means the host name.
	HostName string
}

// Backend is a ui.Backend over the real network. It is safe for concurrent use.
type Backend struct {
	cfg Config
}

var _ ui.Backend = (*Backend)(nil)

// New returns a Backend.
func New(cfg Config) *Backend {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{cfg: cfg}
}

func (b *Backend) clientConfig(server, nick string, notify func()) client.Config {
	cc := client.DefaultConfig(server, nick)
	cc.Notify = notify
	cc.Logger = b.cfg.Logger.With("part", "client")
	cc.ListenAddr = b.cfg.ListenAddr
	return cc
}

// Connect dials server as nick. Its errors wrap ui.ErrNickTaken, ui.ErrRefused,
// ui.ErrTimeout or ui.ErrUnreachable where they apply.
func (b *Backend) Connect(ctx context.Context, server, nick string, notify func()) (ui.Session, error) {
	c, err := client.Dial(ctx, b.clientConfig(server, nick, notify))
	if err != nil {
		return nil, classify(fmt.Errorf("connect to %s as %q: %w", server, nick, err))
	}
	return c, nil
}

// Host starts a server in this process (server/host: on the default port, or
// a free one when it is taken, with discovery and mDNS) and connects to it
// as nick. With Config.ListenAddr set, the server and its discovery
// responder bind that IP too (on loopback, mDNS stays on loopback). Its
// errors are classified as Connect's.
func (b *Backend) Host(ctx context.Context, nick string, notify func()) (ui.Session, error) {
	name := b.cfg.HostName
	if name == "" {
		name, _ = os.Hostname()
	}
	cc := b.clientConfig("", nick, notify)
	hc := host.Config{
		Server:  server.Config{Name: name},
		AnyPort: true,
		Client:  &cc,
		Logger:  b.cfg.Logger.With("part", "host"),
	}
	if ip := b.cfg.ListenAddr; ip != "" {
		hc.Addr = net.JoinHostPort(ip, strconv.Itoa(wire.DefaultServerPort))
		hc.DiscoveryAddr = net.JoinHostPort(ip, strconv.Itoa(wire.DiscoveryPort))
	}
	h, err := host.Start(ctx, hc)
	if err != nil {
		return nil, classify(fmt.Errorf("host as %q: %w", nick, err))
	}
	return &hosted{Client: h.Client, h: h}, nil
}

// hosted is the session of a server we host: closing it stops the server.
type hosted struct {
	*client.Client
	h *host.Host
}

func (s *hosted) ServerAddr() string { return s.h.Addr() }
func (s *hosted) Close() error       { return s.h.Close() }

// Probe lists the PeerChat servers that answer on the LAN.
func (b *Backend) Probe(ctx context.Context) ([]ui.Server, error) {
	found, err := discovery.Probe(ctx, discovery.ProbeConfig{Port: wire.DiscoveryPort, Extra: b.cfg.ProbeExtra})
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	return dedupe(found), nil
}

// dedupe lists each server once: a server on this machine answers both on
// loopback (ProbeExtra) and on the LAN; the LAN address is the one to keep,
// since it is the one others use too.
func dedupe(found []discovery.Found) []ui.Server {
	type key struct {
		name string
		port uint16
	}
	lan := map[key]bool{}
	for _, f := range found {
		if !f.Addr.Addr().IsLoopback() {
			lan[key{f.Name, f.Addr.Port()}] = true
		}
	}
	out := make([]ui.Server, 0, len(found))
	for _, f := range found {
		if f.Addr.Addr().IsLoopback() && lan[key{f.Name, f.Addr.Port()}] {
			continue
		}
		out = append(out, ui.Server{Name: f.Name, Addr: f.Addr.String(), Peers: f.Peers, RTT: f.RTT})
	}
	return out
}

// classify wraps err with the ui error that explains it.
func classify(err error) error {
	var ne *client.NickError
	var nerr net.Error
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return fmt.Errorf("%w: %w", ui.ErrUnknownHost, err)
	case errors.Is(err, client.ErrNicknameTaken):
		return fmt.Errorf("%w: %w", ui.ErrNickTaken, err)
	case errors.As(err, &ne):
		return err
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: %w", ui.ErrRefused, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return fmt.Errorf("%w: %w", ui.ErrTimeout, err)
	case errors.Is(err, client.ErrServerUnreachable):
		return fmt.Errorf("%w: %w", ui.ErrUnreachable, err)
	}
	return err
}
