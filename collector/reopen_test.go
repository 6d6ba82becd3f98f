package collector

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// flakyReopener is a listStore whose Reopen fails while fail > 0, keeping
// its previous view, as store/leveldb does when an open races the app.
type flakyReopener struct {
	*listStore
	fail, reopens int
}

func (f *flakyReopener) Reopen() error {
	f.reopens++
	if f.fail > 0 {
		f.fail--
		return errors.New("the app moved on while the database was being opened: " + store.ErrUnavailable.Error())
	}
	return nil
}

// TestReopenFailureKeepsPreviousView: a reopen that fails while the store
// was up does not flip up to 0, count a read error or stop the pass: the
// walk goes on from the previous view. Only reopens failing for longer
// than ReopenGrace put the store down, and the next good reopen puts it up.
func TestReopenFailureKeepsPreviousView(t *testing.T) {
	st := &flakyReopener{listStore: newListStore(100)}
	v := mustVerifier(t, VerifierConfig{Canonical: canonical.JS, RequiredFields: []string{"id"}})
	now := time.Unix(1_800_000_000, 0)
	r, err := NewRunner(RunnerConfig{Store: st, Verifier: v, Identity: "test", ReopenGrace: 30 * time.Second,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(what string, wantErr, wantUp bool, wantReadErrors uint64) {
		t.Helper()
		_, err := r.RunPass(ctx)
		if (err != nil) != wantErr {
			t.Fatalf("%s: RunPass error %v, want error %v", what, err, wantErr)
		}
		if up := r.Status().Up; up != wantUp {
			t.Errorf("%s: up %v, want %v", what, up, wantUp)
		}
		r.mu.Lock()
		got := r.counters.readErrors
		r.mu.Unlock()
		if got != wantReadErrors {
			t.Errorf("%s: read errors %d, want %d", what, got, wantReadErrors)
		}
	}
	st.fail = 1
	check("one reopen raced the app", false, true, 0)
	if r.last == nil || r.last.Pass.Checked != 100 {
		t.Fatalf("the pass over the previous view did not complete")
	}
	st.fail = 1000
	now = now.Add(10 * time.Second)
	check("reopens failing for 10 s", false, true, 0)
	now = now.Add(10 * time.Second)
	check("reopens failing for 20 s", false, true, 0)
	now = now.Add(11 * time.Second)
	check("reopens failing for 31 s", true, false, 1)
	st.fail = 0
	now = now.Add(time.Second)
	check("the store reopens again", false, true, 1)
	// A store that is down gets no grace: the first failure counts.
	r.setDown(errors.New("down"))
	st.fail = 1
	check("a reopen failing while down", true, false, 3)
}
