// Package netbackend implements ui.Backend over the client core
// (peerchat/core/client) and LAN discovery (peerchat/core/discovery).
//
// # Identities
//
// With Config.DataDir set, the device's identity (identity.LoadOrCreate),
// the keys pinned for peers and those pinned for servers are kept there and
// given to every session (client.Config.Identity, Pins, ServerPins); a
// server this device hosts keeps its own key and nicknames in the
// subfolder ServerDir. Without it, the Backend makes one identity for its
// lifetime and keeps pins in memory: chats are still encrypted, but
// nothing is remembered.
package netbackend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"peerchat/core/client"
	"peerchat/core/discovery"
	"peerchat/core/identity"
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
	// NoLAN makes Probe send nothing to the LAN: no broadcast and no mDNS
	// query, only unicast probes to ProbeExtra. Tests set it, so that they
	// send nothing outside loopback.
	NoLAN bool
	// HostName is the name a hosted server announces; "" means the host name.
	HostName string
	// DataDir is where the device identity and the pins are kept (see the
	// package doc); "" keeps nothing.
	DataDir string
	// RequireEncryption, if not nil, is read at each Connect and Host:
	// true refuses every chat that would not be end-to-end encrypted
	// (client.Config.RequireEncryption).
	RequireEncryption func() bool
	// Downloads is the directory received files are saved to
	// (client.Config.Downloads; "" refuses every file). The program
	// decides it: see DownloadsDir.
	Downloads string
	// AutoAcceptBelow, if not nil, is read at each Connect and Host: an
	// offer of at most that many bytes from a verified peer arrives
	// without asking (client.Config.AutoAcceptBelow; 0: always ask).
	AutoAcceptBelow func() int64
	// ReadReceipts, if not nil, is read at each Connect and Host: true
	// sends and takes read receipts (client.Config.ReadReceipts).
	ReadReceipts func() bool
}

// ServerDir is the subfolder of Config.DataDir where a hosted server keeps
// its key and the nicknames held by keys (host.Config.DataDir).
const ServerDir = "server"

// Backend is a ui.Backend over the real network. It is safe for concurrent use.
type Backend struct {
	cfg Config

	mu      sync.Mutex
	id      *identity.Identity // loaded (or made) at the first session
	pins    *identity.PinStore
	srvPins *identity.PinStore
}

var _ ui.Backend = (*Backend)(nil)

// New returns a Backend.
func New(cfg Config) *Backend {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{cfg: cfg}
}

func (b *Backend) clientConfig(server, nick string, notify func()) (client.Config, error) {
	cc := client.DefaultConfig(server, nick)
	cc.Notify = notify
	cc.Logger = b.cfg.Logger.With("part", "client")
	cc.ListenAddr = b.cfg.ListenAddr
	id, pins, srvPins, err := b.identity()
	if err != nil {
		return cc, err
	}
	cc.Identity, cc.Pins, cc.ServerPins = id, pins, srvPins
	if b.cfg.RequireEncryption != nil {
		cc.RequireEncryption = b.cfg.RequireEncryption()
	}
	if b.cfg.ReadReceipts != nil {
		cc.ReadReceipts = b.cfg.ReadReceipts()
	}
	b.fileConfig(&cc)
	return cc, nil
}

// identity returns the device identity and the pin stores, loading them
// from Config.DataDir (or making them in memory) at the first call. A
// failure is returned again at the next call, which tries again.
func (b *Backend) identity() (*identity.Identity, *identity.PinStore, *identity.PinStore, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.id != nil {
		return b.id, b.pins, b.srvPins, nil
	}
	dir := b.cfg.DataDir
	if dir == "" {
		id, err := identity.Generate(nil)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("device identity: %w", err)
		}
		b.id, b.pins, b.srvPins = id, identity.NewMemoryPins(), identity.NewMemoryPins()
		return b.id, b.pins, b.srvPins, nil
	}
	id, err := identity.LoadOrCreate(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("device identity: %w", err)
	}
	pins, err := identity.OpenPins(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pinned keys: %w", err)
	}
	srvPins, err := identity.OpenPinsFile(filepath.Join(dir, identity.ServerPinsFileName))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pinned server keys: %w", err)
	}
	b.id, b.pins, b.srvPins = id, pins, srvPins
	return id, pins, srvPins, nil
}

var _ ui.ReplayBackend = (*Backend)(nil)

// Connect dials server as nick. Its errors wrap ui.ErrNickTaken, ui.ErrRefused,
// ui.ErrTimeout or ui.ErrUnreachable where they apply.
func (b *Backend) Connect(ctx context.Context, server, nick string, notify func()) (ui.Session, error) {
	return b.ConnectSince(ctx, server, nick, 0, notify)
}

// ConnectSince is Connect, asking the server for the broadcasts after the
// one with server-wide id last (client.Config.LastBroadcast; 0: none).
func (b *Backend) ConnectSince(ctx context.Context, server, nick string, last uint64, notify func()) (ui.Session, error) {
	cc, err := b.clientConfig(server, nick, notify)
	cc.LastBroadcast = last
	if err != nil {
		return nil, fmt.Errorf("connect to %s as %q: %w", server, nick, err)
	}
	c, err := client.Dial(ctx, cc)
	if err != nil {
		return nil, classify(fmt.Errorf("connect to %s as %q: %w", server, nick, err))
	}
	return conn{c}, nil
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
	cc, err := b.clientConfig("", nick, notify)
	if err != nil {
		return nil, fmt.Errorf("host as %q: %w", nick, err)
	}
	hc := host.Config{
		Server:  server.Config{Name: name},
		AnyPort: true,
		Client:  &cc,
		Logger:  b.cfg.Logger.With("part", "host"),
	}
	if b.cfg.DataDir != "" {
		hc.DataDir = filepath.Join(b.cfg.DataDir, ServerDir)
	}
	if ip := b.cfg.ListenAddr; ip != "" {
		hc.Addr = net.JoinHostPort(ip, strconv.Itoa(wire.DefaultServerPort))
		hc.DiscoveryAddr = net.JoinHostPort(ip, strconv.Itoa(wire.DiscoveryPort))
	}
	h, err := host.Start(ctx, hc)
	if err != nil {
		return nil, classify(fmt.Errorf("host as %q: %w", nick, err))
	}
	return &hosted{conn: conn{h.Client}, h: h}, nil
}

// hosted is the session of a server we host: closing it stops the server.
type hosted struct {
	conn
	h *host.Host
}

func (s *hosted) ServerAddr() string { return s.h.Addr() }
func (s *hosted) Close() error       { return s.h.Close() }

// Probe lists the PeerChat servers that answer on the LAN (by broadcast
// and mDNS, unless Config.NoLAN) and at Config.ProbeExtra.
func (b *Backend) Probe(ctx context.Context) ([]ui.Server, error) {
	pc := discovery.ProbeConfig{Port: wire.DiscoveryPort, Extra: b.cfg.ProbeExtra, NoBroadcast: b.cfg.NoLAN, NoMDNS: b.cfg.NoLAN}
	found, err := discovery.Probe(ctx, pc)
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
