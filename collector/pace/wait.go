package pace

import (
	"context"
	"time"
)

// Wait is called by the walk after each batch: n records were just
// processed (verified and counted) and took work, the time the walk spent
// on them. Wait counts them as done and blocks until the walk may go on:
// until the token bucket has paid for them at the planned rate, the walk
// has idled at least Tranquility*work, and the window is open. Call
// Wait(ctx, 0, 0) before the first batch to wait for the window. It
// returns ctx.Err() promptly when ctx is cancelled; the n records still
// count as done.
func (p *Pacer) Wait(ctx context.Context, n int, work time.Duration) error {
	if n < 0 {
		n = 0
	}
	p.mu.Lock()
	now := p.now()
	p.done += int64(n)
	if n > 0 && work > 0 {
		p.observe(work.Seconds() / float64(n))
	}
	if p.done >= p.expected || p.planned.IsZero() || now.Sub(p.planned) >= replanEvery {
		p.plan(now)
	}
	var delay time.Duration
	if n > 0 {
		p.maxBatch = max(p.maxBatch, n)
		if n > p.lim.Burst() {
			p.lim.SetBurstAt(now, n)
		}
		// Tokens may go negative: a delay not slept now is owed later.
		delay = p.lim.ReserveN(now, n).DelayFrom(now)
	}
	if p.cfg.Tranquility > 0 && work > 0 {
		p.idleOwed += time.Duration(p.cfg.Tranquility * float64(work))
	}
	delay = max(delay, p.idleOwed)
	p.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return err
	}
	if delay >= minSleep {
		err := p.sleep(ctx, delay)
		slept := p.now().Sub(now)
		p.mu.Lock()
		p.idleOwed = max(p.idleOwed-slept, 0)
		p.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return p.waitWindow(ctx)
}

// waitWindow blocks while the time is outside the window.
func (p *Pacer) waitWindow(ctx context.Context) error {
	w := p.cfg.Window
	for i := 0; w != nil && i < maxOccurrences; i++ {
		now := p.now()
		open, _ := w.Occurrence(now)
		if !open.After(now) {
			return nil
		}
		if err := p.sleep(ctx, open.Sub(now)); err != nil {
			return err
		}
		// The bucket forgets the closed hours; the rate is re-estimated.
		p.Reset()
	}
	return nil
}

// observe folds one batch's work per record into the moving average.
// p.mu must be held.
func (p *Pacer) observe(perRecord float64) {
	if p.perRecord == 0 {
		p.perRecord = perRecord
		return
	}
	p.perRecord = 0.8*p.perRecord + 0.2*perRecord
}

// Sleep sleeps for d or until ctx is cancelled, whose error it returns
// then (the default Config.Sleep; the runner's tranquility pause uses it too).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
