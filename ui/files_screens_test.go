package ui

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// testPicture draws a landscape w×h: a sky going from blue to orange, a
// sun, hills. Its left and top edges are marked (a red band on the left,
// a green one at the top) so that tests of orientation can tell where
// they went.
func testPicture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		t := float64(y) / float64(h)
		sky := color.NRGBA{R: uint8(60 + 190*t), G: uint8(120 + 60*t), B: uint8(220 - 120*t), A: 255}
		for x := 0; x < w; x++ {
			c := sky
			dx, dy := x-w*2/3, y-h*2/5
			if dx*dx+dy*dy < (h/8)*(h/8) {
				c = color.NRGBA{R: 255, G: 214, B: 90, A: 255}
			}
			hill := h*3/4 + int(float64(h/10)*math.Sin(float64(x)/float64(w)*6))
			if y > hill {
				c = color.NRGBA{R: 40, G: uint8(110 + 40*t), B: 60, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// writeTestPNG writes img as a PNG file in dir and returns its path.
func writeTestPNG(t testing.TB, dir, name string, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// jpegWithOrientation encodes img as a JPEG whose EXIF block records the
// orientation o (0: no EXIF block), with the byte order bo.
func jpegWithOrientation(t testing.TB, img image.Image, o int, bo binary.AppendByteOrder) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	if o == 0 {
		return raw
	}
	var tiff []byte
	if bo.String() == binary.LittleEndian.String() {
		tiff = append(tiff, 'I', 'I')
	} else {
		tiff = append(tiff, 'M', 'M')
	}
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 2) // two entries: an unrelated one first
	tiff = bo.AppendUint16(tiff, 0x010f)
	tiff = bo.AppendUint16(tiff, 2)
	tiff = bo.AppendUint32(tiff, 4)
	tiff = append(tiff, 'A', 'B', 'C', 0)
	tiff = bo.AppendUint16(tiff, 0x0112)
	tiff = bo.AppendUint16(tiff, 3)
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, uint16(o))
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, raw[2:]...)
}

// waitThumbs runs frames until every picture on screen is decoded.
func waitThumbs(h *harness) {
	h.t.Helper()
	h.frame()
	h.waitFor("pictures", func() bool { return h.a.thumbs.pending() == 0 })
}

// fileChat opens a keyed private chat with bruno and shows it.
func fileChat(h *harness) *fakeSession {
	h.a.cfg.Picker = &fakePicker{}
	h.be.keys = true
	h.be.peers = crowd[:5]
	s := h.connect("ana")
	h.push(s,
		client.Event{Kind: client.EventChatOpen, Peer: "bruno", Encrypted: true, Route: client.RouteDirect, Time: at(13, 50)},
		client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "Can you send me the report?", Time: at(13, 52)})
	openRead(h, "bruno")
	return s
}

// fileInfo is a transfer of bruno's private chat.
func fileInfo(id, name string, size int64, out bool) *client.FileInfo {
	fi := &client.FileInfo{ID: id, Peer: "bruno", From: "bruno", Name: name, Size: size, Outgoing: out}
	if out {
		fi.From = "ana"
	}
	return fi
}

// fileScenarios are the screens of files and pictures (issue 12).
func fileScenarios() []scenario {
	return []scenario{
		{"file-picker", func(h *harness) {
			h.a.cfg.Picker = &fakePicker{}
			fileChat(h)
			ts := h.chat().view("bruno")
			h.frame()
			h.frame()
			h.a.cfg.Invalidate()
			focusNext(h, &ts.composer.attach.Clickable)
		}},
		{"file-sending", func(h *harness) {
			s := fileChat(h)
			c := h.chat()
			c.sess.SendFile("bruno", "/home/ana/Documents/Quarterly report 2026 — final version with comments.pdf")
			h.settle(s)
			fi := fileInfo("f1", "Quarterly report 2026 — final version with comments.pdf", 12_400_000, true)
			fi.Path = "/home/ana/Documents/" + fi.Name
			h.push(s, client.Event{Kind: client.EventFileProgress, Peer: "bruno", File: fi,
				Progress: client.Progress{Done: 4_200_000, Total: 12_400_000, Rate: 2_100_000, Left: 4 * time.Second}})
		}},
		{"picture-received", func(h *harness) {
			s := fileChat(h)
			p := writeTestPNG(h.t, h.t.TempDir(), "sunset.png", testPicture(640, 480))
			fi := fileInfo("b7", "sunset.png", 48_000, false)
			fi.MIME, fi.Path = "image/png", p
			h.push(s,
				client.Event{Kind: client.EventFileDone, Peer: "bruno", File: fi, Time: at(13, 55)},
				client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "The view from the new office 🌅", Time: at(13, 56)})
			waitThumbs(h)
		}},
		{"picture-full", func(h *harness) {
			s := fileChat(h)
			p := writeTestPNG(h.t, h.t.TempDir(), "sunset.png", testPicture(640, 480))
			fi := fileInfo("b7", "sunset.png", 48_000, false)
			fi.MIME, fi.Path = "image/png", p
			h.push(s, client.Event{Kind: client.EventFileDone, Peer: "bruno", File: fi, Time: at(13, 55)})
			waitThumbs(h)
			c := h.chat()
			msg := lastMessage(c.m.Thread("bruno"))
			c.fileAct(msg.Key, fileView)
			waitThumbs(h)
		}},
		{"file-card", func(h *harness) {
			s := fileChat(h)
			dir := h.t.TempDir()
			p := filepath.Join(dir, "deploy-notes.pdf")
			if err := os.WriteFile(p, []byte("%PDF-1.4"), 0o600); err != nil {
				h.t.Fatal(err)
			}
			in := fileInfo("b8", "deploy-notes.pdf", 2_340_000, false)
			in.MIME, in.Path = "application/pdf", p
			out := fileInfo("f9", "peerchat-logs-2026-11-25.tar.gz", 18_700_000, true)
			out.Path = filepath.Join(dir, out.Name)
			h.push(s,
				client.Event{Kind: client.EventFileDone, Peer: "bruno", File: in, Time: at(13, 57)},
				client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: "Notes are in there", Time: at(13, 57)},
				client.Event{Kind: client.EventFileDone, Peer: "bruno", File: out, Time: at(14, 1)})
		}},
		{"files-in-a-row", func(h *harness) {
			// Two cards, then two pictures, of one sender in a row: as far
			// apart as two bubbles in a row, never touching.
			s := fileChat(h)
			dir := h.t.TempDir()
			a := fileInfo("b1", "deploy-notes.pdf", 2_340_000, false)
			a.MIME, a.Path = "application/pdf", filepath.Join(dir, a.Name)
			b := fileInfo("b2", "peerchat-logs-2026-11-25.tar.gz", 18_700_000, false)
			b.Path = filepath.Join(dir, b.Name)
			p1 := fileInfo("f3", "panorama.png", 48_000, true)
			p1.MIME, p1.Path = "image/png", writeTestPNG(h.t, dir, p1.Name, testPicture(640, 240))
			p2 := fileInfo("f4", "hills.png", 31_000, true)
			p2.MIME, p2.Path = "image/png", writeTestPNG(h.t, dir, p2.Name, testPicture(600, 300))
			h.push(s,
				client.Event{Kind: client.EventFileDone, Peer: "bruno", File: a, Time: at(13, 57)},
				client.Event{Kind: client.EventFileDone, Peer: "bruno", File: b, Time: at(13, 57)},
				client.Event{Kind: client.EventFileDone, Peer: "bruno", File: p1, Time: at(14, 1)},
				client.Event{Kind: client.EventFileDone, Peer: "bruno", File: p2, Time: at(14, 1)})
			waitThumbs(h)
		}},
		{"file-offer", func(h *harness) {
			s := fileChat(h)
			h.push(s, client.Event{Kind: client.EventFileOffer, Peer: "bruno", File: fileInfo("b9", "team-photos-offsite.zip", 48_300_000, false), Time: at(14, 5)})
		}},
		{"file-failed-resumed", func(h *harness) {
			s := fileChat(h)
			c := h.chat()
			c.sess.SendFile("bruno", "/home/ana/Videos/demo-recording.mp4")
			h.settle(s)
			out := fileInfo("f1", "demo-recording.mp4", 734_000_000, true)
			out.Path = "/home/ana/Videos/demo-recording.mp4"
			in := fileInfo("b3", "build-artifacts.zip", 96_000_000, false)
			h.push(s,
				client.Event{Kind: client.EventFileFailed, Peer: "bruno", File: out, Err: client.ErrFileDeclined},
				client.Event{Kind: client.EventFileProgress, Peer: "bruno", File: in, Paused: true,
					Progress: client.Progress{Done: 61_000_000, Total: 96_000_000}})
		}},
		{"file-waiting", func(h *harness) {
			// After a restart: our offer that waits for bruno, and his
			// that waits for Accept (the session shows what the client
			// core lists as offered; here through the events that make
			// the same cards).
			s := fileChat(h)
			out := fileInfo("f2", "slides-v3.key", 21_000_000, true)
			out.Path = "/home/ana/Documents/slides-v3.key"
			h.push(s,
				client.Event{Kind: client.EventFileOffer, Peer: "bruno", File: out, Time: at(14, 2)},
				client.Event{Kind: client.EventFileOffer, Peer: "bruno", File: fileInfo("b9", "team-photos-offsite.zip", 48_300_000, false), Time: at(14, 5)})
		}},
		{"picture-away", func(h *harness) {
			// Replayed after a reconnection (SINCE): a picture and a
			// broadcast that came while ana was away, under one divider,
			// then one live.
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			dir := h.t.TempDir()
			p := writeTestPNG(h.t, dir, "whiteboard.png", testPicture(480, 640))
			q := writeTestPNG(h.t, dir, "hills.png", testPicture(600, 300))
			h.push(s, feedEvents()[:4]...)
			h.push(s,
				client.Event{Kind: client.EventBroadcast, From: "chen", Time: at(13, 10), BID: 10, Missed: true,
					File: &client.FileInfo{ID: "p1", From: "chen", Name: "whiteboard.png", MIME: "image/png", Size: 51_000, Path: p}},
				client.Event{Kind: client.EventBroadcast, From: "chen", Text: "notes from the planning session ↑", Time: at(13, 11), BID: 11, Missed: true},
				client.Event{Kind: client.EventBroadcast, From: "Dana", Time: at(14, 20), BID: 12,
					File: &client.FileInfo{ID: "p2", From: "Dana", Name: "hills.png", MIME: "image/png", Size: 31_000, Path: q}})
			h.chat().open(model.Everyone)
			waitThumbs(h)
		}},
		{"picture-feed", func(h *harness) {
			h.a.cfg.Picker = &fakePicker{}
			h.be.peers = crowd[:5]
			s := h.connect("ana")
			p := writeTestPNG(h.t, h.t.TempDir(), "whiteboard.png", testPicture(480, 640))
			h.push(s, feedEvents()[:4]...)
			h.push(s, client.Event{Kind: client.EventBroadcast, From: "chen", Time: at(13, 10),
				File: &client.FileInfo{ID: "p1", From: "chen", Name: "whiteboard.png", MIME: "image/png", Size: 51_000, Path: p}})
			h.chat().open(model.Everyone)
			waitThumbs(h)
		}},
	}
}

// lastMessage returns the newest message of t.
func lastMessage(t *model.Thread) *model.Message { return &t.Messages[len(t.Messages)-1] }

// focusNext tabs until tag has the focus.
func focusNext(h *harness, tag any) {
	h.t.Helper()
	for i := 0; i < 80 && !h.focused(tag); i++ {
		h.tab(0)
	}
	if !h.focused(tag) {
		h.t.Fatal("never reached by Tab")
	}
}
