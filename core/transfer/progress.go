package transfer

import (
	"math"
	"time"
)

// Progress is a transfer's progress, as the CLI and the UI show it.
type Progress struct {
	Done  int64         // bytes transferred (verified, for a receiver)
	Total int64         // the file's size
	Rate  float64       // smoothed rate, bytes per second (0 until known)
	Left  time.Duration // estimated time left (0 when unknown or done)
	// Wire is how many bytes of this transfer's chunks this side sent,
	// or took from the chat (written or dropped), since the transfer
	// started or resumed in this process: Done less the resumed offset,
	// plus whatever went twice. The client core sets it; a Meter leaves
	// it 0.
	Wire int64
}

// ReportEvery is the shortest interval between two progress reports of a
// Meter (so at most 4 a second).
const ReportEvery = 250 * time.Millisecond

// maxLeft caps Progress.Left.
const maxLeft = 100 * 24 * time.Hour

// rateWindow is the time constant of a Meter's exponential smoothing.
const rateWindow = 2 * time.Second

// Meter turns byte counts into Progress: it smooths the rate with an
// exponentially weighted moving average (time constant 2 s) and says
// when a report is due. The caller passes the time, so a Meter is
// deterministic; it is not safe for concurrent use.
type Meter struct {
	p          Progress
	last       time.Time // time of the last sample
	lastDone   int64
	lastReport time.Time
	rated      bool
}

// NewMeter starts measuring a transfer of total bytes that has done bytes
// already (a resume) at time now.
func NewMeter(total, done int64, now time.Time) *Meter {
	return &Meter{p: Progress{Done: done, Total: total}, last: now, lastDone: done}
}

// Update records that done bytes are transferred at time now. It returns
// the progress and whether to report it: true at most once per
// ReportEvery, and always when done reaches the total.
func (m *Meter) Update(done int64, now time.Time) (p Progress, report bool) {
	if dt := now.Sub(m.last); dt >= 50*time.Millisecond {
		inst := float64(done-m.lastDone) / dt.Seconds()
		if !m.rated {
			m.p.Rate, m.rated = inst, true
		} else {
			alpha := 1 - math.Exp(-dt.Seconds()/rateWindow.Seconds())
			m.p.Rate += alpha * (inst - m.p.Rate)
		}
		m.last, m.lastDone = now, done
	}
	m.p.Done = done
	m.p.Left = 0
	if left := m.p.Total - done; left > 0 && m.p.Rate > 0 {
		secs := math.Min(float64(left)/m.p.Rate, maxLeft.Seconds())
		m.p.Left = time.Duration(secs * float64(time.Second)).Round(time.Second)
	}
	if done >= m.p.Total || m.lastReport.IsZero() || now.Sub(m.lastReport) >= ReportEvery {
		m.lastReport = now
		return m.p, true
	}
	return m.p, false
}

// Progress returns the latest progress.
func (m *Meter) Progress() Progress { return m.p }
