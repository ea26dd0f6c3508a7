package ui

import (
	"container/list"
	"context"
	"image"
	"sync"

	"gioui.org/op/paint"
)

// thumbKey names one decoded picture: the file and the side of the square
// it was scaled to fit.
type thumbKey struct {
	path string
	side int
}

// thumb is a picture decoded for drawing, or why it could not be.
type thumb struct {
	ready bool // decoded, or failed (err)
	img   paint.ImageOp
	size  image.Point
	err   error
}

// thumbCache decodes pictures off the UI goroutine (loadPicture) and keeps
// the newest maxThumbs of them. get is called from the UI goroutine; the
// decoding goroutines are the App's (App.go_), so none outlives it.
type thumbCache struct {
	start      func(func(ctx context.Context)) // runs a decoding goroutine
	invalidate func()
	load       func(path string, side int) (*image.NRGBA, error) // nil: loadPicture

	mu      sync.Mutex
	entries map[thumbKey]*list.Element // of *thumbEntry
	lru     list.List                  // most recently used first
	sem     chan struct{}              // bounds the decodings at once (memory)
}

// maxDecoding is how many pictures are decoded at once: a large photo
// takes tens of MB while it is decoded.
const maxDecoding = 2

type thumbEntry struct {
	key thumbKey
	th  thumb
}

// maxThumbs is how many decoded pictures the cache keeps: a thumbnail is
// at most thumbSide dp square (under 1 MB on a phone), the full picture
// of the viewer a few MB.
const maxThumbs = 48

// get returns the picture at path scaled to fit side px, starting its
// decoding if it is not in the cache (thumb.ready false until done: the
// window is then invalidated).
func (c *thumbCache) get(path string, side int) thumb {
	k := thumbKey{path, side}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries, c.sem = map[thumbKey]*list.Element{}, make(chan struct{}, maxDecoding)
	}
	if el, ok := c.entries[k]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*thumbEntry).th
	}
	e := &thumbEntry{key: k}
	c.entries[k] = c.lru.PushFront(e)
	for c.lru.Len() > maxThumbs {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*thumbEntry).key)
	}
	load := c.load
	if load == nil {
		load = loadPicture
	}
	sem := c.sem
	c.start(func(ctx context.Context) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		img, err := load(path, side)
		<-sem
		t := thumb{ready: true, err: err}
		if err == nil {
			t.img, t.size = paint.NewImageOp(img), img.Rect.Size()
		}
		c.mu.Lock()
		e.th = t // e may have left the cache: then nobody sees it
		c.mu.Unlock()
		if c.invalidate != nil {
			c.invalidate()
		}
	})
	return thumb{}
}

// pending returns how many pictures in the cache are still being decoded.
func (c *thumbCache) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if !el.Value.(*thumbEntry).th.ready {
			n++
		}
	}
	return n
}
