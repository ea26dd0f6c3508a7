package session

import (
	"errors"
	"path/filepath"
	"testing"

	"peerchat/core/client"
	"peerchat/core/history"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// TestSearch searches what the Service wrote: a private message and a
// broadcast of ours, found with their thread keys, Mine set on ours.
func TestSearch(t *testing.T) {
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := newRig(t, historystore.New(st), "bruno")
	r.sync()
	r.conn.push(client.Event{Kind: client.EventChatMsg, Peer: "Bruno", From: "Bruno", Text: "the Deploy script", Time: t0},
		client.Event{Kind: client.EventBroadcast, From: "ana", Text: "deploy done", Time: t0.Add(1)})
	r.sync()
	r.sync() // the batch before the last marker is written
	hits, err := r.svc.Search("deploy", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 {
		t.Fatalf("%d hits, want 2: %+v", len(hits), hits)
	}
	if h := hits[0]; h.Thread != model.Everyone || !h.Msg.Mine || h.Msg.Text != "deploy done" {
		t.Errorf("first hit %+v, want our broadcast", h)
	}
	if h := hits[1]; h.Thread != "bruno" || h.Msg.Mine || h.Msg.Seq == 0 {
		t.Errorf("second hit %+v, want Bruno's message in thread bruno", h)
	}
}

// TestSearchNoHistory: without a Store, Search says so.
func TestSearchNoHistory(t *testing.T) {
	r := newRig(t, nil)
	if _, err := r.svc.Search("x", 1); !errors.Is(err, ErrNoSearch) {
		t.Fatalf("Search without a store: %v, want ErrNoSearch", err)
	}
}
