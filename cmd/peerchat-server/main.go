// Command peerchat-server runs a PeerChat server: the registry and
// broadcast relay of a LAN, with discovery (UDP probe answers and mDNS
// DNS-SD) so that clients find it.
//
// Usage:
//
//	peerchat-server [flags]
//
// Every limit of the server is a flag; run with -h for the list. SIGINT or
// SIGTERM shuts the server down gracefully: it stops accepting, tells every
// client ERROR server shutting down, lets queues drain for -shutdown-timeout
// and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/discovery"
	"peerchat/core/wire"
	"peerchat/server"
)

// Defaults of the command's own flags.
const (
	defaultAddr            = ":12345"
	defaultStatsInterval   = time.Minute
	defaultShutdownTimeout = 4 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "peerchat-server:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	addr, name, discoveryAddr  string
	discovery, mdns            bool
	logFormat, logLevel        string
	statsInterval, shutdownMax time.Duration
	cfg                        server.Config
	broadcastRate              float64
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	host, _ := os.Hostname()
	if host == "" {
		host = server.DefaultName
	}
	o := &options{}
	fs := flag.NewFlagSet("peerchat-server", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", defaultAddr, "TCP address to listen on")
	fs.StringVar(&o.name, "name", host, "server name shown by discovery")
	fs.BoolVar(&o.discovery, "discovery", true, "answer PEERCHAT_DISCOVER probes on UDP")
	fs.StringVar(&o.discoveryAddr, "discovery-addr", ":"+strconv.Itoa(wire.DiscoveryPort), "UDP address for discovery probes")
	fs.BoolVar(&o.mdns, "mdns", true, "announce "+wire.MDNSService+" over mDNS/DNS-SD")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&o.statsInterval, "stats-interval", defaultStatsInterval, "how often to log a stats line (0: never)")
	fs.DurationVar(&o.shutdownMax, "shutdown-timeout", defaultShutdownTimeout, "how long queues may drain at shutdown")

	c := &o.cfg
	fs.IntVar(&c.PayloadLimit, "payload-limit", server.DefaultPayloadLimit, "largest payload a client may send, in bytes")
	fs.DurationVar(&c.RegisterTimeout, "register-timeout", server.DefaultRegisterTimeout, "time allowed from connect to REGISTER and PORT")
	fs.DurationVar(&c.FrameTimeout, "frame-timeout", server.DefaultFrameTimeout, "time allowed for the rest of a frame once it started")
	fs.IntVar(&c.MaxClients, "max-clients", server.DefaultMaxClients, "maximum simultaneous connections")
	fs.IntVar(&c.MaxPerIP, "max-per-ip", server.DefaultMaxPerIP, "maximum simultaneous connections from one IP address")
	fs.Float64Var(&o.broadcastRate, "broadcast-rate", float64(server.DefaultBroadcastRate), "broadcasts per second one client may send")
	fs.IntVar(&c.BroadcastBurst, "broadcast-burst", server.DefaultBroadcastBurst, "broadcasts one client may send at once")
	fs.DurationVar(&c.HeartbeatInterval, "heartbeat-interval", server.DefaultHeartbeatInterval, "how often v2 clients are PINGed")
	fs.DurationVar(&c.HeartbeatTimeout, "heartbeat-timeout", server.DefaultHeartbeatTimeout, "silence after which a v2 client is evicted")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "bound on one write to a client")
	fs.IntVar(&c.QueueBytes, "queue-bytes", server.DefaultQueueBytes, "outbound queue per client, in bytes")
	fs.DurationVar(&c.ReplaceGrace, "replace-grace", server.DefaultReplaceGrace, "wait for a silent heartbeat client before a newcomer from its address takes its nickname")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.BroadcastRate = rate.Limit(o.broadcastRate)
	c.Name = o.name
	return o, nil
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format: %q is neither text nor json", format)
}

// run runs the server until ctx is done. It logs to logw; ready, if not
// nil, is called with the TCP address once the server listens.
func run(ctx context.Context, args []string, logw io.Writer, ready func(net.Addr)) error {
	o, err := parseFlags(args, logw)
	if err != nil {
		return err
	}
	log, err := newLogger(o.logFormat, o.logLevel, logw)
	if err != nil {
		return err
	}
	o.cfg.Logger = log
	srv, err := server.New(o.cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	var lan []string
	for _, a := range discovery.LANAddrs() {
		lan = append(lan, netip.AddrPortFrom(a, uint16(port)).String())
	}
	log.Info("peerchat server started", "name", o.name, "listen", ln.Addr().String(),
		"connect_to", strings.Join(lan, " "))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var bg []chan struct{} // background tasks, waited for on return
	goBg := func(f func()) {
		done := make(chan struct{})
		bg = append(bg, done)
		go func() { defer close(done); f() }()
	}
	defer func() {
		cancel()
		for _, d := range bg {
			<-d
		}
	}()

	if o.discovery {
		pc, err := net.ListenPacket("udp4", o.discoveryAddr)
		if err != nil {
			log.Warn("discovery disabled", "err", err)
		} else {
			log.Info("answering discovery probes", "udp", pc.LocalAddr().String())
			goBg(func() {
				defer pc.Close()
				if err := discovery.Respond(ctx, pc, srv.Info); err != nil {
					log.Warn("discovery stopped", "err", err)
				}
			})
		}
	}
	if o.mdns {
		a, err := discovery.Announce(discovery.AnnounceConfig{Instance: o.name, Port: port})
		if err != nil {
			log.Warn("mDNS announcement disabled", "err", err)
		} else {
			log.Info("announcing over mDNS", "service", wire.MDNSService, "instance", o.name)
			defer a.Close()
		}
	}
	if o.statsInterval > 0 {
		goBg(func() { logStats(ctx, log, srv, o.statsInterval) })
	}

	serveCtx, stopServe := context.WithCancel(context.Background())
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", o.shutdownMax)
	sctx, scancel := context.WithTimeout(context.Background(), o.shutdownMax)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown: queues did not drain in time", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, server.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logStatsOnce(log, srv)
	log.Info("stopped")
	return nil
}

func logStats(ctx context.Context, log *slog.Logger, srv *server.Server, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			logStatsOnce(log, srv)
		}
	}
}

func logStatsOnce(log *slog.Logger, srv *server.Server) {
	st := srv.Stats()
	log.Info("stats", "conns", st.Conns, "registered", st.Registered, "accepted", st.Accepted,
		"refused", st.Refused, "joins", st.Joins, "leaves", st.Leaves, "broadcasts", st.Broadcasts,
		"delivered", st.Delivered, "bytes_in", st.BytesIn, "bytes_out", st.BytesOut,
		"closed", fmt.Sprint(st.Closed), "dropped", fmt.Sprint(st.Dropped))
}
