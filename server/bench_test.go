package server

import (
	"bytes"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// benchConfig lets many clients from 127.0.0.1 register and broadcast freely.
func benchConfig() Config {
	cfg := testConfig()
	cfg.Now = nil
	cfg.MaxPerIP = 100_000
	cfg.MaxClients = 100_000
	cfg.BroadcastRate = 1e9
	cfg.BroadcastBurst = 1e9
	return cfg
}

// register connects n base clients and waits until the last one has seen
// every other; it returns them.
func register(b *testing.B, addr string, n int) []*client {
	cs := make([]*client, n)
	for i := range cs {
		c := dial(b, addr)
		c.send(fmt.Sprintf("REGISTER c%d %d", i, 1000+i))
		c.send(fmt.Sprintf("PORT c%d %d", i, 2000+i))
		cs[i] = c
	}
	last := cs[n-1]
	for seen := 0; seen < n-1; {
		p := last.next()
		if verb, _ := wire.SplitVerb([]byte(p)); string(verb) == wire.VerbJoined {
			seen++
		}
	}
	return cs
}

// BenchmarkFanout measures one broadcast reaching every registered client:
// ns/op is the time from the send until the last of N clients has read it.
// The clients read on their own goroutines, in the same process.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			_, addr := startServer(b, benchConfig())
			cs := register(b, addr, n)
			want := []byte("BROADCAST c0: go")
			var got atomic.Int64            // deliveries so far
			var target atomic.Int64         // deliveries that complete this round
			round := make(chan struct{}, 1) // the last delivery of a round
			for _, c := range cs {
				go func(c *client) {
					for {
						p, err := c.rd.ReadFrame()
						if err != nil {
							return // the benchmark's end closes the connections
						}
						if string(p) == string(want) && got.Add(1) == target.Load() {
							round <- struct{}{}
						}
					}
				}(c)
			}
			b.ResetTimer()
			for b.Loop() {
				target.Add(int64(n))
				cs[0].send("BROADCAST go")
				<-round
			}
			b.StopTimer()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkJoin measures registering one client among N registered ones: the
// newcomer's JOINED snapshot (N frames) and its JOINED to the N others.
func BenchmarkJoin(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			_, addr := startServer(b, benchConfig())
			register(b, addr, n)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				c := dial(b, addr)
				c.send(fmt.Sprintf("REGISTER new%d 1", i))
				c.send(fmt.Sprintf("PORT new%d 2", i))
				for seen := 0; seen < n; { // the snapshot holds at least the n
					p := c.next()
					if verb, _ := wire.SplitVerb([]byte(p)); string(verb) == wire.VerbJoined {
						seen++
					}
				}
				c.nc.Close()
			}
		})
	}
}

// BenchmarkFanoutSigned is BenchmarkFanout for a signed broadcast
// (SBROADCAST) from a client that proved its key: the server checks the
// signature, then N-1 base clients get BROADCAST and the sender SBCAST.
func BenchmarkFanoutSigned(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			cfg := benchConfig()
			cfg.Identity = seedID(b, 1)
			_, addr := startServer(b, cfg)
			cs := register(b, addr, n-1)
			id := seedID(b, 2)
			sender := dial(b, addr)
			sender.send("REGISTER sig 1")
			sender.send("PORT sig 2")
			sender.expect(welcomeKeys)
			for range n - 1 {
				sender.expectPrefix("JOINED ")
			}
			sender.send("HELLO 2 keys")
			srv, nonce := sender.challenge()
			sender.sident(sender.ident("sig", id, srv, nonce, false))
			sb := identity.SignedBroadcast{Server: srv, From: "sig", Sent: time.UnixMilli(1), Text: "go"}
			msg := payload(wire.SignedBroadcast{Time: sb.Sent, Sig: sb.Sign(id), Text: "go"})

			var got, target atomic.Int64
			round := make(chan struct{}, 1)
			for _, c := range append(cs, sender) {
				go func(c *client) {
					for {
						p, err := c.rd.ReadFrame()
						if err != nil {
							return
						}
						if (string(p) == "BROADCAST sig: go" || bytes.HasPrefix(p, []byte("SBCAST "))) && got.Add(1) == target.Load() {
							round <- struct{}{}
						}
					}
				}(c)
			}
			b.ResetTimer()
			for b.Loop() {
				target.Add(int64(n))
				sender.send(msg)
				<-round
			}
			b.StopTimer()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
