package server

import (
	"bytes"
	"encoding/binary"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// FuzzServerCommands feeds arbitrary frames from a registered client (and,
// when raw is set, arbitrary bytes from an unregistered one) into a live
// server, and checks that the server stays healthy: the connection ends or
// keeps working, and a fresh client can still register and broadcast.
func FuzzServerCommands(f *testing.F) {
	seeds := []struct {
		data string
		raw  bool
	}{
		{"BROADCAST hi\nHELLO 2 heartbeat bcast caps notice\nPING x\nPONG y", false},
		{"REGISTER a 1\nPORT a 2\nHELLO\nHELLO 0\nHELLO 2 " + string(bytes.Repeat([]byte("f "), 100)), false},
		{"BCAST 1 2 x y\nCAPS\nNOTICE\nJOINED a b c d\nLEFT\nERROR x\nNICKNAME_TAKEN", false},
		{"\xff\n\n\n", false},
		{"abc       ", true},
		{"5         hello9999999999", true},
		{"14        REGISTER a 1", true},
	}
	for _, s := range seeds {
		f.Add([]byte(s.data), s.raw)
	}
	cfg := testConfig()
	cfg.RegisterTimeout = 200 * time.Millisecond
	cfg.FrameTimeout = 100 * time.Millisecond
	cfg.PayloadLimit = 1024
	s, addr := startServer(f, cfg)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		accepted := s.Stats().Accepted
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		if !raw {
			out = wire.AppendFrame(out, []byte("REGISTER fz 1"))
			out = wire.AppendFrame(out, []byte("PORT fz 2"))
			for p := range bytes.SplitSeq(data, []byte("\n")) {
				if len(p) <= cfg.PayloadLimit {
					out = wire.AppendFrame(out, p)
				}
			}
		} else {
			out = data
		}
		nc.SetWriteDeadline(time.Now().Add(waitDeadline))
		nc.Write(out)
		nc.Close()
		closed := func() bool { st := s.Stats(); return st.Accepted > accepted && st.Conns == 0 }
		waitFor(t, "fuzz connection closed", closed)
		accepted++

		c := dial(t, addr)
		c.register("probe", 1, 2)
		c.send("BROADCAST ok")
		c.expect("BROADCAST probe: ok")
		c.nc.Close()
		waitFor(t, "probe closed", closed)
	})
}

// FuzzServerKeys is FuzzServerCommands on a server with a key: arbitrary
// frames after HELLO … keys (mode 0), or after REGISTER and PORT for a nick
// held by a key (mode 1: the held-nick stages), and arbitrary bytes (mode
// 2). The server stays healthy and the held nick stays held.
func FuzzServerKeys(f *testing.F) {
	id := seedID(f, 2)
	sent := time.UnixMilli(1764100000123)
	sig := make([]byte, 64)
	key := id.Public().String()
	seeds := []struct {
		data string
		mode byte
	}{
		{"IDENT " + key + " Y2xpZW50LW5vbmNlLTE2Yg " + strings.Repeat("A", 86), 0},
		{payload(wire.SignedBroadcast{Time: sent, Sig: sig, Text: "hi"}) + "\nIDENT x y z\nSKEY a b\nSIDENT c\nKEY a b", 0},
		{helloKeys + "\nIDENT " + key + " Y2xpZW50LW5vbmNlLTE2Yg " + strings.Repeat("A", 86), 1},
		{"HELLO 2 heartbeat\nBROADCAST x", 1},
		{"BROADCAST x", 1},
		{"14        REGISTER held 1", 2},
	}
	for _, s := range seeds {
		f.Add([]byte(s.data), s.mode)
	}
	cfg := keysConfig(f)
	cfg.RegisterTimeout = 200 * time.Millisecond
	cfg.FrameTimeout = 100 * time.Millisecond
	cfg.PayloadLimit = 1024
	cfg.Nicks = newMemNickStore()
	if err := cfg.Nicks.Bind(Binding{Nick: "held", Key: id.Public(), Seen: cfg.Now()}); err != nil {
		f.Fatal(err)
	}
	s, addr := startServer(f, cfg)
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		accepted := s.Stats().Accepted
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		switch mode % 3 {
		case 0:
			for _, p := range []string{"REGISTER fz 1", "PORT fz 2", helloKeys} {
				out = wire.AppendFrame(out, []byte(p))
			}
		case 1:
			for _, p := range []string{"REGISTER held 1", "PORT held 2"} {
				out = wire.AppendFrame(out, []byte(p))
			}
		}
		if mode%3 == 2 {
			out = data
		} else {
			for p := range bytes.SplitSeq(data, []byte("\n")) {
				if len(p) <= cfg.PayloadLimit {
					out = wire.AppendFrame(out, p)
				}
			}
		}
		nc.SetWriteDeadline(time.Now().Add(waitDeadline))
		nc.Write(out)
		nc.Close()
		closed := func() bool { st := s.Stats(); return st.Accepted > accepted && st.Conns == 0 }
		waitFor(t, "fuzz connection closed", closed)
		accepted++

		c := dial(t, addr)
		c.send("REGISTER held 1")
		c.send("PORT held 2")
		c.send("HELLO 2 bcast")
		if got := c.expectClosed(); !slices.Equal(got, []string{welcomeKeys, "NICKNAME_TAKEN"}) {
			t.Fatalf("held nick: got %q", got)
		}
		waitFor(t, "held probe closed", closed)
		accepted++
		c = dial(t, addr)
		c.send("REGISTER probe 1")
		c.send("PORT probe 2")
		c.expect(welcomeKeys)
		c.send("BROADCAST ok")
		c.expect("BROADCAST probe: ok")
		c.nc.Close()
		waitFor(t, "probe closed", closed)
	})
}

// FuzzMailRecords: the mailbox database's records (items and kept
// broadcasts) decode without panicking whatever the bytes, and what
// encodes decodes to the same.
func FuzzMailRecords(f *testing.F) {
	it := mailItem{FromKey: make([]byte, identity.PublicSize), From: "alice", To: "Bob", ID: 7, Time: time.UnixMilli(5), Data: "sealed"}
	f.Add(binary.BigEndian.AppendUint64(make([]byte, identity.PublicSize), 3), encodeItem(&it))
	k := newKept(kept{id: 9, seq: 2, time: time.UnixMilli(5), sent: time.UnixMilli(4), from: "bob", text: "hi", sig: make([]byte, 64)})
	f.Add(u64(9), encodeKept(k))
	f.Fuzz(func(t *testing.T, key, v []byte) {
		if it, err := decodeItem(key, v); err == nil {
			again, err := decodeItem(key, encodeItem(&it))
			if err != nil || again.From != it.From || again.To != it.To || again.Data != it.Data || again.ID != it.ID || !bytes.Equal(again.FromKey, it.FromKey) {
				t.Fatalf("item %+v -> %+v, %v", it, again, err)
			}
		}
		if k, ok := decodeKept(key, v); ok {
			again, ok := decodeKept(key, encodeKept(k))
			if !ok || again.from != k.from || again.text != k.text || !bytes.Equal(again.sig, k.sig) || !bytes.Equal(again.sv2, k.sv2) {
				t.Fatalf("kept %+v -> %+v", k, again)
			}
		}
	})
}

// FuzzServerRelayMailbox feeds arbitrary frames from a proved client that
// listed relay, mailbox and replay (with a proved peer "bob" connected)
// into a live server, and checks that the server stays healthy: two fresh
// proved clients can still relay to each other.
func FuzzServerRelayMailbox(f *testing.F) {
	for _, s := range []string{
		"RELAY bob c x\nMBOX_PUT bob 1 x\nMBOX_ACK bob 1\nSINCE 0",
		"RELAY bob c\nRELAY fz c-_ self\nRELAY nobody c x",
		"MBOX_PUT fz 5 \nMBOX_ACK fz 5\nMBOX_PUT bob 5 a\nMBOX_PUT bob 5 a",
		"SINCE 18446744073709551615\nBROADCAST hi\nSINCE 0",
		"MBOX_PUT y 1 for y\nMBOX_PUT x 2 for x\nMBOX_ACK x 2",
		"MBOX_PUT " + strings.Repeat("n", 300) + " 1 x",
	} {
		f.Add([]byte(s))
	}
	cfg := keysConfig(f)
	cfg.PayloadLimit = 1024
	cfg.MailItems = 5
	cfg.QueueBytes = 8192
	s, addr := startServer(f, cfg)
	gone := func(t *testing.T) { waitFor(t, "every client gone", func() bool { return s.NumPeers() == 0 }) }
	f.Fuzz(func(t *testing.T, data []byte) {
		a := keysClient(t, addr, "fz", seedID(t, 2), helloAll)
		b := keysClient(t, addr, "bob", seedID(t, 3), helloAll)
		var out []byte
		for p := range bytes.SplitSeq(data, []byte("\n")) {
			if len(p) <= cfg.PayloadLimit {
				out = wire.AppendFrame(out, p)
			}
		}
		a.nc.SetWriteDeadline(time.Now().Add(waitDeadline))
		a.nc.Write(out)
		a.nc.Close()
		b.nc.Close()
		gone(t)

		x := keysClient(t, addr, "x", seedID(t, 4), helloAll)
		y := keysClient(t, addr, "y", seedID(t, 5), helloAll)
		x.send("RELAY y c ok")
		for p := y.data(); p != "RELAYED x c ok"; p = y.data() {
			if !strings.HasPrefix(p, "MBOX ") && !strings.HasPrefix(p, "MBOX_DELIVERED ") {
				t.Fatalf("y got %q", p)
			}
		}
		x.nc.Close()
		y.nc.Close()
		gone(t)
	})
}
