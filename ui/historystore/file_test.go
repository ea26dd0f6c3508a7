package historystore

import (
	"path/filepath"
	"strings"
	"testing"

	"peerchat/core/delivery"
	"peerchat/core/history"
	"peerchat/ui/model"
)

// TestFileRoundTrip: a file message is stored as a history.KindFile record
// and reads back the same after a reopen; search does not look into it;
// a record this version cannot read shows as a line.
func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, st := open(t, path)
	files := []*model.File{
		{ID: "b1", Name: "notes.pdf", Size: 1234, MIME: "application/pdf", SHA256: [32]byte{9, 8, 7}, Path: "/d/notes.pdf", Status: model.FileDone, Done: 1234},
		{ID: "f2", Name: "big.iso", Size: 5 << 30, Outgoing: true, Path: "/home/ana/big.iso", Parked: true, Status: model.FileFailed, Err: "bruno declined it"},
	}
	ws := []Write{
		{Op: Append, Thread: "bruno", Msg: model.Message{From: "bruno", Text: "before", Time: t0}},
		{Op: Append, Thread: "bruno", Msg: model.Message{Key: 1, Kind: model.KindFile, From: "bruno", File: files[0], Text: model.FileText(files[0]), Time: t0}},
		{Op: Append, Thread: "bruno", Msg: model.Message{Key: 2, Kind: model.KindFile, From: "ana", Mine: true, State: delivery.Failed, File: files[1], Text: model.FileText(files[1]), Time: t0}},
	}
	if err := s.Write(ws); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s, st = open(t, path)
	defer st.Close()
	got, err := s.Load("bruno", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Kind != model.KindText {
		t.Fatalf("loaded %+v", got)
	}
	for i, f := range files {
		m := got[i+1]
		if m.Kind != model.KindFile || m.File == nil || *m.File != *f || m.Text != "📎 "+f.Name {
			t.Errorf("file %d:\n got %+v %+v\nwant %+v", i, m, m.File, f)
		}
	}
	if got[2].State != delivery.Failed {
		t.Errorf("state %v", got[2].State)
	}
	hits, err := st.Search("notes", history.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 0 {
		t.Fatalf("search found a file record: %+v", hits)
	}

	// A record written by a later version that this one cannot read.
	if _, err := st.Append("bruno", history.Message{Kind: history.KindFile, Text: "{not json", Time: t0}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Load("bruno", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if last := got[len(got)-1]; last.Kind != model.KindSystem || !strings.Contains(last.Text, "cannot be shown") {
		t.Fatalf("unreadable record: %+v", last)
	}
}

// FuzzDecodeFile: the file record's parser never panics, and what it
// accepts encodes back to something it reads the same.
func FuzzDecodeFile(f *testing.F) {
	f.Add(encodeFile(&model.File{ID: "x", Name: "a.png", Size: 3, SHA256: [32]byte{1}, Status: model.FileDone}))
	f.Add(`{"name":"a","size":-1}`)
	f.Add(`{"sha256":"zz"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, s string) {
		file, err := decodeFile(s)
		if err != nil {
			return
		}
		again, err := decodeFile(encodeFile(file))
		if err != nil || *again != *file {
			t.Fatalf("%q: %+v, then %+v, %v", s, file, again, err)
		}
	})
}
