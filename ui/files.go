package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"

	"peerchat/core/delivery"
	"peerchat/ui/model"
)

// FilePicker is the platform's file picker (gioui.org/x/explorer, which
// needs the window: cmd/peerchat makes it and hands it to the App).
type FilePicker interface {
	// ChooseFile shows the picker, limited to files with one of exts
	// (".png"; none: any file), and blocks until the user picked one or
	// gave up (ErrNoPick). The App calls it off the window's goroutine,
	// one at a time. The file is returned open: an *os.File on desktops
	// (its Name is its path); on Android a stream with a Name() string
	// method giving the file's display name, which the App copies to its
	// data directory before sending it.
	ChooseFile(exts ...string) (io.ReadCloser, error)
}

// ErrNoPick is what FilePicker.ChooseFile returns when the user closed the
// picker without choosing a file.
var ErrNoPick = errors.New("no file chosen")

// FileOpener is a Platform that opens files with the system's default
// application (Platform.OpenURL opens only web links). Like OpenURL it may
// wait a few seconds to know whether it failed; the App calls it off the
// window's goroutine.
type FileOpener interface {
	OpenFile(path string) error
}

// pictureExts are the extensions the picker offers for the Everyone feed,
// which takes pictures only.
var pictureExts = []string{".jpg", ".jpeg", ".png", ".gif", ".webp"}

// DefaultAskAbove is Settings.AskFilesAbove's default: offers larger than
// 10 MB wait for Accept, even from a verified peer.
const DefaultAskAbove = 10 << 20

// pickedDir is the subfolder of the data directory where a picked file
// that is not a path on disk (Android's content streams) is copied before
// it is sent.
const pickedDir = "outgoing"

// fileAction is what the user did on a file card.
type fileAction int

const (
	fileAccept fileAction = iota + 1
	fileDecline
	fileCancel
	fileOpen
	fileFolder
	fileView // a picture: open it full size
)

// fileWidgets are the buttons of a file card (part of messageState).
type fileWidgets struct {
	accept, decline, cancel, open, folder, view widget.Clickable
}

// updateFiles calls act for each button of a file card clicked.
func (ms *messageStates) updateFiles(gtx C, act func(key uint64, a fileAction)) {
	for k, st := range ms.states {
		f := &st.file
		for _, b := range []struct {
			c *widget.Clickable
			a fileAction
		}{{&f.accept, fileAccept}, {&f.decline, fileDecline}, {&f.cancel, fileCancel}, {&f.open, fileOpen}, {&f.folder, fileFolder}, {&f.view, fileView}} {
			if b.c.Clicked(gtx) {
				act(k, b.a)
			}
		}
	}
}

// fileAct carries out what the user did on the file card of message key
// of the open thread.
func (s *chatScreen) fileAct(key uint64, a fileAction) {
	msg := s.m.Message(s.current, key)
	if msg == nil || msg.File == nil {
		return
	}
	f := msg.File
	switch a {
	case fileAccept:
		s.sess.AcceptFile(s.current, f.ID)
	case fileDecline:
		s.sess.DeclineFile(s.current, f.ID)
	case fileCancel:
		s.sess.CancelFile(s.current, f.ID)
	case fileOpen:
		s.a.openFile(f.Path)
	case fileFolder:
		s.a.openFile(filepath.Dir(f.Path))
	case fileView:
		s.a.push(newPictureScreen(s.a, f.Path, f.Name))
	}
}

// openFile opens path (a file or a folder) with the system's application.
func (a *App) openFile(path string) {
	op, ok := a.cfg.Platform.(FileOpener)
	if !ok || path == "" {
		a.toast.show("Files can't be opened here: " + path)
		a.cfg.Invalidate()
		return
	}
	a.go_(func(context.Context) {
		if err := op.OpenFile(path); err != nil {
			a.log.Warn("open file", "path", path, "err", err)
			a.toast.show("Couldn't open " + filepath.Base(path) + ".")
		}
		a.cfg.Invalidate()
	})
}

// attach shows the file picker and sends the file chosen to thread (a
// picture only, to the feed).
func (s *chatScreen) attach(thread string) {
	a := s.a
	p := a.cfg.Picker
	if p == nil {
		a.toast.show("Files can't be picked on this device.")
		return
	}
	if !a.picking.CompareAndSwap(false, true) {
		return
	}
	var exts []string
	if thread == model.Everyone {
		exts = pictureExts
	}
	dir := ""
	if pl := a.cfg.Platform; pl != nil {
		dir, _ = pl.DataDir()
	}
	sess := s.sess
	a.go_(func(ctx context.Context) {
		defer a.picking.Store(false)
		path, err := pickFile(p, dir, exts)
		switch {
		case errors.Is(err, ErrNoPick):
			return
		case err != nil:
			a.log.Warn("pick file", "err", err)
			a.toast.show("Couldn't read the file: " + err.Error())
			a.cfg.Invalidate()
			return
		}
		if ctx.Err() != nil {
			return
		}
		if thread == model.Everyone && model.PictureType("", path) == "" {
			a.toast.show("Only pictures can be posted to Everyone.")
			a.cfg.Invalidate()
			return
		}
		sess.SendFile(thread, path)
	})
}

// pickFile asks p for a file and returns its path on disk: the file's own
// (an *os.File), or a copy in dir/outgoing of a stream (Android).
func pickFile(p FilePicker, dir string, exts []string) (string, error) {
	rc, err := p.ChooseFile(exts...)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	if f, ok := rc.(*os.File); ok && filepath.IsAbs(f.Name()) {
		return f.Name(), nil
	}
	name := "file"
	if n, ok := rc.(interface{ Name() string }); ok {
		if b := filepath.Base(n.Name()); b != "." && b != "/" && b != "" {
			name = b
		}
	}
	if dir == "" {
		dir = os.TempDir()
	}
	sub, err := os.MkdirTemp(filepath.Join(dir, pickedDir), "")
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(filepath.Join(dir, pickedDir), 0o700); err == nil {
			sub, err = os.MkdirTemp(filepath.Join(dir, pickedDir), "")
		}
	}
	if err != nil {
		return "", err
	}
	path := filepath.Join(sub, name)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		os.RemoveAll(sub)
		return "", err
	}
	if err := out.Close(); err != nil {
		os.RemoveAll(sub)
		return "", err
	}
	return path, nil
}

// Sizes of the file card and of pictures in a thread.
const (
	thumbSide unit.Dp = 240 // the largest side of a picture in a thread
	cardWidth unit.Dp = 280
)

// fileCardStyle draws the file of a message in its bubble: a picture
// that arrived as a thumbnail, anything else (or a picture still on its
// way) as a card with its name, size, type icon, progress and buttons.
type fileCardStyle struct {
	th     *Theme
	ic     *iconSet
	msg    *model.Message
	state  *fileWidgets // nil: not interactive
	thumbs *thumbCache
	fg     colorT // the bubble's text color
	meta   colorT // the bubble's secondary color
	peer   string // the private thread's peer, "" in the feed
}

func (c fileCardStyle) Layout(gtx C) D {
	f := c.msg.File
	if f.Status == model.FileDone && f.Path != "" && f.Picture() && c.thumbs != nil {
		if d, ok := c.picture(gtx); ok {
			return d
		}
	}
	return c.card(gtx)
}

// picture draws the thumbnail of a picture that arrived (or was sent), or
// reports false when it cannot be decoded (the card is drawn instead).
func (c fileCardStyle) picture(gtx C) (D, bool) {
	th, f := c.th, c.msg.File
	side := gtx.Dp(thumbSide)
	t := c.thumbs.get(f.Path, max(side, 1))
	if t.ready && t.err != nil {
		return D{}, false
	}
	sz := image.Pt(side, side*3/4)
	if t.ready {
		sz = scaleInto(t.size, image.Pt(min(side, gtx.Constraints.Max.X), side))
	}
	draw := func(gtx C) D {
		r := gtx.Dp(8)
		defer clip.UniformRRect(image.Rectangle{Max: sz}, r).Push(gtx.Ops).Pop()
		if !t.ready {
			paint.Fill(gtx.Ops, withAlpha(c.meta, 0x30))
			return D{Size: sz}
		}
		t.img.Add(gtx.Ops)
		sx, sy := float32(sz.X)/float32(t.size.X), float32(sz.Y)/float32(t.size.Y)
		defer opScale(gtx, sx, sy).Pop()
		paint.PaintOp{}.Add(gtx.Ops)
		return D{Size: sz}
	}
	if c.state == nil {
		return draw(gtx), true
	}
	return c.state.view.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Picture " + f.Name + ": open it").Add(gtx.Ops)
		d := draw(gtx)
		focusRing(gtx, th, &c.state.view, image.Rectangle{Max: d.Size}, gtx.Dp(8))
		return d
	}), true
}

// scaleInto returns size scaled to fit in box, keeping its proportions.
func scaleInto(size, box image.Point) image.Point {
	if size.X <= 0 || size.Y <= 0 {
		return box
	}
	w, h := box.X, size.Y*box.X/size.X
	if h > box.Y {
		w, h = size.X*box.Y/size.Y, box.Y
	}
	return image.Pt(max(w, 1), max(h, 1))
}

// card draws the file card.
func (c fileCardStyle) card(gtx C) D {
	th, f := c.th, c.msg.File
	gtx.Constraints.Max.X = min(gtx.Constraints.Max.X, gtx.Dp(cardWidth))
	gtx.Constraints.Min.X = gtx.Constraints.Max.X
	rows := []layout.FlexChild{
		layout.Rigid(func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					sz := gtx.Dp(36)
					return background(gtx, th, withAlpha(c.fg, 0x22), 8, func(gtx C) D {
						gtx.Constraints = layout.Exact(image.Pt(sz, sz))
						return layout.UniformInset(6).Layout(gtx, func(gtx C) D {
							return c.ic.fileIcon(f).Layout(gtx, c.fg)
						})
					})
				}),
				layout.Rigid(layout.Spacer{Width: 10}.Layout),
				layout.Flexed(1, func(gtx C) D {
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(func(gtx C) D {
							l := th.bold(sizeBody, c.fg, f.Name)
							l.MaxLines = 1
							if short, cut := middleEllipsis(gtx, l, gtx.Constraints.Max.X); cut {
								l.Text = short
							}
							return l.Layout(gtx)
						}),
						layout.Rigid(th.label(sizeSmall, c.meta, fileKind(f)).Layout),
					)
				}),
			)
		}),
	}
	add := func(w layout.Widget) { rows = append(rows, layout.Rigid(w)) }
	switch f.Status {
	case model.FileMoving, model.FilePaused:
		add(func(gtx C) D { return layout.Inset{Top: 10, Bottom: 4}.Layout(gtx, c.bar) })
		add(func(gtx C) D {
			// The progress, with Cancel beside it.
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, th.label(sizeCaption, c.meta, c.progressText()).Layout),
				layout.Rigid(func(gtx C) D {
					if c.state == nil {
						return D{}
					}
					return smallButton(gtx, th, &c.state.cancel, "Cancel", c.link())
				}),
			)
		})
	case model.FileFailed:
		why := "Not received: "
		if f.Outgoing {
			why = "Not sent: "
		}
		add(func(gtx C) D {
			return layout.Inset{Top: 8}.Layout(gtx, th.label(sizeSmall, th.Pal.Danger, why+f.Err).Layout)
		})
	case model.FileOffered:
		if f.Outgoing {
			// Ours, offered before a restart: it waits for the peer.
			wait := "Waiting…"
			if c.peer != "" {
				wait = "Waiting for " + c.peer + "…"
			}
			add(func(gtx C) D {
				return layout.Inset{Top: 8}.Layout(gtx, th.label(sizeSmall, c.meta, wait).Layout)
			})
			break
		}
		who := c.peer
		if who == "" {
			who = sender(c.msg)
		}
		add(func(gtx C) D {
			return layout.Inset{Top: 8}.Layout(gtx, th.label(sizeSmall, c.meta, who+" wants to send you this file.").Layout)
		})
	}
	if c.state != nil {
		if btns := c.buttons(); len(btns) > 0 {
			add(func(gtx C) D {
				return layout.Inset{Top: 4}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle, Spacing: layout.SpaceStart}.Layout(gtx, btns...)
				})
			})
		}
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
}

// buttons returns the card's buttons for the file's status.
func (c fileCardStyle) buttons() []layout.FlexChild {
	th, f, st := c.th, c.msg.File, c.state
	link := c.link()
	small := func(cl *widget.Clickable, label string) layout.FlexChild {
		return layout.Rigid(func(gtx C) D { return smallButton(gtx, th, cl, label, link) })
	}
	switch f.Status {
	case model.FileOffered:
		if f.Outgoing {
			return []layout.FlexChild{small(&st.cancel, "Cancel")}
		}
		return []layout.FlexChild{
			layout.Rigid(func(gtx C) D { return button(gtx, th, &st.decline, secondary, "Decline") }),
			layout.Rigid(layout.Spacer{Width: 8}.Layout),
			layout.Rigid(func(gtx C) D { return button(gtx, th, &st.accept, primary, "Accept") }),
		}
	case model.FileDone:
		if f.Path == "" {
			return nil
		}
		return []layout.FlexChild{small(&st.folder, "Show in folder"), small(&st.open, "Open")}
	}
	return nil
}

// link is the color of the card's text buttons.
func (c fileCardStyle) link() colorT {
	if c.msg.Mine && c.msg.State != delivery.Failed {
		return c.fg
	}
	return c.th.Pal.Accent
}

// bar draws the progress bar.
func (c fileCardStyle) bar(gtx C) D {
	f := c.msg.File
	h := gtx.Dp(4)
	w := gtx.Constraints.Max.X
	track := clip.UniformRRect(image.Rect(0, 0, w, h), h/2)
	c.th.fillRRect(gtx.Ops, withAlpha(c.fg, 0x33), track)
	if f.Size > 0 && f.Done > 0 {
		done := int(int64(w) * min(f.Done, f.Size) / f.Size)
		fg := c.link()
		if f.Status == model.FilePaused {
			fg = c.meta
		}
		c.th.fillRRect(gtx.Ops, fg, clip.UniformRRect(image.Rect(0, 0, max(done, h), h), h/2))
	}
	return D{Size: image.Pt(w, h)} // the progress is said by the label under it
}

// progressText says how far a moving or paused transfer is.
func (c fileCardStyle) progressText() string {
	f := c.msg.File
	if f.Status == model.FilePaused {
		who := c.peer
		if who == "" {
			who = "the server"
		}
		return "Paused — resumes when " + who + " is back"
	}
	if f.Done == 0 && f.Rate == 0 {
		if f.Outgoing && c.peer != "" {
			return "Waiting for " + c.peer + "…"
		}
		return "Starting…"
	}
	s := humanSize(f.Done) + " of " + humanSize(f.Size)
	if f.Rate > 0 {
		s += " · " + humanSize(int64(f.Rate)) + "/s"
	}
	if f.Left > 0 {
		s += " · " + humanLeft(f.Left) + " left"
	}
	return s
}

// fileKind is the card's second line: size and type.
func fileKind(f *model.File) string {
	ext := strings.TrimPrefix(strings.ToUpper(filepath.Ext(f.Name)), ".")
	if ext == "" || len(ext) > 6 {
		ext = "File"
	}
	if f.Size <= 0 {
		return ext
	}
	return humanSize(f.Size) + " · " + ext
}

// fileIcon is the type icon of f.
func (ic *iconSet) fileIcon(f *model.File) *widget.Icon {
	switch {
	case f.Picture():
		return ic.image
	case strings.HasPrefix(f.MIME, "video/"):
		return ic.movie
	case strings.HasPrefix(f.MIME, "audio/"):
		return ic.music
	}
	switch strings.ToLower(filepath.Ext(f.Name)) {
	case ".zip", ".gz", ".tgz", ".xz", ".7z", ".rar", ".tar", ".zst":
		return ic.archive
	case ".mp4", ".mkv", ".mov", ".webm", ".avi":
		return ic.movie
	case ".mp3", ".ogg", ".flac", ".wav", ".m4a", ".opus":
		return ic.music
	case ".pdf", ".txt", ".md", ".doc", ".docx", ".odt", ".rtf":
		return ic.doc
	}
	return ic.file
}

// humanSize writes n bytes as people read them: 999 B, 1.2 KB, 34 MB.
func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KB", "MB", "GB", "TB", "PB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, suffix)
	}
	return fmt.Sprintf("%.0f %s", v, suffix)
}

// humanLeft writes a time left: 45 s, 3 min, 2 h 5 min.
func humanLeft(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", max(1, int(d.Round(time.Second)/time.Second)))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
