package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"peerchat/core/wire"
)

// helloReplay is helloAll with bcast, so that broadcasts come as BCAST.
const helloReplay = "HELLO 2 notice bcast keys relay mailbox replay"

// bcast is the BCAST of broadcast seq from nick at the test clock.
func bcast(seq int, from, text string) string {
	return payload(wire.Bcast{Seq: uint64(seq), Time: testConfig().Now(), From: from, Text: text})
}

// TestReplay: a replay client gets BID before each broadcast; back after
// missing some, SINCE gets it exactly the missed ones, once, in order,
// then SINCE_END; a client that did not list replay gets no BID; a base
// client hears what it always did.
func TestReplay(t *testing.T) {
	s, addr := startServer(t, keysConfig(t))
	base := dial(t, addr)
	base.send("REGISTER carol 1")
	base.send("PORT carol 2")
	base.expect(welcomeKeys)
	a := keysClient(t, addr, "alice", seedID(t, 2), "HELLO 2 notice bcast keys")
	bobID := seedID(t, 3)
	b := keysClient(t, addr, "bob", bobID, helloReplay)

	a.send("BROADCAST one")
	a.expectData(bcast(1, "alice", "one"))
	b.expectData("BID 1")
	b.expectData(bcast(1, "alice", "one"))
	leave(t, s, b, "bob")
	for i := 2; i <= 6; i++ {
		a.send(fmt.Sprintf("BROADCAST n%d", i))
		a.expectData(bcast(i, "alice", fmt.Sprintf("n%d", i)))
	}
	b = keysClient(t, addr, "bob", bobID, helloReplay)
	a.send("BROADCAST live")
	a.expectData(bcast(7, "alice", "live"))
	b.expectData("BID 7")
	b.expectData(bcast(7, "alice", "live"))
	b.send("SINCE 1")
	for i := 2; i <= 6; i++ {
		b.expectData(fmt.Sprintf("BID %d", i))
		b.expectData(bcast(i, "alice", fmt.Sprintf("n%d", i)))
	}
	b.expectData("SINCE_END 7")
	b.send("SINCE 7")
	b.expectData("SINCE_END 7")
	if st := s.Stats(); st.Replayed != 5 {
		t.Fatalf("replayed %d", st.Replayed)
	}
	a.send("SINCE 0")
	a.expectData("NOTICE unknown_command unexpected SINCE")
	base.expect("JOINED alice 127.0.0.1 1 2")
	base.expect("JOINED bob 127.0.0.1 1 2")
	base.expect("BROADCAST alice: one")
	base.expect("LEFT bob")
	for i := 2; i <= 6; i++ {
		base.expect(fmt.Sprintf("BROADCAST alice: n%d", i))
	}
	base.expect("JOINED bob 127.0.0.1 1 2")
	base.expect("BROADCAST alice: live")
}

// TestReplayBounds: SINCE gets at most ReplayCount broadcasts (its first
// BID shows the gap), and an answer over the byte bound ends with the id of
// its last broadcast, from which the client asks again.
func TestReplayBounds(t *testing.T) {
	cfg := keysConfig(t)
	cfg.ReplayCount = 3
	cfg.QueueBytes = 400 // a share of 200 bytes: two broadcasts of 50
	s, addr := startServer(t, cfg)
	a := keysClient(t, addr, "alice", seedID(t, 2), "HELLO 2 notice bcast keys")
	text := strings.Repeat("t", 30)
	for i := 1; i <= 5; i++ {
		a.send("BROADCAST " + text)
		a.expectData(bcast(i, "alice", text))
	}
	b := keysClient(t, addr, "bob", seedID(t, 3), helloReplay)
	b.send("SINCE 0")
	var got []string
	for {
		p := b.data()
		if strings.HasPrefix(p, "SINCE_END ") {
			got = append(got, p)
			if p == "SINCE_END 5" {
				break
			}
			b.send("SINCE " + strings.TrimPrefix(p, "SINCE_END "))
			continue
		}
		if strings.HasPrefix(p, "BID ") {
			got = append(got, p)
		}
	}
	want := "BID 3,BID 4,SINCE_END 4,BID 5,SINCE_END 5"
	if strings.Join(got, ",") != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if st := s.Stats(); st.Replayed != 3 {
		t.Fatalf("replayed %d", st.Replayed)
	}
}

// TestReplaySurvivesRestart: the kept broadcasts and the ids outlive the
// server (its MailStore): after a restart, SINCE gets the broadcasts of
// before, and new ids are larger.
func TestReplaySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ms, err := OpenMailStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	cfg := keysConfig(t)
	cfg.Mail = ms
	ctx, cancel := context.WithCancel(context.Background())
	_, addr, done := serve(t, ctx, cfg)
	a := keysClient(t, addr, "alice", seedID(t, 2), helloReplay)
	for i := 1; i <= 3; i++ {
		a.send(fmt.Sprintf("BROADCAST n%d", i))
		a.expectData(fmt.Sprintf("BID %d", i))
		a.expectData(bcast(i, "alice", fmt.Sprintf("n%d", i)))
	}
	cancel()
	<-done

	_, addr = startServer(t, cfg)
	b := keysClient(t, addr, "bob", seedID(t, 3), helloReplay)
	b.send("BROADCAST after")
	p := b.data()
	var id int
	if _, err := fmt.Sscanf(p, "BID %d", &id); err != nil || id <= 3 {
		t.Fatalf("after a restart: %q", p)
	}
	b.expectData(bcast(1, "bob", "after"))
	b.send("SINCE 1")
	for i := 2; i <= 3; i++ {
		b.expectData(fmt.Sprintf("BID %d", i))
		b.expectData(bcast(i, "alice", fmt.Sprintf("n%d", i)))
	}
	b.expectData(fmt.Sprintf("SINCE_END %d", id))
}
