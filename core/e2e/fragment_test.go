package e2e

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"peerchat/core/wire"
)

// TestRelayFragment: a message of MaxMessage bytes sealed with RelayFragment
// makes frames that each fit the server's default payload limit behind
// "RELAYED <nick> <chan> " (nick of 32 four-byte characters, chan of 32),
// and the receiver, which knows nothing of the fragment size, opens it.
func TestRelayFragment(t *testing.T) {
	ci, cr := tcpPair(t)
	alice, bob := sessions(t, ci, cr)
	alice.SetMaxFragment(RelayFragment)
	msg := make([]byte, MaxMessage)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	buf, err := alice.Seal(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	nick := strings.Repeat("𝄞", wire.MaxNickLen)
	chn := strings.Repeat("c", wire.MaxChanLen)
	frames, largest := 0, 0
	for len(buf) > 0 {
		p, n, err := wire.SplitFrame(buf, wire.DefaultPeerPayload)
		if err != nil || n == 0 {
			t.Fatalf("frame %d: %v", frames, err)
		}
		buf = buf[n:]
		frames++
		largest = max(largest, len(p))
		relayed := wire.Relayed{From: nick, Chan: chn, Data: string(p)}.AppendPayload(nil)
		if len(relayed) > wire.DefaultServerPayload {
			t.Fatalf("frame %d: RELAYED payload of %d bytes, limit %d", frames, len(relayed), wire.DefaultServerPayload)
		}
		got, complete, err := bob.Open(p)
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		if complete != (len(buf) == 0) {
			t.Fatalf("frame %d: complete %v with %d bytes left", frames, complete, len(buf))
		}
		if complete && !bytes.Equal(got, msg) {
			t.Fatal("message differs")
		}
	}
	if want := (MaxMessage + RelayFragment - 1) / RelayFragment; frames != want {
		t.Errorf("%d frames, want %d", frames, want)
	}
	if largest != 64_399 {
		t.Errorf("largest E2E payload %d bytes, the doc says 64,399", largest)
	}
	// 56 KiB, the next whole KiB, would not fit.
	if n := 4 + pack7Len(56<<10+headerLen+tagLen); n <= wire.DefaultServerPayload {
		t.Errorf("56 KiB fragments make %d-byte payloads: RelayFragment is not the largest", n)
	}
}

// TestSetMaxFragmentClamp: the fragment size is clamped to [1 KiB,
// MaxFragment], and a message is split accordingly.
func TestSetMaxFragmentClamp(t *testing.T) {
	ci, cr := tcpPair(t)
	alice, bob := sessions(t, ci, cr)
	for _, c := range []struct{ set, want int }{
		{0, 1 << 10}, {-5, 1 << 10}, {1500, 1500}, {MaxFragment + 1, MaxFragment}, {1 << 30, MaxFragment},
	} {
		alice.SetMaxFragment(c.set)
		msg := bytes.Repeat([]byte("z"), 3*c.want+1)
		buf, err := alice.Seal(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		frames := 0
		for len(buf) > 0 {
			p, n, err := wire.SplitFrame(buf, wire.DefaultPeerPayload)
			if err != nil || n == 0 {
				t.Fatal(err)
			}
			buf = buf[n:]
			frames++
			got, complete, err := bob.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if complete && !bytes.Equal(got, msg) {
				t.Fatalf("set %d: message differs", c.set)
			}
		}
		if frames != 4 {
			t.Errorf("set %d: %d frames, want 4 of %d bytes", c.set, frames, c.want)
		}
	}
	if _, err := alice.Seal(nil, make([]byte, MaxMessage+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("above MaxMessage: %v", err)
	}
}
