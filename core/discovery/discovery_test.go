package discovery

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"peerchat/core/wire"
)

// respond runs Respond on a loopback UDP socket for the test's duration.
func respond(t *testing.T, info func() wire.ServerInfo) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Respond(ctx, pc, info) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Respond: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Respond did not return after cancel")
		}
		pc.Close()
	})
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestProbeFindsResponder(t *testing.T) {
	before := runtime.NumGoroutine()
	addr := respond(t, func() wire.ServerInfo {
		return wire.ServerInfo{TCPPort: 4321, Peers: 7, Name: "Lab server"}
	})
	found, err := Probe(context.Background(), ProbeConfig{
		Port: int(addr.Port()), Timeout: 300 * time.Millisecond, NoBroadcast: true,
		Extra: []netip.AddrPort{addr},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Found{Name: "Lab server", Addr: netip.MustParseAddrPort("127.0.0.1:4321"), Peers: 7, Version: wire.Version}
	if len(found) != 1 {
		t.Fatalf("found %+v, want one server", found)
	}
	got := found[0]
	if got.RTT <= 0 || got.RTT > 300*time.Millisecond {
		t.Errorf("RTT %v", got.RTT)
	}
	got.RTT = 0
	if got != want {
		t.Fatalf("found %+v, want %+v", got, want)
	}
	if n := runtime.NumGoroutine(); n > before+1 { // +1: the responder
		t.Errorf("%d goroutines after Probe, had %d", n, before)
	}
}

// TestProbeIgnoresBadAnswers runs a fake server that answers each probe with
// garbage before one good answer.
func TestProbeIgnoresBadAnswers(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1024)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := wire.Parse(buf[:n])
			if err != nil {
				continue
			}
			nonce := m.(wire.Discover).Nonce
			for _, bad := range []string{
				"PEERCHAT_SERVER 2 wrongnonce 1111 1 evil",
				"PEERCHAT_SERVER 2 " + nonce + " notaport 1 evil",
				"PEERCHAT_SERVER 2 " + nonce + " 0 1 evil",
				"PEERCHAT_SERVER 2 " + nonce + " 1111",
				"PEERCHAT_SERVER 2 " + nonce + " 1111 1 \xff\xfe",
				"PEERCHAT_DISCOVER 2 " + nonce,
				"PEERCHAT_SERVER 2 " + nonce + " 1111 1 " + strings.Repeat("x", 600),
				"",
			} {
				pc.WriteTo([]byte(bad), from)
			}
			pc.WriteTo([]byte("PEERCHAT_SERVER 2 "+nonce+" 2222 3 good one"), from)
		}
	}()
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	found, err := Probe(context.Background(), ProbeConfig{
		Port: int(addr.Port()), Timeout: 300 * time.Millisecond, NoBroadcast: true,
		Extra: []netip.AddrPort{addr},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Name != "good one" || found[0].Addr.Port() != 2222 || found[0].Peers != 3 {
		t.Fatalf("found %+v, want only the good answer", found)
	}
}

func TestProbeHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	found, err := Probe(ctx, ProbeConfig{Port: 9, Timeout: 10 * time.Second, NoBroadcast: true,
		Extra: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9")}})
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Probe with a cancelled context took %v", d)
	}
	if err != nil || len(found) != 0 {
		t.Fatalf("Probe = %v, %v", found, err)
	}
}

func TestAnswer(t *testing.T) {
	info := func() wire.ServerInfo { return wire.ServerInfo{TCPPort: 12345, Peers: 2, Name: "srv"} }
	tests := []struct {
		probe, want string
	}{
		{"PEERCHAT_DISCOVER 2 abc", "PEERCHAT_SERVER 2 abc 12345 2 srv"},
		{"PEERCHAT_DISCOVER 1 n1", "PEERCHAT_SERVER 2 n1 12345 2 srv"},
		{"PEERCHAT_DISCOVER 2", ""},
		{"PEERCHAT_DISCOVER x abc", ""},
		{"PEERCHAT_DISCOVER 2 a b", ""},
		{"PEERCHAT_DISCOVER 2 " + strings.Repeat("n", MaxNonceLen+1), ""},
		{"PEERCHAT_SERVER 2 abc 1 1 x", ""},
		{"CHAT_INVITE a 1 n", ""},
		{"PEERCHAT_DISCOVER 2 \xff", ""},
		{"", ""},
		{strings.Repeat("x", wire.MaxDatagram+1), ""},
	}
	for _, tt := range tests {
		if got := string(Answer([]byte(tt.probe), info)); got != tt.want {
			t.Errorf("Answer(%.40q) = %q, want %q", tt.probe, got, tt.want)
		}
	}
	long := func() wire.ServerInfo { return wire.ServerInfo{TCPPort: 1, Name: strings.Repeat("é", 400)} }
	got := Answer([]byte("PEERCHAT_DISCOVER 2 abc"), long)
	if len(got) > wire.MaxDatagram || !strings.HasPrefix(string(got), "PEERCHAT_SERVER 2 abc 1 0 éé") {
		t.Fatalf("long name: %d bytes %.40q", len(got), got)
	}
	if m, err := wire.Parse(got); err != nil || !strings.HasPrefix(m.(wire.ServerInfo).Name, "éé") {
		t.Fatalf("long name answer does not parse: %v", err)
	}
}

func TestBroadcastAddrs(t *testing.T) {
	for _, a := range BroadcastAddrs() {
		if !a.Is4() || a.As4()[3] == 0 {
			t.Errorf("broadcast address %v", a)
		}
	}
	for _, a := range LANAddrs() {
		if !a.Is4() || a.IsLoopback() {
			t.Errorf("LAN address %v", a)
		}
	}
}

func FuzzAnswer(f *testing.F) {
	for _, s := range []string{"PEERCHAT_DISCOVER 2 abc", "PEERCHAT_DISCOVER 2", "PEERCHAT_SERVER 2 a 1 1 n", "\xff"} {
		f.Add([]byte(s), "name")
	}
	f.Fuzz(func(t *testing.T, probe []byte, name string) {
		reply := Answer(probe, func() wire.ServerInfo { return wire.ServerInfo{TCPPort: 1, Name: name} })
		if reply == nil {
			return
		}
		if len(reply) > wire.MaxDatagram {
			t.Fatalf("reply of %d bytes", len(reply))
		}
		m, err := wire.Parse(reply)
		if err != nil {
			t.Fatalf("reply %q does not parse: %v", reply, err)
		}
		d, _ := wire.Parse(probe)
		if m.(wire.ServerInfo).Nonce != d.(wire.Discover).Nonce {
			t.Fatalf("reply %q does not echo the nonce of %q", reply, probe)
		}
	})
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{"PEERCHAT_SERVER 2 n 1 1 x", "PEERCHAT_SERVER 2 n 0 1 x", "PEERCHAT_SERVER", "\xff"} {
		f.Add([]byte(s))
	}
	from := netip.MustParseAddrPort("[::ffff:10.0.0.1]:12345")
	f.Fuzz(func(t *testing.T, p []byte) {
		got, ok := parseAnswer(p, "n", from)
		if !ok {
			return
		}
		if got.Addr.Addr() != netip.MustParseAddr("10.0.0.1") || got.Addr.Port() == 0 {
			t.Fatalf("parseAnswer(%q) = %+v", p, got)
		}
	})
}
