package pace

import (
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in       string
		from, to int // minutes after midnight
		utc      bool
		err      string
	}{
		{in: "01:00-05:00", from: 60, to: 300},
		{in: "22:00-04:00", from: 22 * 60, to: 240},
		{in: "00:00-23:59", from: 0, to: 23*60 + 59},
		{in: " 01:30-05:45 UTC ", from: 90, to: 345, utc: true},
		{in: "23:00-01:00UTC", from: 23 * 60, to: 60, utc: true},
		{in: "25:00-03:00", err: `invalid pace.Window "25:00-03:00": hour must be 00-23`},
		{in: "01:00-24:00", err: `invalid pace.Window "01:00-24:00": hour must be 00-23`},
		{in: "01:60-03:00", err: `invalid pace.Window "01:60-03:00": minute must be 00-59`},
		{in: "1:00-05:00", err: `invalid pace.Window "1:00-05:00": want HH:MM-HH:MM such as 01:00-05:00, optionally followed by UTC`},
		{in: "01:00", err: `invalid pace.Window "01:00": want HH:MM-HH:MM such as 01:00-05:00, optionally followed by UTC`},
		{in: "", err: `invalid pace.Window "": want HH:MM-HH:MM such as 01:00-05:00, optionally followed by UTC`},
		{in: "+1:00-05:00", err: `invalid pace.Window "+1:00-05:00": want HH:MM-HH:MM such as 01:00-05:00, optionally followed by UTC`},
		{in: "01:00-05:00 CET", err: `invalid pace.Window "01:00-05:00 CET": want HH:MM-HH:MM such as 01:00-05:00, optionally followed by UTC`},
		{in: "03:00-03:00", err: `invalid pace.Window "03:00-03:00": start equals end; leave the window unset to scan at any hour`},
	}
	for _, tt := range tests {
		w, err := ParseWindow(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseWindow(%q) error = %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseWindow(%q): %v", tt.in, err)
			continue
		}
		if w.from != tt.from || w.to != tt.to || (w.loc == time.UTC) != tt.utc {
			t.Errorf("ParseWindow(%q) = %d-%d %v, want %d-%d utc=%v", tt.in, w.from, w.to, w.loc, tt.from, tt.to, tt.utc)
		}
	}
}

func mustWindow(t *testing.T, s string) *Window {
	t.Helper()
	w, err := ParseWindow(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// at returns 2024-03-<day> hh:mm UTC.
func at(day, hh, mm int) time.Time {
	return time.Date(2024, 3, day, hh, mm, 0, 0, time.UTC)
}

func TestWindowOccurrence(t *testing.T) {
	tests := []struct {
		window      string
		t           time.Time
		open, close time.Time
		contains    bool
	}{
		{"01:00-05:00 UTC", at(10, 0, 30), at(10, 1, 0), at(10, 5, 0), false},
		{"01:00-05:00 UTC", at(10, 1, 0), at(10, 1, 0), at(10, 5, 0), true},
		{"01:00-05:00 UTC", at(10, 4, 59), at(10, 1, 0), at(10, 5, 0), true},
		{"01:00-05:00 UTC", at(10, 5, 0), at(11, 1, 0), at(11, 5, 0), false},
		{"01:00-05:00 UTC", at(10, 23, 0), at(11, 1, 0), at(11, 5, 0), false},
		// Crossing midnight.
		{"22:00-04:00 UTC", at(10, 21, 0), at(10, 22, 0), at(11, 4, 0), false},
		{"22:00-04:00 UTC", at(10, 23, 0), at(10, 22, 0), at(11, 4, 0), true},
		{"22:00-04:00 UTC", at(11, 3, 0), at(10, 22, 0), at(11, 4, 0), true},
		{"22:00-04:00 UTC", at(11, 4, 0), at(11, 22, 0), at(12, 4, 0), false},
		{"22:00-04:00 UTC", at(11, 12, 0), at(11, 22, 0), at(12, 4, 0), false},
		// Month end.
		{"22:00-04:00 UTC", time.Date(2024, 3, 31, 23, 0, 0, 0, time.UTC), time.Date(2024, 3, 31, 22, 0, 0, 0, time.UTC), time.Date(2024, 4, 1, 4, 0, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		w := mustWindow(t, tt.window)
		open, shut := w.Occurrence(tt.t)
		if !open.Equal(tt.open) || !shut.Equal(tt.close) {
			t.Errorf("%s.Occurrence(%s) = %s, %s; want %s, %s", tt.window, tt.t, open, shut, tt.open, tt.close)
		}
		if got := w.Contains(tt.t); got != tt.contains {
			t.Errorf("%s.Contains(%s) = %v, want %v", tt.window, tt.t, got, tt.contains)
		}
	}
}

func TestWindowActiveTime(t *testing.T) {
	w := mustWindow(t, "22:00-04:00 UTC")
	between := []struct {
		a, b time.Time
		want time.Duration
	}{
		{at(10, 20, 0), at(11, 6, 0), 6 * time.Hour},
		{at(10, 23, 0), at(12, 23, 0), 12 * time.Hour},
		{at(10, 12, 0), at(10, 18, 0), 0},
		{at(11, 3, 0), at(11, 2, 0), 0},
	}
	for _, tt := range between {
		if got := w.activeBetween(tt.a, tt.b); got != tt.want {
			t.Errorf("activeBetween(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
		if got := (*Window)(nil).activeBetween(tt.a, tt.b); tt.b.After(tt.a) && got != tt.b.Sub(tt.a) {
			t.Errorf("nil window activeBetween(%s, %s) = %s", tt.a, tt.b, got)
		}
	}
	add := []struct {
		a    time.Time
		d    time.Duration
		want time.Time
	}{
		{at(10, 20, 0), 0, at(10, 22, 0)},
		{at(10, 20, 0), 7 * time.Hour, at(11, 23, 0)},
		{at(10, 23, 0), 5 * time.Hour, at(11, 4, 0)},
		{at(10, 23, 0), 30 * time.Minute, at(10, 23, 30)},
	}
	for _, tt := range add {
		if got := w.addActive(tt.a, tt.d); !got.Equal(tt.want) {
			t.Errorf("addActive(%s, %s) = %s, want %s", tt.a, tt.d, got, tt.want)
		}
	}
}

func TestDeadline(t *testing.T) {
	tests := []struct {
		window string
		pass   time.Duration
		start  time.Time
		want   time.Time
	}{
		{"", 24 * time.Hour, at(10, 12, 0), at(11, 12, 0)},
		{"", 0, at(10, 12, 0), time.Time{}},
		{"01:00-05:00 UTC", 24 * time.Hour, at(10, 12, 0), at(11, 5, 0)},
		{"01:00-05:00 UTC", 24 * time.Hour, at(10, 1, 30), at(10, 5, 0)},
		// Less than half the window left: the pass belongs to the next night.
		{"01:00-05:00 UTC", 24 * time.Hour, at(10, 4, 55), at(11, 5, 0)},
		{"01:00-05:00 UTC", time.Hour, at(10, 0, 30), at(10, 2, 0)},
		{"01:00-05:00 UTC", time.Hour, at(10, 1, 0), at(10, 2, 0)},
		{"01:00-05:00 UTC", time.Hour, at(10, 4, 0), at(10, 5, 0)},
		{"01:00-05:00 UTC", time.Hour, at(10, 4, 45), at(11, 2, 0)},
		{"22:00-04:00 UTC", 24 * time.Hour, at(10, 23, 0), at(11, 4, 0)},
		{"22:00-04:00 UTC", 24 * time.Hour, at(11, 3, 0), at(12, 4, 0)},
	}
	for _, tt := range tests {
		cfg := Config{PassDuration: tt.pass}
		if tt.window != "" {
			cfg.Window = mustWindow(t, tt.window)
		}
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Deadline(tt.start); !got.Equal(tt.want) {
			t.Errorf("window %q pass %s: Deadline(%s) = %s, want %s", tt.window, tt.pass, tt.start, got, tt.want)
		}
	}
}
