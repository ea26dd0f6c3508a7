package transfer

import (
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	const total = 100 << 20
	m := NewMeter(total, 0, t0)
	reports := 0
	var p Progress
	// 10 MB/s, sampled every 10 ms for 5 s.
	for i := 1; i <= 500; i++ {
		var report bool
		p, report = m.Update(int64(i)*100_000, t0.Add(time.Duration(i)*10*time.Millisecond))
		if report {
			reports++
		}
	}
	if reports > 5*4+1 {
		t.Fatalf("%d reports in 5 s", reports)
	}
	if p.Rate < 9.9e6 || p.Rate > 10.1e6 {
		t.Fatalf("rate %.0f, want 10e6", p.Rate)
	}
	if want := time.Duration(float64(total-p.Done) / 10e6 * float64(time.Second)).Round(time.Second); p.Left != want {
		t.Fatalf("left %v, want %v", p.Left, want)
	}
	// A stall lowers the rate smoothly, not to zero at once.
	p, _ = m.Update(p.Done, t0.Add(5*time.Second+500*time.Millisecond))
	if p.Rate <= 5e6 || p.Rate >= 10e6 {
		t.Fatalf("rate %.0f after a 0.5 s stall", p.Rate)
	}
	// The end is always reported.
	if p, report := m.Update(total, t0.Add(5*time.Second+510*time.Millisecond)); !report || p.Left != 0 || p.Done != total {
		t.Fatalf("end: %+v, %v", p, report)
	}
	if m.Progress().Done != total {
		t.Fatal("Progress")
	}
}

func TestMeterResumedAndIdle(t *testing.T) {
	t0 := time.Unix(0, 0)
	m := NewMeter(1000, 400, t0)
	p, report := m.Update(400, t0)
	if !report || p.Done != 400 || p.Rate != 0 || p.Left != 0 {
		t.Fatalf("first update %+v %v", p, report)
	}
	p, _ = m.Update(401, t0.Add(time.Hour))
	if p.Left != maxLeft && p.Left <= 0 {
		t.Fatalf("left %v at a crawl", p.Left)
	}
}
