// Command peerchat-server runs a PeerChat server.
package main

func main() {}
