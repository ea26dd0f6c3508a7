package netbackend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/discovery"
	"peerchat/ui"
)

// TestConnectErrors checks that real network failures come back as the ui
// errors the connect screen explains.
func TestConnectErrors(t *testing.T) {
	// A port that refuses: listen, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	b := New(Config{ListenAddr: "127.0.0.1"})
	tests := []struct {
		name, server, nick string
		want               error
	}{
		{"refused", refused, "ana", ui.ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := b.Connect(ctx, tt.server, tt.nick, nil)
			if err == nil {
				s.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// TestHostAndConnect hosts a server, connects a second user to it and sees
// both registered.
func TestHostAndConnect(t *testing.T) {
	b := New(Config{ListenAddr: "127.0.0.1"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host, err := b.Host(ctx, "ana", nil)
	if err != nil {
		t.Skipf("cannot host here: %v", err)
	}
	defer host.Close()
	s, err := b.Connect(ctx, host.ServerAddr(), "bruno", nil)
	if err != nil {
		t.Fatalf("connect to hosted %s: %v", host.ServerAddr(), err)
	}
	defer s.Close()
	if _, err := b.Connect(ctx, host.ServerAddr(), "ANA", nil); !errors.Is(err, ui.ErrNickTaken) {
		t.Fatalf("second ana: err %v, want %v", err, ui.ErrNickTaken)
	}
}

func TestDedupe(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name  string
		found []discovery.Found
		want  []string
	}{
		{"loopback twin dropped", []discovery.Found{{Name: "vm", Addr: ap("127.0.0.1:12345")}, {Name: "vm", Addr: ap("192.168.1.5:12345")}}, []string{"192.168.1.5:12345"}},
		{"loopback alone kept", []discovery.Found{{Name: "vm", Addr: ap("127.0.0.1:12345")}}, []string{"127.0.0.1:12345"}},
		{"other port kept", []discovery.Found{{Name: "vm", Addr: ap("127.0.0.1:4000")}, {Name: "vm", Addr: ap("192.168.1.5:12345")}}, []string{"127.0.0.1:4000", "192.168.1.5:12345"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range dedupe(tt.found) {
				got = append(got, s.Addr)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProbeFindsHosted hosts a server (with its discovery responder) and
// finds it with Probe over loopback, sending nothing to the LAN (NoLAN).
func TestProbeFindsHosted(t *testing.T) {
	b := New(Config{ListenAddr: "127.0.0.1", ProbeExtra: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:12345")}, HostName: "probe-test", NoLAN: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := b.Host(ctx, "ana", nil)
	if err != nil {
		t.Skipf("cannot host here: %v", err)
	}
	defer h.Close()
	if !strings.HasSuffix(h.ServerAddr(), ":12345") {
		t.Skipf("port 12345 taken (hosted on %s): the responder answers elsewhere", h.ServerAddr())
	}
	found, err := b.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range found {
		if s.Name == "probe-test" && s.Peers == 1 {
			return
		}
	}
	t.Fatalf("hosted server not found: %+v", found)
}

// TestClassify explains errors by their type and value (errors.Is), never by
// their text: a refusal is recognised through any wrapping, and a message
// that merely says "refused" is not one.
func TestClassify(t *testing.T) {
	dial := func(errno syscall.Errno) error {
		return fmt.Errorf("connect to 127.0.0.1:1: %w: %w", client.ErrServerUnreachable,
			&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)})
	}
	tests := []struct {
		name string
		err  error
		want error // nil: returned unchanged
	}{
		{"refused", dial(syscall.ECONNREFUSED), ui.ErrRefused},
		{"host unreachable", dial(syscall.EHOSTUNREACH), ui.ErrUnreachable},
		{"unreachable, text says refused", fmt.Errorf("%w: peer refused to talk", client.ErrServerUnreachable), ui.ErrUnreachable},
		{"text says refused", errors.New("connection refused"), nil},
		{"nick taken", fmt.Errorf("register: %w", client.ErrNicknameTaken), ui.ErrNickTaken},
		{"deadline", fmt.Errorf("dial: %w", context.DeadlineExceeded), ui.ErrTimeout},
		{"net timeout", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, ui.ErrTimeout},
		{"unknown host", fmt.Errorf("connect to nohost:1: %w: %w", client.ErrServerUnreachable,
			&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nohost", IsNotFound: true}}), ui.ErrUnknownHost},
	}
	kinds := []error{ui.ErrRefused, ui.ErrUnreachable, ui.ErrNickTaken, ui.ErrTimeout, ui.ErrUnknownHost}
	for _, tt := range tests {
		got := classify(tt.err)
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: %v does not wrap the original error", tt.name, got)
		}
		for _, k := range kinds {
			if errors.Is(got, k) != (k == tt.want) {
				t.Errorf("%s: errors.Is(%v, %v) = %v", tt.name, got, k, !(k == tt.want))
			}
		}
	}
}
