package report

import (
	"time"
)

// Live is one store's walk as it is now, for the reports page and
// <Prefix>/current.json.
type Live struct {
	Store string `json:"store"`
	// State is derived by State(); filled in for JSON.
	State       string    `json:"state"`
	Up          bool      `json:"up"`
	Paused      bool      `json:"paused"`
	PausedSince time.Time `json:"paused_since,omitzero"`
	// Progress is the share of the pass under way done, 0..1 (1 between
	// passes), estimated from Expected.
	Progress float64 `json:"progress"`
	// Expected is the estimated record count of the pass under way.
	Expected int64 `json:"expected_records,omitempty"`
	// Rate is the records per second the pacer allows now; 0 when
	// unlimited or idle.
	Rate         float64   `json:"rate_records_per_second"`
	Deadline     time.Time `json:"deadline,omitzero"`
	PredictedEnd time.Time `json:"predicted_end,omitzero"`
	// NextPass is when the next pass starts, between passes.
	NextPass time.Time `json:"next_pass,omitzero"`
	// Current is the pass under way (Complete false); nil between passes.
	Current *Report `json:"current"`
	// Last is the last complete pass as it stands now: failures that a
	// re-check found fixed are gone from it. nil before the first.
	Last *Report `json:"last"`
	// Fixed lists recently fixed failures, newest first.
	Fixed []FixedFailure `json:"fixed"`
}

// The states a store's walk can be in, as the page's badge and
// current.json's "state" name them.
const (
	StateRunning   = "running"    // a pass is under way
	StatePaused    = "paused"     // POST /-/pause: nothing is verified
	StateStoreDown = "store-down" // the store cannot be reached
	StateWaiting   = "waiting"    // between passes, until NextPass
)

// StateName returns the walk's state; a down store or a pause wins over
// a pass under way.
func (l *Live) StateName() string {
	switch {
	case !l.Up:
		return StateStoreDown
	case l.Paused:
		return StatePaused
	case l.Current != nil:
		return StateRunning
	default:
		return StateWaiting
	}
}

// Late reports whether the pass under way is predicted to end after its
// deadline.
func (l *Live) Late() bool {
	return l.Current != nil && !l.Deadline.IsZero() && !l.PredictedEnd.IsZero() && l.PredictedEnd.After(l.Deadline)
}

// Open returns the store's open failures, each record once: those the
// pass under way has found, then those of the last complete pass it has
// not reached yet (or not found again). A record is the same when its
// Match and Reason are.
func (l *Live) Open() []Failure {
	var out []Failure
	seen := map[[2]string]bool{}
	add := func(r *Report) {
		if r == nil {
			return
		}
		for _, f := range r.Failures {
			k := [2]string{f.Match(), f.Reason}
			if !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	}
	add(l.Current)
	add(l.Last)
	return out
}

// Truncated is how many failures the passes counted but did not list:
// the larger of the two passes' (they count the same records twice when
// both list them).
func (l *Live) Truncated() int64 {
	var n int64
	for _, r := range []*Report{l.Current, l.Last} {
		if r != nil {
			n = max(n, r.FailuresTruncated)
		}
	}
	return n
}
