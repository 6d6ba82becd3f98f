package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// newTestRunner is a runner of st in js mode with only the id field
// required, keeping its progress in stateDir.
func newTestRunner(t *testing.T, st store.Store, stateDir string) *Runner {
	t.Helper()
	v := mustVerifier(t, verify.VerifierConfig{Canonical: canonical.JS, RequiredFields: []string{"id"}})
	r, err := NewRunner(RunnerConfig{Store: st, Verifier: v, StateDir: stateDir, Identity: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMissingBetweenPasses: records deleted between two passes are named
// as missing, added ones are not, and the count is exact.
func TestMissingBetweenPasses(t *testing.T) {
	st := newListStore(1000)
	dir := t.TempDir()
	r := newTestRunner(t, st, dir)
	if _, err := r.RunPass(context.Background()); err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for _, i := range []int{0, 1, 500, 998, 999} { // first, middle, last
		k := fmt.Sprintf("rec-%07d", i)
		deleted[k] = true
		delete(st.values, k)
	}
	var keep [][]byte
	for _, k := range st.keys {
		if !deleted[string(k)] {
			keep = append(keep, k)
		}
	}
	st.keys = keep
	st.add("rec-0000500x") // a new record is not missing
	rep, err := r.RunPass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range rep.Failures {
		if f.Reason != verify.CheckMissing {
			t.Errorf("unexpected failure %+v", f)
		}
		got[f.ID] = true
	}
	if len(got) != len(deleted) || rep.FailuresByCheck[verify.CheckMissing] != int64(len(deleted)) {
		t.Errorf("missing = %v (%d counted), want %v", got, rep.FailuresByCheck[verify.CheckMissing], deleted)
	}
	for k := range deleted {
		if !got[k] {
			t.Errorf("%s not reported missing", k)
		}
	}
	if s := r.Status(); s.Missing != int64(len(deleted)) {
		t.Errorf("Status().Missing = %d", s.Missing)
	}
	// Evidence survives: more passes, even after a restart, still name
	// them with their first-seen time, until they are restored.
	firstSeen := map[string]time.Time{}
	for _, f := range rep.Failures {
		firstSeen[f.ID] = f.FirstSeen
	}
	for pass := 0; pass < 3; pass++ {
		if pass == 2 {
			r = newTestRunner(t, st, dir) // a restart
		}
		rep, err = r.RunPass(context.Background())
		if err != nil || rep.FailuresByCheck[verify.CheckMissing] != int64(len(deleted)) || len(rep.Failures) != len(deleted) {
			t.Fatalf("pass %d after the deletion: %v, %d missing, listed %+v", pass, err, rep.FailuresByCheck[verify.CheckMissing], rep.Failures)
		}
		for _, f := range rep.Failures {
			if !deleted[f.ID] || f.Reason != verify.CheckMissing || !f.FirstSeen.Equal(firstSeen[f.ID]) || f.FirstSeen.IsZero() {
				t.Errorf("pass %d: %+v, want missing first seen %v", pass, f, firstSeen[f.ID])
			}
		}
		if s := r.Status(); s.Missing != int64(len(deleted)) || s.OK() {
			t.Errorf("pass %d: Status().Missing = %d, OK %v", pass, s.Missing, s.OK())
		}
	}
	// Restored: the next pass reads them, they verify, and they are fixed.
	for k := range deleted {
		st.add(k)
	}
	rep, err = r.RunPass(context.Background())
	if err != nil || rep.Failed != 0 {
		t.Errorf("pass after restoring: %v, %d failures %+v", err, rep.Failed, rep.Failures)
	}
	got = map[string]bool{}
	for _, f := range rep.Fixed {
		if f.FixedAt.IsZero() || !f.FirstSeen.Equal(firstSeen[f.ID]) {
			t.Errorf("fixed %+v: want fixed_at and the first-seen time", f)
		}
		got[f.ID] = true
	}
	if len(got) != len(deleted) {
		t.Errorf("fixed list %v, want the %d restored records", got, len(deleted))
	}
	if s := r.Status(); s.Missing != 0 || !s.OK() {
		t.Errorf("after restoring: Status().Missing = %d, OK %v", s.Missing, s.OK())
	}
}

// TestDamagedProgressFile: a torn progress file is set aside with a fresh
// pass, not an error or a crash loop.
func TestDamagedProgressFile(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{`{"version":1,"store":"mem","current":{"store":"mem","chec`, `garbage`, `{"version":99,"store":"mem"}`, `{"version":1,"store":"mem","current":{"by_check":[1]}}`} {
		if err := os.WriteFile(filepath.Join(dir, "progress-mem.json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		r := newTestRunner(t, newListStore(10), dir)
		rep, err := r.RunPass(context.Background())
		if err != nil || rep.Checked != 10 {
			t.Errorf("%q: %v, checked %v", content, err, rep)
		}
		if _, err := os.Stat(filepath.Join(dir, "progress-mem.json.damaged")); err != nil {
			t.Errorf("%q: damaged file not set aside: %v", content, err)
		}
	}
}

// TestLastPassHasItsKeyList: whoever sees a last pass (the cross-store
// comparison, run when the other store's pass ends) finds that pass's key
// list in the state directory; a comparison that found none once compared
// one store against nothing.
func TestLastPassHasItsKeyList(t *testing.T) {
	st := newListStore(200)
	dir := t.TempDir()
	r := newTestRunner(t, st, dir)
	done := make(chan error, 1)
	finished := make(chan struct{})
	t.Cleanup(func() { <-finished }) // the passes end before the state directory goes
	go func() {
		defer close(finished)
		for range 30 {
			if _, err := r.RunPass(context.Background()); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	path := keysPath(dir, r.Name(), "last")
	for seen := 0; ; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if seen == 0 {
				t.Fatal("never saw a last pass")
			}
			return
		default:
		}
		if r.Status().Last == nil {
			continue
		}
		seen++
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("a last pass is shown but its key list is not there: %v", err)
		}
	}
}

// TestKeyListNotRotated: a key list that cannot become the last one (here
// a directory stands in its way) is a state error, counted, and no sorted
// copy of it is left to be taken for the older list's.
func TestKeyListNotRotated(t *testing.T) {
	st := newListStore(50)
	dir := t.TempDir()
	r := newTestRunner(t, st, dir)
	last := keysPath(dir, r.Name(), "last")
	if err := os.MkdirAll(filepath.Join(last, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunPass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := r.Status().StateErrors; n == 0 {
		t.Error("a key list that was not rotated is not counted as a state error")
	}
	next := keysPath(dir, r.Name(), "next")
	for _, p := range []string{next + sortedSuffix, last + sortedSuffix} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", filepath.Base(p))
		}
	}
}
