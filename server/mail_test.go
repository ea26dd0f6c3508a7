package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"peerchat/core/wire"
)

// mbox is the MBOX frame of item id from "from" stored at the test clock.
func mbox(from string, id int, data string) string {
	return payload(wire.Mbox{From: from, ID: uint64(id), Time: testConfig().Now(), Data: data})
}

// TestMailbox: items put for an absent key are stored (MBOX_OK, a repeat
// answered alike), delivered in order after the recipient's SIDENT,
// deleted by MBOX_ACK with MBOX_DELIVERED to the sender, at once or on its
// next connection; unacknowledged ones come again on the next
// registration; a put for a nick no key holds is refused.
func TestMailbox(t *testing.T) {
	s, addr := startServer(t, keysConfig(t))
	aliceID, bobID := seedID(t, 2), seedID(t, 3)
	a := keysClient(t, addr, "alice", aliceID, helloAll)
	b := keysClient(t, addr, "bob", bobID, helloAll)
	leave(t, s, b, "bob")

	for i := 1; i <= 5; i++ {
		a.send(fmt.Sprintf("MBOX_PUT Bob %d sealed %d", i, i))
		a.expectData(fmt.Sprintf("MBOX_OK Bob %d", i))
	}
	a.send("MBOX_PUT Bob 2 sealed 2")
	a.expectData("MBOX_OK Bob 2")
	a.send("MBOX_PUT nobody 1 x")
	a.expectData("MBOX_REFUSED nobody 1 unknown")
	if st := s.Stats(); st.MailStored != 5 || st.MailRefused[wire.MboxUnknown] != 1 {
		t.Fatalf("stats: stored %d, refused %v", st.MailStored, st.MailRefused)
	}

	b = keysClient(t, addr, "bob", bobID, helloAll)
	for i := 1; i <= 5; i++ {
		b.expectData(mbox("alice", i, fmt.Sprintf("sealed %d", i)))
	}
	for i := 1; i <= 5; i++ {
		b.send(fmt.Sprintf("MBOX_ACK alice %d", i))
		a.expectData(fmt.Sprintf("MBOX_DELIVERED Bob %d", i))
		a.send(fmt.Sprintf("MBOX_RECEIPT Bob %d", i)) // forgotten now
	}
	// Stored while the recipient is here: sent at once.
	a.send("MBOX_PUT bob 6 six")
	a.expectData("MBOX_OK bob 6")
	b.expectData(mbox("alice", 6, "six"))
	// The sender is away when the recipient acknowledges: it hears it on
	// its next connection.
	a.send("MBOX_PUT nobody 2 x") // answered after the receipts were forgotten
	a.expectData("MBOX_REFUSED nobody 2 unknown")
	leave(t, s, a, "alice")
	b.send("MBOX_ACK alice 6")
	b.send("MBOX_ACK alice 6") // a repeat does nothing
	waitFor(t, "ack", func() bool { return s.Stats().MailAcked == 6 })
	a = keysClient(t, addr, "alice", aliceID, helloAll)
	a.expectData("MBOX_DELIVERED bob 6") // not those of 1 to 5
	a.send("MBOX_RECEIPT bob 6")
	// A repeat of a delivered put: answered like the first, and the
	// receipt again; nothing is stored.
	a.send("MBOX_PUT bob 6 six")
	a.expectData("MBOX_OK bob 6")
	a.expectData("MBOX_DELIVERED bob 6")

	// Not acknowledged: sent again on the next registration.
	a.send("MBOX_PUT bob 7 seven")
	a.expectData("MBOX_OK bob 7")
	b.expectData(mbox("alice", 7, "seven"))
	leave(t, s, b, "bob")
	b = keysClient(t, addr, "bob", bobID, helloAll)
	b.expectData(mbox("alice", 7, "seven"))
	b.send("MBOX_ACK alice 7")
	a.expectData("MBOX_DELIVERED bob 7")
	// A receipt the sender did not confirm (its connection died with it)
	// comes again on its next registration, until it does.
	leave(t, s, a, "alice")
	a = keysClient(t, addr, "alice", aliceID, helloAll)
	a.expectData("MBOX_DELIVERED bob 7")
	a.send("MBOX_RECEIPT bob 7")
	if st := s.Stats(); st.MailStored != 7 || st.MailAcked != 7 || st.Closed[ClosedQueueOverflow] != 0 {
		t.Fatalf("stats: stored %d, acked %d, closed %v", st.MailStored, st.MailAcked, st.Closed)
	}

	// A client that did not list mailbox neither gets items nor may put.
	plain := keysClient(t, addr, "dave", seedID(t, 4), "HELLO 2 notice keys")
	plain.send("MBOX_PUT bob 1 x")
	plain.expectData("NOTICE unknown_command unexpected MBOX_PUT")
}

// TestMailboxBoundKey: an item is bound to the key that held the nick when
// it was put: another key that takes the nick later does not get it.
func TestMailboxBoundKey(t *testing.T) {
	s, addr := startServer(t, keysConfig(t))
	a := keysClient(t, addr, "alice", seedID(t, 2), helloAll)
	b := keysClient(t, addr, "bob", seedID(t, 3), helloAll)
	leave(t, s, b, "bob")
	a.send("MBOX_PUT bob 1 for the first bob")
	a.expectData("MBOX_OK bob 1")
	if _, err := s.nicks.Release("bob"); err != nil {
		t.Fatal(err)
	}
	other := keysClient(t, addr, "bob", seedID(t, 9), helloAll)
	other.send("BROADCAST sync")
	other.expectData("BID 1") // not MBOX
	other.expectData("BROADCAST bob: sync")
}

// TestMailboxBounds: the per-recipient count and bytes, the total and the
// size of an item are refused with full and too_large.
func TestMailboxBounds(t *testing.T) {
	cfg := keysConfig(t)
	cfg.MailItems = 2
	cfg.MailBytes = 100
	cfg.MailTotal = 150
	s, addr := startServer(t, cfg)
	a := keysClient(t, addr, "alice", seedID(t, 2), helloAll)
	for i, nick := range []string{"bob", "carol"} {
		leave(t, s, keysClient(t, addr, nick, seedID(t, byte(3+i)), helloAll), nick)
	}
	ten := strings.Repeat("x", 10)
	a.send("MBOX_PUT bob 1 " + ten)
	a.expectData("MBOX_OK bob 1")
	a.send("MBOX_PUT bob 2 " + ten)
	a.expectData("MBOX_OK bob 2")
	a.send("MBOX_PUT bob 3 " + ten)
	a.expectData("MBOX_REFUSED bob 3 full")
	a.send("MBOX_PUT carol 1 " + strings.Repeat("y", 101))
	a.expectData("MBOX_REFUSED carol 1 too_large")
	a.send("MBOX_PUT carol 2 " + strings.Repeat("y", 90))
	a.expectData("MBOX_OK carol 2")
	a.send("MBOX_PUT carol 3 " + strings.Repeat("y", 31)) // 20+90+31 > 150
	a.expectData("MBOX_REFUSED carol 3 full")
	a.send("MBOX_PUT carol 4 " + strings.Repeat("y", 11)) // 90+11 > 100
	a.expectData("MBOX_REFUSED carol 4 full")
	if st := s.Stats(); st.MailRefused[wire.MboxFull] != 3 || st.MailRefused[wire.MboxTooLarge] != 1 {
		t.Fatalf("refused: %v", st.MailRefused)
	}
}

// TestMailboxExpires: an item older than MailAge is deleted and its
// sender hears MBOX_REFUSED expired.
func TestMailboxExpires(t *testing.T) {
	cfg := keysConfig(t)
	clk := newClock(time.UnixMilli(1700000000123))
	cfg.Now = clk.now
	cfg.MailAge = time.Hour
	s, addr := startServer(t, cfg)
	a := keysClient(t, addr, "alice", seedID(t, 2), helloAll)
	leave(t, s, keysClient(t, addr, "bob", seedID(t, 3), helloAll), "bob")
	a.send("MBOX_PUT bob 1 old")
	a.expectData("MBOX_OK bob 1")
	clk.add(2 * time.Hour)
	s.sweepMail()
	a.expectData("MBOX_REFUSED bob 1 expired")
	if st := s.Stats(); st.MailExpired != 1 {
		t.Fatalf("expired %d", st.MailExpired)
	}
}

// TestMailboxWindow: 1,000 items, more than the queue holds, reach a
// returning recipient in order, each sent as an earlier one is
// acknowledged; the recipient is never closed. (It times the delivery
// for docs/PERFORMANCE.md.)
func TestMailboxWindow(t *testing.T) {
	cfg := keysConfig(t)
	cfg.QueueBytes = 64 << 10
	s, addr := startServer(t, cfg)
	a := keysClient(t, addr, "alice", seedID(t, 2), helloAll)
	bobID := seedID(t, 3)
	leave(t, s, keysClient(t, addr, "bob", bobID, helloAll), "bob")
	const n = 1000
	pad := strings.Repeat("z", 1000)
	t0 := time.Now()
	var puts []byte
	for i := 1; i <= n; i++ {
		puts = wire.AppendFrame(puts, fmt.Appendf(nil, "MBOX_PUT bob %d %d %s", i, i, pad))
	}
	go func() { // while the answers are read
		a.nc.SetWriteDeadline(time.Now().Add(waitDeadline))
		if _, err := a.nc.Write(puts); err != nil {
			t.Error(err)
		}
	}()
	for i := 1; i <= n; i++ {
		a.expectData(fmt.Sprintf("MBOX_OK bob %d", i))
	}
	t.Logf("%d puts of 1 KB stored (fsync'ed) in %v", n, time.Since(t0))
	t0 = time.Now()
	b := keysClient(t, addr, "bob", bobID, helloAll)
	for i := 1; i <= n; i++ {
		b.expectData(mbox("alice", i, fmt.Sprintf("%d %s", i, pad)))
		b.send(fmt.Sprintf("MBOX_ACK alice %d", i))
	}
	t.Logf("%d items of 1 KB delivered in %v", n, time.Since(t0))
	if st := s.Stats(); st.Closed[ClosedQueueOverflow] != 0 {
		t.Fatalf("closed: %v", st.Closed)
	}
}
