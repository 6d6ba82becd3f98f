package collector

import (
	"math"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
)

// Live returns the runner's state for the reports page and
// /reports/current.json: the pass under way, the last complete pass as it
// stands now (failures a re-check found fixed are gone from it), the
// recently fixed failures, and whether the walk is paused or the store is
// down.
func (r *Runner) Live() report.Live {
	s := r.Status()
	l := report.Live{
		Store:        s.Store,
		Up:           s.Up,
		Paused:       s.Paused,
		PausedSince:  s.PausedSince,
		Progress:     s.Progress(),
		PredictedEnd: s.PredictedEnd,
	}
	if !math.IsInf(s.Rate, 0) && !math.IsNaN(s.Rate) {
		l.Rate = s.Rate
	}
	if s.Current != nil {
		l.Expected = s.Current.Expected
		l.Deadline = s.Current.Deadline
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.cur != nil {
		l.Current = r.cur.Report(now, false)
	}
	if r.last != nil && r.last.Pass != nil {
		l.Last = r.last.Pass.Report(r.last.Finished, true)
		if r.cur == nil && r.cfg.Pacer != nil {
			l.NextPass = r.last.Pass.Deadline
		}
	}
	l.Fixed = r.fixedListLocked()
	return l
}
