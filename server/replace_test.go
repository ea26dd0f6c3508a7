package server

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"peerchat/core/wire"
)

// waitHello waits until nick's HELLO has been handled.
func waitHello(t *testing.T, s *Server, nick string) {
	t.Helper()
	waitFor(t, nick+"'s HELLO", func() bool {
		for _, p := range s.Peers() {
			if p.Nick == nick && p.Features != nil {
				return true
			}
		}
		return false
	})
}

// answerPings reads c until it closes, answering every PING with PONG and
// passing every other payload to the returned channel, which is closed at
// the end. It runs in its own goroutine and uses no testing.T method.
func answerPings(nc net.Conn) <-chan string {
	out := make(chan string, 64)
	go func() {
		defer close(out)
		rd := wire.NewReader(nc, 1<<20)
		for {
			p, err := rd.ReadFrame()
			if err != nil {
				return
			}
			if tok, ok := strings.CutPrefix(string(p), "PING "); ok {
				nc.SetWriteDeadline(time.Now().Add(waitDeadline))
				if wire.WriteFrame(nc, []byte("PONG "+tok)) != nil {
					return
				}
				continue
			}
			out <- string(p)
		}
	}()
	return out
}

// recv returns the next payload from ch, failing after waitDeadline.
func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p, ok := <-ch:
		if !ok {
			t.Fatal("connection closed")
		}
		return p
	case <-time.After(waitDeadline):
		t.Fatal("timed out waiting for a frame")
	}
	return ""
}

func TestReplaceLiveHolderStays(t *testing.T) {
	cfg := testConfig()
	cfg.ReplaceGrace = time.Second
	s, addr := startServer(t, cfg)
	holder := dial(t, addr)
	holder.registerV2("phone", 1, 2)
	waitHello(t, s, "phone")
	frames := answerPings(holder.nc)
	defer func() {
		holder.nc.Close()
		for range frames { // wait for answerPings to end
		}
	}()

	dup := dial(t, addr) // same IP, 127.0.0.1
	dup.send("REGISTER phone 3")
	dup.send("PORT phone 4")
	if got := dup.expectClosed(); !slices.Equal(got, []string{"NICKNAME_TAKEN"}) {
		t.Fatalf("duplicate got %q, want NICKNAME_TAKEN then close", got)
	}
	if got := s.Peers(); len(got) != 1 || got[0].Nick != "phone" || got[0].UDPPort != 1 {
		t.Fatalf("Peers() = %+v, want the holder only", got)
	}
	// The holder heard only the PING (answered) and still works.
	holder.send("BROADCAST still here")
	if got := recv(t, frames); got != "BCAST 1 1700000000123 phone still here" {
		t.Fatalf("holder got %q", got)
	}
	if n := s.Stats().Closed[ClosedReplaced]; n != 0 {
		t.Fatalf("%d connections closed as replaced", n)
	}
}

func TestReplaceSilentHolder(t *testing.T) {
	cfg := testConfig()
	cfg.ReplaceGrace = 300 * time.Millisecond
	cfg.RegisterTimeout = 200 * time.Millisecond // shorter than the grace: the wait is not the client's
	s, addr := startServer(t, cfg)
	obs := dial(t, addr)
	obs.register("obs", 1, 2)
	ghost := dial(t, addr)
	ghost.registerV2("phone", 3, 4)
	waitHello(t, s, "phone")
	obs.expect("JOINED phone 127.0.0.1 3 4")
	// The ghost neither reads nor answers any more.

	start := time.Now()
	back := dial(t, addr)
	back.send("REGISTER phone 5")
	back.send("PORT phone 6")
	back.expect(welcome)
	back.expect("JOINED obs 127.0.0.1 1 2")
	if d := time.Since(start); d < cfg.ReplaceGrace || d > cfg.ReplaceGrace+time.Second {
		t.Errorf("registered after %v, want about %v", d, cfg.ReplaceGrace)
	}
	// The observer hears the ghost leave, then the newcomer join, once.
	obs.send("BROADCAST end")
	var got []string
	for p := obs.next(); p != "BROADCAST obs: end"; p = obs.next() {
		got = append(got, p)
	}
	if want := []string{"LEFT phone", "JOINED phone 127.0.0.1 5 6"}; !slices.Equal(got, want) {
		t.Fatalf("observer got %q, want %q", got, want)
	}
	if got := s.Peers(); len(got) != 2 || got[1].Nick != "phone" || got[1].UDPPort != 5 {
		t.Fatalf("Peers() = %+v", got)
	}
	if n := s.Stats().Closed[ClosedReplaced]; n != 1 {
		t.Fatalf("closed = %v, want one %q", s.Stats().Closed, ReasonReplaced)
	}
	// The ghost's socket was closed.
	ghost.nc.SetReadDeadline(time.Now().Add(waitDeadline))
	if _, err := io.Copy(io.Discard, ghost.nc); err != nil && !isReset(err) {
		t.Fatalf("ghost: %v, want EOF or reset", err)
	}
}

func TestReplaceRefusedAtOnce(t *testing.T) {
	tests := []struct {
		name      string
		v2        bool
		dupSource string
	}{
		{"v2 holder, other IP", true, "127.0.0.2"},
		{"base holder, same IP", false, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.ReplaceGrace = time.Hour
			s, addr := startServer(t, cfg)
			holder := dial(t, addr)
			if tt.v2 {
				holder.registerV2("phone", 1, 2)
				waitHello(t, s, "phone")
			} else {
				holder.register("phone", 1, 2)
			}
			// The holder is silent: it would be replaced if it were eligible.
			dup := dialFrom(t, tt.dupSource, addr)
			start := time.Now()
			dup.send("REGISTER phone 3")
			if got := dup.expectClosed(); !slices.Equal(got, []string{"NICKNAME_TAKEN"}) {
				t.Fatalf("duplicate got %q, want NICKNAME_TAKEN then close", got)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("refused after %v, want at once", d)
			}
			if got := s.Peers(); len(got) != 1 || got[0].UDPPort != 1 {
				t.Fatalf("Peers() = %+v, want the holder", got)
			}
		})
	}
}

func TestReadErrorReasons(t *testing.T) {
	op := func(e error) error { return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e)} }
	tests := []struct {
		name      string
		err       error
		stage     stage
		heartbeat bool
		want      ClosedState
	}{
		{"keepalive gave up", op(syscall.ETIMEDOUT), stageRegistered, false, ClosedTimedOut},
		{"keepalive gave up, heartbeat client", op(syscall.ETIMEDOUT), stageRegistered, true, ClosedTimedOut},
		{"keepalive gave up, registering", op(syscall.ETIMEDOUT), stageRegister, false, ClosedTimedOut},
		{"deadline, heartbeat client", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, stageRegistered, true, ClosedHeartbeat},
		{"deadline, registering", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, stagePort, false, ClosedRegisterTimeout},
		{"deadline, mid frame", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, stageRegistered, false, ClosedBadFrame},
		{"reset", op(syscall.ECONNRESET), stageRegistered, false, ClosedReset},
		{"eof", io.EOF, stageRegistered, false, ClosedClient},
		{"other", errors.New("boom"), stageRegistered, false, ClosedReadFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &conn{heartbeat: tt.heartbeat}
			if got, _ := c.readError(tt.err, tt.stage); got != tt.want {
				t.Fatalf("readError(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
