// Package report holds the outcome of one verification pass over one store:
// the Report type (README "Reports"), an Archive that writes reports
// atomically into a directory and prunes old ones, and the HTTP views of
// that archive.
//
// It does not count: a pass is accounted by collector.Pass, which renders
// a Report. It knows nothing about stores or checks: check names arrive as
// the Failure.Reason strings the collector gives it. It must not import
// collector/ (which imports it), store/ or exporter/.
package report

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/fielderr"
)

// DefaultMaxFailures is the default cap on listed failures
// (--report.max-failures).
const DefaultMaxFailures = 1000

// ValidateMaxFailures checks a --report.max-failures value. The cap must be
// at least 1: an unlimited list would let a wholly corrupt store exhaust
// memory.
func ValidateMaxFailures(n int) error {
	if n < 1 {
		return fielderr.New("report.MaxFailures", n, "must be at least 1: the counts stay exact, only the list is capped")
	}
	return nil
}

// Failure is one record that failed a check.
type Failure struct {
	// ID is the record's id, or the best name for it when the record could
	// not be decoded (its key).
	ID string `json:"id"`
	// Reason is the name of the first check that failed (README "What is
	// checked").
	Reason string `json:"reason"`
	// Key is the record's full key in the store (LevelDB: prefix included).
	Key string `json:"key"`
	// Detail says what was wrong, for a person. Never key material.
	Detail string `json:"detail,omitempty"`
	// KeySHA256 is the hex SHA-256 of the full key when Key was truncated
	// (see MaxKeyBytes), so the record can still be found and re-checked.
	KeySHA256 string `json:"key_sha256,omitempty"`
	// FirstSeen is when a pass first found this record failing; a failure
	// stays listed, pass after pass, until the record is read again and
	// verifies (see Fixed).
	FirstSeen time.Time `json:"first_seen,omitzero"`
}

// FixedFailure is a failure that a later read found restored: the
// re-check, or a pass that read the record and verified it.
type FixedFailure struct {
	Failure
	// FixedAt is when the record was found restored.
	FixedAt time.Time `json:"fixed_at"`
}

// Report is the outcome of one pass over one store. Its JSON form is the
// archived file and the /reports/latest.json body.
//
// Invariants of a Report as collector.Pass produces it: the values of
// FailuresByCheck sum to Failed; len(Failures) + FailuresTruncated ==
// Failed; OK == Checked - Failed, clamped at 0. A missing record is a
// failure without a checked record (Checked counts only the records the
// walk found), so with missing records Failed may exceed Checked, and OK
// is then 0.
type Report struct {
	Checked int64 `json:"checked"`
	OK      int64 `json:"ok"`
	Failed  int64 `json:"failed"`
	// Failures lists failing records, at most --report.max-failures, in the
	// order they were found. Never null in JSON.
	Failures   []Failure `json:"failures"`
	Store      string    `json:"store"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Complete is true when the pass walked the whole store; false for a
	// pass cut short (shutdown, store lost) or a snapshot of a running pass.
	Complete bool `json:"complete"`
	// FailuresByCheck counts failures per check name, exactly (uncapped).
	// Checks without failures are absent. Never null in JSON.
	FailuresByCheck map[string]int64 `json:"failures_by_check"`
	// FailuresTruncated is how many failures are counted but not listed.
	FailuresTruncated int64 `json:"failures_truncated"`
	// Canonical is the canonical form the checksums were computed in
	// (js, raw, jcs).
	Canonical string `json:"canonical,omitempty"`
	// KeyRecords counts records each signing key verified; index i is the
	// i-th --verify.key-file (0 = current key).
	KeyRecords []int64 `json:"key_records,omitempty"`
	// Host is the host the exporter ran on.
	Host string `json:"host,omitempty"`
	// Version is the exporter's version.
	Version string `json:"exporter_version,omitempty"`
	// Fixed lists the store's most recently fixed failures (at most
	// MaxFixed, newest first) as of this report.
	Fixed []FixedFailure `json:"fixed,omitempty"`
}

// Status names a report's outcome as the HTML page shows it:
// "failures" when any record failed, else "incomplete" when the pass did
// not finish, else "ok".
func (r *Report) Status() string {
	switch {
	case r.Failed > 0:
		return "failures"
	case !r.Complete:
		return "incomplete"
	default:
		return "ok"
	}
}

// MarshalJSON writes the report with times in UTC and with failures and
// failures_by_check as [] and {} rather than null when empty, so scripts
// can index them without a null check.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // no methods: avoids recursion
	p := plain(r)
	if p.Failures == nil {
		p.Failures = []Failure{}
	}
	if p.FailuresByCheck == nil {
		p.FailuresByCheck = map[string]int64{}
	}
	p.StartedAt = p.StartedAt.UTC()
	p.FinishedAt = p.FinishedAt.UTC()
	return marshalNoHTMLEscape(p)
}

// marshalNoHTMLEscape encodes v without escaping <, > and & as \u003c
// etc.: a report is a JSON file, never inlined in HTML, and the escaping
// would make an id of '<' characters six times its size.
func marshalNoHTMLEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
