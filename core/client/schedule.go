package client

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"peerchat/core/wire"
)

// This file is the Client's scheduler: one goroutine runs the timed work
// of the server link (the settle period after a reconnection, the link
// check, heartbeats, broadcast echoes) and of every chat (tickChat).

// wake makes the scheduler recompute its next deadline.
func (c *Client) wake() {
	select {
	case c.wakeSched <- struct{}{}:
	default:
	}
}

// schedule runs timed work: invite resends, fallbacks and expiries, message
// expiries, the end of the settle period after a reconnection, heartbeats.
func (c *Client) schedule() {
	defer c.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next := c.tick()
		d := time.Hour
		if !next.IsZero() {
			d = max(next.Sub(c.now()), time.Millisecond)
		}
		t.Reset(d)
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.wakeSched:
		}
	}
}

// tick does what is due and returns when it should run again.
func (c *Client) tick() time.Time {
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return time.Time{}
	}
	now := c.now()
	var next time.Time
	soon := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if c.stale != nil {
		if !now.Before(c.settleAt) {
			for key := range c.stale {
				c.peerLeft(key)
			}
			c.stale = nil
		} else {
			soon(c.settleAt)
		}
	}
	if !c.checkSent.IsZero() {
		switch giveUp := c.checkSent.Add(DefaultLinkCheck); {
		case c.srv == nil || c.srvSeen.After(c.checkSent):
			c.checkSent = time.Time{}
		case !now.Before(giveUp):
			c.log.Info("server did not answer the link check", "after", DefaultLinkCheck)
			c.srv.close()
			c.checkSent = time.Time{}
		default:
			soon(giveUp)
		}
	}
	if c.srv != nil && slices.Contains(c.srvFeat, wire.FeatureHeartbeat) {
		due := c.srvSeen.Add(c.cfg.HeartbeatEvery)
		if c.pingSent.After(c.srvSeen) {
			due = c.pingSent.Add(c.cfg.HeartbeatEvery)
		}
		if !now.Before(due) {
			c.srv.send(wire.Ping{Token: strconv.FormatInt(now.UnixMilli(), 10)}, 0)
			c.pingSent = now
			due = now.Add(c.cfg.HeartbeatEvery)
		}
		soon(due)
	}
	for len(c.bcasts) > 0 && !now.Before(c.bcasts[0].deadline) {
		c.failBroadcasts(1, fmt.Errorf("%w within %v", ErrNoEcho, c.cfg.EchoTimeout))
	}
	if len(c.bcasts) > 0 {
		soon(c.bcasts[0].deadline)
	}
	for _, ch := range c.chats {
		soon(c.tickChat(ch, now))
	}
	return next
}
