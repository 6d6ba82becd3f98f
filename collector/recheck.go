package collector

import (
	"context"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

func (r *Runner) recheckLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Recheck(ctx)
		}
	}
}

// Recheck re-reads the listed failures of the current and the last pass
// and drops those now valid, so that a record restored from backup leaves
// the failure gauges (and the alert resolves) before the next pass.
// Failures that cannot be re-read by key are kept: read failures of a
// damaged block (the key only locates the damage) and duplicates.
func (r *Runner) Recheck(ctx context.Context) int {
	type target struct {
		pass *Pass
		f    report.Failure
	}
	var todo []target
	r.mu.Lock()
	for _, p := range []*Pass{r.cur, r.lastPass()} {
		if p == nil {
			continue
		}
		for _, f := range p.Failures {
			switch {
			case f.Reason == verify.CheckRead, f.Reason == verify.CheckDuplicate:
				continue
			case f.KeySHA256 != "": // truncated: cannot be read by key
				continue
			}
			todo = append(todo, target{p, f})
		}
	}
	r.mu.Unlock()
	if len(todo) == 0 {
		return 0
	}
	if ro, ok := r.cfg.Store.(Reopener); ok {
		if err := ro.Reopen(); err != nil { // see what the app wrote since
			r.log.Warn("re-check: cannot reopen the store", "err", err)
			return 0
		}
	}

	fixed := 0
	s := r.cfg.Verifier.NewScratch()
	for _, t := range todo {
		if ctx.Err() != nil {
			return fixed
		}
		key := []byte(t.f.Key[min(len(r.cfg.KeyPrefix), len(t.f.Key)):])
		value, found, err := r.cfg.Store.Get(ctx, key)
		if err != nil || !found {
			continue
		}
		o := r.cfg.Verifier.Verify(store.Record{Key: key, Value: value}, s)
		r.mu.Lock()
		r.counters.verified++
		if o.OK() {
			for i, f := range t.pass.Failures {
				if f.Key == t.f.Key && f.Reason == t.f.Reason && f.KeySHA256 == "" {
					t.pass.Fixed(i)
					if t.pass != r.cur || !r.inLastLocked(f) {
						r.addFixedLocked(f) // once, if listed in both passes
					}
					fixed++
					break
				}
			}
		}
		r.mu.Unlock()
	}
	if fixed > 0 {
		r.log.Info("re-check found failures fixed", "fixed", fixed)
		r.mu.Lock()
		r.missing = r.missingLocked()
		r.mu.Unlock()
	}
	return fixed
}

func (r *Runner) lastPass() *Pass {
	if r.last == nil {
		return nil
	}
	return r.last.Pass
}

func (r *Runner) missingLocked() int64 {
	if p := r.lastPass(); p != nil {
		return p.ByCheck[verify.CheckIndex(verify.CheckMissing)]
	}
	return 0
}

// inLastLocked is true when the last pass lists f. r.mu held.
func (r *Runner) inLastLocked(f report.Failure) bool {
	if lp := r.lastPass(); lp != nil {
		for _, g := range lp.Failures {
			if g.Key == f.Key && g.Reason == f.Reason {
				return true
			}
		}
	}
	return false
}
