package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"peerchat/core/identity"
)

// childEnv names the data directory of a server that the test binary runs
// as a child process (runChild), to be killed with SIGKILL.
const childEnv = "PEERCHAT_SERVER_TEST_CHILD"

// runChild serves with the nick and mailbox databases of dir on a fresh
// loopback port, which it prints on stdout, until it is killed.
func runChild(dir string) {
	fail := func(err error) { fmt.Fprintln(os.Stderr, err); os.Exit(2) }
	id, err := identity.FromSeed(bytes.Repeat([]byte{1}, identity.SeedSize))
	if err != nil {
		fail(err)
	}
	nicks, err := OpenNickStore(dir)
	if err != nil {
		fail(err)
	}
	mail, err := OpenMailStore(dir)
	if err != nil {
		fail(err)
	}
	cfg := testConfig()
	cfg.Identity, cfg.Nicks, cfg.Mail = id, nicks, mail
	s, err := New(cfg)
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Println(ln.Addr().String())
	fail(s.Serve(context.Background(), ln))
}

// startChild starts a child server on dir and returns its address and the
// process, which the test must kill.
func startChild(t *testing.T, dir string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatal("child server printed no address")
		}
		return addr, cmd
	case <-time.After(waitDeadline):
		t.Fatal("child server did not start")
	}
	return "", nil
}

// kill9 kills the child server with SIGKILL and waits for it.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// TestMailboxSurvivesKill: every item a server answered MBOX_OK for is
// delivered, in order, after that server is killed with SIGKILL and
// started again on the same data directory; so is the receipt of one
// acknowledged just before a second kill.
func TestMailboxSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	aliceID, bobID := seedID(t, 2), seedID(t, 3)
	addr, cmd := startChild(t, dir)
	a := keysClient(t, addr, "alice", aliceID, helloAll)
	b := keysClient(t, addr, "bob", bobID, helloAll)
	b.nc.Close()
	const n = 100
	for i := 1; i <= n; i++ {
		a.send(fmt.Sprintf("MBOX_PUT bob %d item %d", i, i))
	}
	for i := 1; i <= n; i++ {
		a.expectData(fmt.Sprintf("MBOX_OK bob %d", i))
	}
	kill9(t, cmd)

	addr, cmd = startChild(t, dir)
	b = keysClient(t, addr, "bob", bobID, helloAll)
	for i := 1; i <= n; i++ {
		b.expectData(mbox("alice", i, fmt.Sprintf("item %d", i)))
	}
	for i := 1; i <= n; i++ {
		b.send(fmt.Sprintf("MBOX_ACK alice %d", i))
	}
	// The acks are written in batches: wait until a put of the last one
	// is answered as delivered, which says it was written.
	a = keysClient(t, addr, "alice", aliceID, helloAll)
	deadline := time.Now().Add(waitDeadline)
	got := map[string]bool{}
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d receipts", len(got))
		}
		p := a.data()
		if !strings.HasPrefix(p, "MBOX_DELIVERED bob ") {
			t.Fatalf("got %q", p)
		}
		got[p] = true
	}
	kill9(t, cmd)
	addr, _ = startChild(t, dir)
	b = keysClient(t, addr, "bob", bobID, helloAll)
	b.send("MBOX_PUT alice 1 x")
	b.expectData("MBOX_OK alice 1") // and nothing of alice's came first
}
