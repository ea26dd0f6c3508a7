//go:build linux

package lantest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"peerchat/core/transfer"
)

// The test of issue 12: a file sent with /send between two real
// peerchat-cli processes on the lab's LAN, directly and (under client
// isolation) through the server's relay, interrupted three times — its
// connection reset, the receiver killed (SIGKILL) and started again with
// the same -data, the sender killed and started again — completes with the
// right SHA-256, and each interruption costs at most one chunk received
// again beyond what the receiver had lost: for the kill, beyond what its
// partial file held when it died (the system's page cache survives an
// app's death, and the receiver resumes from its last chunk written).

// TestLANFileInterrupted runs the three interruptions on one 32 MiB
// transfer, with client isolation off and on.
func TestLANFileInterrupted(t *testing.T) {
	t.Parallel()
	for i, iso := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolation=%v", iso), func(t *testing.T) {
			t.Parallel()
			fileInterrupted(t, 60+i, iso)
		})
	}
}

// fileCLI starts peerchat-cli -json for nick in h with data directory dir
// (its key, its downloads and its outgoing transfers, kept across
// restarts), taking every file offered; it returns once registered.
func fileCLI(t *testing.T, h *Host, nick, server, dir string) *Proc {
	t.Helper()
	p := h.Start(nick, filepath.Join(bin, "peerchat-cli"),
		"-json", "-nick", nick, "-auto-accept", "-accept-files", "-data", dir, "-server", server)
	if _, err := p.Wait(ctx(t), "registered", nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// progressOf matches the unpaused file_progress of transfer id at done
// bytes or more.
func progressOf(id string, done int64) func(map[string]any) bool {
	return func(m map[string]any) bool {
		d, _ := m["done"].(float64)
		return m["id"] == id && m["paused"] == false && int64(d) >= done
	}
}

func num(m map[string]any, k string) int64 {
	v, _ := m[k].(float64)
	return int64(v)
}

// nsRun runs a command in namespace ns and fails the test if it fails.
func nsRun(t *testing.T, ns string, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s in %s: %v\n%s", strings.Join(args, " "), ns, err, out)
	}
}

func fileInterrupted(t *testing.T, subnet int, iso bool) {
	l := New(t)
	seg := l.Segment(netip.MustParsePrefix(fmt.Sprintf("10.77.%d.0/24", subnet)))
	srvHost, ha, hb := seg.Host(netip.Addr{}), seg.Host(netip.Addr{}), seg.Host(netip.Addr{})
	ha.Isolate(iso)
	hb.Isolate(iso)
	// The LAN is fast enough to send 32 MiB in a fraction of a second;
	// bob's host takes TCP at about 16 MB/s, so that each interruption
	// falls mid-transfer.
	l.nft(hb.NS, `table inet lanrate {
	chain input {
		type filter hook input priority -5; policy accept;
		iif "lo" accept
		meta l4proto tcp limit rate over 16 mbytes/second burst 2048 kbytes drop
	}
}
`)
	server(t, srvHost)
	addr := netip.AddrPortFrom(srvHost.Addr, 12345).String()
	dirA, dirB := t.TempDir(), t.TempDir()
	alice := fileCLI(t, ha, "alice", addr, dirA)
	bob := fileCLI(t, hb, "bob", addr, dirB)
	if _, err := alice.Wait(ctx(t), "peer_joined", field("nick", "bob")); err != nil {
		t.Fatal(err)
	}

	const size = 32 << 20
	path := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum := hex.EncodeToString(h.Sum(nil))

	alice.Send("/send bob " + path)
	q, err := alice.Wait(ctx(t), "file_queued", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := q["id"].(string)

	// 1. The connection is reset: every TCP connection of alice's host is
	// killed (ss -K), the chat's and, on the relay, the server's.
	if _, err := bob.Wait(ctx(t), "file_progress", progressOf(id, 4<<20)); err != nil {
		t.Fatal(err)
	}
	nsRun(t, ha.NS, "ss", "-K", "-t", "state", "established")
	if _, err := alice.Wait(ctx(t), "file_progress", func(m map[string]any) bool { return m["id"] == id && m["paused"] == true }); err != nil {
		t.Fatalf("the reset did not pause the transfer: %v", err)
	}
	// Bob's first run started at 0: what it took beyond what it wrote is
	// what the reset made it receive twice.
	p1, err := bob.Wait(ctx(t), "file_progress", progressOf(id, 12<<20))
	if err != nil {
		t.Fatal(err)
	}
	wasteReset := num(p1, "wire") - num(p1, "done")

	// 2. The receiver is killed and started again with the same -data.
	bob.Kill()
	downloads := filepath.Join(dirB, "downloads")
	kept, written := partial(t, downloads, id)
	bob = fileCLI(t, hb, "bob", addr, dirB)

	// 3. The sender is killed and started again with the same -data.
	if _, err := bob.Wait(ctx(t), "file_progress", progressOf(id, 20<<20)); err != nil {
		t.Fatal(err)
	}
	alice.Kill()
	alice = fileCLI(t, ha, "alice", addr, dirA)

	// Bob's second run should resume from what it had written: it should
	// take size-written bytes.
	var last map[string]any
	var done map[string]any
	c := ctx(t)
	c, cancel := context.WithTimeout(c, 3*Deadline)
	defer cancel()
	for done == nil {
		m, err := bob.Next(c)
		if err != nil {
			t.Fatalf("bob: no file_done: %v", err)
		}
		switch {
		case m["id"] != id:
		case m["type"] == "file_progress":
			last = m
		case m["type"] == "file_done":
			done = m
		case m["type"] == "file_failed":
			t.Fatalf("bob: %v", m)
		}
	}
	if _, err := alice.Wait(c, "file_done", field("id", id)); err != nil {
		t.Fatal(err)
	}
	if done["sha256"] != sum {
		t.Fatalf("bob's file_done: SHA-256 %v, want %s", done["sha256"], sum)
	}
	got, err := os.ReadFile(done["path"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if s := sha256.Sum256(got); hex.EncodeToString(s[:]) != sum {
		t.Fatal("the saved file's SHA-256 is wrong")
	}
	if last == nil || num(last, "done") != size {
		t.Fatalf("bob's last file_progress: %v", last)
	}
	wasteResume := num(last, "wire") - (size - written)
	waste := wasteReset + wasteResume
	js, _ := json.Marshal(map[string]any{
		"isolation": iso, "size": size, "chunk": transfer.ChunkSize,
		"reset_extra": wasteReset, "restarts_extra": wasteResume,
		"receiver_kill_written": written, "receiver_kill_kept": kept,
		"received_total": num(p1, "wire") + (written - num(p1, "done")) + num(last, "wire"),
	})
	t.Logf("file interrupted 3 times: %s", js)
	if waste > 3*transfer.ChunkSize {
		t.Errorf("bob took %d bytes more than needed over 3 interruptions (reset %d, restarts %d), want at most 3 chunks (%d)",
			waste, wasteReset, wasteResume, 3*transfer.ChunkSize)
	}
}

// partial returns, for transfer id in the downloads directory of a killed
// receiver, the offset its state file vouches for (its last durable
// checkpoint, logged) and the size of its partial file (what it had
// written).
func partial(t *testing.T, dir, id string) (kept, written int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, "."+id+".state"):
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				Offset int64 `json:"offset"`
			}
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			kept = st.Offset
		case strings.HasSuffix(name, "."+id+".part"):
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			written = fi.Size()
		}
	}
	if written == 0 {
		t.Fatalf("no partial file of %s in %s: %v", id, dir, ents)
	}
	return kept, written
}
