package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	pc "peerchat/core/client"
	"peerchat/core/identity"
	"peerchat/server"
)

// Defaults of the relay mode's flags.
const (
	DefaultPairs        = 50
	DefaultRoundTrips   = 20
	DefaultMessages     = 1000
	DefaultWindow       = 64
	DefaultMail         = 1000
	DefaultReplay       = 200
	DefaultIsolatedAddr = "127.0.0.2"
)

// RelayConfig is one run of the relay mode (-mode relay): pairs of real
// client cores (core/client) with keys, once able to reach each other
// directly and once isolated, so that their chats go through the server's
// relay, then the mailbox and the broadcast replay. The zero value of a
// field that has a flag is not its default: cli fills them in.
type RelayConfig struct {
	Addr         string        // server address; empty starts one in-process
	AllowRemote  bool          // allow a non-loopback Addr
	Pairs        int           // pairs of clients of each set, at least 1
	RoundTrips   int           // round-trip phase: sequential messages per pair
	Messages     int           // throughput phase: messages per pair
	Window       int           // throughput phase: unacknowledged messages per pair, at least 1
	Mail         int           // mailbox phase: messages stored for the absent client
	Replay       int           // replay phase: broadcasts sent while a client is away
	IsolatedAddr string        // ListenAddr of the isolated clients: a loopback address other than 127.0.0.1
	Timeout      time.Duration // limit of each wait
	Prefix       string        // nickname prefix
	Logger       *slog.Logger  // the generator's log; nil discards
	ServerLogger *slog.Logger  // the in-process server's log; nil discards
}

// SetResult is what one set of pairs (direct or relayed) measured.
type SetResult struct {
	Ran bool
	// Chat ends (two per pair) by the route their first EventChatOpen
	// reported, and EventRoute moves to the direct path.
	OpenedDirect, OpenedRelay, MovedDirect int64

	FirstP50, FirstP90 time.Duration // first message: Send to EventDelivered, chat set-up included
	RTTRan             bool
	RTTP50, RTTP99     time.Duration // round trip: Send to EventDelivered on an open chat
	TputRan            bool
	TputMsgs           int64         // messages sent and acknowledged in the throughput phase
	TputDuration       time.Duration // until the last was acknowledged
}

// RelayResult is the outcome of a relay-mode run.
type RelayResult struct {
	Server string // "inproc" or "external"
	Pairs  int

	Direct, Relay SetResult

	MailRan      bool
	MailSent     int
	MailStored   int64
	MailGot      int64         // messages received back with Route RouteMailbox
	MailReturn   time.Duration // from the returning client's Dial to its last message
	MailDisorder int64         // messages received out of order, or not by the mailbox

	ReplayRan    bool
	ReplaySent   int
	ReplayMissed int64         // distinct replayed broadcasts (Missed) received
	ReplayTime   time.Duration // from the returning client's Dial to the last one

	Dups, Lost, Errors int64

	OtherCPU float64 // as in Result; negative when unknown
}

// Faults returns the duplicates, losses, errors, chats of the isolated set
// that went direct, and mailbox messages out of order.
func (r *RelayResult) Faults() int64 {
	return r.Dups + r.Lost + r.Errors + r.Relay.OpenedDirect + r.Relay.MovedDirect + r.MailDisorder
}

// Summary returns the result as one line of key=value pairs.
func (r *RelayResult) Summary() string {
	b := make([]byte, 0, 1024)
	kv := func(k, v string) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(append(append(b, k...), '='), v...)
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	ms := func(ran bool, d time.Duration) string {
		if !ran {
			return na
		}
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
	}
	us := func(ran bool, d time.Duration) string {
		if !ran {
			return na
		}
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64)
	}
	rate := func(ran bool, n int64, d time.Duration) string {
		if !ran || d <= 0 {
			return na
		}
		return strconv.FormatFloat(float64(n)/d.Seconds(), 'f', 0, 64)
	}
	kv("mode", "relay")
	kv("server", r.Server)
	kv("pairs", strconv.Itoa(r.Pairs))
	for _, s := range []struct {
		name string
		r    *SetResult
	}{{"direct", &r.Direct}, {"relay", &r.Relay}} {
		kv(s.name+"_opened_direct", i(s.r.OpenedDirect))
		kv(s.name+"_opened_relay", i(s.r.OpenedRelay))
		kv(s.name+"_moved_direct", i(s.r.MovedDirect))
		kv(s.name+"_first_p50_ms", ms(s.r.Ran, s.r.FirstP50))
		kv(s.name+"_first_p90_ms", ms(s.r.Ran, s.r.FirstP90))
		kv(s.name+"_rtt_p50_us", us(s.r.RTTRan, s.r.RTTP50))
		kv(s.name+"_rtt_p99_us", us(s.r.RTTRan, s.r.RTTP99))
		kv(s.name+"_tput_msgs_per_s", rate(s.r.TputRan, s.r.TputMsgs, s.r.TputDuration))
	}
	added := na
	if r.Direct.RTTRan && r.Relay.RTTRan {
		added = strconv.FormatFloat(float64(r.Relay.RTTP50-r.Direct.RTTP50)/float64(time.Microsecond), 'f', 0, 64)
	}
	kv("rtt_added_p50_us", added)
	kv("mail_sent", strconv.Itoa(r.MailSent))
	kv("mail_stored", i(r.MailStored))
	kv("mail_got", i(r.MailGot))
	kv("mail_disorder", i(r.MailDisorder))
	kv("mail_return_ms", ms(r.MailRan, r.MailReturn))
	kv("replay_sent", strconv.Itoa(r.ReplaySent))
	kv("replay_missed", i(r.ReplayMissed))
	kv("replay_ms", ms(r.ReplayRan, r.ReplayTime))
	kv("dups", i(r.Dups))
	kv("lost", i(r.Lost))
	kv("errors", i(r.Errors))
	other := na
	if r.OtherCPU >= 0 {
		other = strconv.FormatFloat(r.OtherCPU, 'f', 0, 64)
	}
	kv("other_cpu_pct", other)
	return string(b)
}

func (c *RelayConfig) validate() error {
	switch {
	case c.Pairs < 1:
		return fmt.Errorf("%w: -pairs %d: need at least 1", errConfig, c.Pairs)
	case c.RoundTrips < 0, c.Messages < 0, c.Mail < 0, c.Replay < 0:
		return fmt.Errorf("%w: phase sizes must not be negative", errConfig)
	case c.Window < 1:
		return fmt.Errorf("%w: -window %d: need at least 1", errConfig, c.Window)
	case c.Mail > server.DefaultMailItems:
		return fmt.Errorf("%w: -mail %d: a server keeps at most %d items per recipient by default", errConfig, c.Mail, server.DefaultMailItems)
	case c.Replay > server.DefaultReplayCount:
		return fmt.Errorf("%w: -replay %d: a server keeps at most %d broadcasts by default", errConfig, c.Replay, server.DefaultReplayCount)
	case c.Replay > (2*c.Pairs-1)*server.DefaultBroadcastBurst/2:
		return fmt.Errorf("%w: -replay %d: at most %d broadcasts per sender with %d pairs (the server's broadcast burst)", errConfig, c.Replay, server.DefaultBroadcastBurst/2, c.Pairs)
	case c.Timeout <= 0:
		return fmt.Errorf("%w: -timeout must be positive", errConfig)
	case c.IsolatedAddr == "" || c.IsolatedAddr == "127.0.0.1":
		return fmt.Errorf("%w: -isolated-addr %q: need a loopback address other than 127.0.0.1", errConfig, c.IsolatedAddr)
	}
	return nil
}

// errTimedOut is a wait of the relay mode that did not end within Timeout.
var errTimedOut = errors.New("timed out")

// rrun is the state of one relay-mode run.
type rrun struct {
	cfg      RelayConfig
	log      *slog.Logger
	ctx      context.Context
	addr     string
	errs     atomic.Int64
	stopping atomic.Bool
}

// fault counts an error and logs it.
func (r *rrun) fault(msg string, args ...any) {
	if r.stopping.Load() {
		return
	}
	r.errs.Add(1)
	r.log.Warn(msg, args...)
}

// rlog is what one client received of one kind of load message, by
// sequence number.
type rlog struct {
	n, dups, disorder int64 // distinct received, duplicates, out of order (or not by the mailbox when so expected)
	next              int   // the next sequence number expected in order
	seen              map[int]bool
	lastAt            time.Time
}

// rpeer is one client core and the loop that drains its events.
type rpeer struct {
	r       *rrun
	c       *pc.Client
	cfg     pc.Config
	nick    string
	partner string
	quit    chan struct{}
	done    chan struct{}

	closeOnce sync.Once

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced whenever events were handled
	countOnly bool          // count EventDelivered without keeping their ids
	delivered map[uint64]time.Time
	nDeliv    int64
	stored    int64
	opened    pc.Route // route of the first EventChatOpen with partner
	opens     int64
	moved     int64 // EventRoute to the direct path
	recv      map[byte]*rlog
	returned  bool // dialed again by the mailbox or replay phase
	mailbox   bool // messages tagged 'm' must come by the mailbox
	leaving   bool // the partner is closing: its chat may end lost
	bids      map[uint64]bool
	lastBID   uint64
	bcasts    int64 // broadcasts received (not our echoes)
	missed    int64 // distinct broadcasts received with Missed
	echoes    int64 // echoes of our own broadcasts
	bdups     int64
	lastMiss  time.Time
	left      map[string]bool
}

// dialPeer dials one client core with a fresh identity (or id) listening on
// listen, and starts its event loop.
func (r *rrun) dialPeer(nick, partner, listen string, id *identity.Identity, lastBID uint64) (*rpeer, error) {
	returned := id != nil
	if id == nil {
		var err error
		if id, err = identity.Generate(nil); err != nil {
			return nil, err
		}
	}
	cfg := pc.Config{
		Server:        r.addr,
		Nick:          nick,
		ListenAddr:    listen,
		Identity:      id,
		Pins:          identity.NewMemoryPins(),
		ServerPins:    identity.NewMemoryPins(),
		LastBroadcast: lastBID,
		// The isolated clients' invites never get through: the relay
		// answers. Resend often so that a lost datagram between direct
		// clients costs little.
		ResendEvery: 50 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Timeout)
	defer cancel()
	c, err := pc.Dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", nick, err)
	}
	p := &rpeer{
		r: r, c: c, cfg: cfg, nick: nick, partner: partner,
		quit: make(chan struct{}), done: make(chan struct{}), changed: make(chan struct{}),
		delivered: make(map[uint64]time.Time), recv: make(map[byte]*rlog),
		bids: make(map[uint64]bool), left: make(map[string]bool),
		returned: returned,
	}
	go p.loop()
	return p, nil
}

// close closes the client core and waits for its event loop to end. It may
// be called more than once.
func (p *rpeer) close() {
	p.closeOnce.Do(func() {
		p.c.Close()
		close(p.quit)
		<-p.done
	})
}

// leave makes p's partner q leave their chat (LeaveChat) and then the
// server (Close), and waits until p has seen both. (A relayed chat whose
// peer only closes stays open on p's side until p next writes to it: its
// keepalive PING after ChatPingEvery; leaving the chat first spares the
// phase that wait.)
func (p *rpeer) leave(q *rpeer) error {
	p.mu.Lock()
	p.leaving = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.leaving = false
		p.mu.Unlock()
	}()
	if q.c.Chat(p.nick) != pc.ChatNone {
		if err := q.c.LeaveChat(p.nick); err != nil {
			return fmt.Errorf("%s leaving the chat with %s: %w", q.nick, p.nick, err)
		}
		if err := p.waitFor(true, func() bool { return p.c.Chat(q.nick) == pc.ChatNone }); err != nil {
			return fmt.Errorf("%s never saw %s leave the chat: %w", p.nick, q.nick, err)
		}
	}
	q.close()
	if err := p.waitFor(false, func() bool { return p.left[q.nick] }); err != nil {
		return fmt.Errorf("%s never saw %s leave: %w", p.nick, q.nick, err)
	}
	return nil
}

// loop drains p's events until p is closed.
func (p *rpeer) loop() {
	defer close(p.done)
	var buf []pc.Event
	var accept []string
	for {
		select {
		case <-p.c.Events():
		case <-p.quit:
			return
		}
		buf = p.c.Poll(buf[:0])
		now := time.Now()
		accept = accept[:0]
		p.mu.Lock()
		for i := range buf {
			if e := &buf[i]; e.Kind == pc.EventInvite {
				accept = append(accept, e.From)
			} else {
				p.handle(e, now)
			}
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		for _, from := range accept {
			if err := p.c.Accept(from); err != nil {
				p.r.fault("accept", "client", p.nick, "from", from, "err", err)
			}
		}
		clear(buf)
	}
}

// handle accounts for one event; p.mu is held.
func (p *rpeer) handle(e *pc.Event, now time.Time) {
	switch e.Kind {
	case pc.EventDelivered:
		p.nDeliv++
		if !p.countOnly {
			p.delivered[e.ID] = now
		}
	case pc.EventStored:
		p.stored++
	case pc.EventChatOpen:
		if e.Peer == p.partner {
			if p.opens == 0 {
				p.opened = e.Route
			}
			p.opens++
		}
	case pc.EventRoute:
		if e.Route == pc.RouteDirect {
			p.moved++
		}
	case pc.EventChatMsg:
		if len(e.Text) < 2 || e.From != p.partner {
			return
		}
		seq, ok := atoi([]byte(e.Text[1:]))
		if !ok {
			return
		}
		l := p.recv[e.Text[0]]
		if l == nil {
			l = &rlog{seen: make(map[int]bool)}
			p.recv[e.Text[0]] = l
		}
		if l.seen[seq] {
			l.dups++
			return
		}
		l.seen[seq] = true
		l.n++
		l.lastAt = now
		if seq != l.next || e.Text[0] == 'm' && p.mailbox && e.Route != pc.RouteMailbox {
			l.disorder++
		}
		l.next = seq + 1
	case pc.EventBroadcast:
		if e.ID != 0 {
			p.echoes++
		} else {
			p.bcasts++
		}
		if e.BID == 0 {
			return
		}
		if p.bids[e.BID] {
			p.bdups++
			return
		}
		p.bids[e.BID] = true
		p.lastBID = max(p.lastBID, e.BID)
		if e.Missed {
			p.missed++
			p.lastMiss = now
		}
	case pc.EventPeerLeft:
		p.left[e.Peer] = true
	case pc.EventSendFailed, pc.EventError, pc.EventServerLost, pc.EventKeyChanged:
		p.r.fault("client event", "client", p.nick, "kind", e.Kind, "peer", e.Peer, "err", e.Err)
	case pc.EventChatClosed:
		if e.Reason != pc.ReasonLeft && e.Reason != pc.ReasonClosed && !(p.leaving && e.Peer == p.partner) {
			p.r.fault("chat closed", "client", p.nick, "peer", e.Peer, "reason", e.Reason, "err", e.Err)
		}
	}
}

// waitFor waits until pred, called with p.mu held, holds; it fails after
// the run's Timeout. With poll, pred is also checked every few milliseconds
// (for facts no event announces, such as a peer's CAPS).
func (p *rpeer) waitFor(poll bool, pred func() bool) error {
	timer := time.NewTimer(p.r.cfg.Timeout)
	defer timer.Stop()
	var tick <-chan time.Time
	if poll {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	for {
		p.mu.Lock()
		ch, ok := p.changed, pred()
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-tick:
		case <-timer.C:
			return fmt.Errorf("%s: %w", p.nick, errTimedOut)
		case <-p.r.ctx.Done():
			return p.r.ctx.Err()
		}
	}
}

// log returns p's record of messages tagged tag.
func (p *rpeer) log(tag byte) *rlog {
	l := p.recv[tag]
	if l == nil {
		l = &rlog{seen: make(map[int]bool)}
		p.recv[tag] = l
	}
	return l
}

// sendWait sends text to p's partner and waits for its EventDelivered; it
// returns the time from Send to the event.
func (p *rpeer) sendWait(text string) (time.Duration, error) {
	t0 := time.Now()
	id, err := p.c.Send(p.partner, text)
	if err != nil {
		return 0, err
	}
	var at time.Time
	err = p.waitFor(false, func() bool {
		var ok bool
		if at, ok = p.delivered[id]; ok {
			delete(p.delivered, id)
		}
		return ok
	})
	return at.Sub(t0), err
}

// pset is one set of pairs: a[i] talks with b[i].
type pset struct {
	name   string
	listen string
	a, b   []*rpeer
	gone   []*rpeer       // b sides closed and replaced by the mailbox and replay phases
	expect map[byte]int64 // messages each b side must have received, by tag
}

func (s *pset) all() []*rpeer { return append(append([]*rpeer(nil), s.a...), s.b...) }

func (s *pset) close() {
	var wg sync.WaitGroup
	for _, p := range s.all() {
		if p != nil {
			wg.Go(p.close)
		}
	}
	wg.Wait()
}

// dialConcurrency bounds the client cores registering at once: a keys
// server proves its key to each (a signature), and hundreds of registrations
// at once on a busy machine outlast the cores' wait for that proof.
const dialConcurrency = 16

// dialSet dials the pairs of a set, dialConcurrency at a time, and waits
// until each side knows its partner's features and key.
func (r *rrun) dialSet(name, listen string) (*pset, error) {
	n := r.cfg.Pairs
	s := &pset{name: name, listen: listen, a: make([]*rpeer, n), b: make([]*rpeer, n), expect: make(map[byte]int64)}
	var wg sync.WaitGroup
	errc := make(chan error, 2*n)
	sem := make(chan struct{}, dialConcurrency)
	dial := func(dst **rpeer, nick, partner string) {
		sem <- struct{}{}
		defer func() { <-sem }()
		var err error
		if *dst, err = r.dialPeer(nick, partner, listen, nil, 0); err != nil {
			errc <- err
		}
	}
	for i := range n {
		an, bn := fmt.Sprintf("%s%sa%d", r.cfg.Prefix, name[:1], i), fmt.Sprintf("%s%sb%d", r.cfg.Prefix, name[:1], i)
		wg.Go(func() { dial(&s.a[i], an, bn) })
		wg.Go(func() { dial(&s.b[i], bn, an) })
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		s.close()
		return nil, err
	}
	for _, p := range s.all() {
		wg.Go(func() {
			if err := p.waitFor(true, func() bool { return partnerReady(p) }); err != nil {
				errc2 := fmt.Errorf("%s never learnt %s's features and key: %w", p.nick, p.partner, err)
				r.fault("set up", "err", errc2)
			}
		})
	}
	wg.Wait()
	return s, nil
}

// partnerReady reports whether p's peer table lists its partner with
// features and a key.
func partnerReady(p *rpeer) bool {
	for _, q := range p.c.Peers() {
		if q.Nick == p.partner {
			return q.Features != nil && !q.Key.IsZero()
		}
	}
	return false
}

// runSet runs the first-message, round-trip and throughput phases on s.
func (r *rrun) runSet(s *pset, out *SetResult, res *RelayResult) error {
	n := r.cfg.Pairs
	// Phase 1: every pair's first message, all pairs at once.
	r.log.Info("first message", "set", s.name, "pairs", n)
	first := make([]time.Duration, n)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, b := s.a[i], s.b[i]
			d, err := a.sendWait("f0")
			if err == nil {
				err = b.waitFor(false, func() bool { return b.log('f').n >= 1 && b.opens > 0 })
			}
			if err != nil {
				errc <- fmt.Errorf("first message %s→%s: %w", a.nick, b.nick, err)
				return
			}
			first[i] = d
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	s.expect['f'] = 1
	out.Ran = true
	out.FirstP50, out.FirstP90 = percentile(first, 50), percentile(first, 90)
	s.count(out)

	// The direct set measures the direct path: a chat the relay opened first
	// moves to the direct socket within milliseconds.
	want := pc.RouteRelay
	if s.listen == "127.0.0.1" {
		want = pc.RouteDirect
	}
	for i := range n {
		for _, p := range []*rpeer{s.a[i], s.b[i]} {
			if err := p.waitFor(true, func() bool { return p.c.Route(p.partner) == want }); err != nil {
				return fmt.Errorf("%s: chat with %s never took route %v (now %v): %w", p.nick, p.partner, want, p.c.Route(p.partner), err)
			}
		}
	}

	// Phase 2: round trips, one message at a time over all pairs.
	if r.cfg.RoundTrips > 0 {
		r.log.Info("round trips", "set", s.name, "per_pair", r.cfg.RoundTrips)
		rtt := make([]time.Duration, 0, n*r.cfg.RoundTrips)
		for k := range r.cfg.RoundTrips {
			for i := range n {
				d, err := s.a[i].sendWait("r" + strconv.Itoa(k))
				if err != nil {
					return fmt.Errorf("round trip %s: %w", s.a[i].nick, err)
				}
				rtt = append(rtt, d)
			}
		}
		for i := range n {
			b := s.b[i]
			if err := b.waitFor(false, func() bool { return b.log('r').n >= int64(r.cfg.RoundTrips) }); err != nil {
				return fmt.Errorf("round trip to %s: %w", b.nick, err)
			}
		}
		s.expect['r'] = int64(r.cfg.RoundTrips)
		out.RTTRan = true
		out.RTTP50, out.RTTP99 = percentile(rtt, 50), percentile(rtt, 99)
	}

	// Phase 3: throughput, all pairs at once, at most Window unacknowledged
	// messages each.
	if m := r.cfg.Messages; m > 0 {
		r.log.Info("throughput", "set", s.name, "per_pair", m, "window", r.cfg.Window)
		errc := make(chan error, n)
		t0 := time.Now()
		for i := range n {
			wg.Go(func() {
				a, b := s.a[i], s.b[i]
				a.mu.Lock()
				a.countOnly = true
				base := a.nDeliv
				a.mu.Unlock()
				defer func() {
					a.mu.Lock()
					a.countOnly = false
					a.mu.Unlock()
				}()
				for k := range m {
					if err := a.waitFor(false, func() bool { return int64(k)-(a.nDeliv-base) < int64(r.cfg.Window) }); err != nil {
						errc <- err
						return
					}
					if _, err := a.c.Send(b.nick, "t"+strconv.Itoa(k)); err != nil {
						errc <- err
						return
					}
				}
				if err := a.waitFor(false, func() bool { return a.nDeliv-base >= int64(m) }); err != nil {
					errc <- err
				}
			})
		}
		wg.Wait()
		out.TputDuration = time.Since(t0)
		s.expect['t'] = int64(m)
		close(errc)
		if err := <-errc; err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
		for i := range n {
			b := s.b[i]
			if err := b.waitFor(false, func() bool { return b.log('t').n >= int64(m) }); err != nil {
				return fmt.Errorf("throughput to %s: %w", b.nick, err)
			}
		}
		out.TputRan = true
		out.TputMsgs = int64(n) * int64(m)
	}
	s.count(out)
	return nil
}

// count records the routes the chats of s opened by.
func (s *pset) count(out *SetResult) {
	out.OpenedDirect, out.OpenedRelay, out.MovedDirect = 0, 0, 0
	for _, p := range s.all() {
		p.mu.Lock()
		switch {
		case p.opens == 0:
		case p.opened == pc.RouteRelay:
			out.OpenedRelay++
		default:
			out.OpenedDirect++
		}
		out.MovedDirect += p.moved
		p.mu.Unlock()
	}
}

// mailbox runs the mailbox phase on pair 0 of s: b goes away, a sends Mail
// messages, b comes back.
func (r *rrun) mailbox(s *pset, res *RelayResult) error {
	a, b := s.a[0], s.b[0]
	n := r.cfg.Mail
	r.log.Info("mailbox", "messages", n)
	if err := a.leave(b); err != nil {
		return fmt.Errorf("mailbox: %w", err)
	}
	r.log.Info("mailbox: left", "client", b.nick)
	a.mu.Lock()
	a.countOnly = true
	stored0, deliv0 := a.stored, a.nDeliv
	a.mu.Unlock()
	res.MailSent = n
	for k := range n {
		if _, err := a.c.Send(b.nick, "m"+strconv.Itoa(k)); err != nil {
			return fmt.Errorf("mailbox: send %d: %w", k, err)
		}
	}
	err := a.waitFor(false, func() bool { return a.stored-stored0 >= int64(n) })
	a.mu.Lock()
	res.MailStored = a.stored - stored0
	a.mu.Unlock()
	r.log.Info("mailbox: stored", "messages", res.MailStored)
	if err != nil {
		return fmt.Errorf("mailbox: stored %d of %d: %w", res.MailStored, n, err)
	}
	t0 := time.Now()
	b2, err := r.dialPeer(b.nick, a.nick, s.listen, b.cfg.Identity, 0)
	if err != nil {
		return fmt.Errorf("mailbox: %w", err)
	}
	s.b[0], s.gone = b2, append(s.gone, b)
	b2.mu.Lock()
	b2.mailbox = true
	b2.mu.Unlock()
	err = b2.waitFor(false, func() bool { return b2.log('m').n >= int64(n) })
	b2.mu.Lock()
	l := b2.log('m')
	res.MailGot, res.MailDisorder, res.MailReturn = l.n, l.disorder, l.lastAt.Sub(t0)
	b2.mu.Unlock()
	if err != nil {
		return fmt.Errorf("mailbox: %s got %d of %d: %w", b2.nick, res.MailGot, n, err)
	}
	res.MailRan = true
	r.log.Info("mailbox: received", "messages", res.MailGot, "ms", res.MailReturn.Milliseconds())
	if err := a.waitFor(false, func() bool { return a.nDeliv-deliv0 >= int64(n) }); err != nil {
		return fmt.Errorf("mailbox: acknowledgements: %w", err)
	}
	a.mu.Lock()
	a.countOnly = false
	a.mu.Unlock()
	return nil
}

// replay runs the replay phase on pair 0 of s: b goes away after seeing a
// broadcast, the others send Replay broadcasts, b comes back with
// LastBroadcast set.
func (r *rrun) replay(s *pset, res *RelayResult) error {
	a, b := s.a[0], s.b[0]
	k := r.cfg.Replay
	r.log.Info("replay", "broadcasts", k)
	if _, err := a.c.Broadcast("seen"); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	var last uint64
	if err := b.waitFor(false, func() bool { last = b.lastBID; return last != 0 }); err != nil {
		return fmt.Errorf("replay: %s saw no broadcast id: %w", b.nick, err)
	}
	if err := a.leave(b); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	var senders []*rpeer
	for _, p := range s.all() {
		if p != b {
			senders = append(senders, p)
		}
	}
	want := make([]int64, len(senders))
	base := make([]int64, len(senders))
	for j, p := range senders {
		p.mu.Lock()
		base[j] = p.echoes
		p.mu.Unlock()
	}
	for j := range k {
		p := senders[j%len(senders)]
		if _, err := p.c.Broadcast("b" + strconv.Itoa(j)); err != nil {
			return fmt.Errorf("replay: broadcast %d by %s: %w", j, p.nick, err)
		}
		want[j%len(senders)]++
	}
	for j, p := range senders {
		if err := p.waitFor(false, func() bool { return p.echoes-base[j] >= want[j] }); err != nil {
			return fmt.Errorf("replay: echoes of %s: %w", p.nick, err)
		}
	}
	res.ReplaySent = k
	t0 := time.Now()
	b2, err := r.dialPeer(b.nick, a.nick, s.listen, b.cfg.Identity, last)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	s.b[0], s.gone = b2, append(s.gone, b)
	err = b2.waitFor(false, func() bool { return b2.missed >= int64(k) })
	b2.mu.Lock()
	res.ReplayMissed, res.ReplayTime = b2.missed, b2.lastMiss.Sub(t0)
	b2.mu.Unlock()
	if err != nil {
		return fmt.Errorf("replay: %s got %d of %d: %w", b2.nick, res.ReplayMissed, k, err)
	}
	res.ReplayRan = true
	return nil
}

// tally adds the duplicates and losses of s's clients to res: each b side
// of the set's first clients must have every message of the phases that
// sent theirs (the returning clients of the mailbox and replay phases are
// counted by those phases).
func (r *rrun) tally(s *pset, res *RelayResult) {
	for _, p := range append(s.all(), s.gone...) {
		p.mu.Lock()
		for _, l := range p.recv {
			res.Dups += l.dups
		}
		res.Dups += p.bdups
		if !p.returned && (slices.Contains(s.b, p) || slices.Contains(s.gone, p)) {
			for tag, want := range s.expect {
				res.Lost += max(want-p.log(tag).n, 0)
			}
		}
		p.mu.Unlock()
	}
}

// RunRelay carries out the relay mode against the server cfg names (or one
// it starts in-process, with a key, so that it relays and keeps mail) and
// returns its figures. Losses, duplicates and chats that went the wrong way
// are reported in the RelayResult; an error means the run could not be
// carried out. RunRelay leaves no goroutine behind.
func RunRelay(ctx context.Context, cfg RelayConfig) (res RelayResult, err error) {
	res.OtherCPU = -1
	res.Pairs = cfg.Pairs
	if err := cfg.validate(); err != nil {
		return res, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Each client core holds its server link, two listeners and its chat
	// sockets; the in-process server the other end of the link.
	if err := raiseFileLimit(16*cfg.Pairs + fdReserve); err != nil {
		return res, err
	}
	addr := cfg.Addr
	if addr == "" {
		res.Server = "inproc"
		id, err := identity.Generate(nil)
		if err != nil {
			return res, err
		}
		// Every client core connects from 127.0.0.1: allow them all.
		srv, err := startServerConfig(ctx, "127.0.0.1:0", server.Config{
			Logger:   cfg.ServerLogger,
			Identity: id,
			MaxPerIP: 4*cfg.Pairs + 16,
		})
		if err != nil {
			return res, err
		}
		defer func() {
			if cerr := srv.stop(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		addr = srv.addr
	} else {
		res.Server = "external"
		if err := checkLoopback(ctx, addr); err != nil && (!cfg.AllowRemote || !errors.Is(err, errRemote)) {
			return res, err
		}
	}
	r := &rrun{cfg: cfg, log: log, ctx: ctx, addr: addr}
	cpu0 := sampleCPU(0)
	defer func() {
		res.OtherCPU = otherCPU(cpu0, sampleCPU(0))
		res.Errors += r.errs.Load()
	}()

	// The direct set: the peers reach each other on 127.0.0.1.
	direct, err := r.dialSet("direct", "127.0.0.1")
	if err != nil {
		return res, err
	}
	perr := r.runSet(direct, &res.Direct, &res)
	r.tally(direct, &res)
	r.stopping.Store(true)
	direct.close()
	r.stopping.Store(false)
	if perr != nil {
		return res, r.incomplete(perr, &res)
	}

	// The isolated set: the peers listen on IsolatedAddr, while the server
	// sees them at 127.0.0.1, where nothing listens.
	relayed, err := r.dialSet("relay", cfg.IsolatedAddr)
	if err != nil {
		return res, err
	}
	defer func() {
		r.stopping.Store(true)
		relayed.close()
	}()
	perr = r.runSet(relayed, &res.Relay, &res)
	if perr == nil && cfg.Mail > 0 {
		perr = r.mailbox(relayed, &res)
	}
	if perr == nil && cfg.Replay > 0 {
		perr = r.replay(relayed, &res)
	}
	r.tally(relayed, &res)
	if perr != nil {
		return res, r.incomplete(perr, &res)
	}
	res.Lost += int64(res.MailSent) - res.MailGot + int64(res.ReplaySent) - res.ReplayMissed
	return res, nil
}

// incomplete reports a phase that failed: a timed-out wait is a loss in
// the result, anything else ends the run with an error.
func (r *rrun) incomplete(err error, res *RelayResult) error {
	if errors.Is(err, errTimedOut) {
		r.log.Warn("phase incomplete", "err", err)
		res.Lost++
		return nil
	}
	return err
}
