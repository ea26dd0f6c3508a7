package model

import "testing"

// TestOpFile: OpFile replaces the file of a message (and its state); a
// file from a peer counts as unread and as the thread's latest.
func TestOpFile(t *testing.T) {
	m := New("ana", "s", nil)
	f := &File{ID: "b1", Name: "a.png", Status: FileOffered}
	m.Apply(Change{Op: OpAdd, Thread: "bruno", Nick: "bruno", Msg: Message{Key: 7, Kind: KindFile, From: "bruno", File: f, Time: m.Now()}})
	th := m.Lookup("bruno")
	if th.Unread != 1 || th.LastSeen.IsZero() {
		t.Fatalf("unread %d, last seen %v", th.Unread, th.LastSeen)
	}
	g := *f
	g.Status, g.Path = FileDone, "/d/a.png"
	m.Apply(Change{Op: OpFile, Thread: "bruno", Msg: Message{Key: 7, File: &g}})
	if got := m.Message("bruno", 7).File; got.Status != FileDone || got.Path != "/d/a.png" || f.Status != FileOffered {
		t.Fatalf("after OpFile: %+v (the old one %+v)", got, f)
	}
	m.Apply(Change{Op: OpFile, Thread: "bruno", Msg: Message{Key: 7}}) // no file: ignored
	if m.Message("bruno", 7).File == nil {
		t.Fatal("OpFile without a file dropped it")
	}
}

func TestPictureType(t *testing.T) {
	for _, tt := range []struct{ mime, name, want string }{
		{"image/png", "x", "image/png"},
		{"IMAGE/JPEG; q=1", "x", "image/jpeg"},
		{"", "Photo.JPG", "image/jpeg"},
		{"", "anim.gif", "image/gif"},
		{"", "x.webp", "image/webp"},
		{"application/pdf", "x.pdf", ""},
		{"image/svg+xml", "x.svg", ""},
	} {
		if got := PictureType(tt.mime, tt.name); got != tt.want {
			t.Errorf("PictureType(%q, %q) = %q, want %q", tt.mime, tt.name, got, tt.want)
		}
	}
}
