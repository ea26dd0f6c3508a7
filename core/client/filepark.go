package client

import (
	"fmt"
	"slices"
	"time"

	"peerchat/core/e2e"
	"peerchat/core/transfer"
	"peerchat/core/wire"
)

// This file is the sending side of parked files (docs/PROTOCOL.md §3.7):
// a file for a peer who is away goes through the server's mailbox as
// sealed items — its offer, its chunks and its end — put in order, at
// most parkAhead unconfirmed, and reported delivered with the last one.

// parked is the mailbox side of a parked outgoing transfer: item 0 is
// FILE_OFFER, items 1..n-2 the chunks, item n-1 FILE_END.
type parked struct {
	n    int
	ids  []uint64 // the item ids given so far (c.newID), by index
	conf []bool   // MBOX_OK seen, by index
	ok   int      // the first index not confirmed
	put  int      // the next index to put
	done bool
}

// parkX sends x through the server's mailbox. The caller holds c.mu and
// c.fx.mu.
func (c *Client) parkX(x *xfer) {
	c.stopStream(x)
	n := int((x.info.Size+relayChunk-1)/relayChunk) + 2
	x.state, x.l = xParked, nil
	x.info.Parked = true
	x.park = &parked{n: n, conf: make([]bool, n)}
	x.stop = make(chan struct{})
	c.wg.Add(1)
	go c.parkLoop(x, x.out, x.stop)
}

// parkFiles parks the transfers to ch's peer that wait for a chat: its
// invite expired, or it left. The caller holds c.mu.
func (c *Client) parkFiles(ch *chat) {
	if !c.mailUsable() || c.mailKey(ch.key).IsZero() {
		return
	}
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	for _, x := range c.fx.xs {
		if x.key == ch.key && x.info.Outgoing && x.out != nil && !x.started && (x.state == xWaiting || x.state == xOffered) {
			c.parkX(x)
		}
	}
}

// parkLoop seals and puts x's items in order, at most parkAhead beyond
// the last confirmed; it starts again from the first unconfirmed one when
// the server link comes back (putFileMail).
func (c *Client) parkLoop(x *xfer, o *transfer.Outgoing, stop chan struct{}) {
	defer c.wg.Done()
	buf := make([]byte, relayChunk)
	for {
		c.fx.mu.Lock()
		pk := x.park
		i, live := pk.put, x.stop == stop && !pk.done
		wait := i >= pk.n || i-pk.ok >= parkAhead
		c.fx.mu.Unlock()
		if !live {
			return
		}
		if wait {
			select {
			case <-x.ackc:
			case <-stop:
				return
			case <-c.ctx.Done():
				return
			}
			continue
		}
		var payload []byte
		switch {
		case i == 0:
			// The offer names the SHA-256: parked items may reach a
			// device of the peer without wire.FeatureFilesEndSum.
			sum, err := sumOf(x, o)
			c.fx.mu.Lock()
			if err == nil && x.stop == stop {
				err = c.checkSum(x, sum)
			}
			c.fx.mu.Unlock()
			if err != nil {
				c.failStream(x, stop, err, false)
				return
			}
			payload = o.Offer(x.info.ID).AppendPayload(nil)
		case i == pk.n-1:
			payload = wire.FileEnd{ID: x.info.ID}.AppendPayload(nil)
		default:
			off := int64(i-1) * relayChunk
			n, err := readChunk(x, o, off, buf)
			if err != nil {
				c.failStream(x, stop, err, false)
				return
			}
			payload = wire.FileChunk{ID: x.info.ID, Offset: off, Data: buf[:n]}.AppendPayload(nil)
		}
		c.mu.Lock()
		key := c.mailKey(x.key)
		c.mu.Unlock()
		sealed, err := e2e.SealTo(c.cfg.Identity, key, mailContext(c.selfKey, x.key), payload)
		c.mu.Lock()
		c.fx.mu.Lock()
		switch {
		case x.stop != stop || pk.done:
		case err != nil:
			c.failX(x, fmt.Errorf("send %s to %q: %w", x.info.Name, x.info.Peer, err), false)
		case pk.put != i || !c.mailOn():
			// The link went and came back meanwhile, or is down: try again
			// once putFileMail says so.
			if !c.mailOn() {
				pk.put = pk.n // wait
			}
		default:
			if i >= len(pk.ids) {
				id := c.newID()
				pk.ids = append(pk.ids, id)
				c.fx.mail[id] = x
			}
			send(c.srv, wire.MboxPut{To: x.info.Peer, ID: pk.ids[i], Data: sealed}, 0)
			pk.put = i + 1
		}
		c.fx.mu.Unlock()
		c.unlock()
		if c.srvBacklogWait() != nil {
			select {
			case <-stop:
				return
			case <-c.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// srvBacklogWait waits while the server link holds more than
// relayBacklog unwritten.
func (c *Client) srvBacklogWait() error {
	c.mu.Lock()
	srv := c.srv
	c.mu.Unlock()
	if srv == nil {
		return ErrNotConnected
	}
	return srv.waitBacklog(relayBacklog, time.Second)
}

// putFileMail puts again, on a new server link, the parked items the
// mailbox has not confirmed. The caller holds c.mu.
func (c *Client) putFileMail() {
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	for _, x := range c.fx.xs {
		if x.park != nil && !x.park.done {
			x.park.put = x.park.ok
			select {
			case x.ackc <- struct{}{}:
			default:
			}
		}
	}
}

// fileMail handles the mailbox's answers about parked items; it reports
// false for a frame that is not about one. The caller holds c.mu.
func (c *Client) fileMail(msg wire.Message) bool {
	var id uint64
	switch m := msg.(type) {
	case wire.MboxOK:
		id = m.ID
	case wire.MboxRefused:
		id = m.ID
	case wire.MboxDelivered:
		id = m.ID
	default:
		return false
	}
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	x := c.fx.mail[id]
	if x == nil || x.park == nil {
		return false
	}
	pk := x.park
	i := slices.Index(pk.ids, id)
	switch m := msg.(type) {
	case wire.MboxOK:
		if i >= 0 && !pk.conf[i] {
			pk.conf[i] = true
			for pk.ok < pk.n && pk.conf[pk.ok] {
				pk.ok++
			}
			select {
			case x.ackc <- struct{}{}:
			default:
			}
			c.progress(x, min(int64(max(pk.ok-1, 0))*relayChunk, x.info.Size))
		}
	case wire.MboxRefused:
		c.failX(x, fmt.Errorf("send %s to %q: %w; send it when %s is online",
			x.info.Name, x.info.Peer, &MailboxError{Peer: x.info.Peer, Reason: m.Reason}, x.info.Peer), false)
	case wire.MboxDelivered:
		if i == pk.n-1 {
			c.removeX(x)
			info := x.info
			c.emit(Event{Kind: EventFileDone, Peer: info.Peer, File: &info})
			c.wg.Add(1)
			go func() { defer c.wg.Done(); c.dropRecord(info.ID) }()
		}
	}
	return true
}
