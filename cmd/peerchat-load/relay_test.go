package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRelayMode runs -mode relay small, in-process: every chat of the
// isolated set opens through the relay, the direct set's chats end direct,
// and nothing is lost or duplicated in any phase.
func TestRelayMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and 8 client cores")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	args := []string{"-mode", "relay", "-pairs", "2", "-rtt", "5", "-msgs", "100", "-window", "16",
		"-mail", "50", "-replay", "10", "-timeout", "10s"}
	status := cli(ctx, args, &out, &errb)
	if status != exitOK {
		t.Fatalf("status %d, stdout %q, stderr:\n%s", status, out.String(), errb.String())
	}
	line := strings.TrimSpace(out.String())
	if strings.Contains(line, "\n") {
		t.Fatalf("more than one line on stdout: %q", line)
	}
	_, v := parseSummary(t, line)
	want := map[string]string{
		"mode": "relay", "server": "inproc", "pairs": "2",
		"relay_opened_relay": "4", "relay_opened_direct": "0", "relay_moved_direct": "0",
		"mail_sent": "50", "mail_stored": "50", "mail_got": "50", "mail_disorder": "0",
		"replay_sent": "10", "replay_missed": "10",
		"dups": "0", "lost": "0", "errors": "0",
	}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%s=%s, want %s (%s)", k, v[k], w, line)
		}
	}
	if n := v["direct_opened_direct"]; n == "0" {
		t.Errorf("no chat of the direct set opened direct (%s)", line)
	}
	for _, k := range []string{"direct_first_p50_ms", "relay_first_p50_ms", "direct_rtt_p50_us", "relay_rtt_p50_us",
		"rtt_added_p50_us", "direct_tput_msgs_per_s", "relay_tput_msgs_per_s", "mail_return_ms", "replay_ms"} {
		if v[k] == "" || v[k] == na {
			t.Errorf("%s not measured (%s)", k, line)
		}
	}
}

// TestRelayConfig checks that the relay mode refuses what it cannot run.
func TestRelayConfig(t *testing.T) {
	good := RelayConfig{Pairs: 2, RoundTrips: 1, Messages: 1, Window: 1, Mail: 1, Replay: 1,
		IsolatedAddr: DefaultIsolatedAddr, Timeout: time.Second, Prefix: DefaultPrefix}
	if err := good.validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, f := range map[string]func(*RelayConfig){
		"no pairs":     func(c *RelayConfig) { c.Pairs = 0 },
		"no window":    func(c *RelayConfig) { c.Window = 0 },
		"negative":     func(c *RelayConfig) { c.Messages = -1 },
		"mail too big": func(c *RelayConfig) { c.Mail = 1001 },
		"replay burst": func(c *RelayConfig) { c.Replay = 61 },
		"no timeout":   func(c *RelayConfig) { c.Timeout = 0 },
		"not isolated": func(c *RelayConfig) { c.IsolatedAddr = "127.0.0.1" },
		"no isolation": func(c *RelayConfig) { c.IsolatedAddr = "" },
	} {
		c := good
		f(&c)
		if err := c.validate(); !errors.Is(err, errConfig) {
			t.Errorf("%s: %v, want errConfig", name, err)
		}
	}
	var out, errb bytes.Buffer
	if s := cli(context.Background(), []string{"-mode", "relay", "-spawn"}, &out, &errb); s != exitAborted {
		t.Errorf("-mode relay -spawn: status %d", s)
	}
	if s := cli(context.Background(), []string{"-mode", "nope"}, &out, &errb); s != exitAborted {
		t.Errorf("-mode nope: status %d", s)
	}
}
