package collector

import (
	"context"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
)

// TestRunnerLive: the live state the reports page shows, before a pass,
// after one with failures, and paused; the last pass it shows is the one
// as it stands now, not a copy made at its end.
func TestRunnerLive(t *testing.T) {
	st := newListStore(50)
	st.values["rec-0000007"] = []byte(`{"id":"other","signature":"x"}`) // key check fails
	r := newTestRunner(t, st, t.TempDir())

	l := r.Live()
	if l.Store != "mem" || !l.Up || l.Current != nil || l.Last != nil || l.StateName() != report.StateWaiting {
		t.Fatalf("before any pass: %+v", l)
	}
	if _, err := r.RunPass(context.Background()); err != nil {
		t.Fatal(err)
	}
	l = r.Live()
	if l.Last == nil || l.Last.Checked != 50 || l.Last.Failed != 1 || !l.Last.Complete || len(l.Open()) != 1 || l.Open()[0].FirstSeen.IsZero() {
		t.Fatalf("after a pass: last %+v open %+v", l.Last, l.Open())
	}
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	if got := r.Live(); got.StateName() != report.StatePaused || !got.Paused {
		t.Errorf("paused: state %s", got.StateName())
	}
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	if got := r.Live(); got.StateName() != report.StateWaiting {
		t.Errorf("resumed between passes: state %s", got.StateName())
	}
}
