package server

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// BenchmarkRelay measures relayed messages per second between 500 pairs
// of proved relay clients on loopback (docs/PERFORMANCE.md): each client
// relays b.N/1000 messages of 16 bytes to its partner, in batches of
// relayBatch frames per write, and stays at most relayWindow messages
// ahead of what its partner has received from it, while it reads what its
// partner relays. It reports msgs/s, the RELAY_FAILs (drops, which must
// be 0), the peak heap of the process (server and clients, with those of
// the b.N=1 warm-up run still connected) and its growth during the run.
//
//	go test -run '^$' -bench BenchmarkRelay -benchtime 2000000x ./server
func BenchmarkRelay(b *testing.B) {
	const pairs = 500
	const relayBatch, relayWindow = 64, 256
	cfg := benchConfig()
	cfg.Identity = seedID(b, 1)
	_, addr := startServer(b, cfg)
	ids := make([]*identity.Identity, 2*pairs)
	for i := range ids {
		var err error
		if ids[i], err = identity.Generate(nil); err != nil {
			b.Fatal(err)
		}
	}
	cs := make([]*client, 2*pairs)
	for i := range cs {
		cs[i] = keysClient(b, addr, fmt.Sprintf("r%d", i), ids[i], "HELLO 2 keys relay")
	}
	n := max(b.N/len(cs), 1)
	recv := make([]atomic.Int64, len(cs))
	fails := atomic.Int64{}
	var peak atomic.Uint64
	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	stop := make(chan struct{})
	go func() { // samples the heap
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, c := range cs {
		partner := i ^ 1
		var batch []byte
		for range relayBatch {
			batch = wire.AppendFrame(batch, fmt.Appendf(nil, "RELAY r%d ch 0123456789abcdef", partner))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.rd.IdleTimeout = time.Minute
			c.nc.SetWriteDeadline(time.Now().Add(time.Minute))
			readOne := func() bool {
				p, err := c.rd.ReadFrame()
				if err != nil {
					b.Error(err)
					return false
				}
				switch {
				case bytes.HasPrefix(p, []byte("RELAYED ")):
					recv[i].Add(1)
				case bytes.HasPrefix(p, []byte("RELAY_FAIL ")):
					fails.Add(1)
				}
				return true
			}
			expect := int64((n + relayBatch - 1) / relayBatch * relayBatch)
			for sent := 0; sent < n; sent += relayBatch {
				if _, err := c.nc.Write(batch); err != nil {
					b.Error(err)
					return
				}
				// Wait for the partner to catch up, reading meanwhile.
				for recv[partner].Load() < int64(sent-relayWindow) {
					if recv[i].Load() >= expect {
						runtime.Gosched()
					} else if !readOne() {
						return
					}
				}
			}
			for recv[i].Load() < expect {
				if !readOne() {
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	close(stop)
	total := 0
	for i := range recv {
		total += int(recv[i].Load())
	}
	b.ReportMetric(float64(total)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(fails.Load()), "relay_fails")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak_heap_MiB")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), ms0.HeapInuse))/(1<<20), "heap_growth_MiB")
}
