package session

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// Files is a Conn that transfers files (issue 12): *client.Client's
// methods of the same names, which the app's Conn (ui/netbackend) passes
// on. Like Conn's, they must not wait for the network; SendFile and
// BroadcastImage may read the file (to hash it), so the Service calls them
// off the UI's goroutine.
type Files interface {
	// SendFile offers the file at path to nick and returns the transfer's
	// id, which later EventFile* events carry.
	SendFile(nick, path string) (id string, err error)
	// AcceptFile and DeclineFile answer nick's offer id.
	AcceptFile(nick, id string) error
	DeclineFile(nick, id string) error
	// CancelFile stops the transfer id with nick, either way.
	CancelFile(nick, id string) error
	// Files lists the transfers under way (sent, received or offered).
	Files() []client.FileInfo
	// BroadcastImage posts the picture at path to everyone.
	BroadcastImage(path string) (id string, err error)
}

// ErrNoFileSupport is why a file cannot be sent over a Conn that does not
// implement Files.
var ErrNoFileSupport = fmt.Errorf("this connection cannot send files: %w", errors.ErrUnsupported)

// ErrNotPicture is why a file that is not a picture (model.PictureType)
// is not posted to Everyone: only pictures go to the feed.
var ErrNotPicture = errors.New("only pictures (JPEG, PNG, GIF, WebP) can be posted to Everyone")

// fileRef names one transfer: its thread (model.Everyone for a picture of
// the feed) and its id; a transfer whose id is not known yet (SendFile
// has not returned) has the id "\x00" and the message's key.
type fileRef struct {
	thread string
	id     string
}

// fileMsg is a file message whose transfer has not ended: its model
// message, with the File as last pushed.
type fileMsg struct {
	msg     model.Message
	pending string // the path of our send whose id is not known yet
	offered bool   // it came as an offer, which was notified
}

func (s *Service) files() Files {
	f, _ := s.conn.(Files)
	return f
}

// SendFile sends the file at path on the private chat of thread, or posts
// it to everyone when thread is model.Everyone (pictures only:
// ErrNotPicture). Its card shows at once; what the client core reports
// moves it on. It never blocks: the client core is called on a goroutine
// of the Service.
func (s *Service) SendFile(thread, path string) {
	name := filepath.Base(path)
	f := &model.File{Name: name, Outgoing: true, Path: path, Status: model.FileMoving, MIME: model.PictureType("", name)}
	s.mu.Lock()
	j := &s.j
	msg := model.Message{Kind: model.KindFile, From: j.me, Mine: true, State: delivery.Pending, File: f, Text: model.FileText(f)}
	files := s.files()
	var err error
	switch {
	case files == nil:
		err = ErrNoFileSupport
	case thread == model.Everyone && f.MIME == "":
		err = ErrNotPicture
	}
	if err != nil {
		j.fileFailed(thread, msg, err)
		s.mu.Unlock()
		s.wake()
		return
	}
	msg = j.show(thread, msg)
	ref := fileRef{thread, "\x00" + fmt.Sprint(msg.Key)}
	j.files[ref] = &fileMsg{msg: msg, pending: path}
	nick := j.nick(thread)
	s.mu.Unlock()
	s.wake()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		var id string
		var err error
		if thread == model.Everyone {
			id, err = files.BroadcastImage(path)
		} else {
			id, err = files.SendFile(nick, path)
		}
		s.mu.Lock()
		j.sendReturned(ref, id, err)
		s.mu.Unlock()
		s.wake()
	}()
}

// AcceptFile accepts the offer id of the peer of thread.
func (s *Service) AcceptFile(thread, id string) { s.answerFile(thread, id, true) }

// DeclineFile declines the offer id of the peer of thread.
func (s *Service) DeclineFile(thread, id string) { s.answerFile(thread, id, false) }

func (s *Service) answerFile(thread, id string, accept bool) {
	s.mu.Lock()
	defer s.wake()
	defer s.mu.Unlock()
	j := &s.j
	fm := j.files[fileRef{thread, id}]
	if fm == nil || fm.msg.File.Status != model.FileOffered {
		return
	}
	files := s.files()
	if files == nil {
		j.fileEnd(thread, fm, ErrNoFileSupport)
		return
	}
	nick := j.nick(thread)
	if !accept {
		if err := files.DeclineFile(nick, id); err != nil {
			s.push(model.Change{Op: model.OpNotice, Text: "Could not decline " + fm.msg.File.Name + ": " + FailureText(err, nick)})
		}
		j.fileEnd(thread, fm, errDeclinedByUs)
		return
	}
	if err := files.AcceptFile(nick, id); err != nil {
		j.fileEnd(thread, fm, err)
		return
	}
	f := *fm.msg.File
	f.Status = model.FileMoving
	j.fileUpdate(thread, fm, &f)
}

// CancelFile stops the transfer id of thread (ours or theirs).
func (s *Service) CancelFile(thread, id string) {
	s.mu.Lock()
	defer s.wake()
	defer s.mu.Unlock()
	j := &s.j
	fm := j.files[fileRef{thread, id}]
	if fm == nil || fm.pending != "" {
		return
	}
	if files := s.files(); files != nil {
		if err := files.CancelFile(j.nick(thread), id); err != nil && !errors.Is(err, client.ErrNoTransfer) {
			s.push(model.Change{Op: model.OpNotice, Text: "Could not cancel " + fm.msg.File.Name + ": " + FailureText(err, j.nick(thread))})
			return
		}
	}
	j.fileEnd(thread, fm, errCancelledByUs)
}

// errDeclinedByUs and errCancelledByUs end a transfer the user stopped;
// FailureText words them.
var (
	errDeclinedByUs  = fmt.Errorf("declined by you: %w", client.ErrFileDeclined)
	errCancelledByUs = fmt.Errorf("cancelled by you: %w", client.ErrFileCancelled)
)

// seedFiles shows the transfers the client core has under way at start
// (Files.Files: those of an earlier run too), before any of its events.
// The list says nothing of where each stands, and nothing has moved yet
// in this run: an offer of ours (one recorded before a restart) waits
// for its peer to come back or to accept, and one offered to us waits
// for the user's Accept (an offer the client core takes by itself, to
// resume a partial file, reports its progress next). So each shows as
// offered (model.FileOffered), never as moving: its EventFileProgress
// moves it on. s.mu is held.
func (j *journal) seedFiles(infos []client.FileInfo) {
	for _, fi := range infos {
		thread := j.peer(fi.Peer)
		if fi.Peer == "" {
			thread = model.Everyone
		}
		j.file(thread, fi, model.FileOffered, client.Progress{}, nil, time.Time{})
	}
}

// newFile is the model's File of fi.
func newFile(fi client.FileInfo) *model.File {
	return &model.File{ID: fi.ID, Name: fi.Name, Size: fi.Size, MIME: fi.MIME, SHA256: fi.SHA256, Outgoing: fi.Outgoing, Path: fi.Path, Parked: fi.Parked}
}

// applyFile handles the file events of the client core and a picture of
// the feed (EventBroadcast with File); it reports whether ev was one.
func (j *journal) applyFile(ev client.Event) bool {
	if ev.File == nil {
		return false
	}
	thread := model.Everyone
	if ev.Peer != "" {
		thread = j.peer(ev.Peer)
	}
	switch ev.Kind {
	case client.EventFileOffer:
		j.file(thread, *ev.File, model.FileOffered, client.Progress{}, nil, ev.Time)
		j.s.attention(thread, ev.Peer+" sends a file", ev.File.Name)
	case client.EventFileProgress:
		st := model.FileMoving
		if ev.Paused {
			st = model.FilePaused
		}
		j.file(thread, *ev.File, st, ev.Progress, nil, ev.Time)
	case client.EventFileDone:
		if fm := j.files[fileRef{thread, ev.File.ID}]; !ev.File.Outgoing && (fm == nil || !fm.offered) && !j.ended[fileRef{thread, ev.File.ID}] {
			// It came by itself (small, from a verified peer): say so once.
			j.s.attention(thread, ev.Peer+" sent you a file", ev.File.Name)
		}
		j.file(thread, *ev.File, model.FileDone, client.Progress{Done: ev.File.Size, Total: ev.File.Size}, nil, ev.Time)
	case client.EventFileFailed:
		err := ev.Err
		if err == nil {
			err = errors.New("failed")
		}
		j.file(thread, *ev.File, model.FileFailed, client.Progress{}, err, ev.Time)
	case client.EventBroadcast:
		fi := *ev.File
		if fi.From == "" {
			fi.From = ev.From
		}
		mine := fi.From != "" && model.Key(fi.From) == model.Key(j.me)
		fi.Outgoing = fi.Outgoing || mine
		j.fileAway(model.Everyone, fi, model.FileDone, client.Progress{Done: fi.Size, Total: fi.Size}, nil, ev.Time, ev.Missed)
		if !mine && model.Mentions(ev.Text, j.me) {
			j.s.attention(model.Everyone, fi.From+" mentioned you", ev.Text)
		}
	default:
		return false
	}
	return true
}

// file records what the client core reported of the transfer fi of
// thread: its status, progress and, for a failure, err.
func (j *journal) file(thread string, fi client.FileInfo, st model.FileStatus, p client.Progress, err error, at time.Time) {
	j.fileAway(thread, fi, st, p, err, at, false)
}

// fileAway is file; a file message it adds is model.Message.Away when
// missed is set (a picture the server replayed: client.Event.Missed) or
// fi came to us through the server's mailbox (client.FileInfo.Parked: we
// were away when it was sent), as a private message the mailbox kept.
func (j *journal) fileAway(thread string, fi client.FileInfo, st model.FileStatus, p client.Progress, err error, at time.Time, missed bool) {
	if st == model.FileFailed && err == nil {
		err = errors.New("failed")
	}
	ref := fileRef{thread, fi.ID}
	if j.ended[ref] {
		return // the user ended it here already
	}
	fm := j.files[ref]
	if fm == nil && fi.Outgoing {
		fm = j.bindPending(thread, fi)
	}
	f := newFile(fi)
	f.Status, f.Done, f.Rate, f.Left = st, p.Done, p.Rate, p.Left
	if fm != nil {
		if f.Path == "" {
			f.Path = fm.msg.File.Path
		}
		if st == model.FileFailed {
			f.Done = fm.msg.File.Done
		}
		if err != nil {
			fm.msg.File = f
			j.fileEnd(thread, fm, err)
			return
		}
		j.fileUpdate(thread, fm, f)
		return
	}
	from := fi.From
	if from == "" {
		from = fi.Peer
	}
	if fi.Outgoing {
		from = j.me
	}
	msg := model.Message{Kind: model.KindFile, From: from, Mine: fi.Outgoing, File: f, Text: model.FileText(f), Time: at,
		Away: missed || !fi.Outgoing && fi.Parked}
	if fi.Outgoing {
		msg.State = delivery.Pending
	}
	if err != nil {
		j.fileFailed(thread, msg, err)
		return
	}
	if st == model.FileDone {
		if fi.Outgoing {
			msg.State = delivery.Delivered
		}
		j.add(thread, msg) // final: into the history at once
		j.ended[ref] = true
		return
	}
	msg = j.show(thread, msg)
	j.files[ref] = &fileMsg{msg: msg, offered: st == model.FileOffered}
}

// bindPending finds our send of fi (by its path, or else its name) in
// thread whose id SendFile has not returned yet, and files it under fi.ID.
func (j *journal) bindPending(thread string, fi client.FileInfo) *fileMsg {
	for ref, fm := range j.files {
		if ref.thread == thread && fm.pending != "" && (fm.pending == fi.Path || filepath.Base(fm.pending) == fi.Name) {
			delete(j.files, ref)
			fm.pending = ""
			j.files[fileRef{thread, fi.ID}] = fm
			return fm
		}
	}
	return nil
}

// sendReturned records what SendFile (or BroadcastImage) returned for the
// send waiting under ref.
func (j *journal) sendReturned(ref fileRef, id string, err error) {
	fm := j.files[ref]
	if fm == nil {
		return // bound to its id by an event already
	}
	delete(j.files, ref)
	fm.pending = ""
	if err != nil {
		j.fileEnd(ref.thread, fm, err)
		return
	}
	nref := fileRef{ref.thread, id}
	if _, ok := j.files[nref]; ok || j.ended[nref] {
		return
	}
	f := *fm.msg.File
	f.ID = id
	j.files[nref] = fm
	j.fileUpdate(ref.thread, fm, &f)
}

// fileUpdate shows f as the file of fm (model only: the history keeps
// files once they end), or ends it if f is final.
func (j *journal) fileUpdate(thread string, fm *fileMsg, f *model.File) {
	fm.msg.File, fm.msg.Text = f, model.FileText(f)
	if f.Status.Final() {
		if fm.msg.Mine {
			fm.msg.State = delivery.Delivered
		}
		j.fileFinal(thread, fm)
		return
	}
	j.s.push(model.Change{Op: model.OpFile, Thread: thread, Msg: fm.msg})
}

// fileEnd ends the transfer of fm for err.
func (j *journal) fileEnd(thread string, fm *fileMsg, err error) {
	f := *fm.msg.File
	f.Status, f.Err, f.Rate, f.Left = model.FileFailed, FailureText(err, j.nick(thread)), 0, 0
	fm.msg.File, fm.msg.Text = &f, model.FileText(&f)
	if fm.msg.Mine {
		fm.msg.State = delivery.Failed
	}
	j.fileFinal(thread, fm)
}

// fileFinal shows the ended transfer of fm and writes it to the history.
func (j *journal) fileFinal(thread string, fm *fileMsg) {
	j.s.push(model.Change{Op: model.OpFile, Thread: thread, Msg: fm.msg})
	j.s.write(historystore.Write{Op: historystore.Append, Thread: thread, Msg: fm.msg})
	for ref, o := range j.files {
		if o == fm {
			delete(j.files, ref)
			j.ended[ref] = true
		}
	}
}

// fileFailed adds msg, a transfer that failed for err before it began.
func (j *journal) fileFailed(thread string, msg model.Message, err error) {
	f := *msg.File
	f.Status, f.Err = model.FileFailed, FailureText(err, j.nick(thread))
	msg.File, msg.Text = &f, model.FileText(&f)
	if msg.Mine {
		msg.State = delivery.Failed
	}
	j.add(thread, msg)
}

// snapshotFiles queues again the files whose transfer has not ended (they
// are not in the history yet) after a snapshot (Service.compact), in the
// order they were added. s.mu is held.
func (j *journal) snapshotFiles() {
	fms := make([]*fileMsg, 0, len(j.files))
	threads := map[*fileMsg]string{}
	for ref, fm := range j.files {
		fms = append(fms, fm)
		threads[fm] = ref.thread
	}
	slices.SortFunc(fms, func(a, b *fileMsg) int { return cmp.Compare(a.msg.Key, b.msg.Key) })
	for _, fm := range fms {
		t := threads[fm]
		nick := ""
		if t != model.Everyone {
			nick = j.nick(t)
		}
		j.s.push(model.Change{Op: model.OpAdd, Thread: t, Nick: nick, Msg: fm.msg})
	}
}
