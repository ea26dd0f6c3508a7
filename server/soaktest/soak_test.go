//go:build unix

package soaktest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"peerchat/server/internal/testbin"
)

// bin holds the peerchat-server and peerchat-cli binaries TestMain built.
var bin string

func TestMain(m *testing.M) {
	testbin.Main(m, &bin, "soaktest", "peerchat-server", "peerchat-cli")
}

// size is one soak's dimensions.
type size struct {
	ops        int           // private messages and broadcasts sent, in all
	rate       int           // of them per second
	bcastEvery int           // one op in bcastEvery is a broadcast
	appKills   int           // clients killed and restarted
	freezes    int           // clients stopped (SIGSTOP) for a moment (freezeFor)
	longFreeze int           // clients stopped for longer than the keepalives (longFreezeFor)
	drain      time.Duration // how long everything may take to arrive after the traffic
}

var (
	ciSize   = size{ops: 2000, rate: 40, bcastEvery: 5, appKills: 8, freezes: 4, longFreeze: 1, drain: 60 * time.Second}
	fullSize = size{ops: 20000, rate: 50, bcastEvery: 5, appKills: 60, freezes: 30, longFreeze: 6, drain: 120 * time.Second}
)

const (
	nodes       = 5
	serverKills = 2
	serverDown  = time.Second // how long the server stays dead
	freezeFor   = 2 * time.Second
	// longFreezeFor passes the chat keepalive and the server's heartbeat
	// timeout (30 s each): the frozen client's chats close (ErrPeerSilent),
	// the server drops it, and messages to it take the mailbox.
	longFreezeFor = 36 * time.Second
	excuseWindow  = 5 * time.Second // a server kill this soon after a broadcast may lose it for a client that was away
)

// pmsg is one private message the soak sent.
type pmsg struct {
	from, to, text string
	seq            int // the order the driver wrote it (per sender and recipient order follows)
	inc            int // the sender's run that got it
	id             uint64
	queued         bool // the sender printed queued
	noKey          bool // Send refused it at once: the sender never saw the recipient's key (client.ErrNoKey)
	states         map[string]int
	doubt          bool // the sender was killed before delivered or stored
}

func (m *pmsg) sent() bool { return m.states["delivered"] > 0 || m.states["stored"] > 0 }

// bmsg is one broadcast the soak sent.
type bmsg struct {
	from, text string
	seq        int
	echoed     time.Time // when the sender printed its echo (zero: not yet)
	queued     bool      // the sender printed queued (the core took it)
	failed     bool
	doubt      bool
}

// got is one message a client printed.
type got struct {
	from, text, route string
	missed            bool
	inc               int
}

// node is one client: its runs (incarnations) and what they printed.
type node struct {
	s    *soak
	nick string
	dir  string

	// under s.mu:
	inc        int
	cmd        *exec.Cmd
	stdin      io.WriteCloser
	up         bool           // a run is going and registered
	frozen     bool           // stopped with SIGSTOP
	downSince  time.Time      // when the last run was killed (zero while up)
	downs      [][2]time.Time // intervals not registered: killed → registered again
	privs      []got
	bcasts     []got
	ids        map[uint64]*pmsg // by id, every run's
	registered chan struct{}    // closed when the current run registered
	exited     chan struct{}    // closed when the current run's output ended
	errs       []string
	peers      map[string]bool // listed by the current run
	raw        []string        // every line of every run, prefixed with the run's number
	firstBcast time.Time       // when a run first printed a broadcast with a bid
}

type soak struct {
	t    *testing.T
	addr string

	mu       sync.Mutex
	nodes    []*node
	byNick   map[string]*node
	privs    map[string]*pmsg // by text
	privList []*pmsg
	bcasts   map[string]*bmsg
	bList    []*bmsg
	srv      *exec.Cmd
	srvDir   string
	srvKills []time.Time
	counts   map[string]int
	procs    sync.WaitGroup
	changed  chan struct{} // closed and replaced at every event
}

// notify wakes waitUntil. The caller holds s.mu.
func (s *soak) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitUntil waits until cond (called with s.mu held) is true, or d passed;
// it reports cond. It looks again at most every 100 ms while events come.
func (s *soak) waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
		select {
		case <-deadline:
		case <-time.After(100 * time.Millisecond): // coalesce a burst of events
		}
	}
}

// freePort returns a loopback address free at the moment.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs peerchat-server on s.addr with its data directory.
func (s *soak) startServer() {
	s.t.Helper()
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(filepath.Join(bin, "peerchat-server"), "-addr", s.addr, "-data", s.srvDir,
			"-discovery=false", "-mdns=false", "-log-format", "json", "-log-level", "warn", "-stats-interval", "0",
			"-broadcast-rate", "1000", "-broadcast-burst", "1000")
		out, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			s.t.Fatal(err)
		}
		s.procs.Add(1)
		go func() {
			defer s.procs.Done()
			io.Copy(io.Discard, out)
			cmd.Wait()
		}()
		// The server is up once its port answers.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond); err == nil {
				c.Close()
				s.mu.Lock()
				s.srv = cmd
				s.mu.Unlock()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		if attempt == 3 {
			s.t.Fatalf("the server did not start on %s", s.addr)
		}
	}
}

func (s *soak) killServer() {
	s.mu.Lock()
	cmd := s.srv
	s.srv = nil
	s.srvKills = append(s.srvKills, time.Now())
	s.counts["server kills"]++
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
}

// start runs n's next incarnation and waits until it registered (a run
// refused, say because the server still holds the old connection, is
// retried).
func (n *node) start() {
	s := n.s
	s.t.Helper()
	for attempt := 0; ; attempt++ {
		if n.startOnce() {
			return
		}
		if attempt == 20 {
			s.t.Fatalf("%s did not register again", n.nick)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (n *node) startOnce() bool {
	s := n.s
	cmd := exec.Command(filepath.Join(bin, "peerchat-cli"), "-json", "-nick", n.nick, "-server", s.addr,
		"-data", n.dir, "-listen", "127.0.0.1", "-auto-accept", "-drain", "20s")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	n.inc++
	inc := n.inc
	n.peers = map[string]bool{}
	n.cmd, n.stdin = cmd, stdin
	reg, exited := make(chan struct{}), make(chan struct{})
	n.registered, n.exited = reg, exited
	s.mu.Unlock()
	s.procs.Add(1)
	go func() {
		defer s.procs.Done()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			err := json.Unmarshal(sc.Bytes(), &m)
			s.mu.Lock()
			n.raw = append(n.raw, fmt.Sprintf("%d %s %s", inc, time.Now().Format("15:04:05.000"), sc.Bytes()))
			s.mu.Unlock()
			if err == nil {
				n.event(inc, m, reg)
			}
		}
		cmd.Wait()
		close(exited)
	}()
	select {
	case <-reg:
		return true
	case <-exited:
		return false
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
		return false
	}
}

// event records one line printed by run inc of n.
func (n *node) event(inc int, m map[string]any, reg chan struct{}) {
	s := n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	typ, _ := m["type"].(string)
	str := func(k string) string { v, _ := m[k].(string); return v }
	num := func(k string) uint64 { v, _ := m[k].(float64); return uint64(v) }
	switch typ {
	case "peer_joined":
		n.peers[str("nick")] = true
	case "peer_left":
		delete(n.peers, str("nick"))
	case "registered":
		n.up = true
		if !n.downSince.IsZero() {
			n.downs = append(n.downs, [2]time.Time{n.downSince, time.Now()})
			n.downSince = time.Time{}
		}
		close(reg)
	case "queued":
		if str("peer") == "" {
			if bm := s.bcasts[str("text")]; bm != nil && bm.from == n.nick {
				bm.queued = true
			}
			break
		}
		if pm := s.privs[str("text")]; pm != nil && pm.from == n.nick {
			pm.queued, pm.id, pm.inc = true, num("id"), inc
			n.ids[pm.id] = pm
		}
	case "refused":
		if pm := s.privs[str("text")]; pm != nil && pm.from == n.nick && str("reason") == "no_key" {
			pm.noKey = true
		}
	case "sent", "stored", "delivered", "send_failed":
		if str("peer") == "" { // a broadcast of ours that failed
			if bm := s.bcasts[str("text")]; bm != nil {
				bm.failed = true
			}
			break
		}
		if pm := n.ids[num("id")]; pm != nil {
			pm.states[typ]++
		} else {
			n.errs = append(n.errs, fmt.Sprintf("run %d: %s for an id never queued: %v", inc, typ, m))
		}
	case "chat_msg":
		n.privs = append(n.privs, got{from: str("from"), text: str("text"), route: str("route"), inc: inc})
		s.counts["route "+str("route")]++
	case "broadcast":
		missed, _ := m["missed"].(bool)
		if n.firstBcast.IsZero() && num("bid") != 0 {
			n.firstBcast = time.Now()
		}
		if str("from") == n.nick && num("id") != 0 {
			if bm := s.bcasts[str("text")]; bm != nil && bm.echoed.IsZero() {
				bm.echoed = time.Now()
			}
			break
		}
		n.bcasts = append(n.bcasts, got{from: str("from"), text: str("text"), missed: missed, inc: inc})
		if missed {
			s.counts["broadcasts replayed (missed)"]++
		}
	case "duplicate":
		s.counts["private sent again, printed once (CLI's received.log)"]++
	case "route":
		s.counts["route moves to "+str("route")]++
	case "chat_closed":
		s.counts["chats closed "+str("reason")]++
	}
}

// kill ends n's run with SIGKILL (an app kill): what it had not reported
// delivered or stored is in doubt.
func (n *node) kill() {
	s := n.s
	s.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.up = false
	n.downSince = time.Now()
	for _, pm := range s.privList {
		if pm.from == n.nick && !pm.sent() && pm.states["send_failed"] == 0 {
			pm.doubt = true
		}
	}
	for _, bm := range s.bList {
		if bm.from == n.nick && bm.echoed.IsZero() && !bm.failed {
			bm.doubt = true
		}
	}
	if n.frozen {
		cmd.Process.Signal(syscall.SIGCONT)
		n.frozen = false
	}
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// send writes one line to n's current run; false when n is down.
func (n *node) send(line string) bool {
	s := n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !n.up {
		return false
	}
	_, err := io.WriteString(n.stdin, line+"\n")
	return err == nil
}

func TestSoak(t *testing.T) {
	sz, name := ciSize, "ci"
	if os.Getenv("PEERCHAT_SOAK") == "full" {
		sz, name = fullSize, "full"
	}
	if testing.Short() {
		t.Skip("a soak of a minute or more; not in -short")
	}
	s := &soak{t: t, addr: freePort(t), srvDir: t.TempDir(), byNick: map[string]*node{},
		privs: map[string]*pmsg{}, bcasts: map[string]*bmsg{}, counts: map[string]int{}, changed: make(chan struct{})}
	t.Cleanup(func() {
		s.mu.Lock()
		if s.srv != nil {
			s.srv.Process.Kill()
		}
		for _, n := range s.nodes {
			if n.cmd != nil && n.cmd.Process != nil {
				n.cmd.Process.Signal(syscall.SIGCONT)
				n.cmd.Process.Kill()
			}
		}
		s.mu.Unlock()
		s.procs.Wait()
	})
	s.startServer()
	for i := range nodes {
		n := &node{s: s, nick: fmt.Sprintf("c%d", i), dir: t.TempDir(), ids: map[uint64]*pmsg{}}
		s.nodes = append(s.nodes, n)
		s.byNick[n.nick] = n
		n.start()
	}
	// Everyone has seen everyone (and so their keys) before the traffic.
	if !s.waitUntil(20*time.Second, func() bool {
		for _, n := range s.nodes {
			if len(n.peers) != nodes-1 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("the clients did not all see each other")
	}

	start := time.Now()
	traffic := time.Duration(sz.ops) * time.Second / time.Duration(sz.rate)
	ctx, cancel := context.WithTimeout(context.Background(), traffic)
	defer cancel()
	var chaos sync.WaitGroup
	chaos.Go(func() { s.chaos(ctx, sz, traffic) })
	s.drive(ctx, sz)
	cancel()
	chaos.Wait()
	t.Logf("%s soak: traffic for %v", name, time.Since(start).Round(time.Second))

	// Everyone up again; then wait for everything sent to arrive.
	s.mu.Lock()
	srvUp := s.srv != nil
	s.mu.Unlock()
	if !srvUp {
		s.startServer()
	}
	for _, n := range s.nodes {
		s.mu.Lock()
		up, frozen := n.up, n.frozen
		if frozen {
			n.cmd.Process.Signal(syscall.SIGCONT)
			n.frozen = false
		}
		s.mu.Unlock()
		if !up {
			n.start()
		}
	}
	drainStart := time.Now()
	settled := s.waitUntil(sz.drain, s.settled)
	t.Logf("drain: %v (settled: %v)", time.Since(drainStart).Round(100*time.Millisecond), settled)
	// Then end every run with /quit, so that its output is complete.
	for _, n := range s.nodes {
		n.send("/quit")
	}
	for _, n := range s.nodes {
		s.mu.Lock()
		exited := n.exited
		s.mu.Unlock()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not quit", n.nick)
		}
	}
	s.check()
}

// drive sends sz.ops messages at sz.rate, from random clients that are up
// to random others; one in sz.bcastEvery is a broadcast.
func (s *soak) drive(ctx context.Context, sz size) {
	tick := time.NewTicker(time.Second / time.Duration(sz.rate))
	defer tick.Stop()
	seq := 0
	for seq < sz.ops {
		select {
		case <-ctx.Done():
			// The ops left go faster: the traffic window is over.
		case <-tick.C:
		}
		from := s.nodes[rand.IntN(nodes)]
		if seq%sz.bcastEvery == 0 {
			text := fmt.Sprintf("b.%s.%d", from.nick, seq)
			s.mu.Lock()
			bm := &bmsg{from: from.nick, text: text, seq: seq}
			s.bcasts[text] = bm
			s.bList = append(s.bList, bm)
			s.mu.Unlock()
			if !from.send("/bcast " + text) {
				s.mu.Lock()
				delete(s.bcasts, text)
				s.bList = s.bList[:len(s.bList)-1]
				s.mu.Unlock()
				continue
			}
			seq++
			continue
		}
		to := s.nodes[rand.IntN(nodes)]
		if to == from {
			continue
		}
		text := fmt.Sprintf("p.%s.%s.%d", from.nick, to.nick, seq)
		s.mu.Lock()
		pm := &pmsg{from: from.nick, to: to.nick, text: text, seq: seq, states: map[string]int{}}
		s.privs[text] = pm
		s.privList = append(s.privList, pm)
		s.mu.Unlock()
		if !from.send("/msg " + to.nick + " " + text) {
			s.mu.Lock()
			delete(s.privs, text)
			s.privList = s.privList[:len(s.privList)-1]
			s.mu.Unlock()
			continue
		}
		seq++
	}
}

// chaos kills and restarts clients, freezes them, and kills the server
// twice (at a third and two thirds of the traffic), spread over the
// traffic window.
func (s *soak) chaos(ctx context.Context, sz size, traffic time.Duration) {
	type action struct {
		at   time.Duration
		kind string
	}
	var plan []action
	for i := range serverKills {
		plan = append(plan, action{traffic * time.Duration(i+1) / (serverKills + 1), "server"})
	}
	for range sz.appKills {
		plan = append(plan, action{time.Duration(rand.Int64N(int64(traffic * 9 / 10))), "kill"})
	}
	for range sz.freezes {
		plan = append(plan, action{time.Duration(rand.Int64N(int64(traffic * 9 / 10))), "freeze"})
	}
	if room := traffic - longFreezeFor - 4*time.Second; room > 0 {
		for range sz.longFreeze {
			plan = append(plan, action{time.Duration(rand.Int64N(int64(room))), "longfreeze"})
		}
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].at < plan[j].at })
	start := time.Now()
	var wg sync.WaitGroup
	defer wg.Wait()
	busy := make([]sync.Mutex, nodes) // one action at a time per client
	for _, a := range plan {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(a.at))):
		}
		switch a.kind {
		case "server":
			s.killServer()
			time.Sleep(serverDown)
			s.startServer()
		case "kill", "freeze", "longfreeze":
			i := rand.IntN(nodes)
			if !busy[i].TryLock() {
				continue
			}
			n := s.nodes[i]
			wg.Go(func() {
				defer busy[i].Unlock()
				if a.kind == "kill" {
					s.mu.Lock()
					up := n.up
					s.mu.Unlock()
					if !up {
						return
					}
					n.kill()
					s.mu.Lock()
					s.counts["app kills"]++
					s.mu.Unlock()
					time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
					n.start()
					return
				}
				s.mu.Lock()
				if !n.up {
					s.mu.Unlock()
					return
				}
				n.cmd.Process.Signal(syscall.SIGSTOP)
				n.frozen = true
				d := freezeFor
				if a.kind == "longfreeze" {
					d = longFreezeFor
				}
				s.counts["freezes of "+d.String()]++
				s.mu.Unlock()
				time.Sleep(d)
				s.mu.Lock()
				if n.frozen {
					n.cmd.Process.Signal(syscall.SIGCONT)
					n.frozen = false
				}
				s.mu.Unlock()
			})
		}
	}
}

// settled reports whether every private message counted sent was received
// and delivered, no message waits without doubt, and every broadcast
// echoed reached every other client. The caller holds s.mu.
func (s *soak) settled() bool {
	have := map[string]map[string]bool{} // nick → texts received
	for _, n := range s.nodes {
		have[n.nick] = map[string]bool{}
		for _, g := range n.privs {
			have[n.nick][g.text] = true
		}
		for _, g := range n.bcasts {
			have[n.nick][g.text] = true
		}
	}
	for _, pm := range s.privList {
		if pm.doubt || pm.states["send_failed"] > 0 {
			continue
		}
		if pm.states["delivered"] == 0 || !have[pm.to][pm.text] {
			return false
		}
	}
	for _, bm := range s.bList {
		if bm.echoed.IsZero() {
			if bm.doubt || bm.failed || !bm.queued {
				continue
			}
			return false
		}
		for _, n := range s.nodes {
			if n.nick != bm.from && !have[n.nick][bm.text] && s.excused(n, bm) == "" {
				return false
			}
		}
	}
	return true
}

// excused says why n may lack broadcast bm, or "" when it may not. Both
// reasons need n away (not registered) when bm was echoed: "server kill"
// when the server was killed soon after (it keeps broadcasts for replay in
// batches, docs/PROTOCOL.md §2.9); "no last id" when n had not printed a
// single broadcast before it went away, so its next run had no
// LastBroadcast to ask the server from (a first run killed at once). The
// caller holds s.mu.
func (s *soak) excused(n *node, bm *bmsg) string {
	var since time.Time // when n went away, if it was away at bm's echo
	if !n.downSince.IsZero() && !bm.echoed.Before(n.downSince) {
		since = n.downSince
	}
	for _, d := range n.downs {
		if !bm.echoed.Before(d[0]) && bm.echoed.Before(d[1]) {
			since = d[0]
		}
	}
	if since.IsZero() {
		return ""
	}
	for _, k := range s.srvKills {
		if k.After(bm.echoed) && k.Sub(bm.echoed) < excuseWindow {
			return "server kill"
		}
	}
	if n.firstBcast.IsZero() || n.firstBcast.After(since) {
		return "no last id"
	}
	return ""
}

// check compares what every client got with what was sent to it, and
// reports the counts.
func (s *soak) check() {
	c, problems := s.tally()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %-52s %d", k, c[k])
	}
	s.t.Logf("counts:%s", b.String())
	if len(problems) > 0 {
		s.t.Errorf("%d problems; the first:\n  %s\n%s", c["problems"], strings.Join(problems, "\n  "), s.keepLogs())
	}
}

// keepLogs writes every client's output (each line prefixed with its run's
// number and the time it was read) to a directory that outlives the test,
// and says where.
func (s *soak) keepLogs() string {
	dir, err := os.MkdirTemp("", "peerchat-soak-")
	if err != nil {
		return "(the clients' output could not be kept: " + err.Error() + ")"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.nodes {
		os.WriteFile(filepath.Join(dir, n.nick+".jsonl"), []byte(strings.Join(n.raw, "\n")+"\n"), 0o644)
	}
	return "the clients' output (run, time, line) is in " + dir
}

// tally counts what happened to every message and lists the problems
// (the first 40 of them; counts["problems"] has their number).
func (s *soak) tally() (map[string]int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := map[string]int{}
	for k, v := range s.counts {
		c[k] = v
	}
	var problems []string
	problem := func(format string, args ...any) {
		if len(problems) < 40 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
		c["problems"]++
	}
	for _, pm := range s.privList {
		switch {
		case pm.sent():
			c["private sent (delivered or stored)"]++
			if pm.states["stored"] > 0 {
				c["private stored first"]++
			}
			if pm.states["delivered"] == 0 {
				problem("%s → %s %q: stored, never delivered", pm.from, pm.to, pm.text)
			}
		case pm.states["send_failed"] > 0:
			c["private failed"]++
			problem("%s → %s %q: send_failed", pm.from, pm.to, pm.text)
		case pm.doubt:
			c["private in doubt (sender killed first)"]++
		case !pm.queued && pm.noKey:
			// The user was told at once: the recipient was away and this
			// run of the sender never saw its key (nothing to seal to).
			c["private refused at once: recipient's key never seen"]++
		case !pm.queued:
			c["private refused by Send"]++
			problem("%s → %s %q: refused by Send (an error, no queued)", pm.from, pm.to, pm.text)
		default:
			c["private unresolved"]++
			problem("%s → %s %q: neither delivered, stored nor failed (queued: %v, states %v)", pm.from, pm.to, pm.text, pm.queued, pm.states)
		}
		for typ, k := range pm.states {
			if k > 1 {
				problem("%s → %s %q: %s printed %d times", pm.from, pm.to, pm.text, typ, k)
			}
		}
	}
	for _, n := range s.nodes {
		for _, e := range n.errs {
			problem("%s: %s", n.nick, e)
		}
		// Private: each once, only what was sent to n, in order per sender.
		seen := map[string]int{}
		last := map[string]*pmsg{} // the latest in order so far, per sender
		lastGot := map[string]got{}
		for _, g := range n.privs {
			seen[g.text]++
			pm := s.privs[g.text]
			if pm == nil || pm.to != n.nick || pm.from != g.from {
				problem("%s got %q from %s: never sent to it", n.nick, g.text, g.from)
				continue
			}
			if seen[g.text] > 1 {
				c["private duplicated"]++
				problem("%s got %q again (run %d)", n.nick, g.text, g.inc)
				continue
			}
			if prev := last[g.from]; prev != nil && pm.seq < prev.seq {
				c["private out of order"]++
				problem("%s got %q (run %d, route %s) after %q (run %d, route %s)", n.nick, g.text, g.inc, g.route, prev.text, lastGot[g.from].inc, lastGot[g.from].route)
			} else {
				last[g.from], lastGot[g.from] = pm, g
			}
			if pm.doubt && !pm.sent() {
				c["private in doubt, arrived"]++
			}
		}
		for _, pm := range s.privList {
			if pm.to == n.nick && pm.sent() && seen[pm.text] == 0 {
				c["private lost"]++
				problem("%s never got %q from %s (states %v)", n.nick, pm.text, pm.from, pm.states)
			}
		}
		// Broadcasts: each at most once, in order per sender.
		bseen := map[string]int{}
		blast := map[string]int{}
		for _, g := range n.bcasts {
			bseen[g.text]++
			bm := s.bcasts[g.text]
			if bm == nil || bm.from != g.from {
				problem("%s got broadcast %q from %s: not the soak's", n.nick, g.text, g.from)
				continue
			}
			if bseen[g.text] > 1 {
				c["broadcast duplicated"]++
				problem("%s got broadcast %q again (run %d, missed %v)", n.nick, g.text, g.inc, g.missed)
				continue
			}
			if bm.seq < blast[g.from] {
				c["broadcast out of order"]++
				problem("%s got broadcast %q (from %s) after a later one", n.nick, g.text, g.from)
			}
			blast[g.from] = max(blast[g.from], bm.seq)
		}
		for _, bm := range s.bList {
			if bm.from == n.nick || bm.echoed.IsZero() || bseen[bm.text] > 0 {
				continue
			}
			if why := s.excused(n, bm); why != "" {
				c["broadcast missing, excused: "+why]++
				continue
			}
			c["broadcast lost"]++
			problem("%s never got broadcast %q from %s", n.nick, bm.text, bm.from)
		}
		c["runs (incarnations)"] += n.inc
	}
	for _, bm := range s.bList {
		switch {
		case !bm.echoed.IsZero():
			c["broadcasts sent (echoed)"]++
		case bm.failed:
			c["broadcasts failed"]++
		case bm.doubt:
			c["broadcasts in doubt"]++
		case !bm.queued:
			c["broadcasts refused (server away)"]++
		default:
			c["broadcasts unresolved"]++
			problem("broadcast %q from %s: never echoed", bm.text, bm.from)
		}
	}
	return c, problems
}
