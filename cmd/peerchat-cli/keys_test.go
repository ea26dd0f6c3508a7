package main

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"peerchat/core/client"
	"peerchat/core/identity"
	"peerchat/server"
	"peerchat/server/servertest"
)

// TestMain points the user's configuration directory (the default of
// -data) at a temporary directory, so that no test can touch the real one.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "peerchat-cli-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("HOME", dir)
	os.Setenv("AppData", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// withData gives a CLI a fresh data directory of its own unless args name
// one or run it without keys.
func withData(t *testing.T, args []string) []string {
	t.Helper()
	if slices.Contains(args, "-data") || slices.Contains(args, "-no-keys") {
		return args
	}
	return append(slices.Clip(args), "-data", t.TempDir())
}

// safetyRE is a safety number as identity.SafetyNumber writes it.
var safetyRE = regexp.MustCompile(`^[0-9]{5}( [0-9]{5}){11}$`)

// verifyOf sends /verify nick to p and returns its safety_number event.
func verifyOf(t *testing.T, p *proc, nick string) map[string]any {
	t.Helper()
	p.send("/verify " + nick)
	m := p.expect("safety_number")
	if m["nick"] != nick {
		t.Fatalf("safety_number %v, want nick %q", m, nick)
	}
	if n, _ := m["number"].(string); !safetyRE.MatchString(n) {
		t.Fatalf("safety number %q is not 12 groups of 5 digits", n)
	}
	return m
}

// openChat has a invite b (run with -auto-accept) and returns both sides'
// chat_open events.
func openChat(t *testing.T, a *proc, b *proc, bNick, aNick string) (ma, mb map[string]any) {
	t.Helper()
	a.send("/chat " + bNick)
	ma, mb = a.expect("chat_open"), b.expect("chat_open")
	if ma["peer"] != bNick || mb["peer"] != aNick {
		t.Fatalf("chat_open %v and %v", ma, mb)
	}
	return ma, mb
}

func quit(t *testing.T, ps ...*proc) {
	t.Helper()
	for _, p := range ps {
		p.send("/quit")
		if code := p.exit(); code != 0 {
			t.Fatalf("exit %d", code)
		}
	}
}

// TestCLIVerify: two keyed CLIs open an encrypted chat, /verify shows the
// same 60-digit number on both sides, /trust marks it verified on one side
// only, and a chat opened again says verified.
func TestCLIVerify(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	dirA := t.TempDir()
	ana := startCLI(t, "-server", addr, "-nick", "ana", "-json", "-listen", "127.0.0.1", "-data", dirA)
	if m := ana.expect("server_key"); m["result"] != "new" || m["server"] != addr {
		t.Fatalf("server_key %v", m)
	}
	if m := ana.expect("registered"); m["server_kind"] != "v2" {
		t.Fatalf("registered %v", m)
	}
	bob := startCLI(t, "-server", addr, "-nick", "bob", "-json", "-listen", "127.0.0.1", "-auto-accept")
	bob.expect("registered")
	ana.expect("peer_joined")

	// Before any chat, nothing is pinned: /verify says so.
	ana.send("/verify bob")
	if m := ana.expect("error"); !strings.Contains(m["text"].(string), "no key pinned for bob") {
		t.Fatalf("error %v", m)
	}

	ma, mb := openChat(t, ana, bob, "bob", "ana")
	if ma["encrypted"] != true || mb["encrypted"] != true {
		t.Fatalf("chat between two keyed CLIs not encrypted: %v and %v", ma, mb)
	}
	if ma["verified"] != false || ma["key_result"] != "new" {
		t.Fatalf("ana's chat_open %v: want verified false, key_result new", ma)
	}
	na, nb := verifyOf(t, ana, "bob"), verifyOf(t, bob, "ana")
	if na["number"] != nb["number"] {
		t.Fatalf("safety numbers differ: ana sees %v, bob sees %v", na["number"], nb["number"])
	}
	if na["verified"] != false || nb["verified"] != false {
		t.Fatalf("verified before /trust: %v, %v", na, nb)
	}

	ana.send("/trust bob")
	if m := ana.expect("trusted"); m["nick"] != "bob" {
		t.Fatalf("trusted %v", m)
	}
	if m := verifyOf(t, ana, "bob"); m["verified"] != true || m["number"] != na["number"] {
		t.Fatalf("after /trust: %v", m)
	}
	if m := verifyOf(t, bob, "ana"); m["verified"] != false {
		t.Fatalf("bob's side verified by ana's /trust: %v", m)
	}

	// Messages go both ways in the encrypted chat.
	ana.send("/msg bob secret")
	if m := bob.expect("chat_msg"); m["text"] != "secret" {
		t.Fatalf("chat_msg %v", m)
	}
	ana.expect("delivered")

	// Open again: the pinned key is the same, and verified.
	ana.send("/leave bob")
	ana.expect("chat_closed")
	bob.expect("chat_closed")
	ma, _ = openChat(t, ana, bob, "bob", "ana")
	if ma["encrypted"] != true || ma["verified"] != true || ma["key_result"] != "same" {
		t.Fatalf("chat_open again %v: want encrypted, verified, key_result same", ma)
	}

	// /untrust takes it back.
	ana.send("/untrust bob")
	ana.expect("untrusted")
	if m := verifyOf(t, ana, "bob"); m["verified"] != false {
		t.Fatalf("after /untrust: %v", m)
	}
	quit(t, ana, bob)

	// The data directory holds the identity and the pins, for its owner only.
	for _, f := range []string{identity.FileName, identity.PinsFileName, identity.ServerPinsFileName} {
		st, err := os.Stat(filepath.Join(dirA, f))
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", f, st.Mode().Perm())
		}
	}
}

// TestCLINoKeys: a chat between a keyed CLI and a -no-keys one opens, not
// encrypted, on both sides; neither has a safety number;
// -require-encryption refuses it; the keyless one keeps nothing in -data.
func TestCLINoKeys(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	noData := t.TempDir()
	ana := startCLI(t, "-server", addr, "-nick", "ana", "-json", "-listen", "127.0.0.1")
	ana.expect("registered")
	bob := startCLI(t, "-server", addr, "-nick", "bob", "-json", "-listen", "127.0.0.1", "-auto-accept", "-no-keys", "-data", noData)
	bob.expect("registered")
	ana.expect("peer_joined")

	ma, mb := openChat(t, ana, bob, "bob", "ana")
	if ma["encrypted"] != false || mb["encrypted"] != false || ma["verified"] != false {
		t.Fatalf("chat with a -no-keys CLI: %v and %v, want encrypted false", ma, mb)
	}
	ana.send("/verify bob")
	ana.expect("error")
	bob.send("/verify ana")
	if m := bob.expect("error"); !strings.Contains(m["text"].(string), "-no-keys") {
		t.Fatalf("error %v", m)
	}
	ana.send("/trust bob")
	ana.expect("error")

	// A keyless sender's broadcast is plain: signature none, nothing wrong.
	bob.send("plain words")
	if m := ana.expect("broadcast"); m["from"] != "bob" || m["signature"] != "none" {
		t.Fatalf("broadcast %v, want signature none", m)
	}
	// A keyed sender's is signed.
	ana.send("signed words")
	if m := ana.expect("broadcast"); m["from"] != "ana" || m["signature"] != "valid" {
		t.Fatalf("own broadcast %v, want signature valid", m)
	}

	// -require-encryption refuses the chat with bob.
	cara := startCLI(t, "-server", addr, "-nick", "cara", "-json", "-listen", "127.0.0.1", "-require-encryption")
	cara.expect("registered")
	cara.send("/chat bob")
	if m := cara.expect("error"); !strings.Contains(m["text"].(string), "-require-encryption") {
		t.Fatalf("error %v", m)
	}
	quit(t, ana, bob, cara)
	if ents, err := os.ReadDir(noData); err != nil || len(ents) != 0 {
		t.Fatalf("-no-keys wrote to its data directory: %v %v", ents, err)
	}
}

// TestCLIKeyChanged: bob comes back with another key (a new device, on a
// new server: the old one holds his nick for his old key). Ana, who had
// verified him, is told loudly; her message waits until /accept-key, and
// the new key is not verified.
func TestCLIKeyChanged(t *testing.T) {
	checkGoroutines(t)
	dirA := t.TempDir()
	addr := startServer(t)
	ana := startCLI(t, "-server", addr, "-nick", "ana", "-json", "-listen", "127.0.0.1", "-data", dirA)
	ana.expect("registered")
	bob := startCLI(t, "-server", addr, "-nick", "bob", "-json", "-listen", "127.0.0.1", "-auto-accept")
	bob.expect("registered")
	ana.expect("peer_joined")
	if ma, _ := openChat(t, ana, bob, "bob", "ana"); ma["encrypted"] != true {
		t.Fatalf("chat_open %v", ma)
	}
	old := verifyOf(t, ana, "bob")
	ana.send("/trust bob")
	ana.expect("trusted")
	quit(t, ana, bob)

	addr = startServer(t)
	ana = startCLI(t, "-server", addr, "-nick", "ana", "-json", "-listen", "127.0.0.1", "-data", dirA)
	ana.expect("registered")
	bob = startCLI(t, "-server", addr, "-nick", "bob", "-json", "-listen", "127.0.0.1", "-auto-accept")
	bob.expect("registered")
	ana.expect("peer_joined")
	ana.send("/msg bob are you you?")
	m := ana.expect("key_changed")
	if m["nick"] != "bob" || m["was_verified"] != true || m["key"] == m["old_key"] {
		t.Fatalf("key_changed %v", m)
	}
	ana.send("/trust bob") // refused: the change waits
	ana.expect("error")
	ana.send("/accept-key bob")
	ana.expect("key_accepted")
	if m := bob.expect("chat_msg"); m["text"] != "are you you?" {
		t.Fatalf("chat_msg %v", m)
	}
	if m := ana.expect("chat_open"); m["encrypted"] != true || m["verified"] != false {
		t.Fatalf("chat_open after /accept-key %v: want encrypted, not verified", m)
	}
	if m := verifyOf(t, ana, "bob"); m["verified"] != false || m["number"] == old["number"] {
		t.Fatalf("after the key change: %v (before: %v)", m, old)
	}
	quit(t, ana, bob)
}

// TestCLIServerKeyChanged: the server comes back at the same address with
// another key. The CLI says so, broadcasts wait until /accept-server-key,
// and are signed after it.
func TestCLIServerKeyChanged(t *testing.T) {
	checkGoroutines(t)
	dirA := t.TempDir()
	ts := servertest.NewServer(t, server.Config{})
	ana := startCLI(t, "-server", ts.Addr, "-nick", "ana", "-json", "-listen", "127.0.0.1", "-data", dirA)
	first := ana.expect("server_key")
	if first["result"] != "new" {
		t.Fatalf("server_key %v", first)
	}
	quit(t, ana)

	ana = startCLI(t, "-server", ts.Addr, "-nick", "ana", "-json", "-listen", "127.0.0.1", "-data", dirA)
	if m := ana.expect("server_key"); m["result"] != "same" {
		t.Fatalf("server_key %v, want same", m)
	}
	quit(t, ana)

	ts.Close()
	if err := os.Remove(filepath.Join(ts.DataDir, identity.FileName)); err != nil {
		t.Fatal(err)
	}
	ts.Restart()
	ana = startCLI(t, "-server", ts.Addr, "-nick", "ana", "-json", "-listen", "127.0.0.1", "-data", dirA)
	m := ana.expect("server_key")
	if m["result"] != "changed" || m["old_key"] != first["key"] || m["key"] == first["key"] {
		t.Fatalf("server_key %v, want changed from %v", m, first["key"])
	}
	ana.send("held back")
	if m := ana.expect("error"); !strings.Contains(m["text"].(string), "/accept-server-key") {
		t.Fatalf("error %v", m)
	}
	ana.send("/accept-server-key")
	ana.expect("server_key_accepted")
	ana.send("/accept-server-key")
	ana.expect("error") // nothing left to accept
	ana.send("after accepting")
	if m := ana.expect("broadcast"); m["text"] != "after accepting" || m["signature"] != "valid" {
		t.Fatalf("broadcast %v", m)
	}
	quit(t, ana)
}

// TestCLIHumanKeys: human mode says "(encrypted)" and "(NOT encrypted)" and
// prints the safety number on one line.
func TestCLIHumanKeys(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	in, lines, code := startHuman(t, "-server", addr, "-nick", "ana", "-listen", "127.0.0.1")
	var out []string
	expectLine(t, lines, "registered as ana", &out)
	bob := startCLI(t, "-server", addr, "-nick", "bob", "-json", "-listen", "127.0.0.1", "-auto-accept")
	bob.expect("registered")
	cara := startCLI(t, "-server", addr, "-nick", "cara", "-json", "-listen", "127.0.0.1", "-auto-accept", "-no-keys")
	cara.expect("registered")
	expectLine(t, lines, "cara joined", &out)

	in.Write([]byte("/chat bob\n"))
	expectLine(t, lines, "private chat with bob open (encrypted) [key not verified: /verify bob]", &out)
	in.Write([]byte("/verify bob\n"))
	l := expectLine(t, lines, "safety number with bob: ", &out)
	num, _, _ := strings.Cut(strings.TrimPrefix(l, "safety number with bob: "), " (")
	if !safetyRE.MatchString(num) || !strings.Contains(l, "(not verified") {
		t.Fatalf("verify line %q", l)
	}
	bob.send("/verify ana")
	if m := bob.expect("safety_number"); m["number"] != num {
		t.Fatalf("bob sees %v, ana %q", m["number"], num)
	}
	in.Write([]byte("/trust bob\n/verify bob\n"))
	expectLine(t, lines, "bob's key is marked verified", &out)
	expectLine(t, lines, "safety number with bob: "+num+" (verified)", &out)
	in.Write([]byte("/chat cara\n"))
	expectLine(t, lines, "private chat with cara open (NOT encrypted)", &out)
	in.Write([]byte("/help\n"))
	expectLine(t, lines, "/verify NICK  /trust NICK", &out)
	in.Write([]byte("/quit\n"))
	for l := range lines {
		out = append(out, l)
	}
	if c := <-code; c != 0 {
		t.Fatalf("exit %d", c)
	}
	quit(t, bob, cara)
}

// TestKeyEventsPrinted: how each event of keys is printed, in both modes.
func TestKeyEventsPrinted(t *testing.T) {
	id, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, k2 := id.Public(), id2.Public()
	for _, tt := range []struct {
		name  string
		e     client.Event
		human []string // substrings of the human output
		json  string   // substring of the JSON line
	}{
		{"unconfirmed", client.Event{Kind: client.EventRegistered, Peer: "ana", Text: "10.0.0.1:1", Server: client.ServerUnconfirmed},
			[]string{"registered as ana on 10.0.0.1:1 (unconfirmed"}, `"server_kind":"unconfirmed"`},
		{"base", client.Event{Kind: client.EventRegistered, Peer: "ana", Text: "10.0.0.1:1", Server: client.ServerBase},
			[]string{"registered as ana on 10.0.0.1:1\n"}, `"server_kind":"base"`},
		{"server key new", client.Event{Kind: client.EventServerKey, Text: "s:1", Key: k, KeyResult: identity.New},
			[]string{"pinned it"}, `{"type":"server_key","key":"` + k.String() + `","result":"new","server":"s:1"}`},
		{"server key changed", client.Event{Kind: client.EventServerKey, Text: "s:1", Key: k2, OldKey: k, KeyResult: identity.Changed},
			[]string{"!!! WARNING", "DIFFERENT KEY", "/accept-server-key"}, `"old_key":"` + k.String() + `","result":"changed"`},
		{"key changed verified", client.Event{Kind: client.EventKeyChanged, Peer: "bob", Key: k2, OldKey: k, Verified: true, Err: client.ErrKeyChanged},
			[]string{"!!! WARNING: bob's key CHANGED", "VERIFIED", "/accept-key bob"}, `"nick":"bob","old_key":"` + k.String() + `","was_verified":true`},
		{"key changed", client.Event{Kind: client.EventKeyChanged, Peer: "bob", Key: k2, OldKey: k, Err: client.ErrKeyChanged},
			[]string{"! bob's key changed", "/accept-key bob"}, `"was_verified":false`},
		{"bad signature", client.Event{Kind: client.EventBroadcast, From: "bob", Text: "hi", Signature: client.SigBad},
			[]string{"(BAD SIGNATURE) bob: hi"}, `"signature":"bad"`},
		{"unsigned", client.Event{Kind: client.EventBroadcast, From: "bob", Text: "hi", Signature: client.SigMissing},
			[]string{"(UNSIGNED) bob: hi"}, `"signature":"missing"`},
		{"signed", client.Event{Kind: client.EventBroadcast, From: "bob", Text: "hi", Signature: client.SigValid},
			[]string{"] bob: hi"}, `"signature":"valid"`},
		{"plain chat", client.Event{Kind: client.EventChatOpen, Peer: "bob", Route: client.RouteDirect},
			[]string{"with bob open (NOT encrypted)"}, `{"type":"chat_open","encrypted":false,"peer":"bob","route":"direct","verified":false}`},
		{"verified chat", client.Event{Kind: client.EventChatOpen, Peer: "bob", Encrypted: true, Verified: true, Key: k, KeyResult: identity.Same, Route: client.RouteRelay},
			[]string{"open (encrypted) [key verified] (/msg bob TEXT) [through the server]"}, `"encrypted":true,"key":"` + k.String() + `","key_result":"same","peer":"bob","route":"relay","verified":true`},
		// Issue 11: routes, message states by id, missed broadcasts.
		{"route", client.Event{Kind: client.EventRoute, Peer: "bob", Route: client.RouteDirect},
			[]string{"with bob now goes directly"}, `{"type":"route","peer":"bob","route":"direct"}`},
		{"stored", client.Event{Kind: client.EventStored, Peer: "bob", ID: 7},
			[]string{"to bob #7 stored by the server"}, `{"type":"stored","id":7,"peer":"bob"}`},
		{"sent", client.Event{Kind: client.EventSent, Peer: "bob", ID: 7},
			nil, `{"type":"sent","final":false,"id":7,"peer":"bob"}`},
		{"sent final", client.Event{Kind: client.EventSent, Peer: "bob", ID: 7, Final: true},
			[]string{"to bob #7 sent; this peer does not acknowledge"}, `{"type":"sent","final":true,"id":7,"peer":"bob"}`},
		{"delivered", client.Event{Kind: client.EventDelivered, Peer: "bob", ID: 7},
			[]string{"to bob #7 delivered"}, `{"type":"delivered","id":7,"peer":"bob"}`},
		{"send failed", client.Event{Kind: client.EventSendFailed, Peer: "bob", ID: 7, Text: "hi", Err: client.ErrPeerLeft},
			[]string{"message #7 to bob not delivered: peer left"}, `{"type":"send_failed","error":"peer left","id":7,"peer":"bob","text":"hi"}`},
		{"mailbox message", client.Event{Kind: client.EventChatMsg, From: "bob", Peer: "bob", Text: "hi", ID: 9, Route: client.RouteMailbox},
			[]string{"<bob> hi (kept by the server while you were away)"}, `"id":9,"route":"mailbox","text":"hi"`},
		{"missed broadcast", client.Event{Kind: client.EventBroadcast, From: "bob", Text: "hi", Signature: client.SigValid, BID: 41, Missed: true},
			[]string{"(missed) bob: hi"}, `"bid":41,"from":"bob","id":0,"missed":true`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, js := range []bool{false, true} {
				var sb strings.Builder
				cl := &cli{o: options{json: js}, out: bufio.NewWriter(&sb)}
				cl.event(tt.e)
				cl.out.Flush()
				got := sb.String()
				if js {
					if !strings.Contains(got, tt.json) {
						t.Errorf("json %q lacks %q", got, tt.json)
					}
					continue
				}
				for _, w := range tt.human {
					if !strings.Contains(got, w) {
						t.Errorf("human %q lacks %q", got, w)
					}
				}
			}
		})
	}
}

// TestDataDirErrors: a key file others can read is refused (exit 1, with
// the fix); -require-encryption needs keys (exit 2).
func TestDataDirErrors(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	var out, errs strings.Builder
	code := run(t.Context(), []string{"-server", addr, "-nick", "ana", "-no-keys", "-require-encryption"}, strings.NewReader(""), &out, &errs)
	if code != exitUsage || !strings.Contains(errs.String(), "-require-encryption") {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
	if runtime.GOOS == "windows" {
		return
	}
	dir := t.TempDir()
	if _, err := identity.LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, identity.FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	errs.Reset()
	code = run(t.Context(), []string{"-server", addr, "-nick", "ana", "-data", dir}, strings.NewReader(""), &out, &errs)
	if code != exitConn || !strings.Contains(errs.String(), "chmod 600") {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
	// The default data directory is under the user's configuration directory.
	if d := defaultDataDir(); !strings.HasSuffix(d, string(filepath.Separator)+dataDirName) {
		t.Fatalf("default -data %q", d)
	}
	if _, err := os.Stat(filepath.Join(defaultDataDir(), identity.FileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a test wrote to the default data directory: %v", err)
	}
}
