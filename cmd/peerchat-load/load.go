package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"peerchat/core/wire"
)

// Config is one run of the generator. The zero value of a field that has a
// flag is not its default: cli fills them in.
type Config struct {
	Addr             string        // server address; empty starts one in-process (or in a child with Spawn)
	Spawn            bool          // with Addr empty, run the server in a child process and measure its memory
	ServerPID        int           // with Addr set, the external server's pid, to read its resident set
	ServerCPUProfile string        // with Spawn, the file the child writes its CPU profile to
	AllowRemote      bool          // allow a non-loopback Addr
	Clients          int           // number of clients, at least 2
	Broadcasts       int           // fan-out phase: broadcasts sent one at a time
	Burst            int           // burst phase: broadcasts sent back to back
	Senders          int           // burst phase: clients that send them
	PerIP            int           // clients per loopback source address; 0 lets the system choose
	Churn            int           // churn phase: clients that leave, fewer than Clients
	Timeout          time.Duration // limit of each phase
	Prefix           string        // nickname prefix; client i is Prefix+strconv.Itoa(i)
	Seed             uint64        // seed of the fan-out phase's choice of senders
	Strict           bool          // decode every frame with wire.Parse too
	Pollers          int           // goroutines reading the connections with epoll, at least 1
	Goroutines       bool          // read each connection from its own goroutine instead of epoll (always so without Linux)
	Logger           *slog.Logger  // the generator's log; nil discards
	ServerLogger     *slog.Logger  // the in-process server's log; nil discards
}

// Errors of Run.
var (
	errConfig = errors.New("invalid configuration")
	errRemote = errors.New("refusing a non-loopback address without -allow-remote")
)

// bcastMarker starts the part of a broadcast's text that identifies it:
// "#lgid:<id>@<ns>", where ns is the send time in nanoseconds since the start
// of the run (on the generator's monotonic clock).
const bcastMarker = "#lgid:"

// fakePortBase is the first of the UDP and TCP ports the load clients announce;
// they listen on none of them.
const fakePortBase = 10000

// fdReserve is the number of file descriptors kept for anything other than
// the client connections.
const fdReserve = 64

// na is printed for a figure that was not measured.
const na = "na"

// Phase is the outcome of one phase.
type Phase struct {
	Ran      bool          // the phase was run
	Duration time.Duration // time until the last expected event arrived, or until the phase was given up
	Dups     int64         // events a client had already seen
	Lost     int64         // expected events that had not arrived when the phase ended
}

// Result is the outcome of a run.
type Result struct {
	Mode    string // "inproc", "spawn" or "external"
	Clients int

	Join  Phase
	Fan   Phase
	Burst Phase
	Churn Phase

	BcastSent   int           // fan-out broadcasts sent
	BcastP50    time.Duration // per broadcast: time until all clients had it, median
	BcastP99    time.Duration // per broadcast: time until all clients had it, 99th percentile
	DeliveryP50 time.Duration // per delivery: time from send to one client's receipt, median
	BurstRate   float64       // deliveries per second in the burst phase

	// Errors counts failed connections, ERROR or NICKNAME_TAKEN frames,
	// spurious LEFTs, failed burst sends, and (with Strict) frames
	// wire.Parse rejected. The first three are also counted apart.
	Errors       int64
	Disconnects  int64 // connections that ended before the run did
	Refusals     int64 // ERROR or NICKNAME_TAKEN frames received
	SpuriousLeft int64 // LEFTs for clients that had not left

	// Server memory per registered idle client, in KiB; negative when not
	// measured. MemKiB is Go heap and stack in use after GC, RSSKiB the
	// resident set.
	MemKiB float64
	RSSKiB float64
	// PeakRSSMiB is the server's peak resident set (VmHWM) at the end of
	// the run, in MiB; negative when not measured (in-process mode, where
	// the clients share the process).
	PeakRSSMiB float64

	// OtherCPU is the CPU time that processes other than the generator and
	// the server used during the run, in percent of one CPU; negative when
	// unknown. Above a few percent, the figures were disturbed.
	OtherCPU float64
}

// Faults returns the number of duplicates, losses and errors.
func (r *Result) Faults() int64 { return r.Dups() + r.Lost() + r.Errors }

// Dups returns the duplicates of all phases.
func (r *Result) Dups() int64 { return r.Join.Dups + r.Fan.Dups + r.Burst.Dups + r.Churn.Dups }

// Lost returns the losses of all phases.
func (r *Result) Lost() int64 { return r.Join.Lost + r.Fan.Lost + r.Burst.Lost + r.Churn.Lost }

// Summary returns the result as one line of key=value pairs.
func (r *Result) Summary() string {
	b := make([]byte, 0, 512)
	kv := func(k, v string) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(append(append(b, k...), '='), v...)
	}
	secs := func(p Phase) string {
		if !p.Ran {
			return na
		}
		return strconv.FormatFloat(p.Duration.Seconds(), 'f', 3, 64)
	}
	ms := func(ran bool, d time.Duration) string {
		if !ran {
			return na
		}
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	kv("mode", r.Mode)
	kv("clients", strconv.Itoa(r.Clients))
	kv("join_s", secs(r.Join))
	kv("join_dups", i(r.Join.Dups))
	kv("join_lost", i(r.Join.Lost))
	fan := r.BcastSent > 0
	kv("bcast_sent", strconv.Itoa(r.BcastSent))
	kv("bcast_p50_ms", ms(fan, r.BcastP50))
	kv("bcast_p99_ms", ms(fan, r.BcastP99))
	kv("delivery_p50_ms", ms(fan, r.DeliveryP50))
	kv("bcast_dups", i(r.Fan.Dups))
	kv("bcast_lost", i(r.Fan.Lost))
	kv("burst_s", secs(r.Burst))
	rate := na
	if r.Burst.Ran && r.Burst.Lost == 0 {
		rate = strconv.FormatFloat(r.BurstRate, 'f', 0, 64)
	}
	kv("burst_deliveries_per_s", rate)
	kv("burst_dups", i(r.Burst.Dups))
	kv("burst_lost", i(r.Burst.Lost))
	kv("churn_s", secs(r.Churn))
	kv("churn_dups", i(r.Churn.Dups))
	kv("churn_lost", i(r.Churn.Lost))
	kv("dups", i(r.Dups()))
	kv("lost", i(r.Lost()))
	kv("errors", i(r.Errors))
	kv("disconnects", i(r.Disconnects))
	kv("refused", i(r.Refusals))
	kv("spurious_left", i(r.SpuriousLeft))
	kib := func(v float64) string {
		if v < 0 {
			return na
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	kv("server_mem_per_client_kib", kib(r.MemKiB))
	kv("server_rss_per_client_kib", kib(r.RSSKiB))
	kv("server_peak_rss_mib", kib(r.PeakRSSMiB))
	other := na
	if r.OtherCPU >= 0 {
		other = strconv.FormatFloat(r.OtherCPU, 'f', 0, 64)
	}
	kv("other_cpu_pct", other)
	return string(b)
}

func (c *Config) validate() error {
	switch {
	case c.Clients < 2:
		return fmt.Errorf("%w: -clients %d: need at least 2", errConfig, c.Clients)
	case c.Broadcasts < 0, c.Burst < 0, c.Churn < 0:
		return fmt.Errorf("%w: phase sizes must not be negative", errConfig)
	case c.Churn >= c.Clients:
		return fmt.Errorf("%w: -churn %d must be below -clients %d", errConfig, c.Churn, c.Clients)
	case c.Burst > 0 && c.Senders < 1:
		return fmt.Errorf("%w: -senders %d: need at least 1", errConfig, c.Senders)
	case !c.Goroutines && c.Pollers < 1:
		return fmt.Errorf("%w: -pollers %d: need at least 1", errConfig, c.Pollers)
	case c.PerIP < 0:
		return fmt.Errorf("%w: -per-ip must not be negative", errConfig)
	case c.Timeout <= 0:
		return fmt.Errorf("%w: -timeout must be positive", errConfig)
	case c.Spawn && c.Addr != "":
		return fmt.Errorf("%w: -spawn starts its own server: drop -addr", errConfig)
	case c.ServerPID != 0 && c.Addr == "":
		return fmt.Errorf("%w: -server-pid needs -addr", errConfig)
	case c.ServerCPUProfile != "" && !c.Spawn:
		return fmt.Errorf("%w: -server-cpuprofile needs -spawn", errConfig)
	}
	for _, nick := range []string{c.Prefix + "0", c.Prefix + strconv.Itoa(c.Clients-1)} {
		if err := wire.ValidateNick(nick); err != nil {
			return fmt.Errorf("%w: -prefix %q: nick %q: %w", errConfig, c.Prefix, nick, err)
		}
	}
	return nil
}

// checkLoopback returns an error unless every address host resolves to is a
// loopback address.
func checkLoopback(ctx context.Context, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: -addr %q: %w", errConfig, addr, err)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %q: %w", host, err)
	}
	for _, ip := range ips {
		if !ip.Unmap().IsLoopback() {
			return fmt.Errorf("%w: %s is %s", errRemote, host, ip)
		}
	}
	return nil
}

// tracker counts down the events a phase (or one broadcast) waits for.
// Safe for concurrent use.
type tracker struct {
	remaining atomic.Int64
	doneAt    atomic.Int64 // nanoseconds since the run's start, when remaining reached 0
	done      chan struct{}
}

func (t *tracker) init(n int64) {
	t.remaining.Store(n)
	t.done = make(chan struct{})
	if n == 0 {
		close(t.done)
	}
}

// hit counts one expected event, which arrived at now() (called only for the
// last one).
func (t *tracker) hit(now func() int64) {
	if t.remaining.Add(-1) == 0 {
		t.doneAt.Store(now())
		close(t.done)
	}
}

// bitset is a set of small integers, owned by one goroutine.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

// add adds i and reports whether it was new.
func (s bitset) add(i int) bool {
	w, m := i/64, uint64(1)<<(i%64)
	if s[w]&m != 0 {
		return false
	}
	s[w] |= m
	return true
}

// client is one load client. Its reader (its own goroutine, or the poller
// that reads it) owns the bitsets, rest and gotFirst.
type client struct {
	idx     int
	nick    string
	conn    net.Conn // set by the dialing goroutine before the join storm ends; closed once a poller reads it
	closing atomic.Bool

	// With a poller: the socket's descriptor (-1 once closed), guarded by
	// fdMu; the start of a frame left by the last read; closed when the
	// connection has ended.
	fdMu     sync.Mutex
	fd       int
	rest     []byte
	gotFirst bool
	done     chan struct{}

	joined, left, bcast bitset

	mu  sync.Mutex
	lat []time.Duration // fan-out deliveries: time from send to receipt
}

// load is the state of one run shared by its goroutines.
type load struct {
	cfg     Config
	log     *slog.Logger
	start   time.Time
	clients []*client
	churn0  int // clients with an index from churn0 on leave in the churn phase
	nFan    int // broadcast ids below nFan are the fan-out phase's

	serverPID int // the server's process, if not this one; 0 if unknown

	polls []*poller // the epoll readers; nil when each connection has its own goroutine

	join, burst, churn tracker
	fan                []tracker

	joinDups, fanDups, burstDups, leftDups atomic.Int64
	disconnects, refusals, spurious        atomic.Int64 // connection failures, ERROR or NICKNAME_TAKEN, LEFT for a client still there
	badFrames, sendFails                   atomic.Int64 // frames wire.Parse rejected (Strict), failed burst sends
	lastDial                               atomic.Int64 // when the last connection was established
	lastFirst                              atomic.Int64 // when the last client received its first frame

	// broken is closed when a connection ends unexpectedly: the phases
	// expect events that can no longer come, so the current one ends at
	// once and the later ones do not run.
	broken    chan struct{}
	breakOnce sync.Once

	// stopping is set when the run is over: from then on, connections
	// closing and the LEFTs they cause are expected.
	stopping atomic.Bool
}

func (l *load) now() int64 { return int64(time.Since(l.start)) }

// index returns the index of the load client called nick.
func (l *load) index(nick []byte) (int, bool) {
	if len(nick) >= 2 && nick[0] == '"' && nick[len(nick)-1] == '"' {
		nick = nick[1 : len(nick)-1]
	}
	p := l.cfg.Prefix
	if len(nick) <= len(p) || string(nick[:len(p)]) != p {
		return 0, false
	}
	n, ok := atoi(nick[len(p):])
	if !ok || n >= len(l.clients) || string(nick) != l.clients[n].nick {
		return 0, false
	}
	return n, true
}

// atoi parses a non-negative decimal number of at most 18 digits.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// bcastID finds the id and send time of a load broadcast in a BROADCAST
// payload's text.
func bcastID(text []byte) (id int, sent int64, ok bool) {
	i := bytes.LastIndex(text, []byte(bcastMarker))
	if i < 0 {
		return 0, 0, false
	}
	s := text[i+len(bcastMarker):]
	at := bytes.IndexByte(s, '@')
	if at < 0 {
		return 0, 0, false
	}
	id, ok1 := atoi(s[:at])
	ns, ok2 := atoi(s[at+1:])
	return id, int64(ns), ok1 && ok2
}

// appendBcastText appends the text of load broadcast id, sent at sent
// nanoseconds since the run's start.
func appendBcastText(b []byte, id int, sent int64) []byte {
	b = append(b, bcastMarker...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, '@')
	return strconv.AppendInt(b, sent, 10)
}

// write sends b on c's connection, waiting for room until deadline.
func (l *load) write(c *client, b []byte, deadline time.Time) error {
	if l.polls != nil {
		return c.writeFD(b, deadline)
	}
	c.conn.SetWriteDeadline(deadline)
	_, err := c.conn.Write(b)
	return err
}

// close ends c's connection; its reader sees the end.
func (l *load) close(c *client) {
	if l.polls != nil {
		c.shutdownFD()
		return
	}
	c.conn.Close()
}

// lost reports the end of c's connection with err, unless it was expected.
func (l *load) lost(c *client, err error) {
	if !c.closing.Load() && !l.stopping.Load() {
		l.warn(&l.disconnects, "connection lost", "client", c.nick, "err", err)
		l.breakOnce.Do(func() { close(l.broken) })
	}
}

// read is c's read loop; it returns when c's connection fails or is closed.
func (l *load) read(c *client) {
	r := wire.NewReader(c.conn, wire.DefaultServerPayload)
	// No read deadlines: setting two per frame costs the read loop about 4%
	// of its CPU, and the run's end closes every connection anyway.
	r.FrameTimeout = 0
	first := true
	for {
		p, err := r.ReadFrame()
		if first && err == nil {
			storeMax(&l.lastFirst, l.now())
			first = false
		}
		if err != nil {
			l.lost(c, err)
			return
		}
		l.dispatch(c, p)
	}
}

// dispatch accounts for one payload received by c.
func (l *load) dispatch(c *client, p []byte) {
	if l.stopping.Load() {
		return
	}
	if l.cfg.Strict {
		if _, err := wire.Parse(p); err != nil && !errors.Is(err, wire.ErrUnknownVerb) {
			l.warn(&l.badFrames, "undecodable frame", "client", c.nick, "err", err)
		}
	}
	verb, rest := wire.SplitVerb(p)
	switch string(verb) {
	case wire.VerbJoined:
		nick, _ := wire.SplitVerb(rest)
		j, ok := l.index(nick)
		if !ok {
			return // someone else's client
		}
		switch {
		case !c.joined.add(j):
			l.joinDups.Add(1)
		case j != c.idx:
			l.join.hit(l.now)
		}
	case wire.VerbBroadcast:
		id, sent, ok := bcastID(rest)
		if !ok || id >= len(c.bcast)*64 {
			return // someone else's broadcast
		}
		if !c.bcast.add(id) {
			if id < l.nFan {
				l.fanDups.Add(1)
			} else {
				l.burstDups.Add(1)
			}
			return
		}
		if id < l.nFan {
			now := l.now()
			c.mu.Lock()
			c.lat = append(c.lat, time.Duration(now-sent))
			c.mu.Unlock()
			l.fan[id].hit(func() int64 { return now })
		} else {
			l.burst.hit(l.now)
		}
	case wire.VerbLeft:
		j, ok := l.index(rest)
		if !ok || c.idx >= l.churn0 {
			return // not ours, or c is leaving too: it does not count
		}
		switch {
		case j < l.churn0:
			l.warn(&l.spurious, "LEFT for a client that did not leave", "client", c.nick, "left", l.clients[j].nick)
		case !c.left.add(j):
			l.leftDups.Add(1)
		default:
			l.churn.hit(l.now)
		}
	case wire.VerbError, wire.VerbNicknameTaken:
		l.warn(&l.refusals, "server refused", "client", c.nick, "payload", string(p))
	}
}

// Run carries out the four phases against the server cfg names (or one it
// starts) and returns their figures. Duplicates, losses and phases that time
// out are reported in the Result; an error means the run could not be carried
// out. Run returns when the run is over, or soon after ctx is done, and leaves
// no goroutine behind.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	res.MemKiB, res.RSSKiB, res.PeakRSSMiB, res.OtherCPU = -1, -1, -1, -1
	res.Clients = cfg.Clients
	if err := cfg.validate(); err != nil {
		return res, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fds := cfg.Clients + fdReserve
	if cfg.Addr == "" && !cfg.Spawn {
		fds += cfg.Clients // the server's end of each connection
	}
	if err := raiseFileLimit(fds); err != nil {
		return res, err
	}

	var mem memProbe = noProbe{}
	var closes closeCounter = noProbe{}
	serverPID := 0
	addr := cfg.Addr
	switch {
	case cfg.Spawn:
		res.Mode = "spawn"
		ch, err := startChild(ctx, cfg.Clients, cfg.ServerCPUProfile, log)
		if err != nil {
			return res, err
		}
		defer func() {
			if cerr := ch.stop(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		addr, mem, closes, serverPID = ch.addr, ch, ch, ch.cmd.Process.Pid
	case addr == "":
		res.Mode = "inproc"
		srv, err := startServer(ctx, "127.0.0.1:0", cfg.ServerLogger)
		if err != nil {
			return res, err
		}
		defer func() {
			if cerr := srv.stop(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		addr, closes = srv.addr, srv
	default:
		res.Mode = "external"
		if err := checkLoopback(ctx, addr); err != nil {
			if !cfg.AllowRemote || !errors.Is(err, errRemote) {
				return res, err
			}
			if cfg.PerIP > 0 {
				return res, fmt.Errorf("%w: -per-ip binds loopback source addresses: use -per-ip 0 with a remote server", errConfig)
			}
		}
		if cfg.ServerPID != 0 {
			mem, serverPID = pidProbe(cfg.ServerPID), cfg.ServerPID
		}
	}

	l := &load{cfg: cfg, log: log, start: time.Now(), serverPID: serverPID, broken: make(chan struct{})}
	n := cfg.Clients
	l.churn0 = n - cfg.Churn
	l.nFan = cfg.Broadcasts
	l.clients = make([]*client, n)
	nb := cfg.Broadcasts + cfg.Burst
	for i := range l.clients {
		l.clients[i] = &client{
			idx:    i,
			nick:   cfg.Prefix + strconv.Itoa(i),
			joined: newBitset(n),
			left:   newBitset(n),
			bcast:  newBitset(nb),
			lat:    make([]time.Duration, 0, cfg.Broadcasts),
			fd:     -1,
			done:   make(chan struct{}),
		}
	}
	l.join.init(int64(n) * int64(n-1))
	l.fan = make([]tracker, cfg.Broadcasts)
	for i := range l.fan {
		l.fan[i].init(int64(n))
	}
	l.burst.init(int64(n) * int64(cfg.Burst))
	l.churn.init(int64(l.churn0) * int64(cfg.Churn))

	if !cfg.Goroutines && pollSupported {
		// Stopped after every client has ended (the deferred call below
		// runs first).
		defer func() {
			for _, p := range l.polls {
				p.stop()
			}
		}()
		for range cfg.Pollers {
			p, err := newPoller(l)
			if err != nil {
				return res, err
			}
			l.polls = append(l.polls, p)
		}
		log.Info("clients read by epoll", "pollers", len(l.polls))
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		l.stopping.Store(true)
		cancel()
		wg.Wait() // the dialers close their connections when ctx is done
		res.Disconnects, res.Refusals, res.SpuriousLeft = l.disconnects.Load(), l.refusals.Load(), l.spurious.Load()
		res.Errors = res.Disconnects + res.Refusals + res.SpuriousLeft + l.badFrames.Load() + l.sendFails.Load()
	}()

	before, err := mem.measure()
	if err != nil {
		return res, err
	}

	cpu0 := sampleCPU(serverPID)
	defer func() {
		res.OtherCPU = otherCPU(cpu0, sampleCPU(serverPID))
		// Why the server closed connections, while they are all still
		// open but the churned ones: anything but "client closed" explains
		// disconnects and losses.
		m, err := closes.closed()
		if err != nil {
			log.Warn("server stats", "err", err)
			return
		}
		level := slog.LevelInfo
		if l.disconnects.Load() > 0 || l.spurious.Load() > 0 {
			level = slog.LevelWarn
		}
		for reason, k := range m {
			log.Log(context.Background(), level, "server closed connections", "reason", reason, "count", k)
		}
	}()

	// Phase 1: join storm.
	io0 := l.ioSnapshot()
	log.Info("join storm", "addr", addr, "clients", n)
	fail := make(chan error, 1)
	ready := make(chan struct{})
	var dialed sync.WaitGroup
	dialed.Add(n)
	for _, c := range l.clients {
		wg.Go(func() {
			if err := l.runClient(ctx, c, addr, ready, &dialed); err != nil {
				select {
				case fail <- err:
				default:
				}
			}
		})
	}
	t0 := l.now()
	close(ready)
	if err := l.await(ctx, &l.join, fail); err != nil {
		return res, err
	}
	res.Join = l.finish(&l.join, t0, &l.joinDups)
	dialed.Wait() // every conn is set
	log.Info("join storm over", "s", res.Join.Duration.Seconds(), "lost", res.Join.Lost,
		"last_connect_s", time.Duration(l.lastDial.Load()-t0).Seconds(),
		"last_first_frame_s", time.Duration(l.lastFirst.Load()-t0).Seconds())
	l.logIO("join storm", io0, int64(n)*int64(n-1))
	if l.isBroken() {
		return res, nil
	}

	after, err := mem.measure()
	if err != nil {
		return res, err
	}
	if before.heap >= 0 && after.heap >= 0 {
		res.MemKiB = float64(after.heap-before.heap) / 1024 / float64(n)
	}
	if before.rss >= 0 && after.rss >= 0 {
		res.RSSKiB = float64(after.rss-before.rss) / 1024 / float64(n)
	}
	if before.stack >= 0 && after.stack >= 0 {
		log.Info("server memory per client", "heap_and_stack_kib", res.MemKiB,
			"stack_kib", float64(after.stack-before.stack)/1024/float64(n))
	}
	if after.peak >= 0 {
		log.Info("server peak resident set after the join storm", "mib", float64(after.peak)/(1<<20))
	}

	// Phase 2: fan-out, one broadcast at a time.
	if cfg.Broadcasts > 0 {
		log.Info("fan-out", "broadcasts", cfg.Broadcasts)
		io0 := l.ioSnapshot()
		err := l.fanOut(ctx, &res, fail)
		l.logIO("fan-out", io0, int64(n)*int64(res.BcastSent))
		if err != nil {
			return res, err
		}
		if l.isBroken() {
			return res, nil
		}
	}

	// Phase 3: burst.
	if cfg.Burst > 0 {
		log.Info("burst", "broadcasts", cfg.Burst, "senders", min(cfg.Senders, n))
		io0 := l.ioSnapshot()
		t0 := l.sendBurst(min(cfg.Senders, n))
		if err := l.await(ctx, &l.burst, fail); err != nil {
			return res, err
		}
		l.logIO("burst", io0, int64(n)*int64(cfg.Burst))
		res.Burst = l.finish(&l.burst, t0, &l.burstDups)
		if d := res.Burst.Duration.Seconds(); d > 0 {
			res.BurstRate = float64(n) * float64(cfg.Burst) / d
		}
		if l.isBroken() {
			return res, nil
		}
	}

	// Phase 4: churn.
	if cfg.Churn > 0 {
		log.Info("churn", "clients", cfg.Churn)
		t0 := l.now()
		for _, c := range l.clients[l.churn0:] {
			c.closing.Store(true)
			l.close(c)
		}
		if err := l.await(ctx, &l.churn, fail); err != nil {
			return res, err
		}
		res.Churn = l.finish(&l.churn, t0, &l.leftDups)
	}
	if end, err := mem.measure(); err == nil && end.peak >= 0 {
		res.PeakRSSMiB = float64(end.peak) / (1 << 20)
	}
	return res, nil
}

// runClient connects c, registers it when ready is closed, and reads until the
// connection ends; it closes the connection when ctx is done.
func (l *load) runClient(ctx context.Context, c *client, addr string, ready <-chan struct{}, dialed *sync.WaitGroup) error {
	<-ready
	d := net.Dialer{Timeout: l.cfg.Timeout}
	if l.cfg.PerIP > 0 {
		d.LocalAddr = &net.TCPAddr{IP: sourceIP(c.idx / l.cfg.PerIP)}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		dialed.Done()
		return fmt.Errorf("client %s: dial %s: %w", c.nick, addr, err)
	}
	c.conn = conn
	storeMax(&l.lastDial, l.now())
	dialed.Done()
	port := fakePortBase + c.idx%50000
	b := wire.AppendMessage(make([]byte, 0, 128), wire.Register{Nick: c.nick, UDPPort: port})
	b = wire.AppendMessage(b, wire.Port{Nick: c.nick, TCPPort: port})
	conn.SetWriteDeadline(time.Now().Add(l.cfg.Timeout))
	if _, err := conn.Write(b); err != nil {
		conn.Close()
		return fmt.Errorf("client %s: register: %w", c.nick, err)
	}
	if l.polls != nil {
		if err := l.polls[c.idx%len(l.polls)].add(c); err != nil {
			conn.Close()
			return err
		}
		stop := context.AfterFunc(ctx, c.shutdownFD)
		defer stop()
		<-c.done
		return nil
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	l.read(c)
	return nil
}

// maxWarnings is how many warnings of one kind the clients log; the rest
// are only counted. A flood of warnings would slow the read loops down, and
// the server would then see slow clients.
const maxWarnings = 5

// warn counts one fault in counter and logs it if it is among the first
// maxWarnings of its kind.
func (l *load) warn(counter *atomic.Int64, msg string, args ...any) {
	if k := counter.Add(1); k <= maxWarnings {
		if k == maxWarnings {
			msg += " (further ones are only counted)"
		}
		l.log.Warn(msg, args...)
	}
}

// storeMax sets v to t if t is larger.
func storeMax(v *atomic.Int64, t int64) {
	for old := v.Load(); t > old && !v.CompareAndSwap(old, t); old = v.Load() {
	}
}

// sourceIP returns the k-th loopback address from 127.0.0.1 on.
func sourceIP(k int) net.IP {
	v := uint32(127<<24) + 1 + uint32(k)
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// isBroken reports whether a connection ended unexpectedly.
func (l *load) isBroken() bool {
	select {
	case <-l.broken:
		return true
	default:
		return false
	}
}

// await waits until t's events have all arrived, the phase times out, a
// connection is lost, ctx is done, or a client cannot connect. Only the last
// two are errors.
func (l *load) await(ctx context.Context, t *tracker, fail <-chan error) error {
	timer := time.NewTimer(l.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
		l.log.Warn("phase timed out", "missing", t.remaining.Load())
	case <-l.broken:
		l.log.Warn("a connection was lost: ending the run", "missing", t.remaining.Load())
	case err := <-fail:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// finish returns the figures of a phase that started at t0.
func (l *load) finish(t *tracker, t0 int64, dups *atomic.Int64) Phase {
	p := Phase{Ran: true, Dups: dups.Load(), Lost: t.remaining.Load()}
	end := l.now()
	if p.Lost == 0 {
		end = t.doneAt.Load()
	}
	p.Duration = time.Duration(end - t0)
	return p
}

// fanOut runs phase 2.
func (l *load) fanOut(ctx context.Context, res *Result, fail <-chan error) error {
	rng := rand.New(rand.NewPCG(l.cfg.Seed, 0))
	deadline := time.Now().Add(l.cfg.Timeout)
	timer := time.NewTimer(l.cfg.Timeout)
	defer timer.Stop()
	t0 := l.now()
	per := make([]time.Duration, 0, len(l.fan))
	buf := make([]byte, 0, 128)
	sent := 0
send:
	for id := range l.fan {
		c := l.clients[rng.IntN(len(l.clients))]
		at := l.now()
		buf = wire.AppendMessage(buf[:0], wire.Broadcast{Text: string(appendBcastText(nil, id, at))})
		if err := l.write(c, buf, deadline); err != nil {
			return fmt.Errorf("fan-out: client %s: send: %w", c.nick, err)
		}
		sent++
		select {
		case <-l.fan[id].done:
			per = append(per, time.Duration(l.fan[id].doneAt.Load()-at))
		case <-timer.C:
			l.log.Warn("fan-out timed out", "broadcast", id, "missing", l.fan[id].remaining.Load())
			break send
		case <-l.broken:
			l.log.Warn("a connection was lost: ending the run", "broadcast", id, "missing", l.fan[id].remaining.Load())
			break send
		case err := <-fail:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	res.Fan = Phase{Ran: true, Duration: time.Duration(l.now() - t0), Dups: l.fanDups.Load()}
	for id := range sent {
		res.Fan.Lost += l.fan[id].remaining.Load()
	}
	res.BcastSent = sent
	res.BcastP50 = percentile(per, 50)
	res.BcastP99 = percentile(per, 99)
	var all []time.Duration
	for _, c := range l.clients {
		c.mu.Lock()
		all = append(all, c.lat...)
		c.mu.Unlock()
	}
	res.DeliveryP50 = percentile(all, 50)
	return nil
}

// sendBurst sends phase 3's broadcasts from the first senders clients, each
// writing its share back to back in one Write, and returns the time the
// first write started.
func (l *load) sendBurst(senders int) (t0 int64) {
	var wg sync.WaitGroup
	deadline := time.Now().Add(l.cfg.Timeout)
	bufs := make([][]byte, senders)
	for s := range senders {
		var frames []byte
		var text []byte
		for id := l.nFan + s; id < l.nFan+l.cfg.Burst; id += senders {
			text = appendBcastText(text[:0], id, l.now())
			frames = wire.AppendMessage(frames, wire.Broadcast{Text: string(text)})
		}
		bufs[s] = frames
	}
	t0 = l.now()
	for s, frames := range bufs {
		c := l.clients[s]
		wg.Go(func() {
			if err := l.write(c, frames, deadline); err != nil {
				l.warn(&l.sendFails, "burst: send failed", "client", c.nick, "err", err)
			}
		})
	}
	wg.Wait()
	return t0
}

// percentile returns the p-th percentile (nearest rank) of ds, which it sorts.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	k := (len(ds)*p + 99) / 100 // ceil(len*p/100)
	return ds[max(k, 1)-1]
}

// ioCounts are read and write system calls, from /proc/<pid>/io.
type ioCounts struct {
	ok              bool
	srvR, srvW      int64 // the server's, when it is another process
	selfR, selfW    int64
	srvCPU, selfCPU int64 // CPU time in USER_HZ ticks; -1 if unknown
}

// ioSnapshot returns the system-call counts of this process and the server's.
func (l *load) ioSnapshot() ioCounts {
	var c ioCounts
	var err error
	if c.selfR, c.selfW, err = readIO("/proc/self/io"); err != nil {
		return c
	}
	if c.selfCPU, err = processCPU("/proc/self/stat"); err != nil {
		c.selfCPU = -1
	}
	c.srvCPU = -1
	if l.serverPID != 0 {
		if c.srvR, c.srvW, err = readIO(fmt.Sprintf("/proc/%d/io", l.serverPID)); err != nil {
			return c
		}
		if c.srvCPU, err = processCPU(fmt.Sprintf("/proc/%d/stat", l.serverPID)); err != nil {
			c.srvCPU = -1
		}
	}
	c.ok = true
	return c
}

// logIO logs the system calls made since c0 by a phase that delivered
// frames frames: they show how well the server batches its writes.
func (l *load) logIO(phase string, c0 ioCounts, frames int64) {
	c := l.ioSnapshot()
	if !c.ok || !c0.ok || frames == 0 {
		return
	}
	per := func(n int64) string { return strconv.FormatFloat(float64(n)/float64(frames), 'f', 3, 64) }
	if l.serverPID == 0 {
		l.log.Info("system calls per frame delivered, server and clients together", "phase", phase,
			"reads", per(c.selfR-c0.selfR), "writes", per(c.selfW-c0.selfW))
		return
	}
	l.log.Info("system calls per frame delivered", "phase", phase,
		"server_writes", per(c.srvW-c0.srvW), "server_reads", per(c.srvR-c0.srvR),
		"client_reads", per(c.selfR-c0.selfR))
	if c.srvCPU >= 0 && c0.srvCPU >= 0 && c.selfCPU >= 0 && c0.selfCPU >= 0 {
		us := func(ticks int64) string {
			return strconv.FormatFloat(float64(ticks)/userHZ*1e6/float64(frames), 'f', 2, 64)
		}
		l.log.Info("CPU time per frame delivered, µs", "phase", phase,
			"server", us(c.srvCPU-c0.srvCPU), "clients", us(c.selfCPU-c0.selfCPU))
	}
}
