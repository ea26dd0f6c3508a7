package server_test

import (
	"context"
	"errors"
	"log"
	"net"

	"peerchat/server"
)

// A server on a listener of your own, until ctx ends. To host one on a LAN
// (with discovery and the mDNS announcement), use peerchat/server/host.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	srv, err := server.New(server.Config{Name: "3rd floor"})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	// Serve returns when ctx is done, after a graceful shutdown.
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		log.Print(err)
	}
}
