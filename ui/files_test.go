package ui

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gioui.org/io/key"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// waitCall runs frames until the fake session recorded call.
func waitCall(h *harness, s *fakeSession, call string) {
	h.t.Helper()
	h.waitFor(call, func() bool { return slices.Contains(s.Calls(), call) })
}

// fileStates returns the file buttons of the newest file message of the
// open thread, as laid out.
func fileStates(h *harness) (*fileWidgets, *model.Message) {
	h.t.Helper()
	c := h.chat()
	t := c.m.Thread(c.current)
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if m := &t.Messages[i]; m.Kind == model.KindFile {
			st := c.msgs.states[m.Key]
			if st == nil {
				h.t.Fatal("the file message is not on screen")
			}
			return &st.file, m
		}
	}
	h.t.Fatal("no file message")
	return nil, nil
}

// TestFileOfferButtons: Accept and Decline on an offer, Cancel on a moving
// file, reach the session as the client core's calls.
func TestFileOfferButtons(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, 1280, 800)
	s := fileChat(h)
	h.push(s, client.Event{Kind: client.EventFileOffer, Peer: "bruno", File: fileInfo("b1", "a.zip", 3_000_000, false)})
	fw, _ := fileStates(h)
	fw.accept.Click()
	waitCall(h, s, "acceptfile bruno b1")
	h.waitFor("moving", func() bool { _, m := fileStates(h); return m.File.Status == model.FileMoving })
	fw, _ = fileStates(h)
	fw.cancel.Click()
	waitCall(h, s, "cancelfile bruno b1")
	h.waitFor("cancelled", func() bool { _, m := fileStates(h); return m.File.Status == model.FileFailed })

	h.push(s, client.Event{Kind: client.EventFileOffer, Peer: "bruno", File: fileInfo("b2", "b.zip", 3_000_000, false)})
	fw, _ = fileStates(h)
	fw.decline.Click()
	waitCall(h, s, "declinefile bruno b2")
	h.waitFor("declined", func() bool {
		_, m := fileStates(h)
		return m.File.Status == model.FileFailed && m.File.Err == "you declined it"
	})
}

// TestFileOpenButtons: Open and Show in folder hand the file and its folder
// to the platform; a tap on a picture opens the viewer, which Esc closes.
func TestFileOpenButtons(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, 1280, 800)
	s := fileChat(h)
	dir := t.TempDir()
	p := writeTestPNG(t, dir, "pic.png", testPicture(64, 48))
	fi := fileInfo("b5", "pic.png", 100, false)
	fi.Path, fi.MIME = p, "image/png"
	h.push(s, client.Event{Kind: client.EventFileDone, Peer: "bruno", File: fi})
	waitThumbs(h)
	fw, _ := fileStates(h)
	fw.view.Click()
	h.waitFor("the viewer", func() bool { _, ok := h.a.top().(*pictureScreen); return ok })
	waitThumbs(h)
	h.key(key.NameEscape, 0)
	h.waitFor("back to the chat", func() bool { return h.chat() != nil })

	doc := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(doc, []byte("%PDF"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi = fileInfo("b6", "doc.pdf", 4, false)
	fi.Path = doc
	h.push(s, client.Event{Kind: client.EventFileDone, Peer: "bruno", File: fi})
	fw, _ = fileStates(h)
	fw.open.Click()
	h.frame()
	fw, _ = fileStates(h)
	fw.folder.Click()
	want := []string{"file:" + doc, "file:" + dir}
	h.waitFor("opened", func() bool {
		h.plat.mu.Lock()
		defer h.plat.mu.Unlock()
		return slices.Equal(h.plat.opened, want)
	})
}

// TestAttach: the attach button shows the picker and sends the file
// chosen; the feed takes pictures only.
func TestAttach(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, 1280, 800)
	dir := t.TempDir()
	doc := filepath.Join(dir, "plan.pdf")
	if err := os.WriteFile(doc, []byte("%PDF"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := fileChat(h)
	pk := &fakePicker{path: doc}
	h.a.cfg.Picker = pk
	ts := h.chat().view("bruno")
	ts.composer.attach.Click()
	waitCall(h, s, "sendfile bruno plan.pdf")

	h.chat().open(model.Everyone)
	h.frame()
	h.chat().view(model.Everyone).composer.attach.Click()
	h.waitFor("the refusal", func() bool {
		txt, _ := h.a.toast.current(h.now)
		return strings.Contains(txt, "Only pictures")
	})
	pk.path = writeTestPNG(t, dir, "cat.png", testPicture(8, 8))
	h.chat().view(model.Everyone).composer.attach.Click()
	waitCall(h, s, "postimage cat.png")

	pk.err = ErrNoPick // the user gave up: nothing happens
	n := len(s.Calls())
	h.chat().view(model.Everyone).composer.attach.Click()
	h.frame()
	h.waitFor("the picker", func() bool { return !h.a.picking.Load() })
	if len(s.Calls()) != n {
		t.Fatalf("calls after giving up: %q", s.Calls()[n:])
	}
}

// streamFile is a picked file that is not on disk (Android's content
// streams): a reader with a display name.
type streamFile struct {
	io.Reader
	name string
}

func (f streamFile) Name() string { return f.name }
func (f streamFile) Close() error { return nil }

type streamPicker struct{ f streamFile }

func (p streamPicker) ChooseFile(...string) (io.ReadCloser, error) { return p.f, nil }

// TestPickFileStream: a stream is copied into the data directory under
// its display name (without any directory it claims).
func TestPickFileStream(t *testing.T) {
	dir := t.TempDir()
	path, err := pickFile(streamPicker{streamFile{strings.NewReader("hello"), "../../evil/photo.jpg"}}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "photo.jpg" || !strings.HasPrefix(path, filepath.Join(dir, pickedDir)+string(filepath.Separator)) {
		t.Fatalf("copied to %s", path)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "hello" {
		t.Fatalf("copy holds %q, %v", b, err)
	}
	// The same name again does not overwrite the first.
	path2, err := pickFile(streamPicker{streamFile{strings.NewReader("again"), "photo.jpg"}}, dir, nil)
	if err != nil || path2 == path {
		t.Fatalf("second copy %s, %v", path2, err)
	}
	if _, err := pickFile(&fakePicker{err: ErrNoPick}, dir, nil); !errors.Is(err, ErrNoPick) {
		t.Fatalf("giving up: %v", err)
	}
}

// edges reports where the red band of testPicture (its left edge) and the
// green one (its top) are in img: which edge of img is reddest and
// which greenest.
func edges(img *image.NRGBA) (red, green string) {
	b := img.Rect
	sample := map[string]color.NRGBA{
		"left":   img.NRGBAAt(b.Min.X, b.Dy()/2),
		"right":  img.NRGBAAt(b.Max.X-1, b.Dy()/2),
		"top":    img.NRGBAAt(b.Dx()/2, b.Min.Y),
		"bottom": img.NRGBAAt(b.Dx()/2, b.Max.Y-1),
	}
	for _, k := range []string{"left", "right", "top", "bottom"} {
		c := sample[k]
		if c.R > 180 && c.G < 90 && c.B < 90 {
			red = k
		}
		if c.G > 180 && c.R < 90 && c.B < 90 {
			green = k
		}
	}
	return red, green
}

// markedPicture is w×h, red on its left edge, green at its top.
func markedPicture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{R: 128, G: 128, B: 128, A: 255}
			switch {
			case x < w/6:
				c = color.NRGBA{R: 230, G: 20, B: 20, A: 255}
			case y < h/6:
				c = color.NRGBA{R: 20, G: 230, B: 20, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// TestLoadPictureOrientation: a JPEG is turned as its EXIF orientation
// says, with either byte order, and scaled to fit.
func TestLoadPictureOrientation(t *testing.T) {
	dir := t.TempDir()
	src := markedPicture(120, 60)
	for _, tt := range []struct {
		o          int
		w, h       int
		red, green string
	}{
		{0, 80, 40, "left", "top"},
		{1, 80, 40, "left", "top"},
		{2, 80, 40, "right", "top"},
		{3, 80, 40, "right", "bottom"},
		{4, 80, 40, "left", "bottom"},
		{5, 40, 80, "top", "left"},
		{6, 40, 80, "top", "right"},
		{7, 40, 80, "bottom", "right"},
		{8, 40, 80, "bottom", "left"},
	} {
		for _, bo := range []binary.AppendByteOrder{binary.BigEndian, binary.LittleEndian} {
			p := filepath.Join(dir, "o.jpg")
			if err := os.WriteFile(p, jpegWithOrientation(t, src, tt.o, bo), 0o600); err != nil {
				t.Fatal(err)
			}
			img, err := loadPicture(p, 80)
			if err != nil {
				t.Fatal(err)
			}
			if sz := img.Rect.Size(); sz != image.Pt(tt.w, tt.h) {
				t.Errorf("orientation %d (%v): size %v, want %dx%d", tt.o, bo, sz, tt.w, tt.h)
			}
			if red, green := edges(img); red != tt.red || green != tt.green {
				t.Errorf("orientation %d (%v): red %s, green %s; want %s, %s", tt.o, bo, red, green, tt.red, tt.green)
			}
		}
	}
}

// TestLoadPictureFormats: PNG, GIF (its first frame), WebP; not a picture,
// and one that claims too many pixels, are errors.
func TestLoadPictureFormats(t *testing.T) {
	dir := t.TempDir()
	png := writeTestPNG(t, dir, "a.png", markedPicture(300, 200))
	img, err := loadPicture(png, 150)
	if err != nil || img.Rect.Size() != image.Pt(150, 100) {
		t.Fatalf("PNG: %v, %v", img.Rect, err)
	}
	small, err := loadPicture(png, 1000)
	if err != nil || small.Rect.Size() != image.Pt(300, 200) {
		t.Fatalf("PNG not scaled up: %v, %v", small.Rect, err)
	}

	pal := color.Palette{color.NRGBA{R: 255, A: 255}, color.NRGBA{B: 255, A: 255}}
	g := &gif.GIF{}
	for _, idx := range []uint8{0, 1} {
		fr := image.NewPaletted(image.Rect(0, 0, 10, 10), pal)
		for i := range fr.Pix {
			fr.Pix[i] = idx
		}
		g.Image, g.Delay = append(g.Image, fr), append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	gp := filepath.Join(dir, "a.gif")
	if err := os.WriteFile(gp, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	img, err = loadPicture(gp, 100)
	if err != nil {
		t.Fatal(err)
	}
	if c := img.NRGBAAt(5, 5); c.R != 255 || c.B != 0 {
		t.Fatalf("GIF: not the first frame: %v", c)
	}

	img, err = loadPicture(filepath.Join("testdata", "pictures", "blue-purple-pink.lossy.webp"), 64)
	if err != nil || max(img.Rect.Dx(), img.Rect.Dy()) != 64 {
		t.Fatalf("WebP: %v, %v", img.Rect, err)
	}

	bad := filepath.Join(dir, "not.png")
	if err := os.WriteFile(bad, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadPicture(bad, 100); err == nil {
		t.Fatal("a text file decoded as a picture")
	}
	// A PNG header that claims 100000×100000 pixels.
	ihdr := []byte{'I', 'H', 'D', 'R', 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 6, 0, 0, 0}
	huge := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d"), ihdr...)
	huge = binary.BigEndian.AppendUint32(huge, crc32.ChecksumIEEE(ihdr))
	hp := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(hp, huge, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadPicture(hp, 100); !errors.Is(err, errTooBig) {
		t.Fatalf("huge picture: %v", err)
	}
}

// TestThumbCache: pictures are decoded once per size, off the caller's
// goroutine, and the cache keeps at most maxThumbs.
func TestThumbCache(t *testing.T) {
	loads := make(chan string, 2*maxThumbs)
	done := make(chan struct{}, 2*maxThumbs)
	var cache thumbCache
	cache.start = func(f func(ctx context.Context)) {
		go func() { f(context.Background()); done <- struct{}{} }()
	}
	cache.load = func(path string, side int) (*image.NRGBA, error) {
		loads <- path
		return image.NewNRGBA(image.Rect(0, 0, side, side/2)), nil
	}
	if th := cache.get("a", 10); th.ready {
		t.Fatal("ready before decoding")
	}
	<-done
	if th := cache.get("a", 10); !th.ready || th.size != image.Pt(10, 5) {
		t.Fatalf("%+v", th)
	}
	for i := range maxThumbs + 5 {
		cache.get(string(rune('b'+i)), 10)
		<-done
	}
	if n := cache.lru.Len(); n != maxThumbs {
		t.Fatalf("%d pictures kept", n)
	}
	if got := len(loads); got != maxThumbs+6 {
		t.Fatalf("%d loads", got)
	}
}

// FuzzJPEGOrientation: the EXIF parser never panics and says 1 to 8.
func FuzzJPEGOrientation(f *testing.F) {
	img := markedPicture(8, 8)
	f.Add(jpegWithOrientation(f, img, 6, binary.BigEndian)[:200])
	f.Add(jpegWithOrientation(f, img, 3, binary.LittleEndian)[:200])
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	f.Add([]byte{0xff, 0xd8})
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
