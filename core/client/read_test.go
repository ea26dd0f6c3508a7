package client

import "testing"

// TestReadReceipts: with read receipts on both sides, what bob's user saw
// reaches alice (EventRead); with them off on one side, nothing is sent
// and nothing reported.
func TestReadReceipts(t *testing.T) {
	checkGoroutines(t)
	for _, both := range []bool{true, false} {
		ts := startServer(t)
		acfg, bcfg := keyedConfig(ts.Addr, "alice"), keyedConfig(ts.Addr, "bob")
		acfg.ReadReceipts, bcfg.ReadReceipts = both, true
		a, b := dial(t, acfg), dial(t, bcfg)
		a.waitCaps("bob")
		b.waitCaps("alice")
		openChat(t, a, b)
		id1, _ := a.Send("bob", "one")
		id2, _ := a.Send("bob", "two")
		b.wait(EventChatMsg, nil)
		e := b.wait(EventChatMsg, nil)
		if e.ID != id2 {
			t.Fatalf("second message id %d, want %d", e.ID, id2)
		}
		a.wait(EventDelivered, func(e Event) bool { return e.ID == id2 })
		if err := b.MarkRead("alice", e.ID); err != nil {
			t.Fatal(err)
		}
		if both {
			if r := a.wait(EventRead, peerIs("bob")); r.ID != id2 {
				t.Fatalf("read %d, want %d (%d before it)", r.ID, id2, id1)
			}
			continue
		}
		// Off on alice's side: bob sends none (alice did not list read);
		// a chat frame of bob's that follows would come after it.
		id3, _ := b.Send("alice", "ping")
		b.wait(EventDelivered, func(e Event) bool { return e.ID == id3 })
		if n := a.count(EventRead); n != 0 {
			t.Fatalf("%d read receipts with receipts off", n)
		}
	}
}
