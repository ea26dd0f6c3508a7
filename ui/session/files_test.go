package session

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/core/transfer"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// fileConn is a fakeConn that transfers files (Files): it records the
// calls; ids are "f1", "f2", …
type fileConn struct {
	*fakeConn
	infos []client.FileInfo // what Files returns
}

func (c *fileConn) SendFile(nick, path string) (string, error) {
	id, err := c.id("sendfile %s %s", nick, filepath.Base(path))
	return fmt.Sprintf("f%d", id), err
}
func (c *fileConn) AcceptFile(nick, id string) error {
	c.call("acceptfile %s %s", nick, id)
	return nil
}
func (c *fileConn) DeclineFile(nick, id string) error {
	c.call("declinefile %s %s", nick, id)
	return nil
}
func (c *fileConn) CancelFile(nick, id string) error {
	c.call("cancelfile %s %s", nick, id)
	return nil
}
func (c *fileConn) Files() []client.FileInfo { return c.infos }
func (c *fileConn) BroadcastImage(path string) (string, error) {
	id, err := c.id("postimage %s", filepath.Base(path))
	return fmt.Sprintf("f%d", id), err
}

// newFileRig is newRig over a fileConn.
func newFileRig(t *testing.T, store Store, infos []client.FileInfo, peers ...string) *rig {
	t.Helper()
	return newRigWith(t, store, func(cfg *Config) {
		fc := &fileConn{fakeConn: cfg.Conn.(*fakeConn), infos: infos}
		cfg.Conn = fc
	}, peers...)
}

// file returns the file of the newest file message of thread.
func (r *rig) file(thread string) (model.Message, *model.File) {
	r.t.Helper()
	th := r.m.Lookup(thread)
	if th == nil {
		r.t.Fatalf("no thread %q", thread)
	}
	for i := len(th.Messages) - 1; i >= 0; i-- {
		if m := th.Messages[i]; m.Kind == model.KindFile {
			return m, m.File
		}
	}
	r.t.Fatalf("thread %q has no file", thread)
	return model.Message{}, nil
}

// until syncs until cond holds (what the Service does on a goroutine of
// its own, SendFile's call, is not ordered with the events).
func (r *rig) until(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.sync()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// storedFiles returns the file records of thread in the history.
func storedFiles(t *testing.T, st *history.Store, thread string) []history.Message {
	t.Helper()
	hs, err := st.Load(thread, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(hs, func(m history.Message) bool { return m.Kind != history.KindFile })
}

// TestFileIncoming follows a file offered by a peer: the offer (notified),
// Accept, progress (in the model only), a pause, done and saved (in the
// history), and the thread after a restart.
func TestFileIncoming(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st := openHistory(t, path)
	r := newFileRig(t, historystore.New(st), nil, "bruno")
	fi := &client.FileInfo{ID: "b1", Peer: "bruno", From: "bruno", Name: "notes.pdf", Size: 1000, MIME: "application/pdf", SHA256: [32]byte{1, 2, 3}}
	r.conn.push(client.Event{Kind: client.EventFileOffer, Peer: "bruno", File: fi, Time: t0.Add(-time.Minute)})
	r.sync()
	msg, f := r.file("bruno")
	if f.Status != model.FileOffered || f.Name != "notes.pdf" || msg.Mine || !msg.Time.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("offer: %+v %+v", msg, f)
	}
	if n := r.waitNotes(1); !strings.Contains(n[0], "bruno sends a file: notes.pdf") {
		t.Fatalf("notification %q", n)
	}
	if th := r.m.Lookup("bruno"); th.Unread != 1 {
		t.Fatalf("unread %d, want 1", th.Unread)
	}

	r.svc.AcceptFile("bruno", "b1")
	r.sync()
	if _, f := r.file("bruno"); f.Status != model.FileMoving {
		t.Fatalf("after Accept: %v", f.Status)
	}
	if c := r.calls(); !slices.Contains(c, "acceptfile bruno b1") {
		t.Fatalf("calls %q", c)
	}
	for _, p := range []int64{200, 500} {
		r.conn.push(client.Event{Kind: client.EventFileProgress, Peer: "bruno", File: fi, Progress: client.Progress{Done: p, Total: 1000, Rate: 100, Left: time.Second}})
	}
	r.conn.push(client.Event{Kind: client.EventFileProgress, Peer: "bruno", File: fi, Paused: true, Progress: client.Progress{Done: 500, Total: 1000}})
	r.sync()
	if _, f := r.file("bruno"); f.Status != model.FilePaused || f.Done != 500 {
		t.Fatalf("paused: %+v", f)
	}
	if got := storedFiles(t, st, "bruno"); len(got) != 0 {
		t.Fatalf("progress written to the history: %+v", got)
	}
	if n := len(r.m.Lookup("bruno").Messages); n != 1 {
		t.Fatalf("%d messages, want the one card", n)
	}

	done := *fi
	done.Path = "/home/ana/Downloads/notes.pdf"
	r.conn.push(client.Event{Kind: client.EventFileDone, Peer: "bruno", File: &done})
	r.sync()
	if _, f := r.file("bruno"); f.Status != model.FileDone || f.Path != done.Path || f.Done != 1000 {
		t.Fatalf("done: %+v", f)
	}
	if got := storedFiles(t, st, "bruno"); len(got) != 1 {
		t.Fatalf("history holds %d files, want 1", len(got))
	}
	// A late event changes nothing.
	r.conn.push(client.Event{Kind: client.EventFileFailed, Peer: "bruno", File: fi, Err: client.ErrFileCancelled})
	r.sync()
	if _, f := r.file("bruno"); f.Status != model.FileDone || len(r.m.Lookup("bruno").Messages) != 1 {
		t.Fatalf("a late failure changed the file: %+v", f)
	}
	r.svc.Close()

	// The next run shows it from the history.
	r2 := newFileRig(t, historystore.New(st), nil)
	r2.sync()
	msg, f = r2.file("bruno")
	want := model.File{ID: "b1", Name: "notes.pdf", Size: 1000, MIME: "application/pdf", SHA256: [32]byte{1, 2, 3}, Path: done.Path, Status: model.FileDone, Done: 1000}
	if *f != want || msg.Mine || msg.From != "bruno" || msg.Text != "📎 notes.pdf" {
		t.Fatalf("after a restart:\n got %+v %+v\nwant %+v", msg, *f, want)
	}
	r2.svc.Close()
	st.Close()
}

// TestFileArrived: a file that arrived without an offer (accepted by
// itself) is notified once it is saved; one that was offered is not
// notified again.
func TestFileArrived(t *testing.T) {
	r := newFileRig(t, nil, nil, "bruno")
	fi := &client.FileInfo{ID: "b3", Peer: "bruno", From: "bruno", Name: "small.png", Size: 10, Path: "/d/small.png"}
	r.conn.push(client.Event{Kind: client.EventFileProgress, Peer: "bruno", File: fi, Progress: client.Progress{Done: 5, Total: 10}},
		client.Event{Kind: client.EventFileDone, Peer: "bruno", File: fi})
	r.sync()
	if n := r.waitNotes(1); n[0] != "bruno sent you a file: small.png" {
		t.Fatalf("notes %q", n)
	}
	fo := &client.FileInfo{ID: "b4", Peer: "bruno", From: "bruno", Name: "big.png", Size: 10, Path: "/d/big.png"}
	r.conn.push(client.Event{Kind: client.EventFileOffer, Peer: "bruno", File: fo})
	r.sync()
	r.svc.AcceptFile("bruno", "b4")
	r.conn.push(client.Event{Kind: client.EventFileDone, Peer: "bruno", File: fo})
	r.sync()
	r.sync()
	if n := r.takeNotes(); len(n) != 1 || n[0] != "bruno sends a file: big.png" {
		t.Fatalf("notes %q", n)
	}
}

// TestFileDecline: declining an offer ends it here, in words; a late
// failure from the client core adds nothing.
func TestFileDecline(t *testing.T) {
	r := newFileRig(t, nil, nil, "bruno")
	fi := &client.FileInfo{ID: "b2", Peer: "bruno", From: "bruno", Name: "big.iso", Size: 4 << 30}
	r.conn.push(client.Event{Kind: client.EventFileOffer, Peer: "bruno", File: fi})
	r.sync()
	r.svc.DeclineFile("bruno", "b2")
	r.conn.push(client.Event{Kind: client.EventFileFailed, Peer: "bruno", File: fi, Err: client.ErrFileDeclined})
	r.sync()
	if _, f := r.file("bruno"); f.Status != model.FileFailed || f.Err != "you declined it" {
		t.Fatalf("declined: %+v", f)
	}
	if n := len(r.m.Lookup("bruno").Messages); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	if c := r.calls(); !slices.Contains(c, "declinefile bruno b2") {
		t.Fatalf("calls %q", c)
	}
	// Accepting an offer that ended does nothing.
	r.svc.AcceptFile("bruno", "b2")
	r.sync()
	if c := r.calls(); slices.Contains(c, "acceptfile bruno b2") {
		t.Fatalf("accepted a declined offer: %q", c)
	}
}

// TestFileSend follows a file we send: its card at once, its id once
// SendFile returns, progress, Cancel, and the failure kept in the history.
func TestFileSend(t *testing.T) {
	st := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	defer st.Close()
	r := newFileRig(t, historystore.New(st), nil, "bruno")
	r.svc.SendFile("bruno", "/tmp/x/report.pdf")
	r.until("the transfer's id", func() bool { _, f := r.file("bruno"); return f.ID == "f1" })
	msg, f := r.file("bruno")
	if !msg.Mine || !f.Outgoing || f.Status != model.FileMoving || msg.State != delivery.Pending || f.Path != "/tmp/x/report.pdf" {
		t.Fatalf("sending: %+v %+v", msg, f)
	}
	fi := &client.FileInfo{ID: "f1", Peer: "bruno", From: "ana", Name: "report.pdf", Size: 800, Outgoing: true, Path: "/tmp/x/report.pdf"}
	r.conn.push(client.Event{Kind: client.EventFileProgress, Peer: "bruno", File: fi, Progress: client.Progress{Done: 400, Total: 800}})
	r.sync()
	if _, f := r.file("bruno"); f.Done != 400 || f.Size != 800 {
		t.Fatalf("progress: %+v", f)
	}
	r.svc.CancelFile("bruno", "f1")
	r.sync()
	msg, f = r.file("bruno")
	if f.Status != model.FileFailed || f.Err != "you cancelled it" || msg.State != delivery.Failed {
		t.Fatalf("cancelled: %+v %+v", msg, f)
	}
	if c := r.calls(); !slices.Equal(c, []string{"sendfile bruno report.pdf", "cancelfile bruno f1"}) {
		t.Fatalf("calls %q", c)
	}
	if got := storedFiles(t, st, "bruno"); len(got) != 1 || got[0].State != delivery.Failed || got[0].From != "ana" {
		t.Fatalf("history: %+v", got)
	}
}

// TestFileSendEventFirst: events about our send that come before SendFile
// returned its id go to the same card, not a second one.
func TestFileSendEventFirst(t *testing.T) {
	r := newFileRig(t, nil, nil, "bruno")
	fi := &client.FileInfo{ID: "f1", Peer: "bruno", From: "ana", Name: "a.txt", Size: 10, Outgoing: true, Path: "/tmp/a.txt"}
	r.svc.SendFile("bruno", "/tmp/a.txt")
	r.conn.push(client.Event{Kind: client.EventFileDone, Peer: "bruno", File: fi})
	r.until("done", func() bool { _, f := r.file("bruno"); return f.Status == model.FileDone })
	r.sync()
	if n := len(r.m.Lookup("bruno").Messages); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	if msg, _ := r.file("bruno"); msg.State != delivery.Delivered {
		t.Fatalf("state %v", msg.State)
	}
}

// TestFileEveryone: the feed takes pictures only; a picture posted by
// someone shows as a file, done.
func TestFileEveryone(t *testing.T) {
	r := newFileRig(t, nil, nil, "bruno")
	r.svc.SendFile(model.Everyone, "/tmp/slides.pdf")
	r.sync()
	if _, f := r.file(model.Everyone); f.Status != model.FileFailed || !strings.Contains(f.Err, "only pictures") {
		t.Fatalf("a PDF to Everyone: %+v", f)
	}
	r.svc.SendFile(model.Everyone, "/tmp/cat.jpg")
	r.until("the picture's id", func() bool { _, f := r.file(model.Everyone); return f.ID != "" })
	if c := r.calls(); !slices.Equal(c, []string{"postimage cat.jpg"}) {
		t.Fatalf("calls %q", c)
	}
	// The echo of ours (the ID of its events is the number of its id).
	r.conn.push(client.Event{Kind: client.EventBroadcast, ID: 1, From: "ana", Text: "cat.jpg", BID: 3,
		File: &client.FileInfo{ID: "f1", From: "ana", Name: "cat.jpg", MIME: "image/jpeg", Size: 10, Path: "/tmp/cat.jpg"}})
	r.sync()
	if msg, f := r.file(model.Everyone); f.Status != model.FileDone || !msg.Mine || msg.State != delivery.Delivered {
		t.Fatalf("echo: %+v %+v", msg, f)
	}
	// A picture the server refused.
	r.svc.SendFile(model.Everyone, "/tmp/huge.png")
	r.until("the second id", func() bool { _, f := r.file(model.Everyone); return f.ID == "f2" })
	r.conn.push(client.Event{Kind: client.EventSendFailed, ID: 2, Err: client.ErrImageTooLarge,
		File: &client.FileInfo{ID: "f2", From: "ana", Name: "huge.png", Size: 1 << 30, Path: "/tmp/huge.png"}})
	r.sync()
	if msg, f := r.file(model.Everyone); f.Status != model.FileFailed || msg.State != delivery.Failed || !strings.Contains(f.Err, "larger than the server takes") {
		t.Fatalf("refused: %+v %+v", msg, f)
	}
	n := len(r.m.Lookup(model.Everyone).Messages)
	pic := &client.FileInfo{ID: "p9", From: "chen", Name: "board.png", MIME: "image/png", Size: 5000, Path: "/d/board.png"}
	r.conn.push(client.Event{Kind: client.EventBroadcast, From: "chen", File: pic, BID: 4})
	r.sync()
	msg, f := r.file(model.Everyone)
	if f.Status != model.FileDone || f.Path != "/d/board.png" || msg.From != "chen" || !f.Picture() {
		t.Fatalf("picture: %+v %+v", msg, f)
	}
	if got := len(r.m.Lookup(model.Everyone).Messages); got != n+1 {
		t.Fatalf("%d messages in the feed, want %d", got, n+1)
	}
}

// TestFileNoSupport: a Conn without files says so on the card.
func TestFileNoSupport(t *testing.T) {
	r := newRig(t, nil, "bruno")
	r.svc.SendFile("bruno", "/tmp/a.txt")
	r.sync()
	if _, f := r.file("bruno"); f.Status != model.FileFailed || f.Err != FailureText(ErrNoFileSupport, "bruno") {
		t.Fatalf("%+v", f)
	}
}

// TestFileSeed: the transfers the client core lists at start (after a
// restart: our offer recorded before it, an offer to us) are shown as
// waiting, for the peer or for the user's Accept, not as moving; their
// progress, when it comes, moves them on.
func TestFileSeed(t *testing.T) {
	out := client.FileInfo{ID: "f7", Peer: "bruno", From: "ana", Name: "big.bin", Size: 9, Outgoing: true}
	in := client.FileInfo{ID: "g1", Peer: "chen", From: "chen", Name: "notes.pdf", Size: 5}
	r := newFileRig(t, nil, []client.FileInfo{out, in}, "bruno", "chen")
	r.sync()
	if m, f := r.file("bruno"); f.ID != "f7" || f.Status != model.FileOffered || !m.Mine || m.State != delivery.Pending || f.Done != 0 {
		t.Fatalf("our offer after a restart: %+v %+v", m, f)
	}
	if m, f := r.file("chen"); f.ID != "g1" || f.Status != model.FileOffered || m.Mine {
		t.Fatalf("an offer to us after a restart: %+v %+v", m, f)
	}
	r.svc.AcceptFile("chen", "g1")
	r.sync()
	if _, f := r.file("chen"); f.Status != model.FileMoving || !slices.Contains(r.calls(), "acceptfile chen g1") {
		t.Fatalf("accepted: %+v, calls %q", f, r.calls())
	}
	r.conn.push(client.Event{Kind: client.EventFileProgress, Peer: "bruno", File: &out, Progress: client.Progress{Done: 3, Total: 9}})
	r.sync()
	if _, f := r.file("bruno"); f.Status != model.FileMoving || f.Done != 3 {
		t.Fatalf("our offer once it moves: %+v", f)
	}
	if n := len(r.m.Lookup("bruno").Messages); n != 1 {
		t.Fatalf("%d messages in bruno's thread, want 1", n)
	}
}

// TestFailureTextFiles: the errors of file transfers in words.
func TestFailureTextFiles(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", client.ErrFileDeclined), "bruno declined it"},
		{client.ErrFileCancelled, "cancelled"},
		{client.ErrNoFiles, "bruno cannot receive files"},
		{fmt.Errorf("write: %w", transfer.ErrNoSpace), "the disk is full"},
		{transfer.ErrHash, "arrived damaged"},
		{transfer.ErrTooLarge, "larger than allowed"},
		{client.ErrMailbox, "mailbox refused"},
		{errors.ErrUnsupported, "cannot send files"},
		{errDeclinedByUs, "you declined it"},
	} {
		if got := FailureText(tt.err, "bruno"); !strings.Contains(got, tt.want) {
			t.Errorf("FailureText(%v) = %q, want %q in it", tt.err, got, tt.want)
		}
	}
}

// TestFileCompact: a transfer under way (not in the history yet) survives
// the snapshot that replaces an undrained queue.
func TestFileCompact(t *testing.T) {
	st := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	defer st.Close()
	r := newFileRig(t, historystore.New(st), nil, "bruno")
	r.sync()
	fi := &client.FileInfo{ID: "b1", Peer: "bruno", From: "bruno", Name: "a.bin", Size: 100}
	evs := []client.Event{{Kind: client.EventFileProgress, Peer: "bruno", File: fi, Progress: client.Progress{Done: 40, Total: 100}}}
	for i := range MaxQueue {
		evs = append(evs, client.Event{Kind: client.EventPeerJoined, Peer: fmt.Sprintf("p%05d", i), Time: t0})
	}
	r.conn.push(evs...)
	deadline := time.After(10 * time.Second)
	for compacted := false; !compacted; {
		select {
		case <-r.inval:
		case <-deadline:
			t.Fatal("no compaction")
		}
		r.svc.mu.Lock()
		compacted = len(r.svc.queue) > 0 && r.svc.queue[0].Op == model.OpReset
		r.svc.mu.Unlock()
	}
	r.sync()
	if _, f := r.file("bruno"); f.Done != 40 || f.Status != model.FileMoving {
		t.Fatalf("after the snapshot: %+v", f)
	}
	r.conn.push(client.Event{Kind: client.EventFileProgress, Peer: "bruno", File: fi, Progress: client.Progress{Done: 70, Total: 100}})
	r.sync()
	if _, f := r.file("bruno"); f.Done != 70 {
		t.Fatalf("progress after the snapshot: %+v", f)
	}
}
