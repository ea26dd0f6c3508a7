package server

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/wire"
)

// The performance checks are slow and measure rather than verify, so they
// run only when PEERCHAT_PERF is set (without -race for real figures):
//
//	PEERCHAT_PERF=1 go test -run Perf -v ./server
func perfOnly(t *testing.T) {
	if os.Getenv("PEERCHAT_PERF") == "" {
		t.Skip("set PEERCHAT_PERF=1 to run")
	}
}

func perfConfig() Config {
	cfg := testConfig()
	cfg.Now = nil
	cfg.MaxPerIP = 100_000
	cfg.MaxClients = 100_000
	cfg.RegisterTimeout = DefaultRegisterTimeout
	cfg.QueueBytes = 0
	return cfg
}

// TestPerfJoinAndFanout measures a join storm of n clients, then broadcast
// latency from one sender to all of them, then a burst.
func TestPerfJoinAndFanout(t *testing.T) {
	perfOnly(t)
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("PEERCHAT_PERF_N")); err == nil {
		n = v
	}
	s, addr := startServer(t, perfConfig())

	// Join storm: every client registers at once and reads until it saw
	// every other.
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dial(t, addr)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range clients {
		wg.Go(func() {
			if err := stormClient(c, fmt.Sprintf("u%05d", i), n); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	t.Logf("join storm: %d clients in %v", n, time.Since(start))
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Every client reads in its own goroutine and reports each broadcast's
	// latency (the text carries the send time).
	type rx struct {
		lat time.Duration
		seq int
	}
	got := make(chan rx, 4*n)
	var stop atomic.Bool
	done := make(chan struct{})
	for _, c := range clients {
		wg.Go(func() {
			c.rd.IdleTimeout = 0
			for {
				p, err := c.rd.ReadFrame()
				if err != nil {
					if !stop.Load() {
						t.Errorf("reader: %v", err)
					}
					return
				}
				_, text, _ := strings.Cut(string(p), ": ")
				seqs, ns, _ := strings.Cut(text, " ")
				seq, _ := strconv.Atoi(seqs)
				sent, _ := strconv.ParseInt(ns, 10, 64)
				select {
				case got <- rx{time.Duration(time.Now().UnixNano() - sent), seq}:
				case <-done:
					return
				}
			}
		})
	}
	sender := clients[0]
	var lats []time.Duration
	for i := range 200 {
		sender.send(fmt.Sprintf("BROADCAST %d %d", i, time.Now().UnixNano()))
		for range n {
			r := <-got
			lats = append(lats, r.lat)
		}
	}
	slices.Sort(lats)
	t.Logf("fan-out to %d: p50 %v p99 %v max %v (%d deliveries)", n,
		lats[len(lats)/2], lats[len(lats)*99/100], lats[len(lats)-1], len(lats))

	// Burst: broadcasts back to back, from several senders.
	const burst = 1000
	start = time.Now()
	go func() {
		for i := range burst {
			clients[i%10].send(fmt.Sprintf("BROADCAST %d %d", i, time.Now().UnixNano()))
		}
	}()
	for range burst * n {
		<-got
	}
	d := time.Since(start)
	t.Logf("burst: %d deliveries in %v = %.0f/s", burst*n, d, float64(burst*n)/d.Seconds())
	st := s.Stats()
	t.Logf("stats: conns %d delivered %d closed %v", st.Conns, st.Delivered, st.Closed)
	stop.Store(true)
	close(done)
	for _, c := range clients {
		c.nc.Close()
	}
	wg.Wait()
}

// TestPerfIdleMemory measures the time n clients take to join one by one
// as fast as they can, and the server's memory per idle registered client.
// The clients run in a child process (this test binary, re-executed), so
// their memory does not count.
func TestPerfIdleMemory(t *testing.T) {
	perfOnly(t)
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("PEERCHAT_PERF_N")); err == nil {
		n = v
	}
	s, addr := startServer(t, perfConfig())
	before := memInUse()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPerfClientsChild$")
	cmd.Env = append(os.Environ(), "PEERCHAT_PERF_CHILD="+addr, "PEERCHAT_PERF_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the child exits when its stdin closes
		cmd.Wait()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for s.NumPeers() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d registered; stats %+v", s.NumPeers(), n, s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d clients registered in %v", n, time.Since(start))
	waitFor(t, "queues drained", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.list {
			c.qmu.Lock()
			q := c.qbytes
			c.qmu.Unlock()
			if q > 0 {
				return false
			}
		}
		return true
	})
	after := memInUse()
	t.Logf("heap+stacks in use: %d KiB before, %d KiB after: %.1f KiB per idle registered client",
		before>>10, after>>10, float64(after-before)/float64(n)/1024)
	if st := s.Stats(); len(st.Closed) > 0 {
		t.Errorf("connections closed during the test: %v", st.Closed)
	}
}

// TestPerfClientsChild is the child process of TestPerfIdleMemory: it
// registers PEERCHAT_PERF_N clients with the server at PEERCHAT_PERF_CHILD,
// discards what they receive, and exits when its stdin closes.
func TestPerfClientsChild(t *testing.T) {
	addr := os.Getenv("PEERCHAT_PERF_CHILD")
	if addr == "" {
		t.Skip("only run by TestPerfIdleMemory")
	}
	n, _ := strconv.Atoi(os.Getenv("PEERCHAT_PERF_N"))
	for i := range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nick := fmt.Sprintf("m%05d", i)
		var b []byte
		b = wire.AppendFrame(b, []byte("REGISTER "+nick+" 1"))
		b = wire.AppendFrame(b, []byte("PORT "+nick+" 2"))
		if _, err := nc.Write(b); err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, nc)
	}
	io.Copy(io.Discard, os.Stdin)
}

func memInUse() uint64 {
	for range 3 {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
