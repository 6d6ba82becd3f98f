package report

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultMaxFailures is the default cap on listed failures
// (--report.max-failures).
const DefaultMaxFailures = 1000

// ValidateMaxFailures checks a --report.max-failures value. The cap must be
// at least 1: an unlimited list would let a wholly corrupt store exhaust
// memory.
func ValidateMaxFailures(n int) error {
	if n < 1 {
		return fmt.Errorf("--report.max-failures must be at least 1, got %d: the counts stay exact, only the list is capped", n)
	}
	return nil
}

// Builder accumulates one pass's outcome: exact counts, and the first
// failures up to a cap. Memory is bounded by the cap whatever the number of
// failures. It is safe for concurrent use, so the HTTP side may snapshot a
// running pass while the walk feeds it.
type Builder struct {
	mu         sync.Mutex
	store      string
	started    time.Time
	max        int
	checked    int64
	ok         int64
	failed     int64
	truncated  int64
	failures   []Failure
	byCheck    map[string]int64
	keyRecords []int64
}

// NewBuilder starts a report for store, listing at most maxFailures failures.
// maxFailures below 1 is treated as 1; validate the flag with
// ValidateMaxFailures first.
func NewBuilder(store string, maxFailures int, started time.Time) *Builder {
	if maxFailures < 1 {
		maxFailures = 1
	}
	return &Builder{
		store:   store,
		started: started.UTC(),
		max:     maxFailures,
		byCheck: map[string]int64{},
	}
}

// Resume rebuilds a builder from a report snapshot (one taken from a running
// pass and kept in the state file), so that a pass resumed after a restart
// goes on counting from where it was. Listed failures beyond maxFailures
// move to the truncated count. r is not modified.
func Resume(r *Report, maxFailures int) *Builder {
	b := NewBuilder(r.Store, maxFailures, r.StartedAt)
	b.checked, b.ok, b.failed = r.Checked, r.OK, r.Failed
	b.truncated = r.FailuresTruncated
	n := min(len(r.Failures), b.max)
	b.failures = slices.Clone(r.Failures[:n])
	b.truncated += int64(len(r.Failures) - n)
	for c, v := range r.FailuresByCheck {
		b.byCheck[c] = v
	}
	b.keyRecords = slices.Clone(r.KeyRecords)
	return b
}

// OK records one record that passed every check.
func (b *Builder) OK() {
	b.mu.Lock()
	b.checked++
	b.ok++
	b.mu.Unlock()
}

// Fail records one failing record (or, for reason "missing", one record
// found absent: it counts as checked too, so Checked == OK + Failed holds).
// The failure is listed while the list is below the cap; past it only the
// counts grow.
func (b *Builder) Fail(f Failure) {
	b.mu.Lock()
	b.checked++
	b.failed++
	b.byCheck[f.Reason]++
	if len(b.failures) < b.max {
		b.failures = append(b.failures, f)
	} else {
		b.truncated++
	}
	b.mu.Unlock()
}

// KeyVerified counts one record whose signature key number key (its
// position in the configured key list, 0 = current) verified. It does not
// count the record as checked: call OK or Fail for that as well.
func (b *Builder) KeyVerified(key int) {
	if key < 0 {
		return
	}
	b.mu.Lock()
	if key >= len(b.keyRecords) {
		b.keyRecords = append(b.keyRecords, make([]int64, key+1-len(b.keyRecords))...)
	}
	b.keyRecords[key]++
	b.mu.Unlock()
}

// Resolve takes back a listed failure that a re-check found fixed (a record
// restored from backup): the first listed failure with the same ID, Reason
// and Key (Detail is ignored) is removed, and the counts move it from failed
// to ok. It reports whether one was found. Failures past the cap were never
// listed and cannot be resolved by identity; they stay counted until the
// next pass.
func (b *Builder) Resolve(f Failure) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.failures, func(g Failure) bool {
		return g.ID == f.ID && g.Reason == f.Reason && g.Key == f.Key
	})
	if i < 0 {
		return false
	}
	b.failures = slices.Delete(b.failures, i, i+1)
	b.failed--
	b.ok++
	if b.byCheck[f.Reason]--; b.byCheck[f.Reason] <= 0 {
		delete(b.byCheck, f.Reason)
	}
	return true
}

// Failures returns a copy of the listed failures, for re-checks.
func (b *Builder) Failures() []Failure {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.failures)
}

// Report returns a snapshot of the counts and the list so far. The builder
// is left as it is and may go on; the snapshot shares nothing with it.
// Canonical, Host and Version are the caller's to fill in.
func (b *Builder) Report(finished time.Time, complete bool) *Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	byCheck := make(map[string]int64, len(b.byCheck))
	for c, v := range b.byCheck {
		byCheck[c] = v
	}
	failures := make([]Failure, len(b.failures))
	copy(failures, b.failures)
	return &Report{
		Checked:           b.checked,
		OK:                b.ok,
		Failed:            b.failed,
		Failures:          failures,
		Store:             b.store,
		StartedAt:         b.started,
		FinishedAt:        finished.UTC(),
		Complete:          complete,
		FailuresByCheck:   byCheck,
		FailuresTruncated: b.truncated,
		KeyRecords:        slices.Clone(b.keyRecords),
	}
}
