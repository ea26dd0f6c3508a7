//go:build unix

package history

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"peerchat/core/delivery"
)

// crashEnv names the environment variable that turns the test binary into
// the appending helper of TestCrash; its value is the database path.
const crashEnv = "PEERCHAT_HISTORY_CRASH_HELPER"

// crashThreads are the threads the helper appends to, one goroutine each.
var crashThreads = []string{Broadcasts, "bob", "carol"}

// crashBatch is how many messages the helper appends to a thread at a time:
// one per Append, or several per Store.Write, which must commit all or none.
func crashBatch(thread string) int {
	if thread == "carol" {
		return 3
	}
	return 1
}

// crashMessage is the message that the helper stores as seq of thread. Its
// size varies from a few bytes to several pages, so that a kill lands in
// page splits, overflow pages and freelist updates.
func crashMessage(thread string, seq uint64) Message {
	pad := int(seq*7919) % 9000
	return Message{
		ID:    seq * 3,
		From:  thread,
		Text:  fmt.Sprintf("%s #%d %s", thread, seq, strings.Repeat(string(rune('a'+seq%26)), pad)),
		Time:  t0.Add(time.Duration(seq) * time.Millisecond),
		State: delivery.State(seq % 5),
	}
}

// TestCrashHelper is not a test: run by TestCrash with crashEnv set, it
// appends to every crash thread until it is killed, writing "thread seq"
// to file descriptor 3 after each Append has returned.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process of TestCrash")
	}
	report := os.NewFile(3, "report")
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(report, "error", err)
		os.Exit(2)
	}
	lines := make(chan string)
	for _, thread := range crashThreads {
		go func() {
			last, err := s.Load(thread, 0, 1)
			if err != nil {
				lines <- fmt.Sprint("error ", err)
				return
			}
			next := uint64(1)
			if len(last) == 1 {
				next = last[0].Seq + 1
			}
			if n := crashBatch(thread); n > 1 {
				var b Batch
				for ; ; next += uint64(n) {
					b.Reset()
					for i := range uint64(n) {
						b.Append(thread, crashMessage(thread, next+i))
					}
					seqs, err := s.Write(&b)
					if err != nil {
						lines <- fmt.Sprint("error ", err)
						return
					}
					if len(seqs) != n || seqs[0] != next || seqs[n-1] != next+uint64(n-1) {
						lines <- fmt.Sprintf("error %q: seqs %v, want %d…", thread, seqs, next)
						return
					}
					lines <- fmt.Sprintf("%q %d", thread, seqs[n-1])
				}
			}
			for ; ; next++ {
				seq, err := s.Append(thread, crashMessage(thread, next))
				if err != nil {
					lines <- fmt.Sprint("error ", err)
					return
				}
				if seq != next {
					lines <- fmt.Sprintf("error %q: seq %d, want %d", thread, seq, next)
					return
				}
				lines <- fmt.Sprintf("%q %d", thread, seq)
			}
		}()
	}
	w := bufio.NewWriter(report)
	for l := range lines {
		fmt.Fprintln(w, l)
		w.Flush()
	}
}

// TestCrash kills a process that appends in a loop, several times over the
// same file, and checks after each kill that the file is sound, that every
// append the process reported is there, and that nothing is half-written.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "history.db")
	const rounds = 4
	reported := map[string]uint64{}
	for round := range rounds {
		want := 60 + 50*round // reports to wait for before the kill
		got := crashRound(t, path, want, reported)
		s, err := Open(path)
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		infos, err := s.Threads()
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, ti := range infos {
			counts[ti.Name] = ti.Count
		}
		for _, thread := range crashThreads {
			all, err := s.Load(thread, 0, 1<<30)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if uint64(len(all)) < reported[thread] {
				t.Fatalf("round %d: %q has %d messages, %d were reported durable", round, thread, len(all), reported[thread])
			}
			// At most one append (or batch) per thread can have committed
			// without being reported: the one in flight when the kill came.
			batch := crashBatch(thread)
			if uint64(len(all)) > reported[thread]+uint64(batch) {
				t.Fatalf("round %d: %q has %d messages, only %d reported", round, thread, len(all), reported[thread])
			}
			if len(all)%batch != 0 {
				t.Fatalf("round %d: %q has %d messages: a batch of %d was half written", round, thread, len(all), batch)
			}
			if counts[thread] != len(all) {
				t.Fatalf("round %d: Threads says %d messages in %q, Load finds %d", round, counts[thread], thread, len(all))
			}
			for i, m := range all {
				w := crashMessage(thread, uint64(i+1))
				w.Seq = uint64(i + 1)
				if !sameMessage(m, w) {
					t.Fatalf("round %d: %q #%d = %.60q…, want %.60q…", round, thread, i+1, m.Text, w.Text)
				}
			}
			reported[thread] = uint64(len(all))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d reports; threads now %v", round, got, reported)
	}
}

// crashRound runs the helper on path, waits for n reports, kills it with
// SIGKILL while it is still appending, and records the highest reported seq
// of each thread in reported. It returns the number of reports read.
func crashRound(t *testing.T, path string, n int, reported map[string]uint64) int {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()

	lines := make(chan string)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	killed := false
	kill := func() {
		if !killed {
			killed = true
			if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Errorf("kill: %v", err)
			}
		}
	}
	defer func() {
		kill()
		for range lines { // drain so that the reader can finish
		}
		<-done
		cmd.Wait()
	}()

	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	got := 0
	for got < n {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("helper exited after %d reports: %v", got, cmd.Wait())
			}
			var thread string
			var seq uint64
			if _, err := fmt.Sscanf(l, "%q %d", &thread, &seq); err != nil {
				t.Fatalf("helper: %s", l)
			}
			reported[thread] = max(reported[thread], seq)
			got++
		case <-timeout.C:
			t.Fatalf("only %d of %d reports after 30s", got, n)
		}
	}
	kill()
	// Reports already in the pipe were durable too.
	for l := range lines {
		var thread string
		var seq uint64
		if _, err := fmt.Sscanf(l, "%q %d", &thread, &seq); err == nil {
			reported[thread] = max(reported[thread], seq)
			got++
		}
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("helper ended with %v, want killed", err)
	}
	return got
}
