package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"peerchat/core/client"
	"peerchat/core/discovery"
	"peerchat/core/identity"
	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/host"
)

// Defaults of the command's flags.
const (
	defaultDrain        = 10 * time.Second
	defaultProbeTimeout = time.Second
	maxLine             = 64 << 10
)

// Exit statuses.
const (
	exitOK    = 0
	exitConn  = 1
	exitUsage = 2
)

// options are the parsed flags.
type options struct {
	server, nick, listen string
	json, autoAccept     bool
	host                 bool
	hostAddr, discovery  string
	announce             bool
	drain, probe         time.Duration
	verbose              bool
	version              bool
	data                 string // the data directory: identity and pins
	noKeys               bool   // run without an identity, as a keyless client
	requireEncryption    bool
	readReceipts         bool
	downloads            string // -downloads: where received files go ("-": refuse files)
	acceptFiles          bool   // -accept-files: accept every file offered
	lastBroadcast        uint64 // -last-broadcast: overrides the id kept in data
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("peerchat-cli", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.server, "server", "", "server `host:port` (default: the first server found on the LAN)")
	fs.StringVar(&o.nick, "nick", "", "your `nickname` (required)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per line")
	fs.BoolVar(&o.autoAccept, "auto-accept", false, "accept every chat invite")
	fs.BoolVar(&o.host, "host", false, "run a server in this process and join it")
	fs.StringVar(&o.hostAddr, "host-addr", ":"+strconv.Itoa(wire.DefaultServerPort), "with -host: the `address` to serve on (a free port of its IP when taken)")
	fs.StringVar(&o.discovery, "discovery-addr", ":"+strconv.Itoa(wire.DiscoveryPort), "with -host: the UDP `address` answering discovery probes (- for none)")
	fs.BoolVar(&o.announce, "announce", true, "with -host: announce the server over mDNS (DNS-SD)")
	fs.StringVar(&o.listen, "listen", "", "`IP` for the peer-to-peer listeners (default: all interfaces)")
	fs.DurationVar(&o.drain, "drain", defaultDrain, "at end of input, how long to wait for messages to be delivered and broadcasts echoed")
	fs.DurationVar(&o.probe, "probe-timeout", defaultProbeTimeout, "how long to look for servers on the LAN")
	fs.BoolVar(&o.verbose, "v", false, "log debug messages to standard error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.data, "data", defaultDataDir(), "the `directory` keeping this client's key (identity.json) and the keys pinned for peers and servers (pins.json, server_pins.json); with -host, the hosted server's in its subdirectory server")
	fs.BoolVar(&o.noKeys, "no-keys", false, "run without a key, as a client of before device identities: no encryption, no safety numbers, nothing kept in -data")
	fs.BoolVar(&o.requireEncryption, "require-encryption", false, "refuse every private chat that would not be end-to-end encrypted")
	fs.StringVar(&o.downloads, "downloads", "", "the `directory` received files go to (default: downloads in -data; - refuses files)")
	fs.BoolVar(&o.acceptFiles, "accept-files", false, "accept every file offered (below the size limit)")
	fs.BoolVar(&o.readReceipts, "read-receipts", false, "send read receipts (a private message printed counts as read) and show those of peers who send them too")
	fs.Uint64Var(&o.lastBroadcast, "last-broadcast", 0, "ask the server for the broadcasts after the one with this `id` (bid); default: the last one seen in an earlier run, kept in -data ("+lastBroadcastFile+")")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.version {
		return o, nil
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.nick == "" {
		return o, errors.New("-nick is required")
	}
	if err := wire.ValidateNick(o.nick); err != nil {
		return o, fmt.Errorf("-nick %q: %w", o.nick, err)
	}
	if err := o.keyUsage(); err != nil {
		return o, err
	}
	return o, nil
}

// cli is one run of the terminal client.
type cli struct {
	o       options
	out     *bufio.Writer
	c       *client.Client
	pending map[uint64]bool // ids of messages sent and not yet delivered or failed
	bcasts  map[uint64]bool // ids of broadcasts sent and not yet echoed or failed
	// shown is, per nick as typed, the key whose safety number /verify
	// last showed: /trust refuses when the pin is another one by then.
	shown map[string]identity.PublicIdentity
	// bids keeps the id of the last broadcast seen (nil: nothing kept).
	bids *bidStore
	// seen keeps the private messages printed, across runs (nil: none).
	seen *seenStore
}

// run is the whole command: main only wires it to the process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "peerchat-cli:", err)
		}
		return exitUsage
	}
	if o.version {
		fmt.Fprintln(stdout, "peerchat-cli", version)
		return 0
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cl := &cli{o: o, out: bufio.NewWriter(stdout), pending: make(map[uint64]bool), bcasts: make(map[uint64]bool)}
	defer cl.flush()

	cfg := client.DefaultConfig(o.server, o.nick)
	cfg.Logger = log
	cfg.ListenAddr = o.listen
	cfg.RequireEncryption = o.requireEncryption
	cfg.ReadReceipts = o.readReceipts
	cfg.Downloads, cfg.FileState = o.filesDirs()
	serverData := "" // with -host and no keys: a server key for this run only
	if !o.noKeys {
		k, err := openKeys(o.data)
		if err != nil {
			return cl.fatal(stderr, "cannot open the data directory", err)
		}
		cfg.Identity, cfg.Pins, cfg.ServerPins = k.id, k.pins, k.serverPins
		if o.data != "" {
			if cl.seen, err = openSeen(o.data); err != nil {
				return cl.fatal(stderr, "cannot read the messages received", err)
			}
		}
		serverData = filepath.Join(o.data, serverDataDir)
	}
	var closeAll func()
	if o.host {
		name, _ := os.Hostname() // "" is the server's default name
		h, err := host.Start(ctx, host.Config{
			DataDir:       serverData,
			Server:        server.Config{Name: name},
			Addr:          o.hostAddr,
			AnyPort:       true,
			DiscoveryAddr: o.discovery,
			NoDiscovery:   o.discovery == "-",
			NoAnnounce:    !o.announce,
			Client:        &cfg,
			Logger:        log,
		})
		if err != nil {
			return cl.fatal(stderr, "cannot host", err)
		}
		cl.c, closeAll = h.Client, func() { h.Close() }
		cl.print(map[string]any{"type": "hosting", "addr": h.Addr()}, "hosting on %s", h.Addr())
	} else {
		if o.server == "" {
			if cfg.Server, err = probe(ctx, o.probe); err != nil {
				return cl.fatal(stderr, "cannot find a server", err)
			}
		}
		if !o.noKeys && o.data != "" {
			// With -host the server lives and dies with this process: it
			// cannot have kept broadcasts we missed, so nothing is kept.
			if cl.bids, err = openBIDs(o.data, cfg.Server); err != nil {
				return cl.fatal(stderr, "cannot read the last broadcast seen", err)
			}
			cfg.LastBroadcast = cl.bids.last
		}
		if o.lastBroadcast != 0 {
			cfg.LastBroadcast = o.lastBroadcast
			cl.bids.see(o.lastBroadcast)
		}
		c, err := client.Dial(ctx, cfg)
		if err != nil {
			return cl.fatal(stderr, "cannot connect", err)
		}
		cl.c, closeAll = c, func() { c.Close() }
	}

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() { // ends at end of input; a terminal's stdin ends with the process
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 4096), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-rctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()

	var drainUntil <-chan time.Time
	for {
		cl.drainEvents()
		cl.flush()
		if drainUntil != nil && len(cl.pending) == 0 && len(cl.bcasts) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			closeAll()
			cl.drainEvents()
			return exitOK
		case line := <-lines:
			if cl.command(line) {
				closeAll()
				cl.drainEvents()
				return exitOK
			}
		case err := <-readErr:
			if err != nil {
				cl.errorf("reading input: %v", err)
			}
			readErr = nil
			lines = nil
			drainUntil = time.After(o.drain)
		case <-drainUntil:
			drainUntil = make(chan time.Time) // never again; pending is reported by Close
			cl.pending, cl.bcasts = nil, nil
		case <-cl.c.Events():
		}
	}
	closeAll()
	cl.drainEvents()
	return exitOK
}

func (cl *cli) fatal(stderr io.Writer, what string, err error) int {
	var ne *client.NickError
	switch {
	case errors.Is(err, client.ErrNicknameTaken):
		err = fmt.Errorf("nickname %q is taken", cl.o.nick)
	case errors.As(err, &ne):
		err = fmt.Errorf("nickname %q refused: %s", ne.Nick, ne.Reason)
	}
	if cl.o.json {
		cl.print(map[string]any{"type": "error", "text": what + ": " + err.Error()}, "")
		cl.out.Flush()
	}
	fmt.Fprintf(stderr, "peerchat-cli: %s: %s\n", what, visible(err.Error()))
	return exitConn
}

// probe returns the address of the first server that answers a discovery
// probe.
func probe(ctx context.Context, timeout time.Duration) (string, error) {
	found, err := discovery.Probe(ctx, discovery.ProbeConfig{Timeout: timeout})
	if err != nil {
		return "", err
	}
	if len(found) == 0 {
		return "", errors.New("no server answered on the LAN; give one with -server host:port, or run one with -host")
	}
	return found[0].Addr.String(), nil
}

// command runs one input line and reports whether to quit.
func (cl *cli) command(line string) (quit bool) {
	cmd, arg, text, rest := parseCommand(line)
	if cmd == "" {
		return false
	}
	needNick := func() bool {
		if arg == "" {
			cl.errorf("%s needs a nickname", cmd)
			return false
		}
		return true
	}
	if cl.fileCommand(cmd, arg, text) {
		return false
	}
	switch cmd {
	case "/quit", "/exit":
		return true
	case "/peers":
		cl.peers()
	case "/bcast", "/broadcast":
		cl.broadcast(rest)
	case "/chat", "/invite":
		if needNick() {
			cl.check(cl.c.Invite(arg))
		}
	case "/accept":
		if needNick() {
			cl.check(cl.c.Accept(arg))
		}
	case "/reject", "/decline":
		if needNick() {
			cl.check(cl.c.Decline(arg))
		}
	case "/leave":
		if needNick() {
			cl.check(cl.c.LeaveChat(arg))
		}
	case "/msg":
		if !needNick() {
			break
		}
		id, err := cl.c.Send(arg, text)
		if errors.Is(err, client.ErrNoKey) {
			// Refused at once, and said so: not a loss.
			cl.print(map[string]any{"type": "refused", "peer": arg, "text": text, "reason": "no_key", "error": err.Error()},
				"! %v: %s is not here and this device never saw its key, so nothing can be kept for it", err, arg)
			break
		}
		if err != nil {
			cl.check(err)
			break
		}
		if cl.pending != nil {
			cl.pending[id] = true
		}
		cl.print(map[string]any{"type": "queued", "peer": arg, "id": id, "text": text}, "(to %s #%d queued)", arg, id)
	case "/route":
		if needNick() {
			r := cl.c.Route(arg)
			cl.print(map[string]any{"type": "route_info", "peer": arg, "route": r.String()}, "chat with %s: %s", arg, r)
		}
	case "/verify":
		if needNick() {
			cl.verify(arg)
		}
	case "/trust", "/untrust":
		if needNick() {
			cl.trust(arg, cmd == "/trust")
		}
	case "/accept-key":
		if needNick() {
			cl.acceptKey(arg)
		}
	case "/accept-server-key":
		cl.acceptServerKey()
	case "/reconnect":
		cl.c.ReconnectNow()
	case "/help":
		cl.print(map[string]any{"type": "help", "text": helpText}, "%s", helpText)
	default:
		cl.errorf("unknown command %s (try /help)", cmd)
	}
	return false
}

func (cl *cli) broadcast(text string) {
	id, err := cl.c.Broadcast(text)
	if err != nil {
		cl.check(err)
		return
	}
	if cl.bcasts != nil {
		cl.bcasts[id] = true
	}
	// peer "": a broadcast (as in send_failed); its echo is the broadcast
	// event with this id.
	cl.print(map[string]any{"type": "queued", "peer": "", "id": id, "text": text}, "")
}

// parseCommand splits an input line: cmd is the command ("/msg"; "/bcast"
// for a line without a leading "/"; "" for a blank line), arg its first
// word, text what follows arg, and rest everything after cmd.
func parseCommand(line string) (cmd, arg, text, rest string) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return "", "", "", ""
	}
	if !strings.HasPrefix(line, "/") {
		return "/bcast", "", "", line
	}
	cmd, rest, _ = strings.Cut(line, " ")
	rest = strings.TrimLeft(rest, " ")
	arg, text, _ = strings.Cut(rest, " ")
	return cmd, arg, text, rest
}

const helpText = "/peers  /bcast TEXT  /chat NICK  /accept NICK  /reject NICK  /msg NICK TEXT  /route NICK  /leave NICK  " +
	"/send NICK PATH  /picture PATH  /accept-file NICK ID  /decline-file NICK ID  /cancel-file NICK ID  " +
	"/verify NICK  /trust NICK  /untrust NICK  /accept-key NICK  /accept-server-key  /quit"

func (cl *cli) check(err error) {
	if err != nil {
		cl.errorf("%s", hint(err))
	}
}

func (cl *cli) errorf(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	cl.print(map[string]any{"type": "error", "text": text}, "! %s", text)
}

func (cl *cli) peers() {
	ps := cl.c.Peers()
	if cl.o.json {
		list := make([]map[string]any, 0, len(ps))
		for _, p := range ps {
			obj := map[string]any{"nick": p.Nick, "ip": p.IP.String(), "features": p.Features, "chat": cl.c.Chat(p.Nick).String()}
			cl.keyInfo(p.Nick, obj)
			list = append(list, obj)
		}
		cl.print(map[string]any{"type": "peers", "peers": list}, "")
		return
	}
	if len(ps) == 0 {
		cl.print(nil, "nobody else is here")
	}
	for _, p := range ps {
		cl.print(nil, "  %s (%s) %s%s", p.Nick, p.IP, cl.c.Chat(p.Nick).String(), cl.keyInfo(p.Nick, map[string]any{}))
	}
}

// print writes one event: obj as one JSON line with -json, else the
// formatted human line (if format is not empty). In the human line, every
// string, error and Stringer among args is passed through visible, so that
// what peers and servers say cannot act on the terminal: format itself must
// be the program's own text.
func (cl *cli) print(obj map[string]any, format string, args ...any) {
	if cl.o.json {
		if obj == nil {
			return
		}
		// "type" first, for people reading the stream.
		typ, _ := json.Marshal(obj["type"])
		delete(obj, "type")
		rest, _ := json.Marshal(obj)
		line := append([]byte(`{"type":`), typ...)
		if len(rest) > 2 {
			line = append(append(line, ','), rest[1:]...)
		} else {
			line = append(line, '}')
		}
		cl.out.Write(append(line, '\n'))
		return
	}
	if format == "" {
		return
	}
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = visible(v)
		case error:
			args[i] = visible(v.Error())
		case fmt.Stringer:
			args[i] = visible(v.String())
		}
	}
	fmt.Fprintf(cl.out, format+"\n", args...)
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// drainEvents prints every queued event.
func (cl *cli) drainEvents() {
	for _, e := range cl.c.Poll(nil) {
		cl.event(e)
	}
}

func (cl *cli) event(e client.Event) {
	if cl.keyEvent(e) || cl.fileEvent(e) {
		return
	}
	clock := e.Time.Local().Format("15:04:05")
	switch e.Kind {
	case client.EventRegistered:
		obj := map[string]any{"type": "registered", "nick": e.Peer, "server": e.Text, "server_kind": e.Server.String()}
		if e.Server == client.ServerUnconfirmed {
			cl.print(obj, "registered as %s on %s (unconfirmed: the server has said nothing yet, it may not be a PeerChat server)", e.Peer, e.Text)
			break
		}
		cl.print(obj, "registered as %s on %s", e.Peer, e.Text)
	case client.EventPeerJoined:
		cl.print(map[string]any{"type": "peer_joined", "nick": e.Peer, "ip": ipString(e.IP)}, "* %s joined (%s)", e.Peer, ipString(e.IP))
	case client.EventPeerLeft:
		cl.print(map[string]any{"type": "peer_left", "nick": e.Peer}, "* %s left", e.Peer)
	case client.EventBroadcast:
		if e.ID != 0 && cl.bcasts != nil {
			delete(cl.bcasts, e.ID) // our own, echoed: the core says which (never by text)
		}
		cl.bids.see(e.BID)
		from := e.From
		if from == "" {
			from = "?"
		}
		missed := ""
		if e.Missed {
			missed = "(missed) "
		}
		obj := map[string]any{"type": "broadcast", "from": e.From, "text": e.Text, "ts": ts(e.Time), "seq": e.Seq, "signature": e.Signature.String(),
			"id": e.ID, "bid": e.BID, "missed": e.Missed}
		if e.File != nil {
			obj["file"] = fileObj("picture", "", e.File)
			cl.print(obj, "[%s] %s%s posted a picture: %s (saved as %s)", clock, missed, from, e.File.Name, e.File.Path)
			break
		}
		cl.print(obj, "[%s] %s%s%s: %s", clock, missed, sigMark(e.Signature), from, e.Text)
	case client.EventInvite:
		cl.print(map[string]any{"type": "invite", "from": e.From, "expires": ts(e.Expires)},
			"* %s invites you to a private chat (/accept %s or /reject %s)", e.From, e.From, e.From)
		if cl.o.autoAccept {
			cl.check(cl.c.Accept(e.From))
		}
	case client.EventInviteExpired:
		cl.print(map[string]any{"type": "invite_expired", "from": e.From}, "* the invite from %s expired", e.From)
	case client.EventChatOpen:
		cl.chatOpen(e)
	case client.EventChatMsg:
		if !cl.seen.fresh(e.From, e.ID) {
			// Printed by an earlier run: the sender sent it again, not
			// knowing we had it.
			cl.print(map[string]any{"type": "duplicate", "from": e.From, "id": e.ID, "route": e.Route.String()}, "")
			break
		}
		via := ""
		if e.Route == client.RouteMailbox {
			via = " (kept by the server while you were away)"
		}
		cl.print(map[string]any{"type": "chat_msg", "from": e.From, "text": e.Text, "ts": ts(e.Time), "id": e.ID, "route": e.Route.String()},
			"[%s] <%s> %s%s", clock, e.From, e.Text, via)
		if cl.o.readReceipts && e.ID != 0 {
			cl.check(cl.c.MarkRead(e.From, e.ID)) // printed: read
		}
	case client.EventRead:
		cl.print(map[string]any{"type": "read", "peer": e.Peer, "id": e.ID}, "(to %s #%d read)", e.Peer, e.ID)
	case client.EventSent:
		obj := map[string]any{"type": "sent", "peer": e.Peer, "id": e.ID, "final": e.Final}
		if !e.Final {
			cl.print(obj, "") // EventDelivered, EventStored or EventSendFailed follows
			break
		}
		if cl.pending != nil {
			delete(cl.pending, e.ID)
		}
		cl.print(obj, "(to %s #%d sent; this peer does not acknowledge)", e.Peer, e.ID)
	case client.EventStored:
		// The server holds it until the peer's device takes it (delivered
		// follows then, perhaps in a later run): nothing more to wait for.
		if cl.pending != nil {
			delete(cl.pending, e.ID)
		}
		cl.print(map[string]any{"type": "stored", "peer": e.Peer, "id": e.ID}, "(to %s #%d stored by the server: %s is away)", e.Peer, e.ID, e.Peer)
	case client.EventRoute:
		cl.print(map[string]any{"type": "route", "peer": e.Peer, "route": e.Route.String()}, "* private chat with %s now goes %s", e.Peer, routeWords(e.Route))
	case client.EventDelivered:
		if cl.pending != nil {
			delete(cl.pending, e.ID)
		}
		cl.print(map[string]any{"type": "delivered", "peer": e.Peer, "id": e.ID}, "(to %s #%d delivered)", e.Peer, e.ID)
	case client.EventSendFailed:
		if e.Peer == "" { // a broadcast of ours
			if cl.bcasts != nil {
				delete(cl.bcasts, e.ID)
			}
			cl.print(map[string]any{"type": "send_failed", "peer": "", "id": e.ID, "text": e.Text, "error": errText(e.Err)},
				"! broadcast not delivered: %v", e.Err)
			break
		}
		if cl.pending != nil {
			delete(cl.pending, e.ID)
		}
		cl.print(map[string]any{"type": "send_failed", "peer": e.Peer, "id": e.ID, "text": e.Text, "error": errText(e.Err)},
			"! message #%d to %s not delivered: %v", e.ID, e.Peer, e.Err)
	case client.EventChatClosed:
		obj := map[string]any{"type": "chat_closed", "peer": e.Peer, "reason": string(e.Reason)}
		if e.Err != nil {
			obj["error"] = e.Err.Error()
		}
		cl.print(obj, "* private chat with %s closed (%s)", e.Peer, e.Reason)
	case client.EventServerLost:
		cl.print(map[string]any{"type": "server_lost", "error": errText(e.Err)}, "! server connection lost: %v", e.Err)
	case client.EventReconnecting:
		cl.print(map[string]any{"type": "reconnecting", "attempt": e.Attempt, "retry_in_ms": e.RetryIn.Milliseconds()},
			"  reconnecting in %v (attempt %d)", e.RetryIn.Round(time.Millisecond), e.Attempt)
	case client.EventReconnected:
		obj := map[string]any{"type": "reconnected", "server": e.Text, "server_kind": e.Server.String()}
		if e.Server == client.ServerUnconfirmed {
			cl.print(obj, "* reconnected to %s (unconfirmed: the server has said nothing yet)", e.Text)
			break
		}
		cl.print(obj, "* reconnected to %s", e.Text)
	case client.EventError:
		obj := map[string]any{"type": "error", "text": errText(e.Err)}
		if e.Peer != "" {
			obj["peer"] = e.Peer
		}
		cl.print(obj, "! %s", hint(e.Err))
	}
}

// flush writes the buffered output, then keeps the id of the last broadcast
// printed and the private messages printed: in that order, so that a kill
// in between can only make the next run print a message again, never skip
// one.
func (cl *cli) flush() {
	cl.out.Flush()
	if err := cl.bids.save(); err != nil {
		cl.bids = nil // say it once
		cl.errorf("cannot keep the last broadcast seen: %v", err)
		cl.out.Flush()
	}
	if err := cl.seen.save(); err != nil {
		cl.seen = nil
		cl.errorf("cannot keep the messages received: %v", err)
		cl.out.Flush()
	}
}

// routeWords is how human mode names a route.
func routeWords(r client.Route) string {
	switch r {
	case client.RouteDirect:
		return "directly (peer to peer)"
	case client.RouteRelay:
		return "through the server (still end-to-end encrypted when marked so)"
	}
	return r.String()
}
