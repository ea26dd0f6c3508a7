package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"peerchat/core/wire"
)

// garbage is what misbehaving connections send (XXX becomes a 3-digit
// number, so frame lengths stay right); each is followed by silence, and the
// server must close the connection on its own.
var garbage = []string{
	"",             // connects and says nothing
	"abc       ",   // bad header
	"-1        ",   // sign in header
	"1 2       xx", // digit after a space
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", // NUL header
	"9999999999",                 // oversize length
	"99999     ",                 // over the test's payload limit
	"20        REGISTER",         // half a frame
	"12   ",                      // half a header
	"4         \xff\xfe\xfd\xfc", // invalid UTF-8
	frame("BROADCAST before register"),
	frame("PORT bob 1"),
	frame("HELLO 2 heartbeat"),
	frame("REGISTER"),
	frame("REGISTER \"\" 1"),
	frame("REGISTER bob 99999"),
	frame("REGISTER " + strings.Repeat("n", 40) + " 1"),
	frame("REGISTER \"a\u200bb\" 1"),
	frame("REGISTER gXXX 1") + frame("PORT other 2"),
	frame("REGISTER gXXX 1") + frame("PORT gXXX 2") + "abc       ",
	frame("REGISTER gXXX 1") + frame("PORT gXXX 2") + "9999999999",
	frame("REGISTER gXXX 1") + frame("PORT gXXX 2") + "10        BROAD",
	frame("REGISTER gXXX 1") + frame("PORT gXXX 2") + "2         \xc3\x28",
	frame("REGISTER gXXX 1") + frame("PORT gXXX 2") + frame("BROADCAST x") + "0         " + "zz",
}

func TestGarbageConnections(t *testing.T) {
	const conns, workers = 1000, 100
	cfg := testConfig()
	cfg.RegisterTimeout = 300 * time.Millisecond
	cfg.FrameTimeout = 200 * time.Millisecond
	cfg.PayloadLimit = 4096
	s, addr := startServer(t, cfg)
	holder := dial(t, addr)
	holder.register("holder", 1, 2)

	jobs := make(chan int)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				if err := sendGarbage(addr, i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range conns {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	waitFor(t, "garbage connections closed", func() bool { return s.Stats().Conns == 1 })
	// Only the server's own goroutines and the holder's remain.
	var left []string
	deadline := time.Now().Add(waitDeadline)
	want := 3 + s.writers.n + 1
	for left = serverGoroutines(); len(left) > want; left = serverGoroutines() {
		if time.Now().After(deadline) {
			t.Fatalf("%d server goroutines, want %d (Serve, heartbeat, its watcher, the writer pool, the holder's reader):\n%s", len(left), want, strings.Join(left, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The holder heard only JOINED and LEFT, in pairs, and still works.
	other := dial(t, addr)
	other.register("other", 3, 4)
	other.expect("JOINED holder 127.0.0.1 1 2")
	other.send("BROADCAST alive?")
	open := map[string]bool{}
	for {
		p := holder.next()
		if p == "BROADCAST other: alive?" {
			break
		}
		f := strings.Fields(p)
		switch {
		case len(f) == 5 && f[0] == "JOINED" && !open[f[1]]:
			open[f[1]] = true
		case len(f) == 2 && f[0] == "LEFT" && open[f[1]]:
			delete(open, f[1])
		case len(f) == 3 && f[0] == "BROADCAST" && open[strings.TrimSuffix(f[1], ":")]:
		default:
			t.Fatalf("holder got %q", p)
		}
	}
	if len(open) != 1 || !open["other"] {
		t.Fatalf("holder saw JOINED without LEFT for %v", open)
	}
	st := s.Stats()
	t.Logf("closed by reason: %v", st.Closed)
}

// sendGarbage sends garbage number i and checks that the server closes the
// connection, with an ERROR or NICKNAME_TAKEN if it says anything.
func sendGarbage(addr string, i int) error {
	g := garbage[i%len(garbage)]
	if strings.Contains(g, "XXX") {
		g = strings.ReplaceAll(g, "XXX", fmt.Sprintf("%03d", i%1000))
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := nc.Write([]byte(g)); err != nil {
		return fmt.Errorf("garbage %d: write: %v", i, err)
	}
	rd := wire.NewReader(nc, 1<<20)
	rd.IdleTimeout = waitDeadline
	rd.FrameTimeout = waitDeadline
	var last string
	for {
		p, err := rd.ReadFrame()
		if err == nil {
			last = string(p)
			continue
		}
		if errors.Is(err, io.EOF) || isReset(err) {
			break
		}
		return fmt.Errorf("garbage %d %q: %v", i, g, err)
	}
	if last != "" && !strings.HasPrefix(last, "ERROR ") && last != "NICKNAME_TAKEN" {
		return fmt.Errorf("garbage %d %q: last payload %q before close", i, g, last)
	}
	return nil
}
