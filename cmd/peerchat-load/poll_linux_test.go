package main

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"peerchat/core/wire"
)

// TestPoller feeds a polled connection frames cut at every possible place
// and checks what its poller dispatched, and how it reports the end.
func TestPoller(t *testing.T) {
	joined := func(nick string) string {
		return string(wire.AppendFrame(nil, []byte("JOINED "+nick+" 127.0.0.1 1 2")))
	}
	stream := joined("lg1") + "0         " + joined("lg2") + joined("other") + joined("lg1")
	tests := []struct {
		name      string
		chunk     int    // bytes per write
		tail      string // sent after stream
		expected  bool   // the client was closing: the end is not a loss
		wantJoin  int64  // JOINED still expected (of 2)
		wantDups  int64
		wantLosts int64 // disconnects counted
	}{
		{"whole", len(stream), "", true, 0, 1, 0},
		{"byte by byte", 1, "", true, 0, 1, 0},
		{"7 bytes", 7, "", true, 0, 1, 0},
		{"unexpected end", 5, "", false, 0, 1, 1},
		{"end inside a frame", 3, "12        JOI", false, 0, 1, 1},
		{"bad header", 64, "12x       JOINED lg2 ", true, 0, 1, 0},
		{"bad header, not closing", 64, "12x       JOINED lg2 ", false, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			l := &load{cfg: Config{Prefix: DefaultPrefix}, log: slog.New(slog.DiscardHandler), start: time.Now(), broken: make(chan struct{})}
			for i := range 3 {
				l.clients = append(l.clients, &client{idx: i, nick: DefaultPrefix + string(rune('0'+i)),
					joined: newBitset(3), left: newBitset(3), bcast: newBitset(1), fd: -1, done: make(chan struct{})})
			}
			l.join.init(2)
			p, err := newPoller(l)
			if err != nil {
				t.Fatal(err)
			}
			defer p.stop()
			c := l.clients[0]
			c.conn, err = net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			srv, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := p.add(c); err != nil {
				t.Fatal(err)
			}
			c.closing.Store(tt.expected)
			all := stream + tt.tail
			for len(all) > 0 {
				n := min(tt.chunk, len(all))
				if _, err := srv.Write([]byte(all[:n])); err != nil {
					t.Fatal(err)
				}
				all = all[n:]
			}
			if !strings.Contains(tt.tail, "x") {
				srv.Close()
			}
			select {
			case <-c.done:
			case <-time.After(5 * time.Second):
				t.Fatal("poller did not see the end")
			}
			if got := l.join.remaining.Load(); got != tt.wantJoin {
				t.Errorf("JOINED still expected = %d, want %d", got, tt.wantJoin)
			}
			if got := l.joinDups.Load(); got != tt.wantDups {
				t.Errorf("dups = %d, want %d", got, tt.wantDups)
			}
			if got := l.disconnects.Load(); got != tt.wantLosts {
				t.Errorf("disconnects = %d, want %d", got, tt.wantLosts)
			}
			if err := c.writeFD([]byte("x"), time.Now().Add(time.Second)); err == nil {
				t.Error("writeFD after the end succeeded")
			}
		})
	}
}
