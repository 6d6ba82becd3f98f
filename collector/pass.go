package collector

import (
	"context"
	"errors"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// Pass is the running account of one pass over one store. It is plain
// data, saved as JSON in the progress file, so that a restarted exporter
// resumes the pass where it was with every record counted once.
type Pass struct {
	Store      string    `json:"store"`
	Started    time.Time `json:"started"`
	Deadline   time.Time `json:"deadline,omitzero"`
	Expected   int64     `json:"expected"` // records the pass expects, for progress
	Cursor     []byte    `json:"cursor"`   // the position of the last record the pass consumed (its key, or its store.Record.Cursor); nil before the first
	HaveCursor bool      `json:"have_cursor"`
	Checked    int64     `json:"checked"`
	// ByCheck counts failures per check, indexed like Checks.
	ByCheck    []int64          `json:"by_check"`
	KeyRecords []int64          `json:"key_records"`
	Failures   []report.Failure `json:"failures"` // capped at MaxFailures
	Truncated  int64            `json:"truncated"`
	// MaxFailures caps Failures; the counts stay exact.
	MaxFailures int `json:"max_failures"`
	// KeysFile is how many bytes of this pass's key list are written.
	KeysFileSize int64 `json:"keys_file_size"`
}

// NewPass starts the account of a pass.
func NewPass(storeName string, started time.Time, keys, maxFailures int) *Pass {
	if maxFailures < 1 {
		maxFailures = 1
	}
	return &Pass{
		Store:       storeName,
		Started:     started,
		ByCheck:     make([]int64, len(verify.Checks)),
		KeyRecords:  make([]int64, keys),
		Failures:    []report.Failure{},
		MaxFailures: maxFailures,
	}
}

// Failed is the number of failing records.
func (p *Pass) Failed() int64 { return total(p.ByCheck) }

// total sums per-check counts.
func total(counts []int64) int64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	return n
}

// Count adds one verified record's outcome.
func (p *Pass) Count(o verify.Outcome, f report.Failure) {
	p.Checked++
	if o.KeyIndex >= 0 && o.KeyIndex < len(p.KeyRecords) {
		p.KeyRecords[o.KeyIndex]++
	}
	if o.OK() {
		return
	}
	p.AddFailure(f)
}

// AddFailure counts a failure that is not tied to a checked record in
// this pass's walk (missing records), or one from Count. Its id, key and
// detail are cut to their bounds (report.Failure.Bounded).
func (p *Pass) AddFailure(f report.Failure) {
	if i := verify.CheckIndex(f.Reason); i >= 0 {
		p.ByCheck[i]++
	}
	if len(p.Failures) < p.MaxFailures {
		p.Failures = append(p.Failures, f.Bounded())
	} else {
		p.Truncated++
	}
}

// Carry counts and lists a failure of an earlier pass that is still open:
// this pass did not find it again, and no read found it restored.
// Carried failures are listed beyond MaxFailures, up to twice it, so
// that a pass's own failures never push the evidence of older ones out
// of the report.
func (p *Pass) Carry(f report.Failure) {
	if i := verify.CheckIndex(f.Reason); i >= 0 {
		p.ByCheck[i]++
	}
	if len(p.Failures) < 2*p.MaxFailures {
		p.Failures = append(p.Failures, f.Bounded())
	} else {
		p.Truncated++
	}
}

// List lists a failure that this pass counted but did not list (past
// MaxFailures) because it is an open failure of an earlier pass; the
// counts do not change. Up to twice MaxFailures, like Carry.
func (p *Pass) List(f report.Failure) {
	if p.Truncated > 0 && len(p.Failures) < 2*p.MaxFailures {
		p.Failures = append(p.Failures, f.Bounded())
		p.Truncated--
	}
}

// Fixed removes the listed failure i, which a re-check found fixed.
func (p *Pass) Fixed(i int) {
	f := p.Failures[i]
	if j := verify.CheckIndex(f.Reason); j >= 0 && p.ByCheck[j] > 0 {
		p.ByCheck[j]--
	}
	p.Failures = append(p.Failures[:i], p.Failures[i+1:]...)
}

// Report renders the pass as a report.
func (p *Pass) Report(finished time.Time, complete bool) *report.Report {
	byCheck := map[string]int64{}
	for i, c := range p.ByCheck {
		if c > 0 {
			byCheck[verify.Checks[i]] = c
		}
	}
	failed := p.Failed()
	ok := p.Checked - failed
	if ok < 0 {
		ok = 0 // missing records are failures without a checked record
	}
	return &report.Report{
		Checked:           p.Checked,
		OK:                ok,
		Failed:            failed,
		Failures:          append([]report.Failure{}, p.Failures...),
		Store:             p.Store,
		StartedAt:         p.Started.UTC(),
		FinishedAt:        finished.UTC(),
		Complete:          complete,
		FailuresByCheck:   byCheck,
		FailuresTruncated: p.Truncated,
		KeyRecords:        append([]int64(nil), p.KeyRecords...),
	}
}

// Consumer turns the walk's ordered results into a Pass: it applies the
// duplicate check, re-reads each failure once before counting it, and
// advances the cursor.
type Consumer struct {
	Store     store.Store
	Verifier  *verify.Verifier
	KeyPrefix string // prepended to keys in reports (LevelDB prefix)
	Pass      *Pass
	scratch   *verify.Scratch
}

// Sink is the Walker's sink.
func (c *Consumer) Sink(ctx context.Context) func(Result) error {
	grouped := store.OrderOf(c.Store) != store.Unordered
	return func(r Result) error {
		o := r.Outcome
		if grouped {
			o = c.dedupe(r.Key, o)
		}
		if !o.OK() && o.Check != verify.CheckRead && !o.Unread {
			var keep bool
			o, keep = c.reread(ctx, r.Key, o)
			if !keep {
				return nil
			}
		}
		p := c.Pass
		var f report.Failure
		if !o.OK() {
			f = c.Failure(r.Key, o)
		}
		p.Count(o, f)
		pos := r.Cursor
		if pos == nil {
			pos = r.Key
		}
		p.Cursor = append(p.Cursor[:0], pos...)
		p.HaveCursor = true
		return nil
	}
}

// Failure describes a failing record for the report.
func (c *Consumer) Failure(key []byte, o verify.Outcome) report.Failure {
	id := o.ID
	if id == "" {
		id = string(key)
	}
	return report.Failure{ID: id, Reason: o.Check, Key: c.KeyPrefix + string(key), Detail: o.Detail}
}

// dedupe applies the duplicate check: an id seen earlier in the pass. In
// a walk in key order (any order that keeps equal keys adjacent) a record
// that passed the key check has id == key, so a duplicate is always the
// record right after its twin, and the cursor is that twin's key. An
// Unordered walk is deduplicated after the pass (Runner.afterWalk).
func (c *Consumer) dedupe(key []byte, o verify.Outcome) verify.Outcome {
	p := c.Pass
	if !p.HaveCursor || c.Store.Compare(key, p.Cursor) != 0 {
		return o
	}
	switch o.Check {
	case "", verify.CheckChecksum, verify.CheckSignature, verify.CheckSchema:
		d := verify.Fail(o.ID, verify.CheckDuplicate, "the same id appears more than once in the store")
		d.Sum = o.Sum
		return d
	}
	return o
}

// MaxRereadKeyBytes bounds the keys of failures that are re-read: a Get
// of a key this long makes goleveldb read the table's whole index block,
// which holds such keys too (30 keys of 1 MB: a 30 MB block per Get, the
// largest cost of such a store, docs/RELIABILITY.md section 8). A failure
// with a longer key is counted from its one read, not re-read.
const MaxRereadKeyBytes = 64 << 10

// reread reads a failing record again and verifies it once more, so that a
// record caught mid-write or a transient fault is not reported. keep is
// false when the record is gone (deleted by the app since it was read).
func (c *Consumer) reread(ctx context.Context, key []byte, o verify.Outcome) (verify.Outcome, bool) {
	if o.Check == verify.CheckDuplicate {
		return o, true // a second copy cannot be re-read by key
	}
	if len(key) > MaxRereadKeyBytes {
		return o, true // see MaxRereadKeyBytes
	}
	value, found, err := c.Store.Get(ctx, key)
	switch {
	case err != nil && errors.Is(err, store.ErrUnavailable):
		return o, true
	case err != nil:
		return verify.Fail(o.ID, verify.CheckRead, "re-read failed: "+verify.OneLine(err)), true
	case !found:
		return o, false
	}
	if c.scratch == nil {
		c.scratch = c.Verifier.NewScratch()
	}
	return c.Verifier.Verify(store.Record{Key: key, Value: value}, c.scratch), true
}
