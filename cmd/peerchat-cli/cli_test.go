package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"peerchat/core/client"
	"peerchat/core/identity"
	"peerchat/core/wire"
	"peerchat/server"
	"peerchat/server/servertest"
)

const waitTimeout = 5 * time.Second

// startServer starts a server on loopback for the test and returns its
// address.
func startServer(t *testing.T) string {
	t.Helper()
	return servertest.NewServer(t, server.Config{}).Addr
}

// proc is the CLI run in process with piped standard input and output.
type proc struct {
	t     *testing.T
	in    *io.PipeWriter
	lines chan map[string]any
	code  chan int
}

func startCLI(t *testing.T, args ...string) *proc {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &proc{t: t, in: inW, lines: make(chan map[string]any, 100), code: make(chan int, 1)}
	args = withData(t, args)
	go func() {
		p.code <- run(context.Background(), args, inR, outW, io.Discard)
		outW.Close()
		inR.Close()
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("not one JSON object per line: %q: %v", sc.Text(), err)
				continue
			}
			if _, ok := m["type"].(string); !ok {
				t.Errorf("no type: %q", sc.Text())
			}
			p.lines <- m
		}
		close(p.lines)
	}()
	return p
}

func (p *proc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// expect returns the next output object of type typ, skipping others.
func (p *proc) expect(typ string) map[string]any {
	p.t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case m, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("output ended before %q", typ)
			}
			if m["type"] == typ {
				return m
			}
		case <-timeout:
			p.t.Fatalf("no %q within %v", typ, waitTimeout)
		}
	}
}

func (p *proc) exit() int {
	p.t.Helper()
	select {
	case c := <-p.code:
		return c
	case <-time.After(waitTimeout):
		p.t.Fatal("the CLI did not exit")
	}
	return -1
}

// peer is a core client driven by the test.
type peer struct {
	*client.Client
	t *testing.T
}

func dialPeer(t *testing.T, addr, nick string) *peer {
	cfg := client.DefaultConfig(addr, nick)
	cfg.ListenAddr = "127.0.0.1"
	c, err := client.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{c, t}
}

func (p *peer) wait(kind client.EventKind) client.Event {
	p.t.Helper()
	timeout := time.After(waitTimeout)
	for {
		for _, e := range p.Poll(nil) {
			if e.Kind == kind {
				return e
			}
		}
		select {
		case <-p.Events():
		case <-timeout:
			p.t.Fatalf("%s: no event %d", p.Nick(), kind)
		}
	}
}

// checkGoroutines fails t if goroutines that were not running before it
// are still running after its cleanups (goleak retries while they end).
func checkGoroutines(t testing.TB) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func TestCLIJSON(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	bob := dialPeer(t, addr, "bob")
	p := startCLI(t, "-server", addr, "-nick", "ana", "-json", "-listen", "127.0.0.1")
	if m := p.expect("registered"); m["nick"] != "ana" || m["server"] != addr {
		t.Fatalf("registered %v", m)
	}
	if m := p.expect("peer_joined"); m["nick"] != "bob" || m["ip"] != "127.0.0.1" {
		t.Fatalf("peer_joined %v", m)
	}
	p.send("hello everyone")
	if m := p.expect("broadcast"); m["from"] != "ana" || m["text"] != "hello everyone" {
		t.Fatalf("broadcast %v", m)
	} else if _, err := time.Parse(time.RFC3339, m["ts"].(string)); err != nil {
		t.Fatalf("ts: %v", err)
	}
	p.send("/chat bob")
	bob.wait(client.EventInvite)
	if err := bob.Accept("ana"); err != nil {
		t.Fatal(err)
	}
	if m := p.expect("chat_open"); m["peer"] != "bob" {
		t.Fatalf("chat_open %v", m)
	}
	p.send("/msg bob hi bob")
	sent := p.expect("queued")
	if e := bob.wait(client.EventChatMsg); e.Text != "hi bob" {
		t.Fatalf("bob got %q", e.Text)
	}
	if m := p.expect("delivered"); m["id"] != sent["id"] || m["peer"] != "bob" {
		t.Fatalf("delivered %v, sent %v", m, sent)
	}
	bob.Send("ana", "hi ana")
	if m := p.expect("chat_msg"); m["from"] != "bob" || m["text"] != "hi ana" {
		t.Fatalf("chat_msg %v", m)
	}
	p.send("/peers")
	if m := p.expect("peers"); !strings.Contains(toJSON(m), `"nick":"bob"`) {
		t.Fatalf("peers %v", m)
	}
	p.send("/nonsense")
	p.expect("error")
	// End of input: the last message is delivered, then the CLI leaves.
	p.send("/msg bob last one")
	p.in.Close()
	sent = p.expect("queued")
	if m := p.expect("delivered"); m["id"] != sent["id"] {
		t.Fatalf("delivered %v, sent %v", m, sent)
	}
	if code := p.exit(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if e := bob.wait(client.EventChatClosed); e.Reason != client.ReasonLeft {
		t.Fatalf("bob: chat closed %v", e.Reason)
	}
}

func TestCLIAutoAccept(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	bob := dialPeer(t, addr, "bob")
	p := startCLI(t, "-server", addr, "-nick", "ana", "-json", "-auto-accept", "-listen", "127.0.0.1")
	p.expect("registered")
	bob.wait(client.EventPeerJoined)
	if err := bob.Invite("ana"); err != nil {
		t.Fatal(err)
	}
	p.expect("invite")
	p.expect("chat_open")
	bob.wait(client.EventChatOpen)
	p.send("/leave bob")
	if m := p.expect("chat_closed"); m["reason"] != "closed" {
		t.Fatalf("chat_closed %v", m)
	}
	bob.Close()
	p.expect("peer_left")
	p.send("/quit")
	if code := p.exit(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestCLIErrors(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	dialPeer(t, addr, "bob")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	for _, tt := range []struct {
		name string
		args []string
		code int
		text string
	}{
		{"taken", []string{"-server", addr, "-nick", "BOB", "-json"}, 1, "taken"},
		{"unreachable", []string{"-server", closed, "-nick", "ana", "-json"}, 1, "unreachable"},
		{"no nick", []string{"-server", addr}, 2, ""},
		{"bad nick", []string{"-server", addr, "-nick", "a\"b"}, 2, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := startCLI(t, tt.args...)
			if tt.text != "" {
				if m := p.expect("error"); !strings.Contains(m["text"].(string), tt.text) {
					t.Errorf("error %v", m)
				}
			}
			if code := p.exit(); code != tt.code {
				t.Fatalf("exit %d, want %d", code, tt.code)
			}
			p.in.Close()
		})
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCLIHuman(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	var out strings.Builder
	in := strings.NewReader("/peers\nhello there\n/msg nobody hi\n")
	// End of input waits for the broadcast's echo, which the core reports
	// by id: long before -drain.
	start := time.Now()
	code := run(context.Background(), withData(t, []string{"-server", addr, "-nick", "ana", "-drain", "1m"}), in, &out, io.Discard)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if d := time.Since(start); d > waitTimeout {
		t.Errorf("took %v to quit: the echo of our broadcast was not recognised", d)
	}
	for _, want := range []string{"registered as ana", "nobody else is here", "ana: hello there"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// /msg to a nick never seen: the core's error (no such peer, or no key
	// to seal a message for the server to keep).
	if !strings.Contains(out.String(), "no such peer") && !strings.Contains(out.String(), "never saw its key") {
		t.Errorf("output lacks the error of /msg nobody:\n%s", out.String())
	}
}

func TestParseCommand(t *testing.T) {
	for _, tt := range []struct{ line, cmd, arg, text, rest string }{
		{"", "", "", "", ""},
		{"   ", "", "", "", ""},
		{"hello all", "/bcast", "", "", "hello all"},
		{" /not a command", "/bcast", "", "", " /not a command"},
		{"/msg bob hi there", "/msg", "bob", "hi there", "bob hi there"},
		{"/msg  bob  two  spaces", "/msg", "bob", " two  spaces", "bob  two  spaces"},
		{"/chat bob\r", "/chat", "bob", "", "bob"},
		{"/quit", "/quit", "", "", ""},
		{"/bcast  x y", "/bcast", "x", "y", "x y"},
	} {
		cmd, arg, text, rest := parseCommand(tt.line)
		if cmd != tt.cmd || arg != tt.arg || text != tt.text || rest != tt.rest {
			t.Errorf("parseCommand(%q) = %q %q %q %q, want %q %q %q %q", tt.line, cmd, arg, text, rest, tt.cmd, tt.arg, tt.text, tt.rest)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "hi", "/msg bob hi", "/chat", "/ x", "/msg  a  b", "\r", "/leave bob\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, arg, text, rest := parseCommand(line)
		switch {
		case cmd == "":
			if strings.TrimSpace(strings.TrimRight(line, "\r")) != "" {
				t.Fatalf("%q: no command", line)
			}
		case !strings.HasPrefix(line, "/"):
			if cmd != "/bcast" || rest == "" {
				t.Fatalf("%q: %q %q", line, cmd, rest)
			}
		default:
			if !strings.HasPrefix(cmd, "/") || strings.Contains(cmd, " ") || strings.Contains(arg, " ") {
				t.Fatalf("%q: cmd %q arg %q", line, cmd, arg)
			}
			if text != "" && !strings.HasPrefix(rest, arg+" ") {
				t.Fatalf("%q: arg %q text %q rest %q", line, arg, text, rest)
			}
		}
	})
}

func TestCLIHost(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	p := startCLI(t, "-host", "-host-addr", "127.0.0.1:0", "-discovery-addr", "-", "-announce=false", "-nick", "ana", "-json", "-listen", "127.0.0.1", "-data", dir)
	addr, _ := p.expect("hosting")["addr"].(string)
	if m := p.expect("server_key"); m["result"] != "new" {
		t.Fatalf("server_key %v", m)
	}
	p.expect("registered")
	bob := dialPeer(t, addr, "bob")
	p.expect("peer_joined")
	bob.wait(client.EventPeerJoined)
	p.send("/chat bob")
	bob.wait(client.EventInvite)
	bob.Accept("ana")
	p.expect("chat_open")
	bob.Send("ana", "hello host")
	if m := p.expect("chat_msg"); m["text"] != "hello host" {
		t.Fatalf("chat_msg %v", m)
	}
	p.send("/quit")
	if code := p.exit(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	bob.wait(client.EventServerLost)
	// The hosted server keeps its own key, apart from the client's.
	srvID, err := identity.Load(filepath.Join(dir, serverDataDir))
	if err != nil {
		t.Fatal(err)
	}
	cliID, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if srvID.Public() == cliID.Public() {
		t.Fatal("the hosted server and the client share a key")
	}
}

// hostile is what a peer or a server might send to take over a terminal:
// clear the screen, retitle the window, forge a line from "admin" on a new
// line, reorder the rest of the line, and C1 and DEL controls.
const hostile = "\x1b[2J\x1b[H\x1b]0;pwned\x07\r\n[12:00:00] admin: type your password \u202eevil\u2066\u009b31m\x7f"

// startHuman runs the CLI in human mode and returns its output lines as they
// come; closing in ends it.
func startHuman(t *testing.T, args ...string) (in *io.PipeWriter, lines <-chan string, code <-chan int) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	lc, cc := make(chan string, 100), make(chan int, 1)
	args = withData(t, args)
	go func() {
		cc <- run(context.Background(), args, inR, outW, io.Discard)
		outW.Close()
		inR.Close()
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lc <- sc.Text()
		}
		close(lc)
	}()
	t.Cleanup(func() { inW.Close() })
	return inW, lc, cc
}

// expectLine returns the next line that contains want, failing t on the
// way at any line that is not safe for a terminal; seen collects every line.
func expectLine(t *testing.T, lines <-chan string, want string, seen *[]string) string {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before a line with %q; got:\n%s", want, strings.Join(*seen, "\n"))
			}
			*seen = append(*seen, l)
			checkTerminalSafe(t, "output line", l)
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line with %q within %v; got:\n%s", want, waitTimeout, strings.Join(*seen, "\n"))
		}
	}
}

// checkNoForgery fails t if a line of out starts like a message from admin.
func checkNoForgery(t *testing.T, out []string) {
	t.Helper()
	for _, l := range out {
		if strings.HasPrefix(l, "[12:00:00] admin") || strings.HasPrefix(l, "admin") {
			t.Errorf("forged line %q", l)
		}
	}
}

// TestCLIHumanHostilePeer: a peer's broadcast and private message full of
// terminal controls reach a human-mode CLI made visible, on one line each.
func TestCLIHumanHostilePeer(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	evil := dialPeer(t, addr, "evil")
	in, lines, code := startHuman(t, "-server", addr, "-nick", "ana", "-listen", "127.0.0.1")
	var out []string
	expectLine(t, lines, "registered as ana", &out)
	evil.wait(client.EventPeerJoined)
	if _, err := evil.Broadcast(hostile); err != nil {
		t.Fatal(err)
	}
	want := "␛[2J␛[H␛]0;pwned␇␍␊[12:00:00] admin: type your password <U+202E>evil<U+2066><U+009B>31m␡"
	if l := expectLine(t, lines, "] evil: ", &out); !strings.HasSuffix(l, "] evil: "+want) {
		t.Fatalf("broadcast line %q, want it to end with %q", l, want)
	}
	if err := evil.Invite("ana"); err != nil {
		t.Fatal(err)
	}
	expectLine(t, lines, "invites you", &out)
	io.WriteString(in, "/accept evil\n")
	evil.wait(client.EventChatOpen)
	evil.Send("ana", hostile)
	if l := expectLine(t, lines, "<evil> ", &out); !strings.HasSuffix(l, "<evil> "+want) {
		t.Fatalf("chat line %q, want it to end with %q", l, want)
	}
	in.Close()
	for l := range lines {
		out = append(out, l)
		checkTerminalSafe(t, "output line", l)
	}
	if c := <-code; c != 0 {
		t.Fatalf("exit %d", c)
	}
	checkNoForgery(t, out)
}

// TestCLIHumanHostileServer: a base server that lists a peer with a hostile
// nickname, relays a hostile broadcast and closes with a hostile ERROR
// reason cannot act on the terminal either.
func TestCLIHumanHostileServer(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	proceed := make(chan struct{})
	go func() { // a base server, scripted: one connection, then refuse
		defer close(served)
		nc, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer nc.Close()
		rd := wire.NewReader(nc, 1<<16)
		rd.IdleTimeout = waitTimeout
		rd.ReadFrame() // REGISTER
		rd.ReadFrame() // PORT
		<-proceed
		for _, p := range []string{
			"JOINED \x1b[2Jad\u202emin 127.0.0.1 5 6",
			"BROADCAST " + hostile,
			"ERROR \x1b]0;pwned\x07bye\r\nadmin: trust me",
		} {
			wire.WriteFrame(nc, []byte(p))
		}
		// and closes, as a server does after ERROR.
	}()
	t.Cleanup(func() { ln.Close(); <-served })

	in, lines, code := startHuman(t, "-server", ln.Addr().String(), "-nick", "ana", "-listen", "127.0.0.1")
	var out []string
	expectLine(t, lines, "registered as ana", &out)
	close(proceed)
	want := "␛[2J␛[H␛]0;pwned␇␍␊[12:00:00] admin: type your password <U+202E>evil<U+2066><U+009B>31m␡"
	if l := expectLine(t, lines, "] ?: ", &out); !strings.HasSuffix(l, "] ?: "+want) {
		t.Fatalf("broadcast line %q, want it to end with %q", l, want)
	}
	expectLine(t, lines, "␛]0;pwned␇bye␍␊admin: trust me", &out)
	in.Close()
	for l := range lines {
		out = append(out, l)
		checkTerminalSafe(t, "output line", l)
	}
	if c := <-code; c != 0 {
		t.Fatalf("exit %d", c)
	}
	checkNoForgery(t, out)
	t.Logf("output:\n%s", strings.Join(out, "\n"))
}

// TestVersion: -version needs no -nick, prints the version and succeeds.
func TestVersion(t *testing.T) {
	var out, errs strings.Builder
	if code := run(t.Context(), []string{"-version"}, strings.NewReader(""), &out, &errs); code != 0 || out.String() != "peerchat-cli "+version+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errs.String())
	}
}
