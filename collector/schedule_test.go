package collector

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/collector/pace"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
)

// scheduleCase feeds scheduleLog one snapshot a second: f returns the
// lateness (predicted end minus deadline) at second i of a run of passes
// of length span.
func replaySchedule(span time.Duration, seconds int, f func(i int) time.Duration) (late, onTime []int) {
	var l scheduleLog
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < seconds; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		start := t0.Add(time.Duration(i) * time.Second / span * span) // the pass under way
		if span >= time.Hour {
			start = t0
		}
		deadline := start.Add(span)
		st := pace.Status{Start: start, Deadline: deadline, PredictedEnd: deadline.Add(f(i))}
		switch l.observe(now, st) {
		case scheduleLate:
			late = append(late, i)
		case scheduleOnTime:
			onTime = append(onTime, i)
		}
	}
	return late, onTime
}

func TestScheduleLogHysteresis(t *testing.T) {
	cases := []struct {
		name         string
		span         time.Duration
		seconds      int
		lateness     func(i int) time.Duration
		late, onTime []int
	}{
		{
			// What the pacer does with 10s passes that just fit: on time for
			// the first 3s of each pass, then predicted 1.2s late. The old
			// log warned and cleared every pass (twice per 10s).
			name: "short passes wobbling around the deadline warn once", span: 10 * time.Second, seconds: 600,
			lateness: func(i int) time.Duration {
				if i%10 < 3 {
					return 0
				}
				return 1200 * time.Millisecond
			},
			late: []int{4}, // late for 1s (span/10, at least 1s) after turning late at 3s
		},
		{
			name: "a wobble inside the margin logs nothing", span: 10 * time.Second, seconds: 600,
			lateness: func(i int) time.Duration {
				return time.Duration(i%3-1) * 900 * time.Millisecond // -0.9s, 0, +0.9s
			},
		},
		{
			// 24h pass: 40 minutes late from 1h to 3h, then on time for good.
			name: "a day pass late for two hours warns once and clears once", span: 24 * time.Hour, seconds: 5 * 3600,
			lateness: func(i int) time.Duration {
				if i >= 3600 && i < 3*3600 {
					return 40 * time.Minute
				}
				return -time.Minute
			},
			late: []int{3600 + 300}, onTime: []int{3*3600 + 900}, // holds: 5m to warn, 15m to clear
		},
		{
			name: "a day pass late for a minute logs nothing", span: 24 * time.Hour, seconds: 3 * 3600,
			lateness: func(i int) time.Duration {
				if i >= 3600 && i < 3660 {
					return 40 * time.Minute
				}
				return 0
			},
		},
		{
			// late, then on time for 30s at a time: each on-time spell is
			// shorter than the minute a clear needs.
			name: "short on-time spells do not clear a warning", span: 10 * time.Second, seconds: 900,
			lateness: func(i int) time.Duration {
				if i%60 < 30 {
					return -time.Second
				}
				return 5 * time.Second
			},
			late: []int{31},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			late, onTime := replaySchedule(c.span, c.seconds, c.lateness)
			if !equalInts(late, c.late) || !equalInts(onTime, c.onTime) {
				t.Errorf("warned at %v and cleared at %v (seconds), want %v and %v", late, onTime, c.late, c.onTime)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestServeScheduleLogDoesNotFlap runs the real walk and pacer with
// 2-second passes over a store that just fits: the pace targets the
// deadline and the prediction crosses it in every pass. The log must say
// so at most once, not WARN and INFO every pass.
func TestServeScheduleLogDoesNotFlap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs passes for 10s")
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p, err := pace.New(pace.Config{PassDuration: 2 * time.Second, MaxRate: 72})
	if err != nil {
		t.Fatal(err)
	}
	st := newListStore(140) // 70 records/s needed, 72 allowed
	v := mustVerifier(t, verify.VerifierConfig{Canonical: canonical.JS, RequiredFields: []string{"id"}})
	r, err := NewRunner(RunnerConfig{Store: st, Verifier: v, Pacer: p, Identity: "test", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Serve(ctx, 0)
	out := logs.String()
	warns := strings.Count(out, "the pass will end after its deadline")
	infos := strings.Count(out, "the pass is on time again")
	passes := r.Status().Passes
	t.Logf("%d passes; %d warnings, %d all-clears", passes, warns, infos)
	if passes < 3 {
		t.Fatalf("only %d passes in 10s; the test needs several", passes)
	}
	if warns > 1 || infos > 0 {
		t.Errorf("the schedule log flaps: %d warnings and %d all-clears in %d passes:\n%s", warns, infos, passes, out)
	}
}
