package server

import (
	"bytes"
	"net"
	"testing"
	"time"

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
