package client

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"peerchat/core/transfer"
	"peerchat/core/wire"
)

// This file is Pictures to Everyone (docs/PROTOCOL.md §2.10, feature
// images): BroadcastImage posts a picture to the broadcast feed, and the
// pictures others post are received into Config.Downloads and reported as
// EventBroadcast with File set.
//
// Our post: a goroutine of the Client hashes the file (transfer.Open) and
// sends BIMG_POST, then BIMG_DATA chunks, paced by the server link's
// backlog, then BIMG_END; the server's BIMG_OK (handled in order with the
// other broadcasts) is our post's EventBroadcast, its BIMG_FAIL, a lost
// link or no answer within EchoTimeout an EventSendFailed.
//
// A picture from someone else: BIMG, BIMG_DATA… and BIMG_END arrive on the
// server link's reader; serverMsg records the order-dependent facts (the
// broadcast id) under c.mu and leaves the disk work to c.later, which runs
// on the same reader goroutine once c.mu is released: so the next frame is
// read only when the chunk is written (the server's queue, not our memory,
// holds what we have not written yet), and the picture's EventBroadcast
// comes before that of any broadcast the server sent after it.

// Errors of Pictures to Everyone; test with errors.Is.
var (
	// ErrNotImage: the file is not a picture that can be posted (a JPEG,
	// PNG, GIF or WebP file, by its extension and its content).
	ErrNotImage = errors.New("not a picture that can be posted (JPEG, PNG, GIF or WebP)")
	// ErrImageTooLarge: the picture is larger than the server takes
	// (its BIMG_LIMIT), or than we take.
	ErrImageTooLarge = errors.New("the picture is too large")
	// ErrNoImages: the server does not take pictures (it did not offer
	// the images feature, or we have no Config.Downloads, without which
	// we do not ask for it).
	ErrNoImages = errors.New("the server does not take pictures")
	// ErrImageDropped: a picture someone posted did not reach us whole
	// (the server dropped it for us, or its sender failed).
	ErrImageDropped = errors.New("picture not received")
)

// DefaultImageLimit is the largest picture we take or post while the
// server has not said its limit (BIMG_LIMIT): server.DefaultImageBytes.
const DefaultImageLimit = 8 << 20

// imageBacklog bounds what a post keeps queued on the server link beyond
// what the link's writer took: a few chunks, so that other frames (chat
// invites, broadcasts) are not held behind a whole picture.
const imageBacklog = 4 * wire.ImageChunk * 4 / 3

// images is the Client's part of Pictures to Everyone.
type images struct {
	limit int64                // the server's BIMG_LIMIT; 0: not said. Guarded by c.mu.
	out   map[string]*outImage // our posts, by id. Guarded by c.mu.

	// mu guards the pictures being received (the disk work runs outside
	// c.mu, on the server link's reader goroutine).
	mu    sync.Mutex
	in    map[string]*inImage // by the server's id
	link  *link               // the link they came on
	watch bool                // closeImages runs
}

// outImage is one of our posts.
type outImage struct {
	id      uint64
	fid     string
	path    string
	l       *link
	info    FileInfo      // once hashed; guarded by c.mu
	settled chan struct{} // closed when its outcome was reported
	done    bool          // guarded by c.mu
}

// inImage is a picture being received.
type inImage struct {
	head wire.Image
	in   *transfer.Incoming
	name string
}

// imageText is the text line that stands for a picture (as the server
// sends it to the clients that do not get the picture).
func imageText(name string) string { return "posted a picture: " + name }

// imageFeature adds "images" to the features f of our HELLO when we can
// receive pictures (Config.Downloads is set).
func (c *Client) imageFeature(f []string) []string {
	if c.cfg.Downloads == "" {
		return f
	}
	return append(slices.Clip(f), wire.FeatureImages)
}

// imageLimit returns the largest picture we post or take. The caller holds
// c.mu.
func (c *Client) imageLimit() int64 {
	lim := c.img.limit
	if lim <= 0 {
		lim = DefaultImageLimit
	}
	if c.cfg.MaxFileSize > 0 {
		lim = min(lim, c.cfg.MaxFileSize)
	}
	return lim
}

// BroadcastImage posts the picture at path to Everyone and returns the
// post's id, the ID of its FileInfo (the decimal form of the ID of its
// events). It refuses at once (errors.Is) a file that is not a JPEG, PNG,
// GIF or WebP picture by its extension (ErrNotImage), one larger than the
// server's limit (ErrImageTooLarge), a server without the images feature
// (ErrNoImages), no server link (ErrNotConnected), a closed Client
// (ErrClosed); a server key waiting for AcceptServerKey
// (ErrServerKeyChanged). It never blocks: the file is hashed and sent by a
// goroutine of the Client. Then either EventBroadcast with that ID, From
// our nick and File (Path: the file we sent) comes once the server relayed
// the picture, in order with the other broadcasts; or EventSendFailed with
// that ID and File: the content is not a picture (ErrNotImage), the
// server refused it (ErrImageTooLarge, or ErrServer with its reason:
// rate_limited…), the link was lost (ErrNotConnected), no answer came
// within EchoTimeout (ErrNoEcho), or the file could not be read.
func (c *Client) BroadcastImage(path string) (id string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("post picture: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 || !wire.IsImageType(extType(path)) {
		return "", fmt.Errorf("post picture %s: %w", filepath.Base(path), ErrNotImage)
	}
	c.mu.Lock()
	defer c.unlock()
	switch {
	case c.closed:
		return "", ErrClosed
	case !c.srvNewKey.IsZero():
		return "", fmt.Errorf("post picture: %w", ErrServerKeyChanged)
	case c.srv == nil:
		return "", ErrNotConnected
	case !slices.Contains(c.srvFeat, wire.FeatureImages):
		return "", ErrNoImages
	case fi.Size() > c.imageLimit():
		return "", fmt.Errorf("post picture %s: %w: %d bytes, the limit is %d", filepath.Base(path), ErrImageTooLarge, fi.Size(), c.imageLimit())
	}
	n := c.newID()
	o := &outImage{id: n, fid: strconv.FormatUint(n, 10), path: path, l: c.srv, settled: make(chan struct{})}
	o.info = FileInfo{ID: o.fid, From: c.nick, Name: filepath.Base(path), Size: fi.Size(), Outgoing: true, Path: path}
	if c.img.out == nil {
		c.img.out = make(map[string]*outImage)
	}
	c.img.out[o.fid] = o
	c.wg.Add(1)
	go c.postImage(o)
	return o.fid, nil
}

// extType returns the media type of path's extension, without parameters.
func extType(path string) string {
	t, _, err := mime.ParseMediaType(mime.TypeByExtension(filepath.Ext(path)))
	if err != nil {
		return ""
	}
	return t
}

// postImage hashes and sends our post o, then waits for its outcome.
func (c *Client) postImage(o *outImage) {
	defer c.wg.Done()
	f, err := transfer.Open(o.path)
	if err != nil {
		c.imageFailed(o, err)
		return
	}
	defer f.Close()
	if _, err := f.Sum(); err != nil { // IMG_POST names the SHA-256
		c.imageFailed(o, err)
		return
	}
	offer := f.Offer(o.fid)
	head := make([]byte, 512)
	n, err := f.ReadChunk(0, head)
	if err != nil {
		c.imageFailed(o, err)
		return
	}
	// The content must be a picture, whatever the extension says.
	if sniffed := http.DetectContentType(head[:n]); !wire.IsImageType(offer.MIME) || sniffed != offer.MIME {
		c.imageFailed(o, fmt.Errorf("%w: its content is %s", ErrNotImage, sniffed))
		return
	}
	c.mu.Lock()
	o.info.Name, o.info.Size, o.info.MIME, o.info.SHA256 = offer.Name, offer.Size, offer.MIME, offer.SHA256
	lim := c.imageLimit()
	ok := c.srv == o.l && send(o.l, wire.ImagePost{ID: o.fid, Size: offer.Size, SHA256: offer.SHA256, MIME: offer.MIME, Name: offer.Name}, 0)
	c.unlock()
	switch {
	case offer.Size > lim:
		c.imageFailed(o, fmt.Errorf("%w: %d bytes, the limit is %d", ErrImageTooLarge, offer.Size, lim))
		return
	case !ok:
		c.imageFailed(o, ErrNotConnected)
		return
	}
	buf := make([]byte, wire.ImageChunk)
	for off := int64(0); off < offer.Size; {
		if err := o.l.waitBacklog(imageBacklog, writeTimeout); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("%w: the server link is stuck", ErrNotConnected)
			}
			c.imageFailed(o, err)
			return
		}
		if c.ctx.Err() != nil {
			c.imageFailed(o, ErrClosed)
			return
		}
		n, err := f.ReadChunk(off, buf)
		if err != nil {
			c.imageFailed(o, err)
			return
		}
		if !send(o.l, wire.ImageData{ID: o.fid, Offset: off, Data: wire.EncodeImageData(buf[:n])}, 0) {
			c.imageFailed(o, ErrNotConnected)
			return
		}
		off += int64(n)
	}
	if !send(o.l, wire.ImageEnd{ID: o.fid}, 0) {
		c.imageFailed(o, ErrNotConnected)
		return
	}
	t := time.NewTimer(c.cfg.EchoTimeout)
	defer t.Stop()
	select {
	case <-o.settled:
	case <-t.C:
		c.imageFailed(o, fmt.Errorf("%w within %v", ErrNoEcho, c.cfg.EchoTimeout))
	case <-o.l.done:
		c.imageFailed(o, fmt.Errorf("%w: the server link was lost before the picture went out", ErrNotConnected))
	case <-c.ctx.Done():
		c.imageFailed(o, ErrClosed)
	}
}

// imageFailed reports our post o failed with err, unless its outcome was
// reported already.
func (c *Client) imageFailed(o *outImage, err error) {
	c.mu.Lock()
	defer c.unlock()
	c.settleImage(o, Event{Kind: EventSendFailed, ID: o.id, Text: imageText(o.info.Name), Err: fmt.Errorf("picture %s: %w", o.fid, err)})
}

// settleImage reports e as the outcome of our post o, once. The caller
// holds c.mu.
func (c *Client) settleImage(o *outImage, e Event) {
	if o.done {
		return
	}
	o.done = true
	close(o.settled)
	delete(c.img.out, o.fid)
	info := o.info
	e.File = &info
	c.emit(e)
}

// imageFrame handles a frame of the images feature from the server link.
// The caller holds c.mu.
func (c *Client) imageFrame(sc *srvConn, msg wire.Message) {
	switch m := msg.(type) {
	case wire.ImageLimit:
		c.img.limit = m.Bytes
	case wire.ImageOK:
		o := c.img.out[m.ID]
		bid, fresh := c.takeBID()
		if o == nil || !fresh {
			return
		}
		c.settleImage(o, Event{Kind: EventBroadcast, ID: o.id, From: c.nick, Text: imageText(o.info.Name), Seq: m.Seq, BID: bid, Signature: c.unsigned(c.nick)})
	case wire.ImageFail:
		o := c.img.out[m.ID]
		if o == nil {
			return
		}
		var err error
		switch m.Reason {
		case wire.ImageTooLarge:
			err = ErrImageTooLarge
		case wire.ImageBad:
			err = fmt.Errorf("%w: the server refused it (%s)", ErrNotImage, m.Reason)
		default:
			err = fmt.Errorf("%w: %s", ErrServer, m.Reason)
		}
		c.settleImage(o, Event{Kind: EventSendFailed, ID: o.id, Text: imageText(o.info.Name), Err: fmt.Errorf("picture %s: %w", o.fid, err)})
	case wire.Image:
		l := sc.l
		c.later(func() { c.imageStart(l, m) })
	case wire.ImageData:
		l := sc.l
		c.later(func() { c.imageData(l, m) })
	case wire.ImageDrop:
		l := sc.l
		c.later(func() {
			c.imageFail(l, m.ID, fmt.Errorf("%w: %s", ErrImageDropped, m.Reason))
		})
	case wire.ImageEnd:
		l := sc.l
		bid, fresh := c.takeBID()
		e := Event{Kind: EventBroadcast, Seq: m.Seq, BID: bid, Missed: bid != 0 && c.replaying}
		c.later(func() { c.imageEnd(l, m.ID, e, fresh) })
	}
}

// imageIn returns the picture id being received on link l, and ends
// (EventError, ErrImageDropped) those of an earlier link, lost before they
// were complete. The caller holds c.img.mu.
func (c *Client) imageIn(l *link, id string) *inImage {
	if c.img.link != l {
		for id, x := range c.img.in {
			c.imageFailLocked(id, x, fmt.Errorf("%w: the server link was lost", ErrImageDropped))
		}
		c.img.in, c.img.link = nil, l
	}
	return c.img.in[id]
}

// closeImages removes the partial files of the pictures being received
// when the Client closes. It runs on a goroutine of the Client, started
// with the first picture.
func (c *Client) closeImages() {
	defer c.wg.Done()
	<-c.ctx.Done()
	c.img.mu.Lock()
	defer c.img.mu.Unlock()
	for _, x := range c.img.in {
		x.in.Cancel()
	}
	c.img.in = nil
}

// imageStart begins receiving the picture m announces. It runs without
// c.mu, on the server link's reader.
func (c *Client) imageStart(l *link, m wire.Image) {
	c.img.mu.Lock()
	defer c.img.mu.Unlock()
	if old := c.imageIn(l, m.ID); old != nil {
		old.in.Cancel()
		delete(c.img.in, m.ID)
	}
	c.mu.Lock()
	lim := c.imageLimit()
	c.mu.Unlock()
	info := &FileInfo{ID: m.ID, From: m.From, Name: transfer.SanitizeName(m.Name), Size: m.Size, MIME: m.MIME, SHA256: m.SHA256}
	var err error
	switch {
	case c.cfg.Downloads == "" || c.ctx.Err() != nil:
		return // we did not ask for pictures, or we are closing
	case !wire.IsImageType(m.MIME):
		err = ErrNotImage
	case m.Size > lim:
		err = ErrImageTooLarge
	}
	var in *transfer.Incoming
	if err == nil {
		offer := transfer.Offer{ID: "bimg" + m.ID, Size: m.Size, SHA256: m.SHA256, MIME: m.MIME, Name: m.Name}
		in, err = transfer.Receive(c.cfg.Downloads, m.From, offer, lim)
	}
	if err != nil {
		c.emit(Event{Kind: EventError, From: m.From, File: info, Err: fmt.Errorf("picture from %s: %w", m.From, err)})
		return
	}
	if c.img.in == nil {
		c.img.in = make(map[string]*inImage)
	}
	if !c.img.watch && c.ctx.Err() == nil {
		// The reader we run on is one of c.wg's: Close waits for this too.
		c.img.watch = true
		c.wg.Add(1)
		go c.closeImages()
	}
	c.img.in[m.ID] = &inImage{head: m, in: in, name: info.Name}
}

// imageData writes a chunk of a picture being received. It runs without
// c.mu, on the server link's reader.
func (c *Client) imageData(l *link, m wire.ImageData) {
	c.img.mu.Lock()
	defer c.img.mu.Unlock()
	x := c.imageIn(l, m.ID)
	if x == nil {
		return // refused at its start, or dropped
	}
	b, err := wire.DecodeImageData(m.Data)
	if err == nil {
		err = x.in.Write(m.Offset, b)
	}
	if err != nil {
		c.imageFailLocked(m.ID, x, err)
	}
}

// imageEnd completes a picture being received and reports it as e. It
// runs without c.mu, on the server link's reader.
func (c *Client) imageEnd(l *link, id string, e Event, fresh bool) {
	c.img.mu.Lock()
	defer c.img.mu.Unlock()
	x := c.imageIn(l, id)
	if x == nil {
		return
	}
	if !fresh { // reported already (cannot happen live: ids are new)
		x.in.Cancel()
		delete(c.img.in, id)
		return
	}
	path, err := x.in.Finish()
	if err != nil {
		c.imageFailLocked(id, x, err)
		return
	}
	delete(c.img.in, id)
	h := x.head
	e.From, e.Time, e.Text = h.From, h.Time, imageText(x.name)
	e.File = &FileInfo{ID: h.ID, From: h.From, Name: filepath.Base(path), Size: h.Size, MIME: h.MIME, SHA256: h.SHA256, Path: path}
	c.mu.Lock()
	e.Signature = c.unsigned(h.From)
	c.mu.Unlock()
	c.emit(e)
}

// imageFail ends a picture being received with err.
func (c *Client) imageFail(l *link, id string, err error) {
	c.img.mu.Lock()
	defer c.img.mu.Unlock()
	if x := c.imageIn(l, id); x != nil {
		c.imageFailLocked(id, x, err)
	}
}

// imageFailLocked ends picture x with err: its partial file is removed.
// The caller holds c.img.mu.
func (c *Client) imageFailLocked(id string, x *inImage, err error) {
	x.in.Cancel()
	delete(c.img.in, id)
	h := x.head
	c.emit(Event{Kind: EventError, From: h.From, File: &FileInfo{ID: h.ID, From: h.From, Name: x.name, Size: h.Size, MIME: h.MIME, SHA256: h.SHA256},
		Err: fmt.Errorf("picture %s from %s: %w", x.name, h.From, err)})
}
