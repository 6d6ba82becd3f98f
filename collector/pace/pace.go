// Package pace spreads a walk over all records of a store across a target
// pass duration, so that a pass ends near its deadline without starving the
// app: a token bucket (golang.org/x/time/rate) whose rate is re-estimated
// as the walk goes, capped by a hard rate limit, a duty cycle and an
// optional daily window. docs/pacing.md describes the algorithm and its
// measured accuracy.
//
// It owns pacing only: it knows no store, record or check and imports none
// of collector/, store/ or exporter/.
package pace

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sigil/sigil-integrity-exporter/internal/fielderr"
)

// Config sets the pacing limits. The zero Config does not pace at all.
type Config struct {
	// PassDuration is the target length of one pass (--scan.pass-duration).
	// 0 means no deadline: the walk goes as fast as the other limits allow.
	PassDuration time.Duration
	// MaxRate is a hard cap in records per second (--scan.max-rate);
	// 0 means none.
	MaxRate float64
	// Tranquility is the duty cycle (--scan.tranquility): after the walk
	// worked for d, it idles at least Tranquility*d. 1 keeps the walk busy
	// at most half of the time, so at most half of one core; 0 is off.
	Tranquility float64
	// Window, if set, is the daily window inside which the pass must fit
	// (--scan.window); outside it the walk waits.
	Window *Window
	// Now and Sleep replace the real clock in tests; nil means the real one.
	// Sleep must return ctx.Err() promptly when ctx is cancelled.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Binding names the limit that currently sets the pace.
const (
	BindingNone        = ""            // nothing limits the walk (no deadline, no caps known)
	BindingDeadline    = "deadline"    // the deadline sets the pace: on time
	BindingMaxRate     = "max-rate"    // --scan.max-rate holds the walk below the needed rate
	BindingTranquility = "tranquility" // the duty cycle holds the walk below the needed rate
	BindingWalk        = "walk"        // the walk itself (store reads, verification) is too slow
	BindingWindow      = "window"      // outside --scan.window: the walk waits
)

// Status is a snapshot for metrics and logs.
type Status struct {
	// Rate is the rate the pacer now allows in records per second: +Inf
	// when unlimited, 0 outside the window.
	Rate float64
	// Start and Deadline of the current pass; Deadline is zero without a
	// pass duration.
	Start, Deadline time.Time
	// PredictedEnd is when the pass ends at the rate the limits allow,
	// counting only window time.
	PredictedEnd time.Time
	// Late is true when PredictedEnd is after Deadline. Log it, with
	// Binding, when it turns true.
	Late bool
	// Binding names the limit setting the pace (the Binding* constants).
	Binding string
	// Active is false while the walk waits for the window to open.
	Active bool
	// Expected is the current estimate of the pass's records; Done how many
	// the walk reported through Wait (plus those done before a resume).
	Expected, Done int64
}

const (
	// replanEvery bounds how often the needed rate is re-estimated.
	replanEvery = time.Second
	// marginShare and maxMargin set how early the pacer aims to end: 2% of
	// the pass's window time, at most 5 minutes.
	marginShare = 0.02
	maxMargin   = 5 * time.Minute
	// minSleep: shorter waits are owed, not slept, until they add up, as
	// timers overshoot short sleeps by up to a millisecond or more.
	minSleep = 10 * time.Millisecond
	// burstSpan: the bucket holds the records of this much time (or a
	// batch, if larger), enough to absorb a timer's overshoot.
	burstSpan = 25 * time.Millisecond
	// growth is by how much the expected count grows when the walk has
	// done more than expected.
	growth = 0.05
)

// Pacer paces one walk. Wait is called by the walk's goroutine; Status,
// SetExpected and Reset may be called from any goroutine.
type Pacer struct {
	cfg   Config
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu              sync.Mutex
	lim             *rate.Limiter
	start, deadline time.Time
	margin          time.Duration
	expected, done  int64
	perRecord       float64       // seconds of work per record (moving average), 0 = unknown
	idleOwed        time.Duration // duty-cycle idle time not yet slept
	maxBatch        int           // the largest n seen by Wait
	planned         time.Time     // when the rate was last estimated; zero forces a new estimate
	rate            float64       // the rate the pacer allows: the bucket's, capped by the duty cycle
	allowed         float64       // the rate the limits and the walk's speed allow, for the predicted end
	binding         string
}

// New checks cfg and returns a Pacer. Call Start before the first Wait.
func New(cfg Config) (*Pacer, error) {
	if cfg.PassDuration < 0 {
		return nil, fielderr.New("pace.Config.PassDuration", cfg.PassDuration, "must be positive, or 0 for no deadline")
	}
	if cfg.MaxRate < 0 || math.IsNaN(cfg.MaxRate) || math.IsInf(cfg.MaxRate, 0) {
		return nil, fielderr.New("pace.Config.MaxRate", cfg.MaxRate, "must be a number of records per second, or 0 for no limit")
	}
	if cfg.Tranquility < 0 || math.IsNaN(cfg.Tranquility) || math.IsInf(cfg.Tranquility, 0) {
		return nil, fielderr.New("pace.Config.Tranquility", cfg.Tranquility, "must be 0 (off) or more, such as 1 to idle as long as the walk works")
	}
	p := &Pacer{cfg: cfg, now: cfg.Now, sleep: cfg.Sleep}
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = Sleep
	}
	p.lim = rate.NewLimiter(rate.Inf, 1)
	p.Start(p.now(), time.Time{}, 0, 0)
	return p, nil
}

// Unlimited returns a Pacer that never waits, for the check command.
func Unlimited() *Pacer {
	p, _ := New(Config{})
	return p
}

// Deadline returns the deadline of a pass starting at start; zero without
// a pass duration. Without a window it is start+PassDuration. With one,
// the pass is planned inside one occurrence of the window: the one start
// falls in, or the next one when less than half of the pass's planned
// window time is left in the current one (so that a pass ending near the
// window's end makes the next pass wait for the next night instead of
// racing through the minutes left). The deadline is that occurrence's end,
// or PassDuration after the pass's start inside it, whichever is first.
func (p *Pacer) Deadline(start time.Time) time.Time {
	d := p.cfg.PassDuration
	if d <= 0 {
		return time.Time{}
	}
	w := p.cfg.Window
	if w == nil {
		return start.Add(d)
	}
	open, shut := w.Occurrence(start)
	planned := min(d, shut.Sub(open))
	if start.After(open) && shut.Sub(start) < planned/2 {
		open, shut = w.Occurrence(shut)
	}
	return earlier(shut, later(start, open).Add(d))
}

// Start begins a pass, or resumes one: start and deadline come from the
// saved state (a zero deadline means Deadline(start)). expected is the
// pass's expected record count (the last pass's count, or an estimate on a
// first pass), done how many of them are already done.
func (p *Pacer) Start(start, deadline time.Time, expected, done int64) {
	if deadline.IsZero() {
		deadline = p.Deadline(start)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.deadline = start, deadline
	p.margin = 0
	if !deadline.IsZero() {
		span := p.cfg.Window.activeBetween(start, deadline)
		p.margin = min(time.Duration(marginShare*float64(span)), maxMargin)
	}
	p.expected, p.done = expected, max(done, 0)
	p.lim = rate.NewLimiter(rate.Inf, 1)
	p.idleOwed = 0
	p.plan(p.now())
}

// SetExpected replaces the expected record count of the current pass, for
// a caller that learns a better estimate while walking.
func (p *Pacer) SetExpected(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expected = n
	p.plan(p.now())
}

// Reset re-plans the pass from now, for instance after a pause: the rate
// is re-estimated and the bucket forgets the time the walk was away.
func (p *Pacer) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lim = rate.NewLimiter(rate.Inf, 1)
	p.idleOwed = 0
	p.plan(p.now())
}

// Status returns a snapshot of the pace.
func (p *Pacer) Status() Status {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{
		Rate:     p.rate,
		Start:    p.start,
		Deadline: p.deadline,
		Binding:  p.binding,
		Active:   p.cfg.Window.Contains(now),
		Expected: p.expected,
		Done:     p.done,
	}
	if !s.Active {
		s.Rate, s.Binding = 0, BindingWindow
	}
	left := time.Duration(0)
	if remaining := p.expected - p.done; remaining > 0 && !math.IsInf(p.allowed, 1) {
		secs := min(float64(remaining)/p.allowed, float64(math.MaxInt64/2)/1e9)
		left = time.Duration(secs * 1e9)
	}
	s.PredictedEnd = p.cfg.Window.addActive(now, left)
	s.Late = !p.deadline.IsZero() && s.PredictedEnd.After(p.deadline)
	return s
}

// plan re-estimates the rate needed to end on time and sets the bucket's
// rate. p.mu must be held.
func (p *Pacer) plan(now time.Time) {
	p.planned = now
	if p.done >= p.expected {
		p.expected = p.done + int64(growth*float64(p.done)) + 1
	}
	remaining := float64(p.expected - p.done)
	need := math.Inf(1)
	if !p.deadline.IsZero() {
		// Aim at the margin before the deadline; once inside the margin
		// (the pass turned out bigger than expected), at the deadline.
		active := p.cfg.Window.activeBetween(now, p.deadline)
		left := active - p.margin
		if left <= 0 {
			left = active
		}
		if left > 0 {
			need = remaining / left.Seconds()
		}
	}
	limit := need
	if p.cfg.MaxRate > 0 && p.cfg.MaxRate < limit {
		limit = p.cfg.MaxRate
	}
	if math.IsInf(limit, 1) {
		p.lim.SetLimitAt(now, rate.Inf)
	} else {
		p.lim.SetLimitAt(now, rate.Limit(limit))
		burst := max(p.maxBatch, int(math.Ceil(min(limit*burstSpan.Seconds(), 1<<30))), 1)
		if burst != p.lim.Burst() {
			p.lim.SetBurstAt(now, burst)
		}
	}

	p.allowed, p.binding = need, BindingDeadline
	if math.IsInf(need, 1) {
		p.binding = BindingNone
	}
	p.capAt(p.cfg.MaxRate, BindingMaxRate)
	p.rate = p.allowed
	if p.perRecord > 0 {
		if p.cfg.Tranquility > 0 {
			p.capAt(1/(p.perRecord*(1+p.cfg.Tranquility)), BindingTranquility)
			p.rate = p.allowed
		} else {
			p.capAt(1/p.perRecord, BindingWalk)
		}
	}
}

func (p *Pacer) capAt(limit float64, name string) {
	if limit > 0 && limit < p.allowed {
		p.allowed, p.binding = limit, name
	}
}
