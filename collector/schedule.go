package collector

import (
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/pace"
)

// scheduleLog decides when the walk's schedule is worth a log line: once
// when the pass turns late by a margin that matters and stays so, once
// when it is back on time for good. A prediction that wobbles around the
// deadline (short passes, where the pacer aims at the deadline and the
// prediction crosses it a few seconds in every pass) logs nothing new.
//
// With a pass span S (deadline - start):
//   - late means the predicted end is more than margin = max(S/100, 1s)
//     after the deadline; on time means at or before the deadline; in
//     between, neither state gains ground;
//   - the log turns to late after lateness held for clamp(S/10, 1s, 5m);
//   - it turns back to on time after on-time held for clamp(S, 1m, 15m).
//
// So a warning and its all-clear are at least a minute apart, and each is
// logged once. The state outlives a pass: a walk that is late pass after
// pass warns once.
type scheduleLog struct {
	late  bool      // the state last logged
	since time.Time // when the opposite state began to hold; zero when it does not
}

// scheduleChange is what observe asks the caller to log.
type scheduleChange int

const (
	scheduleSame scheduleChange = iota
	scheduleLate
	scheduleOnTime
)

// observe takes a pacer snapshot at now and returns the change to log.
func (l *scheduleLog) observe(now time.Time, st pace.Status) scheduleChange {
	if st.Deadline.IsZero() || st.PredictedEnd.IsZero() {
		l.since = time.Time{}
		return scheduleSame
	}
	span := st.Deadline.Sub(st.Start)
	lateness := st.PredictedEnd.Sub(st.Deadline)
	margin := max(span/100, time.Second)
	var opposite bool
	var hold time.Duration
	if l.late {
		opposite, hold = lateness <= 0, clampDuration(span, time.Minute, 15*time.Minute)
	} else {
		opposite, hold = lateness > margin, clampDuration(span/10, time.Second, 5*time.Minute)
	}
	if !opposite {
		l.since = time.Time{}
		return scheduleSame
	}
	if l.since.IsZero() {
		l.since = now
	}
	if now.Sub(l.since) < hold {
		return scheduleSame
	}
	l.late, l.since = !l.late, time.Time{}
	if l.late {
		return scheduleLate
	}
	return scheduleOnTime
}

func clampDuration(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}
