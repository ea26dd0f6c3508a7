// Package host runs a PeerChat server the way a LAN needs it: the server
// (peerchat/server) on a TCP listener, the discovery responder that answers
// PEERCHAT_DISCOVER probes on UDP, the DNS-SD announcement of
// wire.MDNSService ("_peerchat._tcp") over multicast DNS, and optionally a
// client of our own registered with it. It is the one place where that
// setup is written: cmd/peerchat-server, the app's "host on this device"
// and peerchat-cli -host all use Start.
//
// # What Start binds
//
//   - TCP Config.Addr (default: every interface, wire.DefaultServerPort)
//     for the server. This is the only socket that must be had: when it
//     cannot be bound Start fails, unless Config.AnyPort lets it listen on
//     a free port of the same IP instead (logged at level Info).
//   - UDP Config.DiscoveryAddr (default: every interface, wire.DiscoveryPort)
//     over IPv4 ("udp4": discovery probes are IPv4 broadcasts) for the
//     responder, which answers with the server's Info. When it cannot be
//     bound (another server on this machine holds it) the responder is
//     skipped and logged at level Warn; Start goes on. Host.DiscoveryAddr
//     says which address it got, nil when skipped or off.
//   - The mDNS port 5353 (IPv4 and IPv6 multicast groups) for the
//     announcement, through github.com/hashicorp/mdns: on
//     Config.AnnounceIface; else, for a server bound to a loopback address,
//     on the loopback interface only; else on every multicast interface.
//     It only answers queries and sends nothing unasked. When no multicast
//     socket can be opened (a container, a phone without multicast
//     permission) it is skipped and logged at level Warn. Host.Announced
//     says whether it runs.
//   - With Config.Client, our client's own sockets (its peer-to-peer
//     listeners on client.Config.ListenAddr); failing those fails Start.
//
// Config.NoDiscovery and Config.NoAnnounce turn the responder and the
// announcement off.
//
// # Lifetime
//
// Shutdown (and Close) stops everything in this order: our own client
// (which leaves its chats), the announcement, the server (every client is
// told ERROR server shutting down and its queue drains until the context
// ends), the responder; it returns once every goroutine Start started has
// ended. The only exception is the mDNS library's receive goroutines, which
// it does not let anyone wait for: they end as soon as their sockets are
// closed, right after the announcement stops.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"peerchat/core/client"
	"peerchat/core/discovery"
	"peerchat/core/identity"
	"peerchat/core/wire"
	"peerchat/server"
)

// DefaultCloseTimeout is how long Close lets the server's queues drain.
const DefaultCloseTimeout = 2 * time.Second

// Config configures Start. The zero Config hosts a server on the default
// port with discovery and mDNS and no client of our own.
type Config struct {
	// Server configures the server. A nil Server.Logger means Logger.
	Server server.Config

	// Addr is the TCP address to serve on; "" means every interface,
	// port wire.DefaultServerPort.
	Addr string
	// AnyPort lets Start listen on a free port of Addr's IP when Addr
	// cannot be bound (the port is taken), instead of failing.
	AnyPort bool

	// DiscoveryAddr is the UDP address on which discovery probes are
	// answered; "" means every IPv4 interface, port wire.DiscoveryPort. It is
	// bound with network "udp4". A responder that cannot bind
	// is skipped and logged, never an error.
	DiscoveryAddr string
	// NoDiscovery turns the discovery responder off.
	NoDiscovery bool

	// NoAnnounce turns the mDNS announcement off. An announcement that
	// cannot start is skipped and logged, never an error.
	NoAnnounce bool
	// AnnounceIface restricts the announcement to one interface; nil means
	// the loopback interface when Addr is a loopback address, else every
	// multicast interface.
	AnnounceIface *net.Interface

	// DataDir is the server's data directory: its key (identity.json,
	// identity.LoadOrCreate) and its nicks held by keys
	// (server.NickFile), unless Server.Identity and Server.Nicks are set,
	// and its mailbox and kept broadcasts (server.MailFile) unless
	// Server.Mail is set; it is made (mode 0700) if need be, and the
	// databases are closed at Shutdown. "" keeps nothing: with no Server.Identity the server
	// gets a key made for this run, and holds nicks in memory.
	DataDir string

	// Client, if not nil, is our own client: Start dials the hosted server
	// with it (its Server set to Host.Addr, Reconnect turned on) and fails,
	// stopping everything, if it cannot register. Its Logger, when nil,
	// is Logger.
	Client *client.Config

	// Logger receives what Start skipped and why; nil discards.
	Logger *slog.Logger
}

// Host is a running server with its discovery responder and announcement.
// Its methods are safe for concurrent use.
type Host struct {
	// Server is the hosted server.
	Server *server.Server
	// Client is our own client, registered with Server; nil unless
	// Config.Client was set. Shutdown closes it.
	Client *client.Client

	addrs     []netip.AddrPort
	ln        net.Addr
	disc      net.Addr
	announcer *discovery.Announcer
	log       *slog.Logger
	nicks     *server.NickStore // opened by Start from DataDir; closed by Shutdown
	mail      *server.MailStore // likewise

	stop     context.CancelFunc // ends the responder and Serve
	wg       sync.WaitGroup     // Serve and the responder
	served   chan struct{}      // closed when Serve returned
	serveErr error              // Serve's error; read after served is closed

	shutOnce sync.Once
	shutDone chan struct{}
	shutErr  error
}

// announce is discovery.Announce; tests replace it so that nothing is sent.
var announce = discovery.Announce

// Start binds and starts what cfg asks for (see the package documentation)
// and returns once the server accepts connections and, with cfg.Client, our
// client is registered. ctx bounds Start only (our client's Dial); the
// Host runs until Shutdown or Close. On error nothing is left running.
func Start(ctx context.Context, cfg Config) (*Host, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = ":" + strconv.Itoa(wire.DefaultServerPort)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && cfg.AnyPort {
		ip, _, serr := net.SplitHostPort(addr)
		if serr != nil {
			return nil, fmt.Errorf("host: listen on %s: %w", addr, err)
		}
		log.Info("address taken, listening on a free port", "addr", addr, "err", err)
		ln, err = net.Listen("tcp", net.JoinHostPort(ip, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("host: listen on %s: %w", addr, err)
	}
	scfg := cfg.Server
	if scfg.Logger == nil {
		scfg.Logger = log
	}
	nicks, mail, err := serverData(&scfg, cfg.DataDir)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("host: %w", err)
	}
	srv, err := server.New(scfg)
	if err != nil {
		ln.Close()
		if nicks != nil {
			nicks.Close()
		}
		if mail != nil {
			mail.Close()
		}
		return nil, fmt.Errorf("host: %w", err)
	}
	tcp := ln.Addr().(*net.TCPAddr).AddrPort()
	ctx2, stop := context.WithCancel(context.Background())
	h := &Host{
		Server:   srv,
		nicks:    nicks,
		mail:     mail,
		addrs:    connectAddrs(tcp),
		ln:       ln.Addr(),
		log:      log,
		stop:     stop,
		served:   make(chan struct{}),
		shutDone: make(chan struct{}),
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer close(h.served)
		h.serveErr = srv.Serve(ctx2, ln)
	}()

	if !cfg.NoDiscovery {
		h.respond(ctx2, cfg.DiscoveryAddr, tcp.Port())
	}
	if !cfg.NoAnnounce {
		ifc := cfg.AnnounceIface
		if ifc == nil && tcp.Addr().Unmap().IsLoopback() {
			ifc = loopbackIface() // reachable over loopback only: not announced to the LAN
		}
		a, err := announce(discovery.AnnounceConfig{
			Instance: srv.Name(), Port: int(tcp.Port()), IPs: announceIPs(h.addrs), Iface: ifc,
		})
		if err != nil {
			log.Warn("mDNS announcement skipped", "err", err)
		} else {
			h.announcer = a
			log.Info("announcing over mDNS", "service", wire.MDNSService, "instance", srv.Name())
		}
	}

	if cfg.Client != nil {
		cc := *cfg.Client
		cc.Server = h.Addr()
		cc.Reconnect = true
		if cc.Logger == nil {
			cc.Logger = log
		}
		if h.Client, err = client.Dial(ctx, cc); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

// serverData fills in cfg's Identity, Nicks and Mail from dir (see
// Config.DataDir), and returns the stores it opened, which the caller
// closes, or nil.
func serverData(cfg *server.Config, dir string) (*server.NickStore, *server.MailStore, error) {
	var err error
	if dir == "" {
		if cfg.Identity == nil {
			cfg.Identity, err = identity.Generate(nil)
		}
		return nil, nil, err
	}
	if cfg.Identity == nil {
		if cfg.Identity, err = identity.LoadOrCreate(dir); err != nil {
			return nil, nil, err
		}
	}
	var nicks *server.NickStore
	if cfg.Nicks == nil {
		if nicks, err = server.OpenNickStore(dir); err != nil {
			return nil, nil, err
		}
		cfg.Nicks = nicks
	}
	var mail *server.MailStore
	if cfg.Mail == nil {
		if mail, err = server.OpenMailStore(dir); err != nil {
			if nicks != nil {
				nicks.Close()
			}
			return nil, nil, err
		}
		cfg.Mail = mail
	}
	return nicks, mail, nil
}

// respond starts the discovery responder on addr ("" for the default),
// answering with the server's Info and the TCP port tcpPort; it logs and
// returns when the socket cannot be bound.
func (h *Host) respond(ctx context.Context, addr string, tcpPort uint16) {
	if addr == "" {
		addr = ":" + strconv.Itoa(wire.DiscoveryPort)
	}
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		h.log.Warn("discovery responder skipped", "addr", addr, "err", err)
		return
	}
	h.disc = pc.LocalAddr()
	h.log.Info("answering discovery probes", "udp", h.disc.String())
	// The server knows its port once Serve has started; the listener is
	// ours already, so a probe answered before that still gets it.
	info := func() wire.ServerInfo {
		si := h.Server.Info()
		si.TCPPort = int(tcpPort)
		return si
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer pc.Close()
		if err := discovery.Respond(ctx, pc, info); err != nil {
			h.log.Warn("discovery responder stopped", "err", err)
		}
	}()
}

// connectAddrs returns the addresses others reach a listener at tcp by:
// its IP when it is bound to one, else this machine's LAN addresses, or
// 127.0.0.1 when it has none.
func connectAddrs(tcp netip.AddrPort) []netip.AddrPort {
	ip := tcp.Addr().Unmap()
	if !ip.IsUnspecified() {
		return []netip.AddrPort{netip.AddrPortFrom(ip, tcp.Port())}
	}
	var out []netip.AddrPort
	for _, a := range discovery.LANAddrs() {
		out = append(out, netip.AddrPortFrom(a, tcp.Port()))
	}
	if len(out) == 0 {
		out = append(out, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), tcp.Port()))
	}
	return out
}

// loopbackIface returns the first up loopback interface, or nil.
func loopbackIface() *net.Interface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 && ifc.Flags&net.FlagUp != 0 {
			return &ifc
		}
	}
	return nil
}

// announceIPs returns the IPv4 addresses of addrs, which mDNS announces; nil
// (discovery's default) when there are none.
func announceIPs(addrs []netip.AddrPort) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if a.Addr().Is4() {
			out = append(out, a.Addr())
		}
	}
	return out
}

// Addr returns the host:port other people connect to: the first of Addrs.
func (h *Host) Addr() string { return h.addrs[0].String() }

// Addrs returns every address others can connect to: the listener's IP when
// it is bound to one, else each LAN address of this machine (127.0.0.1
// when it has none), with the server's port.
func (h *Host) Addrs() []netip.AddrPort { return append([]netip.AddrPort(nil), h.addrs...) }

// ListenAddr returns the server's TCP listener address.
func (h *Host) ListenAddr() net.Addr { return h.ln }

// DiscoveryAddr returns the UDP address discovery probes are answered on,
// or nil when the responder is off or was skipped.
func (h *Host) DiscoveryAddr() net.Addr { return h.disc }

// Announced reports whether the mDNS announcement runs.
func (h *Host) Announced() bool { return h.announcer != nil }

// Done returns a channel closed when the server stopped serving: after
// Shutdown, or when its listener failed (then Err says why).
func (h *Host) Done() <-chan struct{} { return h.served }

// Err returns why the server stopped serving: nil while it serves and after
// Shutdown, the listener's error otherwise.
func (h *Host) Err() error {
	select {
	case <-h.served:
	default:
		return nil
	}
	if errors.Is(h.serveErr, server.ErrServerClosed) || errors.Is(h.serveErr, context.Canceled) {
		return nil
	}
	return h.serveErr
}

// Shutdown closes our client, stops the announcement, shuts the server down
// gracefully (every client is told ERROR server shutting down; queues drain
// until ctx is done, then connections are closed) and stops the responder.
// It returns when all of that has ended: nil, or ctx.Err() when queues did
// not drain in time. Later calls wait for the first and return its result.
func (h *Host) Shutdown(ctx context.Context) error {
	h.shutOnce.Do(func() {
		defer close(h.shutDone)
		if h.Client != nil {
			h.Client.Close()
		}
		if h.announcer != nil {
			h.announcer.Close()
		}
		h.shutErr = h.Server.Shutdown(ctx)
		h.stop()
		h.wg.Wait()
		if h.nicks != nil {
			if err := h.nicks.Close(); err != nil {
				h.log.Error("closing the nick database", "err", err)
			}
		}
		if h.mail != nil {
			if err := h.mail.Close(); err != nil {
				h.log.Error("closing the mailbox database", "err", err)
			}
		}
	})
	<-h.shutDone
	return h.shutErr
}

// Close is Shutdown with DefaultCloseTimeout for the queues to drain.
func (h *Host) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCloseTimeout)
	defer cancel()
	return h.Shutdown(ctx)
}
