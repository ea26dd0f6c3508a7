package host_test

import (
	"context"
	"log"

	"peerchat/core/client"
	"peerchat/server"
	"peerchat/server/host"
)

// "Host on this device": a server on the default port, found by discovery
// and mDNS, with our own client registered as ana.
func Example() {
	cc := client.DefaultConfig("", "ana") // Start sets the server address
	h, err := host.Start(context.Background(), host.Config{
		Server:  server.Config{Name: "Ana's phone"},
		AnyPort: true, // another server already on :12345? take a free port
		Client:  &cc,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close() // leaves our chats, tells everyone the server is going, waits
	log.Printf("others connect to %s", h.Addr())
	// Use h.Client as a client from client.Dial; h.Server has the registry.
}
