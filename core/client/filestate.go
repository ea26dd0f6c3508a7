package client

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"peerchat/core/wire"
)

// This file keeps the outgoing transfers across restarts
// (Config.FileState: one small record per transfer) and offers again,
// while the Client runs, those that wait for a peer who came back.

// initFiles sets the table up and resumes the transfers recorded in
// Config.FileState. Called once by newClient.
func (c *Client) initFiles() {
	c.fx.xs = make(map[string]*xfer)
	c.fx.mail = make(map[uint64]*xfer)
	c.fx.inq = make(map[string]*inPark)
	c.fx.ended = make(map[string]wire.Message)
	c.wg.Add(1)
	go c.filesWatch()
	if c.cfg.FileState == "" {
		return
	}
	ents, err := os.ReadDir(c.cfg.FileState)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(c.cfg.FileState, e.Name()))
		var r fileRecord
		if err != nil || json.Unmarshal(b, &r) != nil || !wire.ValidFileID(r.ID) || r.ID+".json" != e.Name() || r.Peer == "" {
			continue
		}
		var sum [32]byte // zero: not known when it was recorded
		if r.SHA256 != "" {
			if h, err := hex.DecodeString(r.SHA256); err != nil || len(h) != 32 {
				continue
			} else {
				copy(sum[:], h)
			}
		}
		x := &xfer{
			info: FileInfo{ID: r.ID, Peer: r.Peer, From: c.nick, Name: r.Name, Size: r.Size, MIME: r.MIME, SHA256: sum, Outgoing: true, Path: r.Path},
			key:  foldKey(r.Peer), state: xHashing, ackc: make(chan struct{}, 1),
			started: true, // it may have: it waits for the peer, never parked
		}
		c.fx.xs[x.xkey()] = x
		c.wg.Add(1)
		go c.openFile(x, true)
	}
}

// filesWatch offers again, every filesRetry and whenever a peer joins,
// the outgoing transfers that wait for a peer who is listed (with its
// features) and whose chat is not open or being set up: a peer that
// came back, a sender that restarted.
func (c *Client) filesWatch() {
	defer c.wg.Done()
	t := time.NewTicker(filesRetry)
	defer t.Stop()
	for {
		c.mu.Lock()
		joined := c.joined
		c.mu.Unlock()
		select {
		case <-c.ctx.Done():
			return
		case <-joined:
		case <-t.C:
		}
		c.mu.Lock()
		c.fx.mu.Lock()
		for _, x := range c.fx.xs {
			if !x.info.Outgoing || x.state != xWaiting || x.out == nil {
				continue
			}
			if ch := c.chats[x.key]; ch != nil && ch.state != ChatNone {
				continue
			}
			if p := c.peers[x.key]; p != nil && p.Features != nil && !c.closed {
				c.fileReady(x)
			}
		}
		c.fx.mu.Unlock()
		c.unlock()
	}
}

// filesRetry is how often filesWatch looks.
const filesRetry = 250 * time.Millisecond

// fileRecord is what FileState keeps of an outgoing transfer.
type fileRecord struct {
	ID     string `json:"id"`
	Peer   string `json:"peer"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // "" until known
	MIME   string `json:"mime"`
	Name   string `json:"name"`
}

// saveRecord writes x's record into FileState (no lock held).
func (c *Client) saveRecord(info FileInfo) {
	if c.cfg.FileState == "" {
		return
	}
	var sum string
	if info.SHA256 != ([32]byte{}) {
		sum = hex.EncodeToString(info.SHA256[:])
	}
	b, _ := json.Marshal(fileRecord{ID: info.ID, Peer: info.Peer, Path: info.Path, Size: info.Size,
		SHA256: sum, MIME: info.MIME, Name: info.Name})
	if err := os.MkdirAll(c.cfg.FileState, 0o700); err != nil {
		c.log.Info("file state", "err", err)
		return
	}
	p := filepath.Join(c.cfg.FileState, info.ID+".json")
	if err := os.WriteFile(p+".tmp", b, 0o600); err == nil {
		err = os.Rename(p+".tmp", p)
		if err != nil {
			c.log.Info("file state", "err", err)
		}
	}
}

// dropRecord removes a finished transfer's record (no lock held).
func (c *Client) dropRecord(id string) {
	if c.cfg.FileState != "" {
		os.Remove(filepath.Join(c.cfg.FileState, id+".json"))
	}
}
