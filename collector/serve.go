package collector

import (
	"context"
	"errors"
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/sigil/sigil-integrity-exporter/collector/pace"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// Serve runs passes until ctx ends: each pass starts when the previous one
// was due to end (its deadline), or at once after a run-now; errors are
// retried with capped exponential back-off from the saved cursor. Known
// failures are re-checked every recheck interval meanwhile.
func (r *Runner) Serve(ctx context.Context, recheckEvery time.Duration) {
	if recheckEvery > 0 {
		go r.recheckLoop(ctx, recheckEvery)
	}
	backoff := time.Second
	for ctx.Err() == nil {
		if !r.waitForNextPass(ctx) {
			return
		}
		_, err := r.RunPass(ctx)
		switch {
		case err == nil:
			backoff = time.Second
			continue
		case ctx.Err() != nil:
			return
		}
		level := r.log.Warn
		if !errors.Is(err, store.ErrUnavailable) {
			level = r.log.Error
		}
		level("pass interrupted; retrying from the saved cursor", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Minute)
	}
}

// waitForNextPass waits until the next pass is due: now when a pass is
// under way or none completed yet, else at the last pass's deadline (its
// start plus the pass duration). A run-now request ends the wait.
func (r *Runner) waitForNextPass(ctx context.Context) bool {
	r.mu.Lock()
	var due time.Time
	if r.cur == nil && r.last != nil && r.cfg.Pacer != nil {
		due = r.last.Pass.Deadline
	}
	r.mu.Unlock()
	wait := due.Sub(r.now())
	if wait <= 0 {
		return true
	}
	r.setWaiting(true)
	defer r.setWaiting(false)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-r.runNow:
	}
	return true
}

func (r *Runner) setWaiting(w bool) {
	r.mu.Lock()
	r.waiting = w
	r.mu.Unlock()
}

// Pause stops the walk after the chunk it is reading; Resume restarts it.
// The pause is saved in the state directory and survives a restart; the
// error says it could not be saved (the walk is paused all the same).
func (r *Runner) Pause() error {
	r.mu.Lock()
	if !r.paused {
		r.paused, r.pausedAt = true, r.now()
	}
	at := r.pausedAt
	r.wakeLocked()
	r.mu.Unlock()
	return r.savePause(at)
}

// Resume undoes Pause.
func (r *Runner) Resume() error {
	r.mu.Lock()
	if r.paused {
		r.paused, r.pausedAt = false, time.Time{}
		close(r.resume)
		r.resume = make(chan struct{})
	}
	r.mu.Unlock()
	return r.savePause(time.Time{})
}

// RunNow lifts the pacing for the rest of the pass under way, or starts the
// next pass at once when the runner is between passes; it also resumes a
// paused walk. --scan.max-rate and --scan.tranquility still hold.
func (r *Runner) RunNow() error {
	r.mu.Lock()
	if r.cur != nil && !r.waiting {
		r.fast = true
		r.wakeLocked()
	} else {
		select {
		case r.runNow <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
	return r.Resume()
}

// wakeLocked ends a pacer sleep under way, so that a pause or a run-now
// takes effect at once. r.mu must be held.
func (r *Runner) wakeLocked() {
	if r.wake != nil {
		r.wake()
	}
}

// pacer adapts the pace.Pacer to the walk and adds pause and run-now.
type pacer struct{ r *Runner }

func (p *pacer) Wait(ctx context.Context, n int, work time.Duration) error {
	r := p.r
	for {
		r.mu.Lock()
		paused, resume, fast := r.paused, r.resume, r.fast
		r.mu.Unlock()
		if paused {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-resume:
				r.cfg.Pacer.Reset()
			}
			continue
		}
		if fast {
			return r.fastWait(ctx, n, work)
		}
		wctx, cancel := context.WithCancel(ctx)
		r.mu.Lock()
		r.wake = cancel
		r.mu.Unlock()
		err := r.cfg.Pacer.Wait(wctx, n, work)
		r.mu.Lock()
		r.wake = nil
		r.mu.Unlock()
		cancel()
		if err != nil && ctx.Err() == nil {
			n, work = 0, 0 // woken by a pause or a run-now; the records were counted
			continue
		}
		r.noteLate()
		return err
	}
}

// noteLate logs when the pass turns late, naming the binding limit, and
// when it is back on time, each once per change that matters (see
// scheduleLog).
func (r *Runner) noteLate() {
	st := r.cfg.Pacer.Status()
	now := r.now()
	r.mu.Lock()
	change := r.schedule.observe(now, st)
	r.mu.Unlock()
	switch change {
	case scheduleLate:
		r.log.Warn("the pass will end after its deadline", "binding_limit", st.Binding, "predicted_end", st.PredictedEnd.Round(time.Second),
			"deadline", st.Deadline.Round(time.Second), "late_by", st.PredictedEnd.Sub(st.Deadline).Round(time.Second), "rate", st.Rate)
	case scheduleOnTime:
		r.log.Info("the pass is on time again", "predicted_end", st.PredictedEnd.Round(time.Second), "deadline", st.Deadline.Round(time.Second))
	}
}

// Chunk reads about a second's worth of records between waits, so the
// store's iterator is never held across a long sleep.
func (p *pacer) Chunk() int {
	r := p.r
	r.mu.Lock()
	fast := r.fast
	r.mu.Unlock()
	if fast {
		if m := r.cfg.MaxRate; m > 0 && m < 1024 {
			return max(1, int(m))
		}
		return 1024
	}
	rate := r.cfg.Pacer.Status().Rate
	switch {
	case math.IsInf(rate, 1) || rate >= 1024:
		return 1024
	case rate < 1:
		return 1
	}
	return int(rate)
}

// fastWait bounds a walk that run-now unpaced by the limits that protect
// the app: --scan.max-rate (a token bucket) and --scan.tranquility (idle
// k times the time spent reading).
func (r *Runner) fastWait(ctx context.Context, n int, work time.Duration) error {
	var delay time.Duration
	if m := r.cfg.MaxRate; m > 0 && n > 0 {
		r.mu.Lock()
		if r.fastLim == nil {
			r.fastLim = rate.NewLimiter(rate.Limit(m), max(1, int(m)))
		}
		lim := r.fastLim
		r.mu.Unlock()
		now := time.Now()
		if n > lim.Burst() {
			lim.SetBurstAt(now, n)
		}
		delay = lim.ReserveN(now, n).DelayFrom(now)
	}
	if t := r.cfg.Tranquility; t > 0 && work > 0 {
		delay = max(delay, time.Duration(t*float64(work)))
	}
	if delay <= 0 {
		return ctx.Err()
	}
	return pace.Sleep(ctx, delay)
}
