package client

import (
	"slices"
	"strings"
	"testing"
	"time"

	"peerchat/core/e2e"
)

// benchMode is what a benchmark's chat runs: plaintext, encrypted with the
// suite the clients negotiate (AESGCM with hardware AES), or encrypted by
// clients that behave as devices without hardware AES (ChaChaPoly).
type benchMode int

const (
	benchPlain benchMode = iota
	benchEncrypted
	benchChaCha
	benchRelay // encrypted, through the server: no datagram gets through
)

// benchPair returns two clients of a real server with an open chat in which
// both sides speak "ack"; unless plain, both have identities, and the chat
// is end-to-end encrypted.
func benchPair(b *testing.B, mode benchMode) (a, c *tc) {
	ts := startServer(b)
	acfg, ccfg := testConfig(ts.Addr, "ana"), testConfig(ts.Addr, "bob")
	keyed := mode != benchPlain
	if keyed {
		acfg, ccfg = keyedConfig(ts.Addr, "ana"), keyedConfig(ts.Addr, "bob")
	}
	if mode == benchChaCha {
		acfg.hooks, ccfg.hooks = &hooks{noAES: true}, &hooks{noAES: true}
	}
	if mode == benchRelay {
		acfg, ccfg = isolated(acfg, nil), isolated(ccfg, nil)
	}
	a = dial(b, acfg)
	c = dial(b, ccfg)
	a.waitCaps("bob")
	c.waitCaps("ana")
	if keyed {
		a.waitKey("bob")
		c.waitKey("ana")
	}
	openChat(b, a, c)
	// On loopback the relay may answer first; the chat then moves to the
	// direct socket within milliseconds. Measure the path asked for.
	want := RouteDirect
	if mode == benchRelay {
		want = RouteRelay
	}
	for _, x := range []*tc{a, c} {
		for x.Route(x.peerOf(a, c)) != want {
			x.wait(EventRoute, nil)
		}
	}
	if a.Encrypted("bob") != keyed {
		b.Fatalf("encrypted %v, want %v", !keyed, keyed)
	}
	suite := e2e.ChaChaPoly
	if (mode == benchEncrypted || mode == benchRelay) && e2e.HardwareAES() {
		suite = e2e.AESGCM
	}
	if got, ok := a.chatCipher("bob"); keyed && got != suite {
		b.Fatalf("suite %v (encrypted %v), want %v", got, ok, suite)
	}
	return a, c
}

// peerOf returns the nick of the other one of a and c.
func (x *tc) peerOf(a, c *tc) string {
	if x == a {
		return c.Nick()
	}
	return a.Nick()
}

// waitKind drains c's events until n events of kind were seen, failing
// after waitTimeout without progress. It reuses buf and deadline.
func waitKind(b *testing.B, c *Client, kind EventKind, n int, buf []Event, deadline *time.Timer) []Event {
	deadline.Reset(waitTimeout)
	for n > 0 {
		buf = c.Poll(buf[:0])
		for _, e := range buf {
			if e.Kind == kind {
				n--
			}
		}
		if n <= 0 {
			break
		}
		if len(buf) > 0 {
			deadline.Reset(waitTimeout)
		}
		select {
		case <-c.Events():
		case <-deadline.C:
			b.Errorf("%s: %d events %d missing", c.Nick(), n, kind)
			return buf
		}
	}
	return buf
}

// BenchmarkChatRoundTrip measures one chat message and its CHAT_ACK on
// loopback: Send to EventDelivered.
func BenchmarkChatRoundTrip(b *testing.B) { benchRoundTrip(b, benchPlain) }

// BenchmarkChatRoundTripEncrypted is BenchmarkChatRoundTrip on an
// end-to-end encrypted chat, with the negotiated suite.
func BenchmarkChatRoundTripEncrypted(b *testing.B) { benchRoundTrip(b, benchEncrypted) }

// BenchmarkChatRoundTripEncryptedChaCha is BenchmarkChatRoundTripEncrypted
// between clients without hardware AES: ChaChaPoly.
func BenchmarkChatRoundTripEncryptedChaCha(b *testing.B) { benchRoundTrip(b, benchChaCha) }

// BenchmarkChatRoundTripRelay is BenchmarkChatRoundTripEncrypted through
// the server (RELAY/RELAYED): what the relay adds to a round trip.
func BenchmarkChatRoundTripRelay(b *testing.B) { benchRoundTrip(b, benchRelay) }

func benchRoundTrip(b *testing.B, mode benchMode) {
	a, c := benchPair(b, mode)
	go func() { // bob's UI: drain events
		var buf []Event
		for {
			select {
			case <-c.Events():
				buf = c.Poll(buf[:0])
			case <-c.ctx.Done():
				return
			}
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	var buf []Event
	deadline := time.NewTimer(waitTimeout)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := a.Send("bob", "ping"); err != nil {
			b.Fatal(err)
		}
		buf = waitKind(b, a.Client, EventDelivered, 1, buf, deadline)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkChatThroughput sends 1 KiB chat messages one way, at most
// window unacknowledged at a time, and counts them received.
func BenchmarkChatThroughput(b *testing.B) { benchThroughput(b, benchPlain) }

// BenchmarkChatThroughputEncrypted is BenchmarkChatThroughput on an
// end-to-end encrypted chat, with the negotiated suite.
func BenchmarkChatThroughputEncrypted(b *testing.B) { benchThroughput(b, benchEncrypted) }

// BenchmarkChatThroughputEncryptedChaCha is BenchmarkChatThroughputEncrypted
// between clients without hardware AES: ChaChaPoly.
func BenchmarkChatThroughputEncryptedChaCha(b *testing.B) { benchThroughput(b, benchChaCha) }

// BenchmarkChatThroughputRelay is BenchmarkChatThroughputEncrypted through
// the server.
func BenchmarkChatThroughputRelay(b *testing.B) { benchThroughput(b, benchRelay) }

func benchThroughput(b *testing.B, mode benchMode) {
	const window = 1024
	a, c := benchPair(b, mode)
	text := strings.Repeat("x", 1024)
	received := make(chan struct{})
	go func() {
		waitKind(b, c.Client, EventChatMsg, b.N, nil, time.NewTimer(waitTimeout))
		close(received)
	}()
	var buf []Event
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	inflight := 0
	for i := 0; i < b.N; i++ {
		if inflight == window {
			buf = a.Poll(buf[:0])
			for _, e := range buf {
				if e.Kind == EventDelivered {
					inflight--
				}
			}
			if inflight == window {
				<-a.Events()
				i--
				continue
			}
		}
		if _, err := a.Send("bob", text); err != nil {
			b.Fatal(err)
		}
		inflight++
	}
	<-received
	b.StopTimer()
}

// BenchmarkMailboxReturn measures a client coming back to 1,000 messages
// the server's mailbox kept for it: from its Dial to the last of them
// reported, opened and acknowledged (TestMailboxOffline checks the order).
// The sending and storing of the 1,000 is not timed.
func BenchmarkMailboxReturn(b *testing.B) {
	const n = 1000
	ts := startServer(b)
	acfg, bcfg := keyedConfig(ts.Addr, "ana"), keyedConfig(ts.Addr, "bob")
	a := dial(b, acfg)
	c := dial(b, bcfg)
	a.waitKey("bob")
	c.Close()
	a.wait(EventPeerLeft, peerIs("bob"))
	text := strings.Repeat("m", 100)
	deadline := time.NewTimer(waitTimeout)
	var buf []Event
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for range n {
			if _, err := a.Send("bob", text); err != nil {
				b.Fatal(err)
			}
		}
		buf = waitKind(b, a.Client, EventStored, n, buf, deadline)
		b.StartTimer()
		cl, err := Dial(b.Context(), bcfg)
		if err != nil {
			b.Fatal(err)
		}
		buf = waitKind(b, cl, EventChatMsg, n, buf, deadline)
		b.StopTimer()
		cl.Close()
		buf = waitKind(b, a.Client, EventDelivered, n, buf, deadline)
		b.StartTimer()
	}
	b.ReportMetric(float64(n), "msgs/op")
}
