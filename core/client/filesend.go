package client

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"peerchat/core/transfer"
	"peerchat/core/wire"
)

// This file is the sending side of file transfers (docs/PROTOCOL.md §3.7)
// and what both sides share: the table of transfers and the streaming of
// chunks on an open encrypted chat. filerecv.go is the receiving side,
// filepark.go the files parked in the mailbox for a peer who is away, and
// filestate.go the records that outlive a restart.

// Sizes of the transfer's flow, by path.
const (
	// relayChunk is the chunk size through the server: a FILE_CHUNK is one
	// e2e fragment (e2e.RelayFragment is 55 KiB), and one mailbox item.
	relayChunk = 48 << 10
	// relayWindow is the most sent beyond the receiver's last FILE_ACK on
	// a relayed chat: the server drops relayed frames once the recipient's
	// queue holds half of 1 MiB (RELAY_FAIL overflow).
	relayWindow = 256 << 10
	// ackEvery and relayAckEvery are how often the receiver acknowledges.
	ackEvery      = 1 << 20
	relayAckEvery = 128 << 10
	// fileBacklog bounds the bytes a transfer lets queue on a chat's link
	// before it adds a chunk: with that chunk the link stays below
	// chatBacklog, so the chat's messages are never held behind a file
	// (pump queues them while the backlog is under chatBacklog).
	fileBacklog = chatBacklog/2 - transfer.ChunkSize
	// parkAhead bounds the mailbox items put and not yet confirmed
	// (MBOX_OK) of one parked transfer.
	parkAhead = 16
)

// xstate is where one transfer is.
type xstate int

const (
	xHashing   xstate = iota // outgoing: opening the file, or hashing it before an offer that names its SHA-256
	xWaiting                 // outgoing: ready, waiting for an open encrypted chat
	xOffered                 // outgoing: FILE_OFFER sent on l
	xSending                 // outgoing: streaming on l
	xEnded                   // outgoing: FILE_END sent on l, waiting for FILE_DONE
	xParked                  // outgoing: through the mailbox
	xAsk                     // incoming: waiting for AcceptFile or DeclineFile
	xAccepting               // incoming: opening the partial file
	xReceiving               // incoming: in is open
)

// xfer is one transfer, either way. Its fields are guarded by
// Client.fx.mu, except in, which belongs to whoever holds iomu.
type xfer struct {
	info  FileInfo
	key   string // the peer's folded nick
	state xstate
	meter *transfer.Meter
	wire  int64 // Progress.Wire: chunk bytes sent, or taken by the writer

	// Outgoing.
	out   *transfer.Outgoing // nil while opening
	l     *link              // the chat link it was offered or streams on
	late  bool               // the peer on l lists files-endsum: FILE_END names the SHA-256
	acked int64              // the receiver's last FILE_ACK (or FILE_ACCEPT)
	stop  chan struct{}      // closed to end the current streamer
	ackc  chan struct{}      // 1-buffered: acked moved, or the stream must look again
	park  *parked            // state == xParked
	// started: the peer accepted it live once; it then waits for the
	// peer to come back rather than going to the mailbox.
	started bool

	// Incoming.
	offer   wire.FileOffer // as the peer sent it
	iomu    sync.Mutex
	in      *transfer.Incoming // guarded by iomu
	inLink  *link              // the chat link its chunks come on
	lastAck int64
	wq      chan wItem    // to its writer (receiving live); nil otherwise
	wquit   chan struct{} // closed to end the writer
}

// files is the Client's table of transfers.
type files struct {
	mu   sync.Mutex
	xs   map[string]*xfer   // by xkey
	mail map[uint64]*xfer   // parked items' ids
	inq  map[string]*inPark // parked incoming items waiting to be written, by xkey
	// ended holds, by xkey, the answer to a new offer of an incoming
	// transfer that ended in this run: FILE_DONE, FILE_DECLINE or
	// FILE_CANCEL (the sender may offer again before it heard it).
	ended map[string]wire.Message
	rx    atomic.Int64 // chunk bytes received (tests)
	tx    atomic.Int64 // chunk bytes sent (tests)
}

// xkey names a transfer in files.xs: direction, peer, id.
func xkey(out bool, peer, id string) string {
	if out {
		return "o " + peer + " " + id
	}
	return "i " + peer + " " + id
}

func (x *xfer) xkey() string { return xkey(x.info.Outgoing, x.key, x.info.ID) }

// newFileID returns a random transfer id.
func newFileID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// canFiles reports whether p takes files from us over an encrypted chat.
// The caller holds c.mu.
func (c *Client) canFiles(p *Peer) bool {
	return c.e2eWith(p) && slices.Contains(p.Features, wire.FeatureFiles)
}

// SendFile offers the file at path to nick and returns the transfer's id.
// It returns at once: the file is opened on another goroutine, then
// offered on the encrypted chat with nick (and hashed as it is sent, or
// first for a peer without wire.FeatureFilesEndSum), which is opened (invited) as
// Send does when it is not open; the transfer resumes by itself after a
// broken chat, and, with Config.FileState, after a restart. A peer who is
// away (or does not answer the invite before it expires) gets the file
// through the server's mailbox (FileInfo.Parked). Events: EventFileProgress,
// then EventFileDone once the peer verified it, or EventFileFailed.
// ErrNoFiles: the peer is listed without "files" or "e2e", or we have no
// Identity (no encryption).
func (c *Client) SendFile(nick, path string) (string, error) {
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return "", ErrClosed
	}
	key := foldKey(nick)
	if key == c.selfKey {
		return "", fmt.Errorf("send file to %q: %w", nick, ErrSelf)
	}
	if c.cfg.Identity == nil {
		return "", fmt.Errorf("send file to %q: %w", nick, ErrNoFiles)
	}
	p := c.peers[key]
	name := nick
	if p != nil {
		if !c.canFiles(p) {
			return "", fmt.Errorf("send file to %q: %w", nick, ErrNoFiles)
		}
		name = p.Nick
	} else {
		switch {
		case !c.mailUsable():
			return "", fmt.Errorf("send file to %q: %w", nick, ErrUnknownPeer)
		case c.mailKey(key).IsZero():
			return "", fmt.Errorf("send file to %q: %w", nick, ErrNoKey)
		}
	}
	x := &xfer{
		info: FileInfo{ID: newFileID(), Peer: name, From: c.nick, Name: transfer.SanitizeName(filepath.Base(path)), Outgoing: true, Path: path},
		key:  key, state: xHashing, ackc: make(chan struct{}, 1),
	}
	c.fx.mu.Lock()
	c.fx.xs[x.xkey()] = x
	c.fx.mu.Unlock()
	c.wg.Add(1)
	go c.openFile(x, false)
	return x.info.ID, nil
}

// errChanged: a file we send is not the one we offered any more.
var errChanged = errors.New("changed since it was offered")

// openFile opens x's file, off every lock, then hands x to fileReady.
// again: a transfer recorded before a restart, whose file must still have
// the size offered (and, checked once it is read, the SHA-256).
func (c *Client) openFile(x *xfer, again bool) {
	defer c.wg.Done()
	o, err := transfer.Open(x.info.Path)
	if err == nil && again && o.Size() != x.info.Size {
		o.Close()
		o, err = nil, fmt.Errorf("%s %w", x.info.Path, errChanged)
	}
	c.fx.mu.Lock()
	info := x.info
	c.fx.mu.Unlock()
	if err == nil && !again {
		of := o.Offer(info.ID)
		info.Size, info.MIME, info.Name = of.Size, of.MIME, of.Name
		c.saveRecord(info)
	}
	c.mu.Lock()
	defer c.unlock()
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	x.info = info
	if c.fx.xs[x.xkey()] != x || c.closed {
		if o != nil {
			o.Close()
		}
		return
	}
	if err != nil {
		c.failX(x, fmt.Errorf("send %s to %q: %w", x.info.Name, x.info.Peer, err), false)
		return
	}
	x.out = o
	x.meter = transfer.NewMeter(x.info.Size, 0, c.now())
	x.state = xWaiting
	c.fileReady(x)
}

// fileReady offers x (xWaiting) where it can go: on the open encrypted
// chat, by inviting the peer, or, when the peer is away, through the
// mailbox. The caller holds c.mu and c.fx.mu.
func (c *Client) fileReady(x *xfer) {
	ch, p := c.chats[x.key], c.peers[x.key]
	if ch != nil && ch.state == ChatOpen && ch.l != nil && ch.l.sess != nil {
		c.offer(x, ch.l)
		return
	}
	if p != nil {
		if !c.canFiles(p) {
			c.failX(x, fmt.Errorf("send %s to %q: %w", x.info.Name, x.info.Peer, ErrNoFiles), false)
			return
		}
		if ch == nil {
			ch = c.chat(x.key, p.Nick)
		}
		if ch.state == ChatNone && !c.held(ch) && c.mayInvite(ch, p) == nil {
			c.startInvite(ch, p)
		}
		return
	}
	if !x.started && c.mailUsable() && !c.mailKey(x.key).IsZero() {
		c.parkX(x)
	}
	// Otherwise it waits for the peer's chat.
}

// offer sends FILE_OFFER for x on l: without the SHA-256 to a peer that
// lists wire.FeatureFilesEndSum (FILE_END names it), else once the file
// is hashed (sumFirst). The caller holds c.mu and c.fx.mu.
func (c *Client) offer(x *xfer, l *link) {
	c.stopStream(x)
	of := x.out.Offer(x.info.ID)
	p := c.peers[x.key]
	late := p != nil && slices.Contains(p.Features, wire.FeatureFilesEndSum)
	if of.SumLater && !late {
		x.l, x.state = nil, xHashing
		c.wg.Add(1)
		go c.sumFirst(x, x.out)
		return
	}
	// FILE_END names the SHA-256 to every peer that takes it: this offer
	// may name it while an earlier one (whose partial file resumes) did not.
	x.l, x.state, x.late = l, xOffered, late
	send(l, of, 0)
}

// sumFirst hashes x's file, off every lock, then offers it again where it
// can go (fileReady), now with its SHA-256.
func (c *Client) sumFirst(x *xfer, o *transfer.Outgoing) {
	defer c.wg.Done()
	sum, err := sumOf(x, o)
	c.mu.Lock()
	defer c.unlock()
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	if c.fx.xs[x.xkey()] != x || x.out != o || x.state != xHashing || c.closed {
		return
	}
	if err == nil {
		err = c.checkSum(x, sum)
	}
	if err != nil {
		c.failX(x, fmt.Errorf("send %s to %q: %w", x.info.Name, x.info.Peer, err), false)
		return
	}
	x.state = xWaiting
	c.fileReady(x)
}

// checkSum records sum as x's SHA-256, or gives errChanged if x was
// offered (before a restart) with another. The caller holds c.fx.mu.
func (c *Client) checkSum(x *xfer, sum [32]byte) error {
	if x.info.SHA256 != ([32]byte{}) {
		if x.info.SHA256 != sum {
			return fmt.Errorf("%s %w", x.info.Path, errChanged)
		}
		return nil
	}
	x.info.SHA256 = sum
	info := x.info
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.saveRecord(info) }()
	return nil
}

// stopStream ends x's streamer, if one runs. The caller holds c.fx.mu.
func (c *Client) stopStream(x *xfer) {
	if x.stop != nil {
		close(x.stop)
		x.stop = nil
	}
}

// failX ends x for good with err: reported (EventFileFailed), its
// streamer stopped, its files closed (by a goroutine: no I/O under the
// locks), cancel sent to the peer on the current link when tell. The
// caller holds c.fx.mu (and maybe c.mu).
func (c *Client) failX(x *xfer, err error, tell bool) {
	c.removeX(x)
	if tell {
		if l := c.xlink(x); l != nil {
			send(l, wire.FileCancel{ID: x.info.ID}, 0)
		}
		if !x.info.Outgoing {
			c.fx.ended[x.xkey()] = wire.FileCancel{ID: x.info.ID}
		}
	}
	info := x.info
	c.emit(Event{Kind: EventFileFailed, Peer: info.Peer, File: &info, Err: err})
	cancelIn := !errors.Is(err, transfer.ErrNoSpace)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if x.info.Outgoing {
			c.dropRecord(x.info.ID)
			return
		}
		x.iomu.Lock()
		defer x.iomu.Unlock()
		if x.in != nil {
			if cancelIn {
				x.in.Cancel()
			} else {
				x.in.Close()
			}
		}
	}()
}

// xlink returns the link x goes on now. The caller holds c.fx.mu.
func (c *Client) xlink(x *xfer) *link {
	if x.info.Outgoing {
		return x.l
	}
	return x.inLink
}

// removeX takes x out of the table and stops it; an outgoing file is
// closed once its streamer is gone. The caller holds c.fx.mu.
func (c *Client) removeX(x *xfer) {
	if c.fx.xs[x.xkey()] == x {
		delete(c.fx.xs, x.xkey())
	}
	c.stopStream(x)
	if x.park != nil {
		for _, id := range x.park.ids {
			delete(c.fx.mail, id)
		}
		x.park.done = true
	}
	select {
	case x.ackc <- struct{}{}:
	default:
	}
	if x.wquit != nil {
		close(x.wquit)
		x.wquit = nil
	}
	if x.out != nil {
		o := x.out
		x.out = nil
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			x.iomu.Lock() // the streamers hold it while reading
			o.Close()
			x.iomu.Unlock()
		}()
	}
}

// progress records done bytes of x and reports it when due. The caller
// holds c.fx.mu.
func (c *Client) progress(x *xfer, done int64) {
	if x.meter == nil {
		x.meter = transfer.NewMeter(x.info.Size, done, c.now())
	}
	if p, ok := x.meter.Update(done, c.now()); ok {
		p.Wire = x.wire
		info := x.info
		c.emit(Event{Kind: EventFileProgress, Peer: info.Peer, File: &info, Progress: p})
	}
}

// filesOpen offers every unfinished outgoing transfer to ch's peer on
// the chat that just opened (or moved) on l. The caller holds c.mu.
func (c *Client) filesOpen(ch *chat, l *link) {
	if l.sess == nil {
		return
	}
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	for _, x := range c.fx.xs {
		if x.key != ch.key || !x.info.Outgoing || x.out == nil {
			continue
		}
		switch x.state {
		case xWaiting, xOffered, xSending, xEnded:
			c.offer(x, l)
		}
	}
}

// filesPending reports whether transfers to the peer with folded nick key
// wait for a chat. The caller holds c.mu.
func (c *Client) filesPending(key string) bool {
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	for _, x := range c.fx.xs {
		if x.key == key && x.info.Outgoing && x.state != xParked {
			return true
		}
	}
	return false
}

// filesDown pauses the transfers that went on l, which ended. It runs
// without c.mu.
func (c *Client) filesDown(key string, l *link) {
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	for _, x := range c.fx.xs {
		if x.key != key || c.xlink(x) != l {
			continue
		}
		var done int64
		if x.info.Outgoing {
			c.stopStream(x)
			x.l = nil
			if x.state != xParked {
				x.state = xWaiting
			}
			done = x.acked
		} else {
			// inLink stays: the chunks that came on l before it ended are
			// still written (its writer's queue), so the sender resumes
			// after them; the next FILE_OFFER moves it to the new link.
			done = x.lastAck
		}
		info := x.info
		p := transfer.Progress{Done: done, Total: info.Size}
		if x.meter != nil {
			p = x.meter.Progress()
		}
		p.Wire = x.wire
		c.emit(Event{Kind: EventFileProgress, Peer: info.Peer, File: &info, Progress: p, Paused: true})
	}
}

// accepted starts streaming x from offset on l (FILE_ACCEPT). The caller
// holds c.fx.mu.
func (c *Client) accepted(x *xfer, l *link, offset int64) {
	if x.state != xOffered || x.l != l || offset < 0 || offset > x.info.Size || x.out == nil {
		return
	}
	c.stopStream(x)
	x.state, x.acked, x.started = xSending, offset, true
	x.stop = make(chan struct{})
	_, relay := l.conn.(*relayConn)
	c.wg.Add(1)
	go c.stream(x, l, x.out, offset, relay, x.stop)
}

// stream sends x's chunks from offset on l, at most a window beyond the
// receiver's last FILE_ACK and never more than fileBacklog queued on the
// link, then FILE_END. It holds no lock while it reads the file or waits.
func (c *Client) stream(x *xfer, l *link, o *transfer.Outgoing, off int64, relay bool, stop chan struct{}) {
	defer c.wg.Done()
	chunk, window := transfer.ChunkSize, int64(transfer.Window)
	if relay {
		chunk, window = relayChunk, relayWindow
	}
	buf := make([]byte, chunk)
	size := x.info.Size
	for off < size {
		for {
			c.fx.mu.Lock()
			acked, live := x.acked, x.stop == stop
			c.fx.mu.Unlock()
			if !live {
				return
			}
			if off-acked < window {
				break
			}
			select {
			case <-x.ackc:
			case <-stop:
				return
			case <-l.done:
				return
			case <-c.ctx.Done():
				return
			}
		}
		if err := l.waitBacklog(fileBacklog, time.Second); errors.Is(err, ErrNotConnected) {
			return // the chat ended: it is offered again when it reopens
		} else if err != nil {
			continue
		}
		select {
		case <-stop:
			return
		default:
		}
		n, err := readChunk(x, o, off, buf)
		if err != nil {
			c.failStream(x, stop, err, true)
			return
		}
		// Queued under c.fx.mu, checked against stop: once offer has put
		// a new FILE_OFFER on the link, no chunk of this stream follows it.
		c.fx.mu.Lock()
		ok := x.stop == stop && send(l, wire.FileChunk{ID: x.info.ID, Offset: off, Data: buf[:n]}, 0)
		if ok {
			x.wire += int64(n)
		}
		c.fx.mu.Unlock()
		if !ok {
			return
		}
		c.fx.tx.Add(int64(n))
		off += int64(n)
	}
	sum, err := sumOf(x, o) // hashes what the chunks did not (after a resume)
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	if x.stop != stop {
		return
	}
	if err == nil {
		err = c.checkSum(x, sum)
	}
	if err != nil {
		c.failX(x, fmt.Errorf("send %s to %q: %w", x.info.Name, x.info.Peer, err), true)
		return
	}
	send(l, wire.FileEnd{ID: x.info.ID, SHA256: sum, HasSum: x.late}, 0)
	x.state = xEnded
}

// readChunk reads the chunk of x at off into buf, holding x.iomu (removeX
// closes o under it). A file shorter than offered gives
// io.ErrUnexpectedEOF.
func readChunk(x *xfer, o *transfer.Outgoing, off int64, buf []byte) (int, error) {
	x.iomu.Lock()
	n, err := o.ReadChunk(off, buf)
	x.iomu.Unlock()
	if err == io.EOF || err == nil && n == 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// sumOf returns the SHA-256 of x's file o, holding x.iomu (removeX
// closes o under it).
func sumOf(x *xfer, o *transfer.Outgoing) ([32]byte, error) {
	x.iomu.Lock()
	defer x.iomu.Unlock()
	return o.Sum()
}

// failStream fails x with err (telling the peer when tell) if stop is
// still its streamer's: a streamer replaced meanwhile leaves x to the new
// one.
func (c *Client) failStream(x *xfer, stop chan struct{}, err error, tell bool) {
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	if x.stop == stop {
		c.failX(x, fmt.Errorf("send %s to %q: %w", x.info.Name, x.info.Peer, err), tell)
	}
}

// outFrame handles a receiver's answer on l about one of our transfers.
// The caller holds c.fx.mu.
func (c *Client) outFrame(key string, l *link, msg wire.Message) {
	var id string
	switch m := msg.(type) {
	case wire.FileAccept:
		id = m.ID
	case wire.FileDecline:
		id = m.ID
	case wire.FileAck:
		id = m.ID
	case wire.FileDone:
		id = m.ID
	case wire.FileFail:
		id = m.ID
	}
	x := c.fx.xs[xkey(true, key, id)]
	if x == nil || x.l != l {
		return
	}
	what := fmt.Sprintf("send %s to %q", x.info.Name, x.info.Peer)
	switch m := msg.(type) {
	case wire.FileAccept:
		c.accepted(x, l, m.Offset)
	case wire.FileAck:
		if x.state == xSending || x.state == xEnded {
			if m.Offset > x.acked && m.Offset <= x.info.Size {
				x.acked = m.Offset
				select {
				case x.ackc <- struct{}{}:
				default:
				}
				c.progress(x, m.Offset)
			}
		}
	case wire.FileDecline:
		c.failX(x, fmt.Errorf("%s: %w (%s)", what, ErrFileDeclined, m.Reason), false)
	case wire.FileDone:
		c.removeX(x)
		c.progress(x, x.info.Size)
		info := x.info
		c.emit(Event{Kind: EventFileDone, Peer: info.Peer, File: &info})
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.dropRecord(info.ID) }()
	case wire.FileFail:
		c.failX(x, fmt.Errorf("%s: the peer failed it: %s", what, m.Reason), false)
	}
}

// Files returns the transfers under way, both ways, in no particular
// order: for a UI that starts again after a restart.
func (c *Client) Files() []FileInfo {
	c.fx.mu.Lock()
	defer c.fx.mu.Unlock()
	out := make([]FileInfo, 0, len(c.fx.xs))
	for _, x := range c.fx.xs {
		out = append(out, x.info)
	}
	return out
}

// CancelFile gives up the transfer id with nick, either way: the peer is
// told (FILE_CANCEL) when the chat is open, a partial file we received is
// deleted, and EventFileFailed reports it with ErrFileCancelled.
func (c *Client) CancelFile(nick, id string) error {
	pick := func(key string) *xfer {
		if x := c.fx.xs[xkey(true, key, id)]; x != nil {
			return x
		}
		return c.fx.xs[xkey(false, key, id)]
	}
	return c.onFile("cancel", nick, id, pick, func(x *xfer) {
		c.failX(x, fmt.Errorf("%s with %q: %w", x.info.Name, x.info.Peer, ErrFileCancelled), true)
	})
}

// closeFiles closes what the transfers hold open, once every goroutine
// has ended (Close): partial files keep their state for a resume.
func (c *Client) closeFiles() {
	c.fx.mu.Lock()
	xs := c.fx.xs
	c.fx.xs = map[string]*xfer{}
	c.fx.mu.Unlock()
	for _, x := range xs {
		if x.out != nil {
			x.out.Close()
		}
		if x.in != nil {
			x.in.Close()
		}
	}
}
