package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// ImagePaster is a Platform that can read a picture from the system's
// clipboard (Gio's clipboard carries text only). The composer asks it on
// each paste shortcut in the message field, besides the text paste of the
// field itself.
type ImagePaster interface {
	// PasteImage returns the picture in the clipboard and its media type
	// ("image/png"), or an error: ErrNoImage when the clipboard holds no
	// picture, ErrPasteTooLarge when it holds one larger than max bytes,
	// an error wrapping errors.ErrUnsupported where pictures cannot be
	// read from the clipboard (the UI then says nothing: the paste was
	// for the text). It may block a few seconds (it may run a command);
	// the App calls it off the window's goroutine and it must return
	// promptly once ctx is done.
	PasteImage(ctx context.Context, max int64) (data []byte, mediaType string, err error)
}

// Errors of ImagePaster.PasteImage.
var (
	// ErrNoImage: the clipboard holds no picture (text, or nothing).
	ErrNoImage = errors.New("no picture in the clipboard")
	// ErrPasteTooLarge: the clipboard's picture is larger than the limit.
	ErrPasteTooLarge = errors.New("the picture in the clipboard is too large")
)

// PasteLimit is the largest picture pasted: the largest the app posts
// to the feed while the server has not said its own limit.
const PasteLimit = client.DefaultImageLimit

// pasteExts are the extensions of the pasted pictures' files by media
// type: the picture types the app shows (model.PictureType).
var pasteExts = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
}

// pasteImage asks the platform for the clipboard's picture, off the
// window's goroutine, and sends it to thread as if it had been picked
// with the attach button: a file in the data directory's outgoing
// folder, handed to the session's SendFile. No picture (or no way to
// read one here) does nothing: the field pasted the text. Other
// failures show a toast. One paste of a thread's composer at a time.
func (s *chatScreen) pasteImage(thread string) {
	a := s.a
	p, ok := a.cfg.Platform.(ImagePaster)
	if !ok {
		return
	}
	c := &s.view(thread).composer
	if !c.pasting.CompareAndSwap(false, true) {
		return
	}
	dir, _ := a.cfg.Platform.DataDir()
	sess := s.sess
	a.go_(func(ctx context.Context) {
		defer c.pasting.Store(false)
		path, err := readPasted(ctx, p, dir, a.cfg.Now)
		switch {
		case errors.Is(err, ErrNoImage) || errors.Is(err, errors.ErrUnsupported):
			a.log.Debug("paste picture", "err", err)
			return
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrPasteTooLarge):
			a.toast.show(fmt.Sprintf("The picture in the clipboard is larger than %d MB.", PasteLimit>>20))
			a.cfg.Invalidate()
			return
		case err != nil:
			a.log.Warn("paste picture", "err", err)
			a.toast.show("Couldn't paste the picture: " + err.Error())
			a.cfg.Invalidate()
			return
		}
		sess.SendFile(thread, path)
	})
}

// readPasted reads the clipboard's picture from p and writes it to a new
// file in dir/outgoing (dir "": the temporary directory), named after
// when it was pasted, and returns its path.
func readPasted(ctx context.Context, p ImagePaster, dir string, now func() time.Time) (string, error) {
	data, typ, err := p.PasteImage(ctx, PasteLimit)
	if err != nil {
		return "", err
	}
	if len(data) > PasteLimit {
		return "", ErrPasteTooLarge
	}
	// The bytes say what they are; a clipboard may name them wrongly.
	if sniffed := http.DetectContentType(data); pasteExts[sniffed] != "" {
		typ = sniffed
	}
	ext := pasteExts[typ]
	if ext == "" || model.PictureType(typ, "") == "" {
		return "", fmt.Errorf("the clipboard's %q is not a picture the app shows", typ)
	}
	if dir == "" {
		dir = os.TempDir()
	}
	out := filepath.Join(dir, pickedDir)
	if err := os.MkdirAll(out, 0o700); err != nil {
		return "", err
	}
	sub, err := os.MkdirTemp(out, "")
	if err != nil {
		return "", err
	}
	path := filepath.Join(sub, "pasted-"+now().Local().Format("2006-01-02-150405")+ext)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		os.RemoveAll(sub)
		return "", err
	}
	return path, nil
}
