package netbackend

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

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
