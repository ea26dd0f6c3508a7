package server_test

import (
	"context"
	"log"
	"net"

	"peerchat/core/discovery"
	"peerchat/server"
)

// A server hosted inside an app ("host on this device"): serve on the
// default port, answer discovery probes and announce over mDNS until ctx
// ends.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srv, err := server.New(server.Config{Name: "Ana's phone"})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", ":12345")
	if err != nil {
		log.Fatal(err)
	}
	if pc, err := net.ListenPacket("udp4", ":12345"); err == nil {
		go func() {
			defer pc.Close()
			discovery.Respond(ctx, pc, srv.Info)
		}()
	}
	if a, err := discovery.Announce(discovery.AnnounceConfig{Instance: "Ana's phone", Port: 12345}); err == nil {
		defer a.Close()
	}
	// Serve returns when ctx is done, after a graceful shutdown.
	if err := srv.Serve(ctx, ln); err != nil && err != context.Canceled {
		log.Print(err)
	}
}
