package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/server"
)

// envRunApp makes the test binary run the app instead of the tests (the
// end-to-end test starts it this way, so no separate build is needed).
const envRunApp = "PEERCHAT_E2E_RUN_APP"

func TestMain(m *testing.M) {
	if os.Getenv(envRunApp) == "1" {
		main() // os.Args are the app's flags
		return
	}
	os.Exit(m.Run())
}

func artifacts(t *testing.T) string {
	d := os.Getenv("PEERCHAT_SCREENSHOTS")
	if d == "" {
		d = filepath.Join("..", "..", "ui", "testdata", "out")
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitEvent polls c until an event satisfies ok, or fails after the deadline.
func waitEvent(t *testing.T, c *client.Client, what string, ok func(client.Event) bool) client.Event {
	t.Helper()
	ev, found := pollEvent(c, 20*time.Second, ok)
	if !found {
		t.Fatalf("timed out waiting for %s", what)
	}
	return ev
}

// pollEvent polls c until an event satisfies ok or d has passed.
func pollEvent(c *client.Client, d time.Duration, ok func(client.Event) bool) (client.Event, bool) {
	deadline := time.After(d)
	var evs []client.Event
	for {
		evs = c.Poll(evs[:0])
		for _, ev := range evs {
			if ok(ev) {
				return ev, true
			}
		}
		select {
		case <-c.Events():
		case <-deadline:
			return client.Event{}, false
		}
	}
}

// TestEndToEnd runs the real app under Xvfb against an in-process server and
// a peer made with core/client, and drives it with xdotool: the app receives
// a broadcast and a private message and answers.
func TestEndToEnd(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" { // CI installs them: the run must happen there
				t.Fatalf("%s not installed", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := artifacts(t)

	// X server.
	display := ":" + strconv.Itoa(50+os.Getpid()%200)
	xvfb := exec.CommandContext(ctx, "Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	if err := xvfb.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { xvfb.Process.Kill(); xvfb.Wait() }()
	sock := "/tmp/.X11-unix/X" + display[1:]
	waitFor(t, "Xvfb", func() bool { _, err := os.Stat(sock); return err == nil })

	// Server.
	srv, err := server.New(server.Config{Name: "e2e", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stopSrv := context.WithCancel(ctx)
	srvDone := make(chan struct{})
	go func() { defer close(srvDone); srv.Serve(sctx, ln) }()
	defer func() { stopSrv(); <-srvDone }()
	addr := ln.Addr().String()

	// The peer.
	bcfg := client.DefaultConfig(addr, "bruno")
	bcfg.ListenAddr = "127.0.0.1"
	bruno, err := client.Dial(ctx, bcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bruno.Close()

	// The app.
	app := exec.CommandContext(ctx, os.Args[0], "-server", addr, "-nick", "ana")
	app.Env = append(os.Environ(), envRunApp+"=1", "DISPLAY="+display, "PEERCHAT_DATA="+t.TempDir(), "PEERCHAT_THEME=light")
	logs := new(syncBuffer)
	app.Stdout, app.Stderr = logs, logs
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	appDone := make(chan error, 1)
	go func() { appDone <- app.Wait() }()
	defer func() {
		app.Process.Signal(os.Interrupt)
		select {
		case <-appDone:
		case <-time.After(5 * time.Second):
			app.Process.Kill()
			<-appDone
		}
		t.Logf("app log:\n%s", logs.String())
	}()

	x := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "xdotool", args...)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, b)
		}
	}
	// shot saves a screenshot once the window has settled: two consecutive
	// captures are the same (the app draws asynchronously).
	shot := func(name string) {
		t.Helper()
		path := filepath.Join(out, "e2e-"+name+".png")
		var prev []byte
		waitFor(t, "the window to settle for "+name, func() bool {
			cmd := exec.CommandContext(ctx, "import", "-window", "root", "rgb:-")
			cmd.Env = append(os.Environ(), "DISPLAY="+display)
			cur, err := cmd.Output()
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			same := bytes.Equal(prev, cur)
			prev = cur
			return same
		})
		cmd := exec.CommandContext(ctx, "import", "-window", "root", path)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("import: %v\n%s", err, b)
		}
	}

	waitEvent(t, bruno, "ana to join", func(ev client.Event) bool { return ev.Kind == client.EventPeerJoined && ev.Peer == "ana" })
	waitFor(t, "the app's first frame", func() bool { return bytes.Contains(logs.Bytes(), []byte("first frame")) })
	if m := firstFrameRE.FindSubmatch(logs.Bytes()); m != nil {
		t.Logf("first frame after %s (from the app's log)", m[1])
	}

	// A broadcast reaches the app's feed.
	if _, err := bruno.Broadcast("hello everyone, from bruno 👋"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bruno, "the broadcast echo", func(ev client.Event) bool { return ev.Kind == client.EventBroadcast && ev.From == "bruno" })

	// The app's user opens bruno and types: the first message asks for
	// the private chat (window at 0,0, 1040×720 dp at scale 1).
	const first = "hi bruno, a word in private?"
	shot("broadcast")
	invited := false
	for try := 0; try < 3 && !invited; try++ {
		x("mousemove", "150", "195", "click", "1")
		shot("thread")
		x("mousemove", "500", "688", "click", "1")
		x("type", "--delay", "20", first)
		x("key", "Return")
		shot("requested")
		_, invited = pollEvent(bruno, 8*time.Second, func(ev client.Event) bool { return ev.Kind == client.EventInvite && ev.From == "ana" })
	}
	if !invited {
		t.Fatal("no chat request from the app after clicking bruno and sending a first message")
	}
	if err := bruno.Accept("ana"); err != nil {
		t.Fatal(err)
	}
	// (Poll drains: one wait, for the message, which follows the chat's
	// opening.)
	waitEvent(t, bruno, "the message that asked for the chat", func(ev client.Event) bool {
		return ev.Kind == client.EventChatMsg && ev.From == "ana" && ev.Text == first
	})
	if _, err := bruno.Send("ana", "hi ana, this one is private"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bruno, "delivery to the app", func(ev client.Event) bool { return ev.Kind == client.EventDelivered && ev.Peer == "ana" })
	shot("received")

	// The app's user answers: click the composer, type, Enter.
	x("mousemove", "500", "688", "click", "1")
	x("type", "--delay", "20", "hello bruno, got it")
	x("key", "Return")
	waitEvent(t, bruno, "the app's answer", func(ev client.Event) bool {
		return ev.Kind == client.EventChatMsg && ev.From == "ana" && ev.Text == "hello bruno, got it"
	})
	shot("answered")
	fmt.Fprintln(os.Stderr, "e2e screenshots in", out)
}

var firstFrameRE = regexp.MustCompile(`msg="first frame" after=(\S+)`)

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }
