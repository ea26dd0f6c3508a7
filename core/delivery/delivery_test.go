package delivery

import "testing"

func TestAdvances(t *testing.T) {
	for _, tc := range []struct {
		from, to State
		want     bool
	}{
		{Pending, Sent, true},
		{Pending, Delivered, true},
		{Sent, Delivered, true},
		{Pending, Failed, true},
		{Sent, Failed, true},
		{Sent, Stored, true},
		{Stored, Delivered, true},
		{Stored, Failed, true},
		{Stored, Sent, false},
		{Delivered, Stored, false},
		{Delivered, Read, true},
		{Stored, Read, true},
		{Read, Delivered, false},
		{Failed, Read, false},
		{Sent, Pending, false},
		{Delivered, Sent, false},
		{Delivered, Failed, false},
		{Failed, Delivered, false},
		{Received, Sent, false},
		{Pending, Received, false},
		{Pending, State(9), false},
	} {
		if got := tc.from.Advances(tc.to); got != tc.want {
			t.Errorf("%v.Advances(%v) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

// TestStoredValues pins the numbers package history writes to disk.
func TestStoredValues(t *testing.T) {
	want := map[State]uint8{Received: 0, Pending: 1, Delivered: 2, Failed: 3, Sent: 4, Stored: 5, Read: 6}
	for s, v := range want {
		if uint8(s) != v || !s.Valid() || s.String() == "" {
			t.Errorf("%v = %d, want %d", s, uint8(s), v)
		}
	}
	if State(numStates).Valid() || State(numStates).String() != "State(7)" {
		t.Errorf("State(%d) is valid or misnamed", numStates)
	}
}
