package client

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"peerchat/core/wire"
)

// This file is the timed work of an open chat: the keepalive (PING after
// ChatPingEvery of silence, lost after ChatSilence) and, for a chat
// through the server, the invite datagram again that may move it to the
// direct path.

// tickOpen does the timed work of an open chat: the keepalive (PING after
// ChatPingEvery of silence, lost after ChatSilence) and, for a chat
// through the server that we invited to, our invite's datagram again
// until it expires (the direct path may answer it). It returns when it
// next has work. The caller holds c.mu.
func (c *Client) tickOpen(ch *chat, now time.Time) time.Time {
	var next time.Time
	soon := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if ch.keepalive {
		silent := now.Sub(ch.heard)
		switch {
		case silent >= c.cfg.ChatSilence:
			c.chatLost(ch, fmt.Errorf("chat with %q: %w for %v", ch.nick, ErrPeerSilent, silent.Round(time.Second)))
			return time.Time{}
		case silent >= c.cfg.ChatPingEvery && !ch.pinged.After(ch.heard):
			send(ch.l, wire.Ping{Token: strconv.FormatInt(now.UnixMilli(), 10)}, 0)
			ch.pinged = now
		}
		if !ch.pinged.After(ch.heard) {
			soon(ch.heard.Add(c.cfg.ChatPingEvery))
		}
		soon(ch.heard.Add(c.cfg.ChatSilence))
	}
	if ch.route == RouteRelay && !ch.upResend.IsZero() {
		if !now.Before(ch.upExpires) {
			ch.upResend = time.Time{}
		} else {
			if !now.Before(ch.upResend) {
				if p := c.peers[ch.key]; p != nil {
					c.sendDatagram(wire.ChatInvite{Nick: c.nick, TCPPort: c.tcpPort, Nonce: ch.openNonce},
						netip.AddrPortFrom(p.IP, uint16(p.UDPPort)))
				}
				ch.upResend = now.Add(c.cfg.ResendEvery)
			}
			soon(ch.upResend)
		}
	}
	return next
}
