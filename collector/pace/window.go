package pace

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/fielderr"
)

// Window is a daily time window such as 01:00-05:00 outside of which the
// walk waits. A window whose end is not after its start ("22:00-04:00")
// crosses midnight: it opens at 22:00 and closes at 04:00 the next day.
// The start is inclusive, the end exclusive.
type Window struct {
	from, to int // minutes after midnight
	loc      *time.Location
	text     string
}

// ParseWindow parses "HH:MM-HH:MM" in the process's local time zone (TZ),
// or "HH:MM-HH:MM UTC" in UTC. The error is a *fielderr.Error for the
// field "pace.Window" that says what is wrong.
func ParseWindow(s string) (*Window, error) {
	body := strings.TrimSpace(s)
	loc := time.Local
	if b, ok := strings.CutSuffix(body, "UTC"); ok {
		body, loc = strings.TrimSpace(b), time.UTC
	}
	fromText, toText, ok := strings.Cut(body, "-")
	if !ok {
		return nil, windowError(s, "want HH:MM-HH:MM such as 01:00-05:00, optionally followed by UTC")
	}
	from, err := parseClock(fromText)
	if err != nil {
		return nil, windowError(s, err.Error())
	}
	to, err := parseClock(toText)
	if err != nil {
		return nil, windowError(s, err.Error())
	}
	if from == to {
		return nil, windowError(s, "start equals end; leave the window unset to scan at any hour")
	}
	return &Window{from: from, to: to, loc: loc, text: strings.TrimSpace(s)}, nil
}

func windowError(s, msg string) error {
	return fielderr.New("pace.Window", s, "%s", msg)
}

// parseClock parses "HH:MM" into minutes after midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || !twoDigits(h) || !twoDigits(m) {
		return 0, fmt.Errorf("want HH:MM-HH:MM such as 01:00-05:00, optionally followed by UTC")
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh > 23 {
		return 0, fmt.Errorf("hour must be 00-23")
	}
	if mm > 59 {
		return 0, fmt.Errorf("minute must be 00-59")
	}
	return hh*60 + mm, nil
}

func twoDigits(s string) bool {
	return len(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'
}

// String returns the window as it was given.
func (w *Window) String() string { return w.text }

// Contains reports whether t is inside the window. A nil window contains
// every instant.
func (w *Window) Contains(t time.Time) bool {
	if w == nil {
		return true
	}
	open, _ := w.Occurrence(t)
	return !open.After(t)
}

// Occurrence returns the opening and closing instants of the window's
// occurrence that contains t, or of the next one to open when t is outside
// the window.
func (w *Window) Occurrence(t time.Time) (open, shut time.Time) {
	y, m, d := t.In(w.loc).Date()
	for k := -1; k <= 2; k++ {
		open = time.Date(y, m, d+k, w.from/60, w.from%60, 0, 0, w.loc)
		endDay := d + k
		if w.to <= w.from {
			endDay++
		}
		shut = time.Date(y, m, endDay, w.to/60, w.to%60, 0, 0, w.loc)
		if shut.After(t) {
			return open, shut
		}
	}
	return open, shut // unreachable: the occurrence two days on closes after t
}

// maxOccurrences bounds the walks over window occurrences below (about
// three years of daily windows), so that a corrupt deadline cannot hang us.
const maxOccurrences = 1100

// activeBetween returns how much of [a, b) lies inside the window.
func (w *Window) activeBetween(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if w == nil {
		return b.Sub(a)
	}
	var sum time.Duration
	t := a
	for i := 0; i < maxOccurrences && t.Before(b); i++ {
		open, shut := w.Occurrence(t)
		if !open.Before(b) {
			break
		}
		sum += earlier(shut, b).Sub(later(t, open))
		t = shut
	}
	return sum
}

// addActive returns the instant at which d of window time has passed since
// a: a.Add(d) without a window.
func (w *Window) addActive(a time.Time, d time.Duration) time.Time {
	if w == nil {
		return a.Add(d)
	}
	t := a
	for i := 0; i < maxOccurrences; i++ {
		open, shut := w.Occurrence(t)
		s := later(t, open)
		if avail := shut.Sub(s); d <= avail {
			return s.Add(d)
		}
		d -= shut.Sub(s)
		t = shut
	}
	// Years away: extrapolate at the window's share of a day.
	open, shut := w.Occurrence(t)
	share := float64(shut.Sub(open)) / float64(24*time.Hour)
	return t.Add(time.Duration(float64(d) / share))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
