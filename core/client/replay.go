package client

import (
	"cmp"
	"slices"

	"peerchat/core/wire"
)

// This file is the replay of missed broadcasts (docs/PROTOCOL.md §2.9):
// the server names every broadcast with a server-wide id (BID before it);
// once registered, a client that saw broadcasts before asks for those
// after the last one it saw (SINCE), and reports them with Missed set.
// Each id is reported once, however it comes.

// seenBIDs is how many broadcast ids are remembered to drop one that
// comes twice (live, then replayed).
const seenBIDs = 2048

// askMissed sends SINCE after a registration when the server replays and
// we saw a broadcast before. The caller holds c.mu.
func (c *Client) askMissed() {
	c.nextBID, c.replaying = 0, false
	if c.srv == nil || c.srvKey.IsZero() || !slices.Contains(c.srvFeat, wire.FeatureReplay) || c.lastBID == 0 {
		return
	}
	send(c.srv, wire.Since{ID: c.lastBID}, 0)
	c.replaying = true
}

// takeBID returns the id the server gave the broadcast that just came
// (0: none) and whether it is new; it records it. The caller holds c.mu.
func (c *Client) takeBID() (uint64, bool) {
	id := c.nextBID
	c.nextBID = 0
	if id == 0 {
		return 0, true
	}
	if c.bidSeen == nil {
		c.bidSeen = make(map[uint64]struct{})
	}
	if _, dup := c.bidSeen[id]; dup {
		return id, false
	}
	if len(c.bidLog) >= seenBIDs {
		delete(c.bidSeen, c.bidLog[0])
		c.bidLog = c.bidLog[1:]
	}
	c.bidSeen[id] = struct{}{}
	c.bidLog = append(c.bidLog, id)
	c.lastBID = max(c.lastBID, id)
	return id, true
}

// replayFrame handles BID and SINCE_END. The caller holds c.mu.
func (c *Client) replayFrame(msg wire.Message) {
	switch m := msg.(type) {
	case wire.BroadcastID:
		c.nextBID = m.ID
	case wire.SinceEnd:
		c.lastBID = max(c.lastBID, m.Last)
		c.endReplay()
	}
}

// maxReplayHeld bounds the broadcasts held while a SINCE answer is under
// way; beyond it they are reported as they are.
const maxReplayHeld = 4096

// bcast reports broadcast e, whose BID is set. While a SINCE answer is
// under way, broadcasts are held and reported at its end in the order of
// their ids: a live one that overtook the replayed ones (it was sent
// after we registered, before the server read our SINCE) comes after
// them. Our own echo is recognised in that order too. The caller holds
// c.mu.
func (c *Client) bcast(e Event) {
	if c.replaying && e.BID != 0 && len(c.replayHeld) < maxReplayHeld {
		c.replayHeld = append(c.replayHeld, e)
		return
	}
	if foldKey(e.From) == c.selfKey {
		e.ID, _ = c.ownEcho(e.Text, true)
	}
	c.emit(e)
}

// endReplay ends a SINCE answer (or gives up on it: the link is gone):
// the broadcasts held meanwhile are reported in the order of their ids,
// missed ones (not our own echo) marked so. The caller holds c.mu.
func (c *Client) endReplay() {
	c.replaying = false
	held := c.replayHeld
	c.replayHeld = nil
	slices.SortStableFunc(held, func(a, b Event) int { return cmp.Compare(a.BID, b.BID) })
	for _, e := range held {
		if foldKey(e.From) == c.selfKey {
			if id, ok := c.ownEcho(e.Text, true); ok {
				e.ID = id
				c.emit(e)
				continue
			}
		}
		e.Missed = true
		c.emit(e)
	}
}
