package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/server"
)

// TestMain lets the test binary act as the -spawn child, as the real binary
// does.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == childServe {
		os.Exit(serveChild(os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// summaryKeys are the keys every summary line has, in order.
var summaryKeys = []string{
	"mode", "clients", "join_s", "join_dups", "join_lost",
	"bcast_sent", "bcast_p50_ms", "bcast_p99_ms", "delivery_p50_ms", "bcast_dups", "bcast_lost",
	"burst_s", "burst_deliveries_per_s", "burst_dups", "burst_lost",
	"churn_s", "churn_dups", "churn_lost", "dups", "lost", "errors", "disconnects", "refused", "spurious_left",
	"server_mem_per_client_kib", "server_rss_per_client_kib", "server_peak_rss_mib", "other_cpu_pct",
}

// parseSummary splits a summary line into its keys, in order, and values.
func parseSummary(t *testing.T, line string) ([]string, map[string]string) {
	t.Helper()
	var keys []string
	vals := map[string]string{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" || v == "" {
			t.Fatalf("summary field %q is not key=value: %s", f, line)
		}
		keys = append(keys, k)
		vals[k] = v
	}
	return keys, vals
}

// waitGoroutines fails t unless the number of goroutines drops to at most n
// before a deadline.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // polling a condition, with a deadline
	}
}

func smallConfig() Config {
	return Config{
		Clients:    50,
		Broadcasts: 20,
		Burst:      200,
		Senders:    DefaultSenders,
		Pollers:    DefaultPollers,
		Churn:      10,
		PerIP:      DefaultPerIP,
		Timeout:    20 * time.Second,
		Prefix:     DefaultPrefix,
		Seed:       1,
		Strict:     true,
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		mode    string
		haveMem bool
	}{
		{"inproc", func(*Config) {}, "inproc", false},
		{"inproc, a goroutine per connection", func(c *Config) { c.Goroutines = true }, "inproc", false},
		{"inproc, 3 pollers", func(c *Config) { c.Pollers = 3 }, "inproc", false},
		{"inproc one source address", func(c *Config) { c.PerIP = 0; c.Clients = 40 }, "inproc", false},
		{"spawn", func(c *Config) { c.Spawn = true }, "spawn", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			cfg := smallConfig()
			tt.mutate(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := Run(ctx, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Faults() != 0 {
				t.Errorf("faults: %s", res.Summary())
			}
			keys, vals := parseSummary(t, res.Summary())
			if !slices.Equal(keys, summaryKeys) {
				t.Errorf("summary keys = %v, want %v", keys, summaryKeys)
			}
			if vals["mode"] != tt.mode || vals["clients"] != strconv.Itoa(cfg.Clients) {
				t.Errorf("mode, clients = %s, %s; want %s, %d", vals["mode"], vals["clients"], tt.mode, cfg.Clients)
			}
			for _, k := range []string{"join_s", "bcast_p50_ms", "bcast_p99_ms", "delivery_p50_ms", "burst_s", "burst_deliveries_per_s", "churn_s"} {
				if v, err := strconv.ParseFloat(vals[k], 64); err != nil || v < 0 {
					t.Errorf("%s = %q, want a number", k, vals[k])
				}
			}
			for name, d := range map[string]time.Duration{"join": res.Join.Duration, "p50": res.BcastP50,
				"delivery p50": res.DeliveryP50, "burst": res.Burst.Duration, "churn": res.Churn.Duration} {
				if d <= 0 {
					t.Errorf("%s duration = %v, want > 0", name, d)
				}
			}
			if res.BurstRate <= 0 {
				t.Errorf("burst rate = %v, want > 0", res.BurstRate)
			}
			if vals["bcast_sent"] != strconv.Itoa(cfg.Broadcasts) {
				t.Errorf("bcast_sent = %s, want %d", vals["bcast_sent"], cfg.Broadcasts)
			}
			if res.BcastP99 < res.BcastP50 {
				t.Errorf("p99 %v < p50 %v", res.BcastP99, res.BcastP50)
			}
			for _, k := range []string{"server_mem_per_client_kib", "server_rss_per_client_kib", "server_peak_rss_mib"} {
				v, err := strconv.ParseFloat(vals[k], 64)
				switch {
				case tt.haveMem && (err != nil || v <= 0):
					t.Errorf("%s = %q, want a positive number", k, vals[k])
				case !tt.haveMem && vals[k] != na:
					t.Errorf("%s = %q, want %q", k, vals[k], na)
				}
			}
			waitGoroutines(t, base)
		})
	}
}

func TestCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		status   int
		stderr   string // a substring of standard error
		nSummary int    // lines on standard output
	}{
		{"run", []string{"-clients", "20", "-broadcasts", "5", "-burst", "40", "-churn", "5", "-strict"}, exitOK, "", 1},
		{"remote refused", []string{"-addr", "192.0.2.1:12345", "-clients", "2", "-churn", "0"}, exitAborted, "allow-remote", 0},
		{"bad churn", []string{"-clients", "10", "-churn", "10"}, exitAborted, "-churn", 0},
		{"bad prefix", []string{"-prefix", "a b"}, exitAborted, "whitespace", 0},
		{"spawn with addr", []string{"-spawn", "-addr", "127.0.0.1:1"}, exitAborted, "-spawn", 0},
		{"no server", []string{"-addr", "127.0.0.1:1", "-clients", "2", "-churn", "0", "-timeout", "5s"}, exitAborted, "dial", 0},
		{"stray argument", []string{"x"}, exitAborted, "unexpected", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			var stdout, stderr bytes.Buffer
			if got := cli(context.Background(), tt.args, &stdout, &stderr); got != tt.status {
				t.Errorf("status = %d, want %d; stderr:\n%s", got, tt.status, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderr)
			}
			lines := strings.Count(stdout.String(), "\n")
			if lines != tt.nSummary {
				t.Fatalf("stdout has %d lines, want %d: %q", lines, tt.nSummary, stdout.String())
			}
			if lines == 1 {
				keys, _ := parseSummary(t, stdout.String())
				if !slices.Equal(keys, summaryKeys) {
					t.Errorf("summary keys = %v, want %v", keys, summaryKeys)
				}
			}
			waitGoroutines(t, base)
		})
	}
}

func TestBcastID(t *testing.T) {
	tests := []struct {
		text     string
		id       int
		sent     int64
		ok       bool
		describe string
	}{
		{"#lgid:7@123", 7, 123, true, "bare"},
		{"lg3: #lgid:0@5", 0, 5, true, "with sender, as a server sends it to base clients"},
		{"#lgid:1@2 #lgid:3@4", 3, 4, true, "last marker wins"},
		{"hello", 0, 0, false, "no marker"},
		{"#lgid:7", 0, 0, false, "no time"},
		{"#lgid:x@1", 0, 0, false, "bad id"},
		{"#lgid:1@-1", 0, 0, false, "negative time"},
		{"#lgid:@1", 0, 0, false, "empty id"},
		{"#lgid:1@1 trailing", 0, 0, false, "trailing text"},
		{"#lgid:1234567890123456789@1", 0, 0, false, "too long"},
	}
	for _, tt := range tests {
		id, sent, ok := bcastID([]byte(tt.text))
		if ok != tt.ok || ok && (id != tt.id || sent != tt.sent) {
			t.Errorf("%s: bcastID(%q) = %d, %d, %v; want %d, %d, %v", tt.describe, tt.text, id, sent, ok, tt.id, tt.sent, tt.ok)
		}
	}
}

func TestIndex(t *testing.T) {
	l := &load{cfg: Config{Prefix: "lg"}}
	for i := range 12 {
		l.clients = append(l.clients, &client{idx: i, nick: "lg" + strconv.Itoa(i)})
	}
	tests := []struct {
		nick string
		idx  int
		ok   bool
	}{
		{"lg0", 0, true},
		{"lg11", 11, true},
		{`"lg5"`, 5, true},
		{"lg12", 0, false},
		{"lg05", 0, false},
		{"lg", 0, false},
		{"xg1", 0, false},
		{"LG1", 0, false},
		{"lg1x", 0, false},
		{`"lg1`, 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		idx, ok := l.index([]byte(tt.nick))
		if ok != tt.ok || ok && idx != tt.idx {
			t.Errorf("index(%q) = %d, %v; want %d, %v", tt.nick, idx, ok, tt.idx, tt.ok)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i
	}
	tests := []struct {
		ds   []time.Duration
		p    int
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(5), 50, 5 * time.Millisecond},
		{ms(5), 99, 5 * time.Millisecond},
		{ms(3, 1, 2), 50, 2 * time.Millisecond},
		{ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(slices.Clone(tt.ds), tt.p); got != tt.want {
			t.Errorf("percentile(%v, %d) = %v, want %v", tt.ds, tt.p, got, tt.want)
		}
	}
}

func TestBitset(t *testing.T) {
	s := newBitset(130)
	for _, i := range []int{0, 63, 64, 129} {
		if !s.add(i) {
			t.Errorf("add(%d) first time = false", i)
		}
		if s.add(i) {
			t.Errorf("add(%d) second time = true", i)
		}
	}
	if !s.add(1) {
		t.Error("add(1) = false, untouched bit")
	}
}

func TestReadRSS(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		content string
		want    int64
		ok      bool
	}{
		{"Name:\tx\nVmRSS:\t    2048 kB\nVmData: 1 kB\n", 2048 << 10, true},
		{"Name:\tx\n", 0, false},
		{"VmRSS:\tmany kB\n", 0, false},
		{"VmHWM:\t    4096 kB\n", 0, false}, // another key
	}
	for i, tt := range tests {
		path := fmt.Sprintf("%s/status%d", dir, i)
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readStatus(path, "VmRSS")
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("readStatus(%q, VmRSS) = %d, %v; want %d, ok=%v", tt.content, got, err, tt.want, tt.ok)
		}
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		m, err := pidProbe(os.Getpid()).measure()
		if err != nil {
			t.Errorf("pidProbe(self): %v", err)
		}
		if m.peak < m.rss || m.rss <= 0 {
			t.Errorf("pidProbe(self): rss %d, peak %d", m.rss, m.peak)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr   string
		remote bool // want errRemote
		ok     bool
	}{
		{"127.0.0.1:12345", false, true},
		{"127.3.2.1:1", false, true},
		{"[::1]:12345", false, true},
		{"192.0.2.1:12345", true, false},
		{"[2001:db8::1]:1", true, false},
		{"no-port", false, false},
	}
	for _, tt := range tests {
		err := checkLoopback(context.Background(), tt.addr)
		if (err == nil) != tt.ok || errors.Is(err, errRemote) != tt.remote {
			t.Errorf("checkLoopback(%q) = %v; want ok=%v remote=%v", tt.addr, err, tt.ok, tt.remote)
		}
	}
}

func FuzzBcastID(f *testing.F) {
	f.Add([]byte("#lgid:7@123"), 3, int64(9))
	f.Add([]byte("lg1: #lgid:0@0"), 0, int64(0))
	f.Add([]byte("#lgid:@"), 1<<40, int64(1)<<50)
	f.Fuzz(func(t *testing.T, text []byte, id int, sent int64) {
		bcastID(text) // never panics
		if id < 0 || sent < 0 {
			return
		}
		// Whatever precedes it, a marker appended last is found.
		gotID, gotSent, ok := bcastID(appendBcastText(append(text, ' '), id, sent))
		if ok != (id < 1e18 && sent < 1e18) || ok && (gotID != id || gotSent != sent) {
			t.Errorf("round trip of %d, %d after %q = %d, %d, %v", id, sent, text, gotID, gotSent, ok)
		}
	})
}

func TestCPUSample(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := dir + "/" + name
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	stat := write("stat", "cpu  100 5 50 9000 7 3 2 1 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
	if got, err := machineBusy(stat); err != nil || got != 100+5+50+3+2+1 {
		t.Errorf("machineBusy = %d, %v; want 161", got, err)
	}
	for _, bad := range []string{"", "cpu 1 2\n", "intr 1 2 3 4 5 6 7 8 9\n", "cpu x 2 3 4 5 6 7 8 9\n"} {
		if _, err := machineBusy(write("bad", bad)); err == nil {
			t.Errorf("machineBusy(%q) succeeded", bad)
		}
	}
	pstat := write("pstat", "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 17 4 0 0 20 0 1 0 5 0 0\n")
	if got, err := processCPU(pstat); err != nil || got != 21 {
		t.Errorf("processCPU = %d, %v; want 21", got, err)
	}
	if _, err := processCPU(write("pbad", "42 (x) S 1 2\n")); err == nil {
		t.Error("processCPU of a short line succeeded")
	}

	t0 := time.Unix(1000, 0)
	a := cpuSample{ok: true, at: t0, machine: 1000, ours: 400}
	tests := []struct {
		b    cpuSample
		want float64
	}{
		{cpuSample{ok: true, at: t0.Add(2 * time.Second), machine: 1300, ours: 600}, 50}, // 1 s of others' CPU in 2 s
		{cpuSample{ok: true, at: t0.Add(time.Second), machine: 1100, ours: 500}, 0},
		{cpuSample{ok: true, at: t0.Add(time.Second), machine: 1100, ours: 520}, 0}, // tick skew clamps at 0
		{cpuSample{ok: false, at: t0.Add(time.Second)}, -1},
		{cpuSample{ok: true, at: t0}, -1},
	}
	for _, tt := range tests {
		if got := otherCPU(a, tt.b); got != tt.want {
			t.Errorf("otherCPU(%+v, %+v) = %v, want %v", a, tt.b, got, tt.want)
		}
	}
	if s := sampleCPU(os.Getpid()); !s.ok {
		if _, err := os.Stat("/proc/stat"); err == nil {
			t.Error("sampleCPU failed although /proc/stat exists")
		}
	}
}

// BenchmarkDispatch measures the load clients' per-frame work beyond reading
// the socket: it must not allocate, so that the generator is not what limits
// the figures.
func BenchmarkDispatch(b *testing.B) {
	const n = 1000
	newLoad := func() (*load, *client) {
		l := &load{cfg: Config{Prefix: DefaultPrefix}, start: time.Now(), churn0: n, nFan: n}
		for i := range n {
			l.clients = append(l.clients, &client{idx: i, nick: DefaultPrefix + strconv.Itoa(i),
				joined: newBitset(n), left: newBitset(n), bcast: newBitset(2 * n)})
		}
		l.join.init(1 << 62)
		l.burst.init(1 << 62)
		l.fan = make([]tracker, n)
		for i := range l.fan {
			l.fan[i].init(1 << 62)
		}
		return l, l.clients[0]
	}
	frames := func(mk func(i int) []byte) [][]byte {
		var fs [][]byte
		for i := range n {
			fs = append(fs, mk(i))
		}
		return fs
	}
	tests := []struct {
		name   string
		frames [][]byte
	}{
		{"JOINED", frames(func(i int) []byte {
			return []byte("JOINED " + DefaultPrefix + strconv.Itoa(i) + " 127.0.0.1 10001 10001")
		})},
		{"BROADCAST fan-out", frames(func(i int) []byte {
			return append([]byte("BROADCAST lg7: "), appendBcastText(nil, i, 12345)...)
		})},
		{"BROADCAST burst", frames(func(i int) []byte {
			return append([]byte("BROADCAST lg7: "), appendBcastText(nil, n+i, 12345)...)
		})},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			l, c := newLoad()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%n == 0 {
					clear(c.joined)
					clear(c.bcast)
					c.lat = c.lat[:0]
				}
				l.dispatch(c, tt.frames[i%n])
			}
		})
	}
}

// TestRunLostConnections checks that connections the server ends are counted
// and end the run at once, instead of each phase waiting for its timeout.
func TestRunLostConnections(t *testing.T) {
	base := runtime.NumGoroutine()
	const perIP = 10
	srv, err := server.New(server.Config{MaxPerIP: perIP})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()

	cfg := smallConfig()
	cfg.Addr = ln.Addr().String()
	cfg.Clients = 2 * perIP
	cfg.PerIP = 0 // all from 127.0.0.1: half of them are refused
	cfg.Churn = 2
	cfg.Timeout = time.Minute
	start := time.Now()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > cfg.Timeout/2 {
		t.Errorf("Run took %v: it waited for a phase timeout", d)
	}
	// The run ends at the first lost connection, so not every refusal need
	// have been read by then.
	if res.Mode != "external" || res.Refusals == 0 || res.Disconnects == 0 || res.Join.Lost == 0 {
		t.Errorf("want refusals, disconnects and join losses: %s", res.Summary())
	}
	_, vals := parseSummary(t, res.Summary())
	if vals["bcast_p50_ms"] != na || vals["burst_s"] != na || vals["churn_s"] != na {
		t.Errorf("phases after the join storm ran: %s", res.Summary())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil && !errors.Is(err, server.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	waitGoroutines(t, base)
}
