package collector

import (
	"math"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
)

// PassStatus is a snapshot of one pass's counts.
type PassStatus struct {
	Checked    int64
	ByCheck    []int64 // indexed like verify.Checks
	KeyRecords []int64
	Started    time.Time
	Deadline   time.Time
	Expected   int64
}

func (p *Pass) status() PassStatus {
	return PassStatus{
		Checked:    p.Checked,
		ByCheck:    append([]int64(nil), p.ByCheck...),
		KeyRecords: append([]int64(nil), p.KeyRecords...),
		Started:    p.Started,
		Deadline:   p.Deadline,
		Expected:   p.Expected,
	}
}

// Failed is the number of failing records.
func (p PassStatus) Failed() int64 { return total(p.ByCheck) }

// StatusSource is a runner, or the cross-store comparison: what
// collector/metrics and the landing page read.
type StatusSource interface {
	Status() Status
}

// Status is a snapshot of a runner for metrics and the landing page.
type Status struct {
	Store    string
	Up       bool
	Current  *PassStatus // nil between passes
	Last     *PassStatus // nil before the first complete pass
	Finished time.Time   // when the last pass ended
	Duration time.Duration

	// SigningKeys is how many signing keys (--verify.key-file) verify
	// signatures; 0 when the signature check is off.
	SigningKeys int

	Verified, ReadErrors, Passes, ReportErrors, StateErrors uint64

	LastProgress time.Time
	Active       bool // the walk should be making progress now
	Paused       bool
	PausedSince  time.Time // zero when not paused
	Rate         float64   // records/s the pacer allows; +Inf unpaced
	PredictedEnd time.Time
	Missing      int64
}

// OK is the last_status: no failure in the last complete pass nor so far
// in the current one.
func (s Status) OK() bool {
	return (s.Current == nil || s.Current.Failed() == 0) && (s.Last == nil || s.Last.Failed() == 0)
}

// Progress is the share of the current pass done, 0..1.
func (s Status) Progress() float64 {
	c := s.Current
	switch {
	case c == nil:
		return 1
	case c.Expected <= 0:
		return 0
	}
	return math.Min(1, float64(c.Checked)/float64(c.Expected))
}

// Status returns a snapshot.
func (r *Runner) Status() Status {
	r.mu.Lock()
	s := Status{
		Store:        r.Name(),
		Up:           r.up,
		SigningKeys:  r.cfg.Verifier.KeyCount(),
		Verified:     r.counters.verified,
		ReadErrors:   r.counters.readErrors,
		Passes:       r.counters.passes,
		ReportErrors: r.counters.reportErrors,
		StateErrors:  r.counters.stateErrors,
		LastProgress: r.lastProg,
		Paused:       r.paused,
		PausedSince:  r.pausedAt,
		Missing:      r.missing,
		Rate:         math.Inf(1),
	}
	if r.cur != nil {
		c := r.cur.status()
		s.Current = &c
	}
	if r.last != nil {
		l := r.last.Pass.status()
		s.Last = &l
		s.Finished = r.last.Finished
		s.Duration = r.last.Duration
	}
	waiting := r.waiting
	r.mu.Unlock()
	s.Active = s.Current != nil && !s.Paused && !waiting
	if r.cfg.Pacer != nil && s.Current != nil {
		ps := r.cfg.Pacer.Status()
		s.Rate = ps.Rate
		s.PredictedEnd = ps.PredictedEnd
		s.Active = s.Active && ps.Active
		if s.Current.Deadline.IsZero() {
			s.Current.Deadline = ps.Deadline
		}
	}
	return s
}

// CurrentReport renders the pass under way as an incomplete report (nil
// between passes), for the reports page.
func (r *Runner) CurrentReport() *report.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return nil
	}
	rep := r.cur.Report(r.now(), false)
	rep.Fixed = r.fixedListLocked()
	return rep
}
