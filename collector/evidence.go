package collector

import (
	"context"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// Evidence survives passes. A failure stays open, listed and counted in
// every later pass with the time it was first seen, until a read of the
// record finds it restored: the re-check, or a pass that reads the record
// and verifies it. A pass that merely does not see a record (deleted, or
// its key gone) does not clear it. Closed failures go to a short list of
// recently fixed ones, with the time they were found restored.
//
// read and duplicate failures cannot be re-read by key (the key only
// locates a damaged block; a duplicate's twin has the same key): a
// complete pass that walks past them without finding them again closes
// them.

// openSet is the open failures of earlier passes that this pass has not
// yet found again, by report.Failure.Match.
type openSet struct {
	m       map[string]report.Failure
	order   []string // the last pass's listing order, for a stable report
	scratch []byte
}

// openFailures collects the still-open failures of the last complete
// pass, less those the pass p (resumed) already listed again. r.mu held.
func (r *Runner) openFailuresLocked(p *Pass) *openSet {
	o := &openSet{m: map[string]report.Failure{}}
	if r.last == nil || r.last.Pass == nil {
		return o
	}
	for _, f := range r.last.Pass.Failures {
		m := f.Match()
		if _, dup := o.m[m]; !dup {
			o.m[m] = f
			o.order = append(o.order, m)
		}
	}
	for _, f := range p.Failures {
		delete(o.m, f.Match())
	}
	return o
}

// take finds the open failure of a record by its store key and, when
// keep(f) is false, takes it out of the set.
func (o *openSet) take(prefix string, key []byte, keep func(report.Failure) bool) (report.Failure, bool) {
	if len(o.m) == 0 {
		return report.Failure{}, false
	}
	o.scratch = append(append(o.scratch[:0], prefix...), key...)
	m := ""
	if len(o.scratch) > report.MaxKeyBytes {
		m = report.MatchKey(o.scratch)
	}
	var f report.Failure
	var ok bool
	if m == "" {
		f, ok = o.m[string(o.scratch)]
		if ok && !keep(f) {
			delete(o.m, string(o.scratch))
		}
	} else if f, ok = o.m[m]; ok && !keep(f) {
		delete(o.m, m)
	}
	return f, ok
}

// byKeyOnly is true for failures that reading the record's key cannot
// close: a damaged block's read failure (the key only locates it) and a
// duplicate (its twin, read first, has the same key and verifies).
func byKeyOnly(f report.Failure) bool {
	return f.Reason == verify.CheckRead || f.Reason == verify.CheckDuplicate
}

func never(report.Failure) bool { return false }

// noteCounted follows up one record the walk counted: failedBefore and
// listedBefore are p.Failed() and len(p.Failures) before it. A failure
// keeps the first-seen time of its open predecessor; a record that was
// open and now verifies is fixed. r.mu held.
func (r *Runner) noteCountedLocked(p *Pass, open *openSet, key []byte, failedBefore int64, listedBefore int) {
	ok := p.Failed() == failedBefore
	prev, wasOpen := open.take(r.cfg.KeyPrefix, key, func(f report.Failure) bool { return ok && byKeyOnly(f) })
	listed := len(p.Failures) > listedBefore
	switch {
	case wasOpen && ok && byKeyOnly(prev):
		// not closed by this read (left in the set): see carryOpen
	case !wasOpen:
		if listed {
			p.Failures[len(p.Failures)-1].FirstSeen = r.now().UTC()
		}
	case ok: // read again, and it verifies
		r.fixedLocked(prev)
	case listed:
		p.Failures[len(p.Failures)-1].FirstSeen = prev.FirstSeen
	default: // counted past the list's cap: keep the evidence listed
		p.List(prev)
	}
}

// noteMissingLocked gives a missing record the first-seen time of its
// open failure, if it had one. r.mu held.
func (r *Runner) noteMissingLocked(p *Pass, open *openSet, key []byte, listedBefore int) {
	prev, wasOpen := open.take(r.cfg.KeyPrefix, key, never)
	if len(p.Failures) == listedBefore {
		if wasOpen {
			prev.Reason, prev.Detail = verify.CheckMissing, missingDetail
			p.List(prev)
		}
		return
	}
	t := r.now().UTC()
	if wasOpen && !prev.FirstSeen.IsZero() {
		t = prev.FirstSeen
	}
	p.Failures[len(p.Failures)-1].FirstSeen = t
}

// carryOpen ends a complete pass: every open failure of the last pass
// that this pass did not find again is re-read by key. Restored: fixed.
// Otherwise (gone, still failing, unreadable, or its key truncated so it
// cannot be read by key) it is carried into this pass, counted and listed
// with its first-seen time. read and duplicate failures not found again
// by a complete pass are fixed.
func (r *Runner) carryOpen(ctx context.Context, p *Pass, open *openSet) {
	s := r.cfg.Verifier.NewScratch()
	for _, m := range open.order {
		f, ok := open.m[m]
		if !ok {
			continue
		}
		restored := false
		switch {
		case f.Reason == verify.CheckRead || f.Reason == verify.CheckDuplicate:
			restored = true
		case f.KeySHA256 == "" && len(f.Key) >= len(r.cfg.KeyPrefix):
			key := []byte(f.Key[len(r.cfg.KeyPrefix):])
			if value, found, err := r.cfg.Store.Get(ctx, key); err == nil && found {
				o := r.cfg.Verifier.Verify(store.Record{Key: key, Value: value}, s)
				restored = o.OK()
				r.mu.Lock()
				r.counters.verified++
				r.mu.Unlock()
			}
		}
		r.mu.Lock()
		if restored {
			r.fixedLocked(f)
		} else {
			p.Carry(f)
		}
		r.mu.Unlock()
	}
}

// fixedLocked records an open failure as fixed now, and takes it out of
// the last pass's account (its gauges drop at once). r.mu held.
func (r *Runner) fixedLocked(f report.Failure) {
	if lp := r.lastPass(); lp != nil {
		m := f.Match()
		for i, g := range lp.Failures {
			if g.Match() == m && g.Reason == f.Reason {
				lp.Fixed(i)
				break
			}
		}
		r.missing = r.missingLocked()
	}
	r.addFixedLocked(f)
}

// addFixedLocked puts f at the head of the recently fixed list. r.mu held.
func (r *Runner) addFixedLocked(f report.Failure) {
	ff := report.FixedFailure{Failure: f, FixedAt: r.now().UTC()}
	r.fixed = append([]report.FixedFailure{ff}, r.fixed...)
	if len(r.fixed) > report.MaxFixed {
		r.fixed = r.fixed[:report.MaxFixed]
	}
}

// fixedList is a copy of the recently fixed failures, newest first.
func (r *Runner) fixedListLocked() []report.FixedFailure {
	return append([]report.FixedFailure(nil), r.fixed...)
}
