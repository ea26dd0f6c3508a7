// Command peerchat-load is PeerChat's system-level load generator. It opens
// many base-protocol client connections to a PeerChat server and measures, in
// four phases, how fast the server registers, fans out and forgets clients:
//
//  1. join storm: -clients connections connect and register at once; the phase
//     ends when every client has seen a JOINED for every other client.
//  2. fan-out: -broadcasts broadcasts, one at a time, each from a random
//     client; for each, the time until all clients have received it.
//  3. burst: -burst broadcasts back to back from -senders clients; the
//     delivery rate is clients×burst divided by the time until all arrived.
//  4. churn: -churn clients close; the time until every remaining client has
//     seen a LEFT for each of them.
//
// Every phase counts duplicates (an event a client had already seen) and
// losses (events still missing when the phase ended); errors counts
// connections that ended before the run did (disconnects), ERROR and
// NICKNAME_TAKEN frames (refused), and LEFTs for clients that had not left
// (spurious_left). A connection that ends unexpectedly ends the run at once:
// the phases after it are reported as not run ("na"). The result is printed as
// exactly one line of space-separated key=value pairs on standard output;
// progress goes to standard error. The exit status is 0 when nothing was
// duplicated or lost and no connection failed, 1 when something was, and 2 when
// the run could not be carried out.
//
// Usage:
//
//	peerchat-load [flags]
//
// With -addr empty (the default) the generator starts a server.Server inside
// its own process on 127.0.0.1:0 (useful in CI and with -cpuprofile). With
// -spawn it starts that server in a child process instead (a copy of this
// binary), so that the server's memory can be measured apart from the load
// clients': server_mem_per_client_kib is the child's Go heap and stack in use
// after a forced GC, and server_rss_per_client_kib its resident set, each
// measured before and after the join storm and divided by -clients;
// server_peak_rss_mib is its peak resident set (VmHWM) at the end. With -addr
// set, an external server is measured; -server-pid then names its process so
// that its resident set can be read from /proc.
//
// Only loopback addresses may be targeted unless -allow-remote is given. The
// clients connect from 127.0.0.1, 127.0.0.2, … with at most -per-ip on each
// address, so that a server's per-address connection limit (64 by default)
// does not refuse them; the burst is spread over -senders clients so that no
// client exceeds a server's per-client broadcast burst (40 by default).
//
// other_cpu_pct is the CPU time used during the run by processes other than
// the generator and the server, in percent of one CPU (from /proc/stat): the
// machine is shared, and figures taken while it is above a few percent are
// disturbed. With -v, the generator also logs, for each phase, the read and
// write system calls and the CPU time used per frame delivered, by the server
// (when it is another process) and by the clients (from /proc/<pid>/io and
// /proc/<pid>/stat), and the server's reasons for closing connections.
// -cpuprofile and -mutexprofile profile this process (server included when it
// runs in-process); -server-cpuprofile profiles the -spawn child.
//
// With -mode relay, the generator measures instead what issue 11 added: the
// server's relay, mailbox and broadcast replay, as the real client core
// (core/client) uses them, with a fresh identity per client and pins kept
// in memory. It starts a server with a key in-process (allowing every
// client core from 127.0.0.1: MaxPerIP 4×-pairs+16), or uses -addr (a
// server with keys, and a per-address limit of at least 2×-pairs: the
// cores all connect from 127.0.0.1). Two sets of -pairs pairs run one
// after the other: the direct set listens on 127.0.0.1, where its peers
// reach it; the isolated set listens on -isolated-addr (127.0.0.2) while
// the server records 127.0.0.1, the source of its server link, as its
// address, so invites and connect-backs go where nothing listens and the
// chats open through the relay. Each set runs three phases:
//
//  1. first message: each pair's first Send, all pairs at once; the invited
//     side accepts on EventInvite; Send to EventDelivered, p50 and p90, and
//     the route each chat end opened by (EventChatOpen.Route).
//  2. round trip: -rtt sequential Send→EventDelivered per pair, one message
//     at a time over all pairs, on the route of the set (the direct set
//     waits for its chats to move to the direct socket first); p50, p99,
//     and what the relay adds at p50.
//  3. throughput: -msgs small messages per pair, all pairs at once, at most
//     -window unacknowledged per pair; messages per second acknowledged.
//     The client cores share the CPUs with the server.
//
// Then on the isolated set: mailbox (one client closes, its partner sends
// -mail messages and waits for each EventStored, the client dials again
// with the same identity: the time until it has them all, by the mailbox,
// in order) and replay (a client that saw a broadcast closes, the others
// send -replay broadcasts, it dials again with Config.LastBroadcast: the
// time until it has them all, marked Missed). Every phase counts losses and
// duplicates; a chat of the isolated set that opens or moves direct, and a
// mailbox message out of order, are faults too (exit status 1).
//
// The load clients speak only the base protocol, through core/wire. Their read
// loop classifies frames with wire.SplitVerb and takes the nick or broadcast
// id from the payload without allocating; -strict additionally decodes every
// frame with wire.Parse and counts any it rejects as errors.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"time"
)

// Defaults of the flags.
const (
	DefaultClients    = 1000
	DefaultBroadcasts = 200
	DefaultBurst      = 1000
	DefaultChurn      = 100
	DefaultSenders    = 50
	DefaultPerIP      = 50
	DefaultTimeout    = 60 * time.Second
	DefaultPrefix     = "lg"
	// DefaultPollers is the number of goroutines that read the clients'
	// sockets with epoll. One is cheapest per delivery: the clients share
	// the CPUs with the server, and a busier poller gets more ready
	// sockets per epoll_wait.
	DefaultPollers = 1
)

// version is set by build.sh from the file VERSION
// (-ldflags "-X main.version=…"); -version prints it.
var version = "dev"

// Exit statuses.
const (
	exitOK      = 0
	exitFaults  = 1 // the run completed, with duplicates, losses or failed connections
	exitAborted = 2 // the run could not be carried out
)

func main() {
	if os.Getenv(childEnv) == childServe {
		os.Exit(serveChild(os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	status := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(status)
}

// cli runs the generator with command-line arguments args until it is over or
// ctx is done, and returns the exit status.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("peerchat-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	var rcfg RelayConfig
	mode := fs.String("mode", "broadcast", "what to measure: `broadcast` (base-protocol clients: join, fan-out, burst, churn) or relay (client cores with keys: relay, mailbox, replay)")
	fs.StringVar(&cfg.Addr, "addr", "", "server `host:port`; empty starts a server in-process (or in a child with -spawn)")
	fs.BoolVar(&cfg.Spawn, "spawn", false, "with -addr empty, run the server in a child process and measure its memory")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "with -addr, the external server's `pid`, to measure its resident set")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a non-loopback -addr")
	fs.IntVar(&cfg.Clients, "clients", DefaultClients, "number of clients `N`")
	fs.IntVar(&cfg.Broadcasts, "broadcasts", DefaultBroadcasts, "broadcasts sent one at a time in the fan-out phase")
	fs.IntVar(&cfg.Burst, "burst", DefaultBurst, "broadcasts sent back to back in the burst phase")
	fs.IntVar(&cfg.Senders, "senders", DefaultSenders, "clients that send the burst")
	fs.IntVar(&cfg.PerIP, "per-ip", DefaultPerIP, "clients per loopback source address (127.0.0.1, 127.0.0.2, …); 0 lets the system choose")
	fs.IntVar(&cfg.Churn, "churn", DefaultChurn, "clients that leave in the churn phase")
	fs.DurationVar(&cfg.Timeout, "timeout", DefaultTimeout, "limit of each phase")
	fs.StringVar(&cfg.Prefix, "prefix", DefaultPrefix, "nickname prefix of the load clients")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the choice of senders")
	fs.BoolVar(&cfg.Strict, "strict", false, "also decode every frame with wire.Parse")
	fs.IntVar(&cfg.Pollers, "pollers", DefaultPollers, "goroutines reading the client sockets with epoll")
	fs.BoolVar(&cfg.Goroutines, "goroutines", false, "read each client connection from its own goroutine instead of epoll (always so without Linux)")
	fs.IntVar(&rcfg.Pairs, "pairs", DefaultPairs, "relay mode: pairs of client cores in each set (direct, isolated)")
	fs.IntVar(&rcfg.RoundTrips, "rtt", DefaultRoundTrips, "relay mode: sequential round trips per pair")
	fs.IntVar(&rcfg.Messages, "msgs", DefaultMessages, "relay mode: messages per pair in the throughput phase")
	fs.IntVar(&rcfg.Window, "window", DefaultWindow, "relay mode: unacknowledged messages per pair in the throughput phase")
	fs.IntVar(&rcfg.Mail, "mail", DefaultMail, "relay mode: messages stored for the absent client in the mailbox phase")
	fs.IntVar(&rcfg.Replay, "replay", DefaultReplay, "relay mode: broadcasts sent while a client is away in the replay phase")
	fs.StringVar(&rcfg.IsolatedAddr, "isolated-addr", DefaultIsolatedAddr, "relay mode: loopback `address` the isolated clients listen on (the server sees them at 127.0.0.1)")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile to `file`")
	mutexProfile := fs.String("mutexprofile", "", "write this process's mutex contention profile to `file`")
	serverCPUProfile := fs.String("server-cpuprofile", "", "with -spawn, write the child server's CPU profile to `file`")
	verbose := fs.Bool("v", false, "log progress to standard error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return exitAborted
	}
	if *showVersion {
		fmt.Fprintln(stdout, "peerchat-load", version)
		return exitOK
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "peerchat-load: unexpected arguments %q\n", fs.Args())
		return exitAborted
	}
	cfg.ServerCPUProfile = *serverCPUProfile
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.ServerLogger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("side", "server")

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "peerchat-load: %v\n", err)
			return exitAborted
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "peerchat-load: cpu profile: %v\n", err)
			return exitAborted
		}
		defer pprof.StopCPUProfile()
	}

	if *mutexProfile != "" {
		runtime.SetMutexProfileFraction(1)
		defer func() {
			if err := writeProfile("mutex", *mutexProfile); err != nil {
				fmt.Fprintf(stderr, "peerchat-load: %v\n", err)
			}
		}()
	}
	var summary string
	var faults int64
	switch *mode {
	case "broadcast":
		res, err := Run(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "peerchat-load: %v\n", err)
			return exitAborted
		}
		summary, faults = res.Summary(), res.Faults()
	case "relay":
		if cfg.Spawn || cfg.ServerPID != 0 {
			fmt.Fprintln(stderr, "peerchat-load: -mode relay runs its server in-process or uses -addr: drop -spawn and -server-pid")
			return exitAborted
		}
		rcfg.Addr, rcfg.AllowRemote, rcfg.Timeout, rcfg.Prefix = cfg.Addr, cfg.AllowRemote, cfg.Timeout, cfg.Prefix
		rcfg.Logger, rcfg.ServerLogger = cfg.Logger, cfg.ServerLogger
		res, err := RunRelay(ctx, rcfg)
		if err != nil {
			fmt.Fprintf(stderr, "peerchat-load: %v\n", err)
			return exitAborted
		}
		summary, faults = res.Summary(), res.Faults()
	default:
		fmt.Fprintf(stderr, "peerchat-load: -mode %q: want broadcast or relay\n", *mode)
		return exitAborted
	}
	fmt.Fprintln(stdout, summary)
	if faults > 0 {
		return exitFaults
	}
	return exitOK
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("%s profile: %w", name, err)
	}
	return f.Close()
}
