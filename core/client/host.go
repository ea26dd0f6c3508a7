package client

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"peerchat/core/discovery"
	"peerchat/core/wire"
	"peerchat/server"
)

// Hosting defaults.
const (
	// DefaultHostAddr is where Host listens for clients.
	DefaultHostAddr = ":12345"
	// DefaultDiscoveryAddr is where Host answers discovery probes.
	DefaultDiscoveryAddr = ":12345"
	// hostShutdown bounds the server's shutdown in Hosted.Close.
	hostShutdown = 2 * time.Second
)

// HostConfig configures Host.
type HostConfig struct {
	// Client configures our own client; Host sets its Server field and
	// turns Reconnect on.
	Client Config
	// Name is the server's name, announced by discovery ("" for the server
	// package's default).
	Name string
	// Addr is the TCP address to serve on; "" means DefaultHostAddr. If it is
	// taken, Host serves on a free port of the same host instead.
	Addr string
	// DiscoveryAddr is the UDP address on which discovery probes are
	// answered; "" means DefaultDiscoveryAddr, "-" turns the responder off.
	// A responder that cannot bind is skipped (logged), not an error.
	DiscoveryAddr string
	// NoAnnounce turns off the DNS-SD (mDNS) announcement of the server.
	// An announcement that cannot start is skipped (logged), not an error.
	NoAnnounce bool
	Logger     *slog.Logger // nil: the Client's logger
}

// Hosted is a server run in this process plus our client registered with it.
type Hosted struct {
	Client *Client
	Server *server.Server
	// Addr is the host:port other people connect to (a LAN address when the
	// server listens on all interfaces).
	Addr string

	stop     context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
	announce *discovery.Announcer
}

// Host starts a server.Server on cfg.Addr (or a free port if it is taken),
// a discovery responder, and Dials it as cfg.Client.Nick. Close stops all of
// it.
func Host(ctx context.Context, cfg HostConfig) (*Hosted, error) {
	log := cfg.Logger
	if log == nil {
		log = cfg.Client.Logger
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := wire.ValidateNick(cfg.Client.Nick); err != nil {
		return nil, &NickError{Nick: cfg.Client.Nick, Reason: err.Error()}
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultHostAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		host, _, _ := net.SplitHostPort(addr)
		log.Info("host address taken, using a free port", "addr", addr, "err", err)
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return nil, fmt.Errorf("host on %s: %w", addr, err)
		}
	}
	srv, err := server.New(server.Config{Name: cfg.Name, Logger: log.With("part", "server")})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("host: %w", err)
	}
	sctx, stop := context.WithCancel(context.Background())
	h := &Hosted{Server: srv, stop: stop}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		srv.Serve(sctx, ln)
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	ip := ln.Addr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	if ip.IsUnspecified() {
		ip = lanIP()
	}
	h.Addr = netip.AddrPortFrom(ip, uint16(port)).String()

	if da := cfg.DiscoveryAddr; da != "-" {
		if da == "" {
			da = DefaultDiscoveryAddr
		}
		if pc, err := net.ListenPacket("udp", da); err != nil {
			log.Info("discovery responder off", "addr", da, "err", err)
		} else {
			info := func() wire.ServerInfo {
				return wire.ServerInfo{Version: wire.Version, TCPPort: port, Peers: srv.NumPeers(), Name: srv.Name()}
			}
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				if err := discovery.Respond(sctx, pc, info); err != nil {
					log.Info("discovery responder stopped", "err", err)
				}
				pc.Close()
			}()
		}
	}
	if !cfg.NoAnnounce {
		a, err := discovery.Announce(discovery.AnnounceConfig{Instance: srv.Name(), Port: port})
		if err != nil {
			log.Info("mDNS announcement off", "err", err)
		} else {
			h.announce = a
		}
	}

	ccfg := cfg.Client
	ccfg.Server = h.Addr
	ccfg.Reconnect = true
	if h.Client, err = Dial(ctx, ccfg); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Close closes our client, then shuts the server and the responder down. It
// returns once all of them have stopped. Safe to call more than once.
func (h *Hosted) Close() error {
	h.once.Do(func() {
		if h.Client != nil {
			h.Client.Close()
		}
		if h.announce != nil {
			h.announce.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), hostShutdown)
		h.Server.Shutdown(ctx)
		cancel()
		h.stop()
		h.wg.Wait()
	})
	return nil
}

// lanIP returns this machine's first LAN IPv4 address (the one others on
// the LAN reach it by), or 127.0.0.1.
func lanIP() netip.Addr {
	if ips := discovery.LANAddrs(); len(ips) > 0 {
		return ips[0]
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}
