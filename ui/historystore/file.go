package historystore

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"peerchat/ui/model"
)

// fileRecord is how a file message (model.KindFile) is kept in the text of
// its history record (history.KindFile): JSON, so that fields can be
// added without a new record version. Only final states are stored.
type fileRecord struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	MIME     string `json:"mime,omitempty"`
	SHA256   string `json:"sha256,omitempty"` // hex
	Outgoing bool   `json:"out,omitempty"`
	Path     string `json:"path,omitempty"`
	Parked   bool   `json:"parked,omitempty"`
	Done     bool   `json:"done,omitempty"` // else failed
	Err      string `json:"err,omitempty"`
}

// encodeFile returns the history text of f.
func encodeFile(f *model.File) string {
	r := fileRecord{ID: f.ID, Name: f.Name, Size: f.Size, MIME: f.MIME, Outgoing: f.Outgoing, Path: f.Path, Parked: f.Parked, Err: f.Err, Done: f.Status == model.FileDone}
	if f.SHA256 != ([32]byte{}) {
		r.SHA256 = hex.EncodeToString(f.SHA256[:])
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // strings, numbers and booleans always marshal
	}
	return string(b)
}

// decodeFile parses the history text of a file message. A transfer stored
// before it ended (never written by this version) reads as failed.
func decodeFile(text string) (*model.File, error) {
	var r fileRecord
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return nil, fmt.Errorf("file record: %w", err)
	}
	if r.Size < 0 {
		return nil, errors.New("file record: negative size")
	}
	f := &model.File{ID: r.ID, Name: r.Name, Size: r.Size, MIME: r.MIME, Outgoing: r.Outgoing, Path: r.Path, Parked: r.Parked, Err: r.Err, Status: model.FileFailed}
	if r.Done {
		f.Status, f.Done = model.FileDone, r.Size
	}
	if r.SHA256 != "" {
		b, err := hex.DecodeString(r.SHA256)
		if err != nil || len(b) != len(f.SHA256) {
			return nil, errors.New("file record: bad SHA-256")
		}
		copy(f.SHA256[:], b)
	}
	return f, nil
}
