package pace

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose Sleep advances time at once.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	slept   time.Duration
	onSleep func(d time.Duration) // called before the clock advances
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.onSleep != nil {
		c.onSleep(d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept += d
	return nil
}

func newFake(t *testing.T, cfg Config, now time.Time) (*Pacer, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: now}
	cfg.Now, cfg.Sleep = c.Now, c.Sleep
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// walk runs a simulated pass of total records in batches of batch, each
// batch taking work on the fake clock, and returns when the last record
// was processed (before its final Wait).
func walk(t *testing.T, p *Pacer, c *fakeClock, total, batch int, work time.Duration) time.Time {
	t.Helper()
	ctx := context.Background()
	if err := p.Wait(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	var end time.Time
	for done := 0; done < total; {
		n := min(batch, total-done)
		c.Advance(work)
		done += n
		end = c.Now()
		if err := p.Wait(ctx, n, work); err != nil {
			t.Fatal(err)
		}
	}
	return end
}

func within(got, want time.Duration, tol float64) bool {
	return math.Abs(float64(got-want)) <= tol*float64(want)
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{PassDuration: -time.Second}, "invalid pace.Config.PassDuration"},
		{Config{MaxRate: -1}, "invalid pace.Config.MaxRate"},
		{Config{MaxRate: math.NaN()}, "invalid pace.Config.MaxRate"},
		{Config{MaxRate: math.Inf(1)}, "invalid pace.Config.MaxRate"},
		{Config{Tranquility: -0.5}, "invalid pace.Config.Tranquility"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("New(%+v) error = %v, want prefix %q", tt.cfg, err, tt.want)
		}
	}
}

// TestFakePassEndsOnTime simulates passes on a fake clock: exact but for
// the planned 2% margin.
func TestFakePassEndsOnTime(t *testing.T) {
	start := at(10, 12, 0)
	tests := []struct {
		name     string
		pass     time.Duration
		total    int
		expected int64
		batch    int
		want     time.Duration // from the start
		tol      float64
	}{
		{"exact count 1h", time.Hour, 100000, 100000, 100, time.Hour - 72*time.Second, 0.002},
		{"exact count 24h", 24 * time.Hour, 1000000, 1000000, 100, 24*time.Hour - 5*time.Minute, 0.002},
		{"20% underestimate", time.Hour, 12000, 10000, 10, time.Hour, 0.02},
		{"20% overestimate", time.Hour, 10000, 12000, 10, time.Duration(float64(time.Hour-72*time.Second) * 10 / 12), 0.02},
		{"small batches", 20 * time.Second, 5000, 5000, 1, 20*time.Second - 400*time.Millisecond, 0.005},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c := newFake(t, Config{PassDuration: tt.pass}, start)
			p.Start(start, time.Time{}, tt.expected, 0)
			end := walk(t, p, c, tt.total, tt.batch, time.Microsecond)
			got := end.Sub(start)
			t.Logf("pass of %d records, expected %d, target %s: ended after %s (%.2f%% of target)", tt.total, tt.expected, tt.pass, got, 100*float64(got)/float64(tt.pass))
			if !within(got, tt.want, tt.tol) {
				t.Errorf("pass ended after %s, want %s ±%.1f%%", got, tt.want, 100*tt.tol)
			}
			if s := p.Status(); s.Done != int64(tt.total) {
				t.Errorf("Status().Done = %d, want %d", s.Done, tt.total)
			}
		})
	}
}

func TestWindowedPassWaitsAndFits(t *testing.T) {
	w := mustWindow(t, "01:00-05:00 UTC")
	start := at(10, 23, 0)
	var during []Status
	p, c := newFake(t, Config{PassDuration: 24 * time.Hour, Window: w}, start)
	p.Start(start, time.Time{}, 10000, 0)

	s := p.Status()
	if s.Active || s.Binding != BindingWindow || s.Rate != 0 || !s.Deadline.Equal(at(11, 5, 0)) {
		t.Errorf("before the window: %+v, want inactive, binding window, rate 0, deadline %s", s, at(11, 5, 0))
	}
	c.onSleep = func(time.Duration) {
		if len(during) == 0 {
			during = append(during, p.Status())
		}
	}
	if err := p.Wait(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); !got.Equal(at(11, 1, 0)) {
		t.Errorf("Wait returned at %s, want the window's opening %s", got, at(11, 1, 0))
	}
	if len(during) != 1 || during[0].Active {
		t.Errorf("status while waiting = %+v, want inactive", during)
	}
	s = p.Status()
	wantRate := 10000 / (4*time.Hour - 4*time.Minute - 48*time.Second).Seconds()
	if !s.Active || s.Binding != BindingDeadline || math.Abs(s.Rate-wantRate) > 1e-6*wantRate {
		t.Errorf("in the window: %+v, want active, binding deadline, rate %.4f", s, wantRate)
	}
	c.onSleep = nil
	end := walk(t, p, c, 10000, 10, time.Microsecond)
	if end.Before(at(11, 4, 50)) || end.After(at(11, 5, 0)) {
		t.Errorf("windowed pass ended at %s, want 04:50-05:00", end)
	}
}

// TestWindowClosesMidPass: a pass started late in a window is planned
// over the tail of this window and the whole next one, and the walk waits
// in between.
func TestWindowClosesMidPass(t *testing.T) {
	w := mustWindow(t, "22:00-04:00 UTC")
	start := at(11, 3, 0) // 1 h of this window left, then 6 h tomorrow night
	p, c := newFake(t, Config{PassDuration: 24 * time.Hour, Window: w}, start)
	p.Start(start, time.Time{}, 7000, 0)
	if s := p.Status(); !s.Deadline.Equal(at(12, 4, 0)) {
		t.Fatalf("deadline %s, want %s", s.Deadline, at(12, 4, 0))
	}
	end := walk(t, p, c, 7000, 10, time.Microsecond)
	if end.Before(at(12, 3, 50)) || end.After(at(12, 4, 0)) {
		t.Errorf("pass ended at %s, want 03:50-04:00 the next night", end)
	}
	if got := c.slept; got < 17*time.Hour {
		t.Errorf("slept %s in all, want at least the 18 h closed gap minus pacing", got)
	}
}

func TestMaxRateBinds(t *testing.T) {
	start := at(10, 12, 0)
	p, c := newFake(t, Config{PassDuration: 5 * time.Second, MaxRate: 100}, start)
	p.Start(start, time.Time{}, 1000, 0)
	s := p.Status()
	if s.Binding != BindingMaxRate || !s.Late || s.Rate != 100 {
		t.Errorf("status %+v, want binding max-rate, late, rate 100", s)
	}
	if want := start.Add(10 * time.Second); !s.PredictedEnd.Equal(want) {
		t.Errorf("predicted end %s, want %s at once", s.PredictedEnd, want)
	}
	end := walk(t, p, c, 1000, 10, time.Microsecond)
	if got := end.Sub(start); !within(got, 10*time.Second, 0.02) {
		t.Errorf("throttled pass took %s, want 10s", got)
	}
}

func TestTranquilityDutyCycle(t *testing.T) {
	const batches, work = 200, 10 * time.Millisecond
	for _, k := range []float64{0, 0.5, 1, 3} {
		start := at(10, 12, 0)
		p, c := newFake(t, Config{Tranquility: k}, start)
		p.Start(start, time.Time{}, batches*10, 0)
		end := walk(t, p, c, batches*10, 10, work)
		// The last batch's idle comes after end; count it too.
		elapsed := c.Now().Sub(start)
		duty := float64(batches*work) / float64(elapsed)
		if want := 1 / (1 + k); math.Abs(duty-want) > 0.01 {
			t.Errorf("tranquility %v: duty %.3f (busy %s of %s), want %.3f", k, duty, batches*work, elapsed, want)
		}
		if k == 0 && !end.Equal(c.Now()) {
			t.Errorf("tranquility 0 slept %s", c.Now().Sub(end))
		}
	}
}

func TestTranquilityBindsAndPredicts(t *testing.T) {
	start := at(10, 12, 0)
	// 1 ms per record, idle as long as busy: at most 500 records/s, but the
	// deadline needs about 1000/s.
	p, c := newFake(t, Config{PassDuration: 10 * time.Second, Tranquility: 1}, start)
	p.Start(start, time.Time{}, 10000, 0)
	c.Advance(10 * time.Millisecond)
	if err := p.Wait(context.Background(), 10, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	p.Reset() // re-plan now with the walk's speed known
	s := p.Status()
	if s.Binding != BindingTranquility || !s.Late || math.Abs(s.Rate-500) > 1e-6 {
		t.Errorf("status %+v, want binding tranquility, late, rate 500", s)
	}
	if want := c.Now().Add(time.Duration(9990.0 / 500 * float64(time.Second))); !within(s.PredictedEnd.Sub(start), want.Sub(start), 0.001) {
		t.Errorf("predicted end %s, want %s", s.PredictedEnd, want)
	}
}

func TestWalkSpeedBinds(t *testing.T) {
	start := at(10, 12, 0)
	p, c := newFake(t, Config{PassDuration: 10 * time.Second}, start)
	p.Start(start, time.Time{}, 10000, 0)
	c.Advance(20 * time.Millisecond)
	if err := p.Wait(context.Background(), 10, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	p.Reset()
	if s := p.Status(); s.Binding != BindingWalk || !s.Late {
		t.Errorf("status %+v, want binding walk, late", s)
	}
}

func TestBehindGoesAtMaxRate(t *testing.T) {
	start := at(10, 12, 0)
	p, c := newFake(t, Config{PassDuration: time.Hour, MaxRate: 50}, start)
	p.Start(start, start.Add(time.Hour), 1000, 10)
	c.Advance(2 * time.Hour)
	p.Reset()
	if s := p.Status(); s.Rate != 50 || s.Binding != BindingMaxRate || !s.Late {
		t.Errorf("behind with max-rate: %+v, want rate 50, binding max-rate, late", s)
	}
	q, d := newFake(t, Config{PassDuration: time.Hour}, start)
	q.Start(start, start.Add(time.Hour), 1000, 10)
	d.Advance(2 * time.Hour)
	q.Reset()
	if s := q.Status(); !math.IsInf(s.Rate, 1) || !s.PredictedEnd.Equal(d.Now()) {
		t.Errorf("behind without limits: %+v, want rate +Inf, predicted end now", s)
	}
}

func TestResumeKeepsDeadline(t *testing.T) {
	start := at(10, 12, 0)
	p, c := newFake(t, Config{PassDuration: time.Hour}, start.Add(30*time.Minute))
	// Resumed half-way through time with a quarter of the records done.
	p.Start(start, start.Add(time.Hour), 10000, 2500)
	s := p.Status()
	if !s.Deadline.Equal(start.Add(time.Hour)) || s.Done != 2500 {
		t.Errorf("resumed status %+v", s)
	}
	wantRate := 7500 / (30*time.Minute - 72*time.Second).Seconds()
	if math.Abs(s.Rate-wantRate) > 1e-6*wantRate {
		t.Errorf("resumed rate %.4f, want %.4f", s.Rate, wantRate)
	}
	end := walk(t, p, c, 7500, 10, time.Microsecond)
	if got := end.Sub(start); !within(got, time.Hour-72*time.Second, 0.002) {
		t.Errorf("resumed pass ended after %s", got)
	}
}

func TestExpectedGrows(t *testing.T) {
	start := at(10, 12, 0)
	p, _ := newFake(t, Config{PassDuration: time.Hour}, start)
	p.Start(start, time.Time{}, 100, 0)
	if err := p.Wait(context.Background(), 100, 0); err != nil {
		t.Fatal(err)
	}
	if s := p.Status(); s.Expected != 106 {
		t.Errorf("expected after passing it = %d, want 106", s.Expected)
	}
	p.SetExpected(500)
	if s := p.Status(); s.Expected != 500 {
		t.Errorf("expected after SetExpected = %d, want 500", s.Expected)
	}
}

func TestUnlimitedNeverSleeps(t *testing.T) {
	p := Unlimited()
	p.sleep = func(context.Context, time.Duration) error {
		t.Fatal("Unlimited pacer slept")
		return nil
	}
	for i := 0; i < 1000; i++ {
		if err := p.Wait(context.Background(), 100, time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if s := p.Status(); !math.IsInf(s.Rate, 1) || s.Binding != BindingWalk || s.Done != 100000 {
		t.Errorf("unlimited status %+v", s)
	}
}

// TestPauseThenReset: a walk paused for a third of its pass and re-planned
// with Reset still ends on time, faster after the pause.
func TestPauseThenReset(t *testing.T) {
	start := at(10, 12, 0)
	p, c := newFake(t, Config{PassDuration: 3 * time.Hour}, start)
	p.Start(start, time.Time{}, 30000, 0)
	walk(t, p, c, 10000, 10, time.Microsecond)
	before := p.Status().Rate
	c.Advance(time.Hour) // paused
	p.Reset()
	after := p.Status()
	if after.Late || after.Rate <= before*1.5 {
		t.Errorf("rate after the pause %.3f, before %.3f: want a higher rate to catch up, on time", after.Rate, before)
	}
	end := walk(t, p, c, 20000, 10, time.Microsecond)
	if got, want := end.Sub(start), 3*time.Hour-216*time.Second; !within(got, want, 0.002) {
		t.Errorf("paused pass ended after %s, want %s", got, want)
	}
}
