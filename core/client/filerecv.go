package client

import (
	"errors"
	"fmt"
	"sync"

	"peerchat/core/transfer"
	"peerchat/core/wire"
)

// This file is the receiving side of file transfers (docs/PROTOCOL.md
// §3.7): offers, chunks written to the partial file by the chat's reader
// goroutine before it takes c.mu (or by a writer goroutine for parked
// items), acknowledgements, and the check at FILE_END.

// maxFileSize returns the limit of incoming files.
func (c *Client) maxFileSize() int64 {
	if c.cfg.MaxFileSize > 0 {
		return c.cfg.MaxFileSize
	}
	return DefaultMaxFileSize
}

// fileFrame handles one files payload p of the encrypted chat ch (socket
// generation gen, link l), in the chat's reader goroutine, without c.mu.
// It reports false once the socket is no longer ch's.
func (c *Client) fileFrame(ch *chat, gen uint64, l *link, p []byte) bool {
	msg, err := wire.ParseFile(p)
	if err != nil {
		send(l, wire.Error{Reason: errorReason(err)}, 0)
		c.log.Debug("file frame dropped", "peer", ch.nick, "err", err)
		return true
	}
	if m, ok := msg.(wire.FileChunk); ok {
		c.fileChunk(ch, l, m)
		return true
	}
	c.mu.Lock()
	if ch.gen != gen {
		c.unlock()
		l.close()
		return false
	}
	ch.heard = c.now()
	nick := ch.nick
	c.unlock()
	switch m := msg.(type) {
	case wire.FileOffer:
		c.fileOffer(ch.key, nick, l, m)
	case wire.FileEnd:
		c.fx.mu.Lock()
		var q chan wItem
		var quit chan struct{}
		if x := c.fx.xs[xkey(false, ch.key, m.ID)]; x != nil {
			q, quit = x.wq, x.wquit
		}
		c.fx.mu.Unlock()
		if q != nil {
			c.enqueue(q, quit, wItem{l: l, ctl: m})
		}
	case wire.FileCancel:
		c.fx.mu.Lock()
		for _, out := range []bool{true, false} {
			if x := c.fx.xs[xkey(out, ch.key, m.ID)]; x != nil && c.xlink(x) == l {
				c.failX(x, fmt.Errorf("%s with %q: %w by the peer", x.info.Name, x.info.Peer, ErrFileCancelled), false)
			}
		}
		c.fx.mu.Unlock()
	default:
		c.fx.mu.Lock()
		c.outFrame(ch.key, l, msg)
		c.fx.mu.Unlock()
	}
	return true
}

// fileOffer handles a FILE_OFFER from the peer with folded nick key on l:
// a transfer we know resumes (FILE_ACCEPT with our verified offset), a
// new one is refused, accepted by itself, or reported (EventFileOffer).
func (c *Client) fileOffer(key, nick string, l *link, m wire.FileOffer) {
	k := xkey(false, key, m.ID)
	c.fx.mu.Lock()
	if ans := c.fx.ended[k]; ans != nil {
		send(l, ans, 0)
		c.fx.mu.Unlock()
		return
	}
	x := c.fx.xs[k]
	if x != nil {
		if !x.offer.SameFile(m) {
			send(l, wire.FileDecline{ID: m.ID, Reason: wire.DeclineBusy}, 0)
			c.fx.mu.Unlock()
			return
		}
		if x.state != xReceiving {
			x.inLink = l // answered once the user or the disk decided
			c.fx.mu.Unlock()
			return
		}
		q, quit := x.wq, x.wquit
		c.fx.mu.Unlock()
		if q != nil { // after the chunks queued before it
			c.enqueue(q, quit, wItem{l: l, ctl: m})
			return
		}
		c.resumeAccept(x, l, m)
		return
	}
	info := FileInfo{ID: m.ID, Peer: nick, From: nick, Name: transfer.SanitizeName(m.Name), Size: m.Size, MIME: m.MIME, SHA256: m.SHA256}
	switch {
	case c.cfg.Downloads == "":
		send(l, wire.FileDecline{ID: m.ID, Reason: wire.DeclineDeclined}, 0)
		c.fx.mu.Unlock()
		c.log.Info("file refused: no downloads directory", "peer", nick, "name", info.Name)
		return
	case m.Size > c.maxFileSize():
		send(l, wire.FileDecline{ID: m.ID, Reason: wire.DeclineTooLarge}, 0)
		c.fx.mu.Unlock()
		c.emit(Event{Kind: EventFileFailed, Peer: nick, File: &info,
			Err: fmt.Errorf("file %s from %q of %d bytes: %w (limit %d)", info.Name, nick, m.Size, transfer.ErrTooLarge, c.maxFileSize())})
		return
	case c.incomingFiles(key) >= maxIncoming:
		send(l, wire.FileDecline{ID: m.ID, Reason: wire.DeclineBusy}, 0)
		c.fx.mu.Unlock()
		c.log.Info("file refused: too many transfers from this peer", "peer", nick, "name", info.Name)
		return
	}
	x = &xfer{info: info, key: key, state: xAsk, inLink: l, ackc: make(chan struct{}, 1), offer: m}
	c.fx.xs[k] = x
	c.fx.mu.Unlock()
	auto := c.cfg.AutoAcceptBelow > 0 && m.Size <= c.cfg.AutoAcceptBelow && c.verifiedPeer(key, l)
	if !auto {
		ps, _ := transfer.Pending(c.cfg.Downloads)
		for _, p := range ps {
			if p.From == key && p.Offer.SameFile(m) {
				auto = true // accepted before a restart: it resumes
			}
		}
	}
	if auto {
		c.fx.mu.Lock()
		x.state = xAccepting
		c.fx.mu.Unlock()
		c.receive(x)
		return
	}
	c.emit(Event{Kind: EventFileOffer, Peer: nick, File: &info})
}

// maxIncoming bounds the incoming transfers of one peer at a time
// (offered, accepted or under way): more offers are declined (busy).
const maxIncoming = 64

// incomingFiles counts the incoming transfers of the peer with folded nick
// key. The caller holds c.fx.mu.
func (c *Client) incomingFiles(key string) int {
	n := 0
	for _, x := range c.fx.xs {
		if x.key == key && !x.info.Outgoing {
			n++
		}
	}
	return n
}

// verifiedPeer reports whether the key the peer proved on l is pinned
// and verified for the peer with folded nick key.
func (c *Client) verifiedPeer(key string, l *link) bool {
	pin, ok := c.pins.Get(key)
	return ok && pin.Verified && l.sess != nil && pin.Key == l.sess.Remote()
}

// receive opens (or resumes) x's partial file, off every lock, and
// accepts the offer on the link it came on (if the chat is still open;
// otherwise the sender's next offer is answered).
func (c *Client) receive(x *xfer) {
	in, err := transfer.Receive(c.cfg.Downloads, x.key, x.offer, c.maxFileSize())
	x.iomu.Lock()
	defer x.iomu.Unlock()
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	if c.fx.xs[x.xkey()] != x {
		if in != nil {
			in.Cancel()
		}
		return
	}
	if err != nil {
		reason := wire.DeclineBusy
		switch {
		case errors.Is(err, transfer.ErrTooLarge):
			reason = wire.DeclineTooLarge
		case errors.Is(err, transfer.ErrNoSpace):
			reason = wire.DeclineNoSpace
		}
		if x.inLink != nil {
			send(x.inLink, wire.FileDecline{ID: x.info.ID, Reason: reason}, 0)
		}
		c.failX(x, fmt.Errorf("receive %s from %q: %w", x.info.Name, x.info.Peer, err), false)
		return
	}
	x.in, x.state = in, xReceiving
	off := in.Offset()
	x.lastAck = off
	x.meter = transfer.NewMeter(x.info.Size, off, c.now())
	if !x.info.Parked {
		c.startWriter(x)
		if x.inLink != nil {
			send(x.inLink, wire.FileAccept{ID: x.info.ID, Offset: off}, 0)
		}
	}
}

// fileChunk writes a FILE_CHUNK that came on l from the peer with folded
// nick ch.key, without c.mu. A chunk of an unknown transfer, one before
// the transfer was accepted, out of order or past the size ends that
// transfer (FILE_CANCEL or FILE_FAIL size, EventFileFailed); a chunk of a
// link the transfer left is dropped.
func (c *Client) fileChunk(ch *chat, l *link, m wire.FileChunk) {
	c.fx.rx.Add(int64(len(m.Data)))
	k := xkey(false, ch.key, m.ID)
	c.fx.mu.Lock()
	x := c.fx.xs[k]
	var q chan wItem
	var quit chan struct{}
	live := x != nil && x.inLink == l
	if x != nil && x.state == xReceiving {
		q, quit = x.wq, x.wquit
	}
	if x == nil {
		send(l, wire.FileCancel{ID: m.ID}, 0)
		c.log.Info("chunk of an unknown file transfer", "peer", ch.nick, "id", m.ID)
	} else if live && q == nil && x.state != xReceiving { // a chunk before we accepted: not the protocol
		send(l, wire.FileCancel{ID: m.ID}, 0)
		c.failX(x, fmt.Errorf("receive %s from %q: %w: chunk before FILE_ACCEPT", x.info.Name, x.info.Peer, transfer.ErrOffset), false)
	}
	c.fx.mu.Unlock()
	if q == nil {
		return
	}
	bp := chunkPool.Get().(*[]byte)
	m.Data = append((*bp)[:0], m.Data...) // the reader's buffer is reused
	c.enqueue(q, quit, wItem{ch: ch, l: l, chunk: m, buf: bp})
}

// chunkPool holds the buffers of chunks queued for a writer.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, transfer.ChunkSize); return &b }}

// wItem is what a transfer's writer does next, in the order the chat
// delivered it: a chunk, or (ctl) FILE_END or FILE_OFFER again (the
// sender resumes on l).
type wItem struct {
	ch    *chat
	l     *link
	chunk wire.FileChunk
	buf   *[]byte
	ctl   wire.Message // wire.FileEnd or wire.FileOffer; nil for a chunk
}

// writerQueue is how many items wait for a transfer's writer at most
// (4 MiB of direct chunks: transfer.Window); the chat's reader waits
// beyond it.
const writerQueue = transfer.Window / transfer.ChunkSize

// enqueue hands it to a transfer's writer, waiting while its queue is
// full, unless the transfer ended (quit) or the Client closes.
func (c *Client) enqueue(q chan wItem, quit chan struct{}, it wItem) {
	select {
	case q <- it:
	case <-quit:
	case <-c.ctx.Done():
	}
}

// startWriter starts x's writer goroutine. The caller holds c.fx.mu; x
// is receiving live.
func (c *Client) startWriter(x *xfer) {
	x.wq, x.wquit = make(chan wItem, writerQueue), make(chan struct{})
	c.wg.Add(1)
	go c.writeLoop(x, x.wq, x.wquit)
}

// writeLoop writes x's chunks, acknowledges them, and checks the file at
// FILE_END, off the chat's reader goroutine (whose decryption runs
// meanwhile) and off c.mu.
func (c *Client) writeLoop(x *xfer, q chan wItem, quit chan struct{}) {
	defer c.wg.Done()
	for {
		select {
		case it := <-q:
			switch m := it.ctl.(type) {
			case wire.FileOffer:
				c.resumeAccept(x, it.l, m)
			case wire.FileEnd:
				c.fileEnd(x, it.l, m)
			default:
				c.writeChunk(it.ch, it.l, x, it.chunk)
				chunkPool.Put(it.buf)
			}
		case <-quit:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// resumeAccept answers the sender's new FILE_OFFER m of x on l with our
// verified offset, keeping the SHA-256 m names if the first offer did
// not.
func (c *Client) resumeAccept(x *xfer, l *link, m wire.FileOffer) {
	x.iomu.Lock()
	defer x.iomu.Unlock()
	if x.in != nil && !m.SumLater {
		x.in.SetSum(m.SHA256) // SameFile: it names no other sum than ours
	}
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	if c.fx.xs[x.xkey()] != x || x.in == nil {
		return
	}
	off := x.in.Offset()
	x.inLink, x.lastAck = l, off
	send(l, wire.FileAccept{ID: x.info.ID, Offset: off}, 0)
}

// writeChunk writes chunk m of x that came on l: a chunk of a link the
// transfer left is dropped; one out of order or past the size fails it.
func (c *Client) writeChunk(ch *chat, l *link, x *xfer, m wire.FileChunk) {
	k := x.xkey()
	x.iomu.Lock()
	c.fx.mu.Lock()
	live := c.fx.xs[k] == x && x.inLink == l && x.state == xReceiving
	x.wire += int64(len(m.Data))
	c.fx.mu.Unlock()
	if !live {
		x.iomu.Unlock()
		return
	}
	err := x.in.Write(m.Offset, m.Data)
	off := x.in.Offset()
	x.iomu.Unlock()
	c.fx.mu.Lock()
	if c.fx.xs[k] != x {
		c.fx.mu.Unlock()
		return
	}
	if err != nil {
		reason := wire.FailSize
		if errors.Is(err, transfer.ErrNoSpace) {
			reason = wire.FailIO
		}
		send(l, wire.FileFail{ID: m.ID, Reason: reason}, 0)
		c.failX(x, fmt.Errorf("receive %s from %q: %w", x.info.Name, x.info.Peer, err), false)
		c.fx.mu.Unlock()
		return
	}
	every := int64(ackEvery)
	if _, relay := l.conn.(*relayConn); relay {
		every = relayAckEvery
	}
	acked := off-x.lastAck >= every
	if acked {
		x.lastAck = off
		send(l, wire.FileAck{ID: m.ID, Offset: off}, 0)
	}
	c.progress(x, off)
	c.fx.mu.Unlock()
	if acked {
		c.mu.Lock()
		if ch.l == l {
			ch.heard = c.now()
		}
		c.mu.Unlock()
	}
}

// fileEnd checks and places a file whose last chunk came (FILE_END m):
// FILE_DONE and EventFileDone, or FILE_FAIL and EventFileFailed.
func (c *Client) fileEnd(x *xfer, l *link, m wire.FileEnd) {
	k := x.xkey()
	x.iomu.Lock()
	c.fx.mu.Lock()
	live := c.fx.xs[k] == x && x.inLink == l && x.state == xReceiving
	c.fx.mu.Unlock()
	if !live {
		x.iomu.Unlock()
		return
	}
	path, sum, err := finishIn(x, m)
	x.iomu.Unlock()
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	if c.fx.xs[k] != x {
		return
	}
	if err != nil {
		reason := wire.FailIO
		switch {
		case errors.Is(err, transfer.ErrHash):
			reason = wire.FailHash
		case errors.Is(err, transfer.ErrSize):
			reason = wire.FailSize
		}
		send(l, wire.FileFail{ID: m.ID, Reason: reason}, 0)
		c.failX(x, fmt.Errorf("receive %s from %q: %w", x.info.Name, x.info.Peer, err), false)
		return
	}
	send(l, wire.FileDone{ID: m.ID}, 0)
	c.finished(x, path, sum)
}

// finishIn checks x's file against the SHA-256 that FILE_END m or the
// offer named, and places it (transfer.Incoming.Finish): its path and
// that SHA-256. The caller holds x.iomu.
func finishIn(x *xfer, m wire.FileEnd) (path string, sum [32]byte, err error) {
	if m.HasSum {
		if err := x.in.SetSum(m.SHA256); err != nil {
			return "", sum, err
		}
	}
	path, err = x.in.Finish()
	return path, x.in.Offer().SHA256, err
}

// finished reports x received and placed at path, checked against sum.
// The caller holds c.fx.mu.
func (c *Client) finished(x *xfer, path string, sum [32]byte) {
	c.removeX(x)
	c.fx.ended[x.xkey()] = wire.FileDone{ID: x.info.ID}
	x.info.Path, x.info.SHA256 = path, sum
	c.progress(x, x.info.Size)
	info := x.info
	c.emit(Event{Kind: EventFileDone, Peer: info.Peer, File: &info})
}

// AcceptFile accepts the file id that nick offered (EventFileOffer): it
// is received into Config.Downloads, resuming a partial file of the same
// offer.
func (c *Client) AcceptFile(nick, id string) error {
	return c.onFile("accept file", nick, id, c.asked(id), func(x *xfer) {
		x.state = xAccepting
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.receive(x) }()
	})
}

// DeclineFile declines the file id that nick offered: the peer is told
// (FILE_DECLINE declined) and EventFileFailed reports it with
// ErrFileDeclined.
func (c *Client) DeclineFile(nick, id string) error {
	return c.onFile("decline file", nick, id, c.asked(id), func(x *xfer) {
		dec := wire.FileDecline{ID: id, Reason: wire.DeclineDeclined}
		if ch := c.chats[x.key]; ch != nil && ch.state == ChatOpen && ch.l != nil && ch.l.sess != nil {
			send(ch.l, dec, 0)
		} else if x.inLink != nil {
			send(x.inLink, dec, 0)
		}
		c.fx.ended[x.xkey()] = dec // and to the offer the sender may repeat meanwhile
		c.failX(x, fmt.Errorf("%s from %q: %w", x.info.Name, x.info.Peer, ErrFileDeclined), false)
	})
}

// asked returns a pick for onFile: the incoming transfer id of the peer
// with folded nick key that waits for AcceptFile or DeclineFile.
func (c *Client) asked(id string) func(key string) *xfer {
	return func(key string) *xfer {
		if x := c.fx.xs[xkey(false, key, id)]; x != nil && x.state == xAsk {
			return x
		}
		return nil
	}
}

// onFile runs do, with c.mu and c.fx.mu held, on the transfer with nick
// that pick (given the folded nick, called with the same locks) finds:
// op (as "accept file") and id name it in the ErrNoTransfer it gives if
// there is none; ErrClosed once the Client is closed.
func (c *Client) onFile(op, nick, id string, pick func(key string) *xfer, do func(*xfer)) error {
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return ErrClosed
	}
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	x := pick(foldKey(nick))
	if x == nil {
		return fmt.Errorf("%s %s with %q: %w", op, id, nick, ErrNoTransfer)
	}
	do(x)
	return nil
}

// inPark is the queue of parked items of one incoming transfer, written
// in order by one goroutine (parkIn).
type inPark struct {
	items   []parkItem
	running bool
}

type parkItem struct {
	from string // the sender's nick as the server wrote it
	id   uint64 // the mailbox item's id
	msg  wire.Message
}

// mailFileIn queues a parked files item (already opened and checked) from
// the peer with folded nick fold for its transfer's writer; the item is
// acknowledged once written. The caller holds c.mu.
func (c *Client) mailFileIn(m wire.Mbox, fold string, p []byte) {
	msg, err := wire.ParseFile(p)
	var id string
	switch mm := msg.(type) {
	case wire.FileOffer:
		id = mm.ID
	case wire.FileChunk:
		id = mm.ID
	case wire.FileEnd:
		id = mm.ID
	default:
		if err == nil {
			err = fmt.Errorf("%w: %s in the mailbox", wire.ErrMalformed, msg.Verb())
		}
	}
	if err != nil {
		send(c.srv, wire.MboxAck{From: m.From, ID: m.ID}, 0)
		c.emit(Event{Kind: EventError, Peer: m.From, Err: fmt.Errorf("file item from %q kept by the server: %w", m.From, err)})
		return
	}
	k := xkey(false, fold, id)
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	q := c.fx.inq[k]
	if q == nil {
		q = &inPark{}
		c.fx.inq[k] = q
	}
	q.items = append(q.items, parkItem{from: m.From, id: m.ID, msg: msg})
	if !q.running {
		q.running = true
		c.wg.Add(1)
		go c.parkIn(k, fold, c.peerName(fold, m.From), q)
	}
}

// parkIn writes the queued parked items of one transfer, in order, each
// acknowledged (MBOX_ACK) once handled.
func (c *Client) parkIn(k, fold, nick string, q *inPark) {
	defer c.wg.Done()
	for {
		c.fx.mu.Lock()
		if len(q.items) == 0 || c.ctx.Err() != nil {
			q.running = false
			if c.fx.inq[k] == q && len(q.items) == 0 {
				delete(c.fx.inq, k)
			}
			c.fx.mu.Unlock()
			return
		}
		it := q.items[0]
		q.items = q.items[1:]
		c.fx.mu.Unlock()
		c.parkItem(k, fold, nick, it.msg)
		c.mu.Lock()
		if c.srv != nil {
			send(c.srv, wire.MboxAck{From: it.from, ID: it.id}, 0)
		}
		c.mu.Unlock()
	}
}

// parkItem handles one parked files item, off c.mu: the offer is
// accepted by itself (the items are on the server already) up to
// MaxFileSize, chunks are written (repeats skipped), FILE_END checks and
// places the file.
func (c *Client) parkItem(k, fold, nick string, msg wire.Message) {
	c.fx.mu.Lock()
	x := c.fx.xs[k]
	done := c.fx.ended[k] != nil
	c.fx.mu.Unlock()
	if done {
		return
	}
	switch m := msg.(type) {
	case wire.FileOffer:
		if x != nil {
			return
		}
		info := FileInfo{ID: m.ID, Peer: nick, From: nick, Name: transfer.SanitizeName(m.Name), Size: m.Size, MIME: m.MIME, SHA256: m.SHA256, Parked: true}
		switch {
		case c.cfg.Downloads == "":
			c.emit(Event{Kind: EventFileFailed, Peer: nick, File: &info, Err: fmt.Errorf("file %s from %q: %w: no downloads directory", info.Name, nick, ErrFileDeclined)})
			return
		case m.Size > c.maxFileSize():
			c.emit(Event{Kind: EventFileFailed, Peer: nick, File: &info,
				Err: fmt.Errorf("file %s from %q of %d bytes: %w (limit %d)", info.Name, nick, m.Size, transfer.ErrTooLarge, c.maxFileSize())})
			return
		}
		x = &xfer{info: info, key: fold, state: xAccepting, ackc: make(chan struct{}, 1), offer: m}
		c.fx.mu.Lock()
		c.fx.xs[k] = x
		c.fx.mu.Unlock()
		c.receive(x)
	case wire.FileChunk:
		if x == nil {
			return
		}
		x.iomu.Lock()
		var err error
		if x.in != nil && m.Offset+int64(len(m.Data)) > x.in.Offset() {
			// Bytes we have already (an item delivered again, a partial
			// file resumed) are skipped.
			data := m.Data
			if skip := x.in.Offset() - m.Offset; skip > 0 {
				data = data[skip:]
			}
			err = x.in.Write(m.Offset+int64(len(m.Data)-len(data)), data)
		}
		var off int64
		if x.in != nil {
			off = x.in.Offset()
		}
		x.iomu.Unlock()
		c.fx.mu.Lock()
		if c.fx.xs[k] == x {
			if err != nil {
				c.failX(x, fmt.Errorf("receive %s from %q: %w", x.info.Name, x.info.Peer, err), false)
			} else {
				c.progress(x, off)
			}
		}
		c.fx.mu.Unlock()
	case wire.FileEnd:
		if x == nil {
			return
		}
		x.iomu.Lock()
		if x.in == nil {
			x.iomu.Unlock()
			return
		}
		path, sum, err := finishIn(x, m)
		x.iomu.Unlock()
		c.fx.mu.Lock()
		if c.fx.xs[k] == x {
			if err != nil {
				c.failX(x, fmt.Errorf("receive %s from %q: %w", x.info.Name, x.info.Peer, err), false)
			} else {
				c.finished(x, path, sum)
			}
		}
		c.fx.mu.Unlock()
	}
}
