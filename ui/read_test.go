package ui

import (
	"slices"
	"testing"

	"peerchat/core/delivery"
)

// TestReadMarks: in the read-receipts screen, our read messages are marked
// "Read" for screen readers and tooltips, the delivered one "Delivered",
// and the model holds those states.
func TestReadMarks(t *testing.T) {
	i := slices.IndexFunc(relayScenarios(), func(s scenario) bool { return s.name == "read-receipts" })
	if i < 0 {
		t.Fatal("no read-receipts scenario")
	}
	h := newHarness(t, &fakeBackend{}, 1280, 800)
	relayScenarios()[i].setup(h)
	h.frame()
	count := map[string]int{}
	for _, n := range h.semNodes() {
		count[n.Desc.Label]++
	}
	if count["Read"] != 2 || count["Delivered"] != 1 {
		t.Fatalf("labels: Read %d, Delivered %d; want 2 and 1", count["Read"], count["Delivered"])
	}
	var got []delivery.State
	for _, m := range h.chat().m.Thread("bruno").Messages {
		if m.Mine {
			got = append(got, m.State)
		}
	}
	want := []delivery.State{delivery.Read, delivery.Read, delivery.Delivered, delivery.Stored}
	if !slices.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
}
