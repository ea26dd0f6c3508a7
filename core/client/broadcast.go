package client

import (
	"fmt"
	"time"
)

// Our own broadcasts: sending them, recognising their echoes, and failing
// those whose echo never comes.

// outBroadcast is one of our broadcasts waiting for the server's echo.
type outBroadcast struct {
	id       uint64
	text     string
	deadline time.Time // reported failed if no echo came by then
}

// Broadcast asks the server to send text to everybody and returns the
// broadcast's local id. The server's echo comes back as the EventBroadcast
// with that ID (and From our nick) once the server relayed it; a refusal, a
// lost echo, or no echo within DefaultEchoTimeout (ErrNoEcho) as
// EventSendFailed with Peer "" and that ID. With "keys" negotiated it is
// signed (SBROADCAST); while the server's changed key waits for
// AcceptServerKey it fails with ErrServerKeyChanged. It never blocks.
func (c *Client) Broadcast(text string) (uint64, error) {
	if err := checkText(text); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return 0, ErrClosed
	}
	if !c.srvNewKey.IsZero() {
		return 0, fmt.Errorf("broadcast: %w", ErrServerKeyChanged)
	}
	if c.srv == nil {
		if !c.cfg.Reconnect {
			return 0, ErrNotConnected
		}
		// The link is being redialled: it goes once we are registered
		// again (sendWaiting), its echo timeout counted from then.
		if len(c.bcastWait) >= maxBroadcasts {
			return 0, fmt.Errorf("broadcast: %w: %d broadcasts wait for the server already", ErrNotConnected, maxBroadcasts)
		}
		id := c.newID()
		c.bcastWait = append(c.bcastWait, outBroadcast{id: id, text: text})
		return id, nil
	}
	if !c.sendBroadcast(text) {
		return 0, ErrNotConnected
	}
	id := c.newID()
	c.queueEcho(id, text)
	return id, nil
}

// queueEcho records our broadcast id, just written, as waiting for its
// echo. The caller holds c.mu.
func (c *Client) queueEcho(id uint64, text string) {
	if len(c.bcasts) >= maxBroadcasts {
		c.failBroadcasts(1, ErrExpired)
	}
	c.bcasts = append(c.bcasts, outBroadcast{id: id, text: text, deadline: c.now().Add(c.cfg.EchoTimeout)})
	if len(c.bcasts) == 1 {
		c.wake()
	}
}

// sendWaiting sends the broadcasts made while the link was down, once
// registered again. The caller holds c.mu.
func (c *Client) sendWaiting() {
	wait := c.bcastWait
	c.bcastWait = nil
	for i, b := range wait {
		if !c.srvNewKey.IsZero() || c.srv == nil || !c.sendBroadcast(b.text) {
			c.bcastWait = wait[i:] // the next link takes them
			return
		}
		c.queueEcho(b.id, b.text)
	}
}

// ownEcho reports whether a broadcast with text that the server relayed is
// the echo of one of ours, and returns its id. The server relays in the
// order it received, so our echoes come back in the order we sent. sender
// says the server named us as the sender: then the echo is ours for sure;
// it is normally the oldest we wait for, and when its text matches a
// younger one, the older ones were dropped without a NOTICE and are
// reported failed. Without a sender (a base server names nobody) it is ours
// only if its text is that of the oldest we wait for. The caller holds c.mu.
func (c *Client) ownEcho(text string, sender bool) (id uint64, ok bool) {
	n := min(1, len(c.bcasts))
	if sender {
		n = len(c.bcasts)
	}
	for i, b := range c.bcasts[:n] {
		if b.text == text {
			c.failBroadcasts(i, fmt.Errorf("%w: the server relayed a later one instead", ErrServer))
			c.popBroadcast()
			return b.id, true
		}
	}
	if sender && len(c.bcasts) > 0 {
		return c.popBroadcast().id, true
	}
	return 0, false
}

// popBroadcast removes and returns the oldest broadcast waiting for its
// echo; there must be one. The caller holds c.mu.
func (c *Client) popBroadcast() outBroadcast {
	b := c.bcasts[0]
	c.bcasts[0] = outBroadcast{}
	c.bcasts = c.bcasts[1:]
	return b
}

// failBroadcasts reports the oldest n broadcasts waiting for their echo as
// failed with err. The caller holds c.mu.
func (c *Client) failBroadcasts(n int, err error) {
	for _, b := range c.bcasts[:n] {
		c.emit(Event{Kind: EventSendFailed, ID: b.id, Text: b.text, Err: fmt.Errorf("broadcast %d: %w", b.id, err)})
	}
	clear(c.bcasts[:n])
	c.bcasts = c.bcasts[n:]
	if len(c.bcasts) == 0 {
		c.bcasts = nil
	}
}
