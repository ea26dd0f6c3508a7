// Package discoverytest helps test LAN discovery without leaving the
// machine: QueryLoopback asks for PeerChat's mDNS service over the loopback
// interface only.
package discoverytest
