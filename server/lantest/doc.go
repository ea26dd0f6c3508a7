// Package lantest runs PeerChat on a LAN made of Linux network namespaces,
// for tests: hosts (namespaces) on bridges, with a Wi-Fi access point's
// client isolation (the bridge's port isolation), stateful inbound
// firewalls and random packet loss (nftables), and routers between subnets,
// with or without NAT. Every address is private and lives only inside the
// namespaces a Lab made; nothing is sent anywhere else.
//
// It needs Linux, root, and the ip, bridge and nft commands (Debian
// packages iproute2 and nftables; ./build.sh test installs them). Without
// them its tests are skipped, except when the environment variable CI is
// "true": CI runs as root, and there a missing capability fails the test.
//
// The package's own tests run the real peerchat-server and peerchat-cli
// binaries in the lab's hosts and follow them through peerchat-cli's -json
// events.
package lantest
