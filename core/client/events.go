package client

// This file is the Client's event queue: emit queues an event, Poll
// drains the queue, and Events and Config.Notify say there is something
// to poll.

// Poll appends every queued event to dst, in order, and returns it. It never
// blocks on the network.
func (c *Client) Poll(dst []Event) []Event {
	c.qmu.Lock()
	dst = append(dst, c.queue...)
	clear(c.queue)
	c.queue = c.queue[:0]
	c.qmu.Unlock()
	return dst
}

// Events returns a channel that receives a value whenever events were queued
// since the last receive (values are coalesced). A loop waits on it, then
// calls Poll.
func (c *Client) Events() <-chan struct{} { return c.events }

// emit queues an event. It never blocks.
func (c *Client) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = c.now()
	}
	c.qmu.Lock()
	c.queue = append(c.queue, e)
	c.qmu.Unlock()
	select {
	case c.events <- struct{}{}:
	default:
	}
	select {
	case c.notifyc <- struct{}{}:
	default:
	}
}

func (c *Client) notifier() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.notifyc:
			c.cfg.Notify()
		}
	}
}
