// Command peerchat-server runs a PeerChat server: the registry and
// broadcast relay of a LAN, with discovery (UDP probe answers and mDNS
// DNS-SD) so that clients find it. It is built on peerchat/server/host.
//
// Usage:
//
//	peerchat-server [flags]
//
// At start it logs the addresses phones should connect to. SIGINT or
// SIGTERM shuts the server down gracefully: it stops accepting, tells every
// client ERROR server shutting down, lets queues drain for -shutdown-timeout
// and exits. The exit status is 0 after a clean shutdown or -h, 1 for bad
// flags, a TCP address that cannot be bound, or a listener that fails.
//
// peerchat-server -h prints every flag with its default. They are:
//
// Where it listens and how it is found:
//
//	-addr ADDRESS           TCP address to listen on (default ":12345")
//	-name NAME              server name shown by discovery (default: the host name)
//	-discovery              answer PEERCHAT_DISCOVER probes (default true); a taken
//	                        -discovery-addr only skips this, with a warning
//	-discovery-addr ADDRESS UDP (IPv4) address for discovery probes (default ":12345")
//	-mdns                   announce _peerchat._tcp over mDNS/DNS-SD (default true);
//	                        without multicast it is skipped, with a warning
//
// Its key and nicks (docs/PROTOCOL.md §2.6):
//
//	-data DIR               data directory: the server's key (identity.json),
//	                        the nicks held by keys (nicks.db), the mailbox and the
//	                        kept broadcasts (mailbox.db); made with mode 0700
//	                        (default: the user config directory/peerchat-server,
//	                        e.g. ~/.config/peerchat-server on Linux)
//	-nick-hold DURATION     how long a nick stays held by its key after its holder
//	                        was last connected (default 168h: 7 days)
//	-release-nick NICK      release NICK from its key in -data's nick database and
//	                        exit; run it while the server is stopped (a running
//	                        server locks the database)
//
// Limits of the server (peerchat/server's Config; defaults in server/const.go):
//
//	-payload-limit BYTES        largest payload a client may send
//	-register-timeout DURATION  time from connect to REGISTER and PORT
//	-frame-timeout DURATION     time for the rest of a frame once it started
//	-max-clients N              simultaneous connections
//	-max-per-ip N               simultaneous connections from one IP address
//	-broadcast-rate RATE        broadcasts per second one client may send
//	-broadcast-burst N          broadcasts one client may send at once
//	-heartbeat-interval DURATION how often v2 clients are PINGed
//	-heartbeat-timeout DURATION silence after which a v2 client is evicted
//	-write-timeout DURATION     bound on one write to a client
//	-queue-bytes BYTES          outbound queue per client
//	-replace-grace DURATION     wait for a silent heartbeat client before a
//	                            newcomer from its address takes its nickname
//
// Relay, mailbox and missed broadcasts (docs/PROTOCOL.md §2.7–§2.9), for
// clients that proved a key:
//
//	-relay-rate RATE            bytes per second one client may relay (default 8 MiB)
//	-relay-burst BYTES          bytes one client may relay at once (default 1 MiB)
//	-mail-items N               mailbox items kept for one recipient (default 1000)
//	-mail-bytes BYTES           mailbox bytes kept for one recipient (default 16 MiB)
//	-mail-total BYTES           mailbox bytes kept in all (default 1 GiB)
//	-mail-age DURATION          how long an item waits for its recipient (default 168h)
//	-replay-count N             broadcasts kept for clients that missed them (default 1000)
//	-replay-age DURATION        how long a broadcast is kept for them (default 24h)
//
// Pictures to Everyone (docs/PROTOCOL.md §2.10):
//
//	-image-bytes BYTES          largest picture a client may post (default 8 MiB)
//
// Logs and lifetime:
//
//	-log-format text|json       log format (default text)
//	-log-level LEVEL            debug, info, warn or error (default info)
//	-stats-interval DURATION    how often to log a stats line, 0 for never (default 1m)
//	-shutdown-timeout DURATION  how long queues may drain at shutdown (default 4s)
//	-version                    print the version and exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/host"
)

// version is set by build.sh from the file VERSION
// (-ldflags "-X main.version=…"); -version prints it.
var version = "dev"

// Defaults of the command's own flags.
const (
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
	dataDir, releaseNick       string
	cfg                        server.Config
	broadcastRate, relayRate   float64
	version                    bool
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	host, _ := os.Hostname()
	if host == "" {
		host = server.DefaultName
	}
	o := &options{}
	fs := flag.NewFlagSet("peerchat-server", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: peerchat-server [flags]\n\nRuns a PeerChat server until SIGINT or SIGTERM. Flags:\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", ":"+strconv.Itoa(wire.DefaultServerPort), "TCP `address` to listen on")
	fs.StringVar(&o.name, "name", host, "server `name` shown by discovery and mDNS")
	fs.BoolVar(&o.discovery, "discovery", true, "answer PEERCHAT_DISCOVER probes on UDP (skipped, with a warning, when -discovery-addr is taken)")
	fs.StringVar(&o.discoveryAddr, "discovery-addr", ":"+strconv.Itoa(wire.DiscoveryPort), "UDP (IPv4) `address` for discovery probes")
	fs.BoolVar(&o.mdns, "mdns", true, "announce "+wire.MDNSService+" over mDNS/DNS-SD (skipped, with a warning, without multicast)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.DurationVar(&o.statsInterval, "stats-interval", defaultStatsInterval, "how often to log a stats line (0: never)")
	fs.DurationVar(&o.shutdownMax, "shutdown-timeout", defaultShutdownTimeout, "how long queues may drain at shutdown")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.dataDir, "data", defaultDataDir(), "data `directory`: the server's key, the nicks held by keys, the mailbox and the kept broadcasts (made with mode 0700)")
	fs.StringVar(&o.releaseNick, "release-nick", "", "release `nick` from its key in the -data directory's nick database, and exit (while the server is stopped)")

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
	fs.DurationVar(&c.NickHold, "nick-hold", server.DefaultNickHold, "how long a nick stays held by its key after its holder was last connected")
	fs.Float64Var(&o.relayRate, "relay-rate", float64(server.DefaultRelayRate), "bytes per second one client may relay through the server")
	fs.IntVar(&c.RelayBurst, "relay-burst", server.DefaultRelayBurst, "bytes one client may relay at once above -relay-rate")
	fs.IntVar(&c.MailItems, "mail-items", server.DefaultMailItems, "mailbox items kept for one recipient")
	fs.Int64Var(&c.MailBytes, "mail-bytes", server.DefaultMailBytes, "mailbox bytes kept for one recipient")
	fs.Int64Var(&c.MailTotal, "mail-total", server.DefaultMailTotal, "mailbox bytes kept for all recipients")
	fs.DurationVar(&c.MailAge, "mail-age", server.DefaultMailAge, "how long a mailbox item waits for its recipient")
	fs.IntVar(&c.ReplayCount, "replay-count", server.DefaultReplayCount, "broadcasts kept for clients that missed them")
	fs.DurationVar(&c.ReplayAge, "replay-age", server.DefaultReplayAge, "how long a broadcast is kept for clients that missed it")
	fs.Int64Var(&c.ImageBytes, "image-bytes", server.DefaultImageBytes, "largest picture a client may post to Everyone, in bytes")
	fs.DurationVar(&c.ReplaceGrace, "replace-grace", server.DefaultReplaceGrace, "wait for a silent heartbeat client before a newcomer from its address takes its nickname")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.BroadcastRate = rate.Limit(o.broadcastRate)
	c.RelayRate = rate.Limit(o.relayRate)
	c.Name = o.name
	return o, nil
}

// defaultDataDir returns the default of -data: peerchat-server in the
// user's config directory (os.UserConfigDir), or "" when there is none.
func defaultDataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "peerchat-server")
}

// releaseNick releases nick in the nick database of dir, and says so on w.
func releaseNick(dir, nick string, w io.Writer) error {
	ns, err := server.OpenNickStore(dir)
	if err != nil {
		return fmt.Errorf("-release-nick: %w", err)
	}
	found, err := ns.Release(nick)
	if cerr := ns.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-release-nick: %w", err)
	}
	if found {
		fmt.Fprintf(w, "released %q\n", nick)
	} else {
		fmt.Fprintf(w, "%q was not held by a key\n", nick)
	}
	return nil
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
// nil, is called with the running host once the server listens.
func run(ctx context.Context, args []string, logw io.Writer, ready func(*host.Host)) error {
	o, err := parseFlags(args, logw)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Println("peerchat-server", version)
		return nil
	}
	if o.dataDir == "" {
		return errors.New("-data: no user config directory for the default; name a directory")
	}
	if o.releaseNick != "" {
		return releaseNick(o.dataDir, o.releaseNick, logw)
	}
	log, err := newLogger(o.logFormat, o.logLevel, logw)
	if err != nil {
		return err
	}
	o.cfg.Logger = log
	h, err := host.Start(ctx, host.Config{
		Server:        o.cfg,
		Addr:          o.addr,
		DiscoveryAddr: o.discoveryAddr,
		NoDiscovery:   !o.discovery,
		NoAnnounce:    !o.mdns,
		DataDir:       o.dataDir,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	var lan []string
	for _, a := range h.Addrs() {
		lan = append(lan, a.String())
	}
	log.Info("peerchat server started", "name", o.name, "listen", h.ListenAddr().String(),
		"connect_to", strings.Join(lan, " "), "data", o.dataDir, "key", h.Server.Key().String())

	statsDone := make(chan struct{})
	sctx, stopStats := context.WithCancel(ctx)
	go func() {
		defer close(statsDone)
		if o.statsInterval > 0 {
			logStats(sctx, log, h.Server, o.statsInterval)
		}
	}()
	defer func() {
		stopStats()
		<-statsDone
	}()
	if ready != nil {
		ready(h)
	}

	select {
	case <-h.Done():
		h.Close()
		return fmt.Errorf("serve: %w", h.Err())
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", o.shutdownMax)
	shctx, cancel := context.WithTimeout(context.Background(), o.shutdownMax)
	defer cancel()
	if err := h.Shutdown(shctx); err != nil {
		log.Warn("shutdown: queues did not drain in time", "err", err)
	}
	if err := h.Err(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	logStatsOnce(log, h.Server)
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
		"closed", fmt.Sprint(st.Closed), "dropped", fmt.Sprint(st.Dropped),
		"relayed", st.Relayed, "relayed_bytes", st.RelayedBytes, "relay_failed", fmt.Sprint(st.RelayFailed),
		"mail_stored", st.MailStored, "mail_acked", st.MailAcked, "mail_expired", st.MailExpired,
		"mail_refused", fmt.Sprint(st.MailRefused), "replayed", st.Replayed)
}
