package history

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"peerchat/core/delivery"
)

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    Message
	}{
		{"zero", Message{}},
		{"typical", msg(7)},
		{"system", Message{Text: "bob joined", Time: t0, Kind: KindSystem}},
		{"ours failed", Message{ID: 1<<64 - 1, From: "me", Text: "lost", Time: t0, State: delivery.Failed}},
		{"ours sent", Message{ID: 2, From: "me", Text: "✓", Time: t0, State: delivery.Sent}},
		{"unicode", Message{From: "Zoë", Text: "héllo 👋\n\"quoted\"", Time: t0}},
		{"before 1970", Message{Text: "old", Time: time.Date(1960, 1, 2, 3, 4, 5, 6, time.UTC)}},
		{"long text", Message{Text: strings.Repeat("x", 1<<20), Time: t0}},
		{"invalid utf8 kept", Message{Text: "\xff\xfe", Time: t0}},
		{"signature mark", Message{From: "bob", Text: "signed", Time: t0, Signature: 3}},
		{"largest mark", Message{From: "bob", Text: "", Time: t0, Signature: 0xff}},
		{"file", Message{From: "bob", Text: `{"name":"a.png"}`, Time: t0, Kind: KindFile, State: delivery.Delivered}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := appendMessage(nil, tt.m)
			if len(b) > encodedLen(tt.m) {
				t.Errorf("record of %d bytes, encodedLen %d", len(b), encodedLen(tt.m))
			}
			got, err := decodeMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			if !sameMessage(got, tt.m) || got.Time.IsZero() != tt.m.Time.IsZero() {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.m)
			}
		})
	}
}

// TestCodecLayout pins the version 1 record byte for byte: a change here
// is a change of the file format and needs a new version.
func TestCodecLayout(t *testing.T) {
	m := Message{ID: 300, From: "ab", Text: "hi", Time: time.Unix(1, 2), Kind: KindSystem, State: delivery.Delivered}
	want := []byte{
		1,          // version
		1,          // kind
		2,          // state
		0xac, 0x02, // id 300
		0x02,        // seconds 1 (zigzag)
		0x02,        // nanoseconds 2
		2, 'a', 'b', // from
		2, 'h', 'i', // text
	}
	if got := appendMessage(nil, m); !bytes.Equal(got, want) {
		t.Fatalf("record = % x, want % x", got, want)
	}
}

// TestCodecLayoutSig pins the version 2 record (a message with a signature
// mark): version 1's fields, then the mark. A message without a mark is
// still written as version 1 (TestCodecLayout), so a history written
// before marks existed reads as before, and one written since without
// marks is read by older versions.
func TestCodecLayoutSig(t *testing.T) {
	m := Message{ID: 300, From: "ab", Text: "hi", Time: time.Unix(1, 2), State: delivery.Delivered, Signature: 3}
	want := []byte{
		2,          // version
		0,          // kind
		2,          // state
		0xac, 0x02, // id 300
		0x02,        // seconds 1 (zigzag)
		0x02,        // nanoseconds 2
		2, 'a', 'b', // from
		2, 'h', 'i', // text
		3, // signature mark
	}
	if got := appendMessage(nil, m); !bytes.Equal(got, want) {
		t.Fatalf("record = % x, want % x", got, want)
	}
	// A version 1 record, as every earlier version wrote it, decodes
	// without a mark.
	old := []byte{1, 0, 2, 0xac, 0x02, 0x02, 0x02, 2, 'a', 'b', 2, 'h', 'i'}
	got, err := decodeMessage(old)
	if err != nil || got.Signature != 0 || got.Text != "hi" || got.ID != 300 {
		t.Fatalf("version 1 record: %+v, %v", got, err)
	}
	m.Signature = 0
	if b := appendMessage(nil, m); !bytes.Equal(b, old) {
		t.Fatalf("without a mark: % x, want version 1 % x", b, old)
	}
	for _, rec := range [][]byte{old, want} {
		sec, nsec, text, ok := searchFields(rec)
		if !ok || sec != 1 || nsec != 2 || string(text) != "hi" {
			t.Fatalf("searchFields(% x) = %d %d %q %v", rec, sec, nsec, text, ok)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := appendMessage(nil, Message{ID: 5, From: "a", Text: "bc", Time: t0})
	sig := appendMessage(nil, Message{ID: 5, From: "a", Text: "bc", Time: t0, Signature: 2})
	tests := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrCorrupt},
		{"newer version", []byte{3, 0, 0}, ErrVersion},
		{"version 2 without mark", append([]byte{2}, good[1:]...), ErrCorrupt},
		{"version 2 mark zero", append(append([]byte{2}, good[1:]...), 0), ErrCorrupt},
		{"version 2 mark too big", append(append([]byte{2}, good[1:]...), 0x80, 0x02), ErrCorrupt},
		{"version 2 trailing", append(bytes.Clone(sig), 0), ErrCorrupt},
		{"version zero", []byte{0}, ErrVersion},
		{"short", []byte{1, 0}, ErrCorrupt},
		{"bad kind", []byte{1, 7, 0, 0, 0, 0, 0, 0}, ErrCorrupt},
		{"bad state", []byte{1, 0, 7, 0, 0, 0, 0, 0}, ErrCorrupt},
		{"first unknown state", []byte{1, 0, 7, 0, 0, 0, 0, 0}, ErrCorrupt},
		{"no fields", []byte{1, 0, 0}, ErrCorrupt},
		{"truncated", good[:len(good)-1], ErrCorrupt},
		{"trailing", append(bytes.Clone(good), 0), ErrCorrupt},
		{"string too long", []byte{1, 0, 0, 0, 0, 0, 5, 'a'}, ErrCorrupt},
		{"nanoseconds overflow", []byte{1, 0, 0, 0, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0, 0}, ErrCorrupt},
		{"varint overflow", []byte{1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := decodeMessage(tt.b); !errors.Is(err, tt.err) {
				t.Fatalf("decodeMessage(% x) = %+v, %v; want %v", tt.b, m, err, tt.err)
			}
		})
	}
}

func TestThreadRecord(t *testing.T) {
	r := threadRecord{count: 12345, last: t0}
	got, err := decodeThread(appendThread(nil, r))
	if err != nil || got.count != r.count || !got.last.Equal(r.last) {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, r)
	}
	for _, b := range [][]byte{nil, {2}, {1}, {1, 1, 0, 0, 0}, {1, 1, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03}} {
		if _, err := decodeThread(b); err == nil {
			t.Errorf("decodeThread(% x) succeeded", b)
		}
	}
}

// FuzzDecodeMessage checks that the decoder never panics, and that whatever
// it accepts encodes back to a record that decodes to the same message.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(appendMessage(nil, Message{}))
	f.Add(appendMessage(nil, Message{From: "bob", Text: "signed", Time: t0, Signature: 1}))
	f.Add(appendMessage(nil, msg(1)))
	f.Add(appendMessage(nil, Message{ID: 9, From: "me", Text: "sent", Time: t0, State: delivery.Sent}))
	f.Add(appendMessage(nil, Message{ID: 1 << 63, From: "Zoë", Text: "👋", Time: t0, Kind: KindSystem, State: delivery.Failed}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 5, 'a'})
	f.Add([]byte{2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrVersion", err)
			}
			return
		}
		if m.Kind == KindMessage {
			// Search reads the same records without decoding them.
			if _, _, text, ok := searchFields(b); !ok || string(text) != m.Text {
				t.Fatalf("searchFields = %q, %v; decoded text %q", text, ok, m.Text)
			}
		}
		again, err := decodeMessage(appendMessage(nil, m))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !sameMessage(again, m) {
			t.Fatalf("re-encoding changed the message:\n%+v\n%+v", m, again)
		}
		if len(m.From)+len(m.Text) > len(b) {
			t.Fatalf("decoded %d bytes of strings from %d bytes", len(m.From)+len(m.Text), len(b))
		}
	})
}

// FuzzDecodeThread does the same for thread records.
func FuzzDecodeThread(f *testing.F) {
	f.Add(appendThread(nil, threadRecord{count: 3, last: t0}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeThread(b)
		if err != nil {
			return
		}
		again, err := decodeThread(appendThread(nil, r))
		if err != nil || again.count != r.count || !again.last.Equal(r.last) {
			t.Fatalf("re-encoding %+v gave %+v, %v", r, again, err)
		}
	})
}

// TestStateValues pins the stored numbers of the delivery states: records
// written before Sent existed must read the same.
func TestStateValues(t *testing.T) {
	for st, b := range map[delivery.State]byte{
		delivery.Received: 0, delivery.Pending: 1, delivery.Delivered: 2, delivery.Failed: 3, delivery.Sent: 4, delivery.Stored: 5, delivery.Read: 6,
	} {
		rec := appendMessage(nil, Message{State: st})
		if rec[2] != b {
			t.Errorf("%v stored as %d, want %d", st, rec[2], b)
		}
		if m, err := decodeMessage(rec); err != nil || m.State != st {
			t.Errorf("%v: decoded %v, %v", st, m.State, err)
		}
	}
}
