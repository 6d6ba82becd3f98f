package collector

import (
	"context"
	"strings"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
)

// TestEvidenceTruncatedKeys: records whose keys are too long to list in
// full (so they cannot be re-read by the listed key) stay missing pass
// after pass, each under its own key hash, and one that comes back is
// recognised by the walk and fixed.
func TestEvidenceTruncatedKeys(t *testing.T) {
	st := newListStore(0)
	long := func(c byte) string { return strings.Repeat("<", 2*report.MaxKeyBytes) + string(c) }
	for c := byte('a'); c <= 'e'; c++ {
		st.add(long(c))
	}
	r := newTestRunner(t, st, t.TempDir())
	if _, err := r.RunPass(context.Background()); err != nil {
		t.Fatal(err)
	}
	gone := map[string][]byte{}
	var keep [][]byte
	for _, k := range st.keys {
		if c := k[len(k)-1]; c == 'b' || c == 'd' {
			gone[string(k)] = st.values[string(k)]
			delete(st.values, string(k))
		} else {
			keep = append(keep, k)
		}
	}
	st.keys = keep
	for pass := 0; pass < 3; pass++ {
		rep, err := r.RunPass(context.Background())
		if err != nil || rep.FailuresByCheck[verify.CheckMissing] != 2 || len(rep.Failures) != 2 {
			t.Fatalf("pass %d: %v, %v, %d listed", pass, err, rep.FailuresByCheck, len(rep.Failures))
		}
		hashes := map[string]bool{}
		for _, f := range rep.Failures {
			if len(f.Key) > report.MaxKeyBytes || len(f.ID) > report.MaxIDBytes || !strings.Contains(f.Key, report.TruncMarker) {
				t.Errorf("pass %d: key %d bytes, id %d bytes: not truncated", pass, len(f.Key), len(f.ID))
			}
			hashes[f.KeySHA256] = true
		}
		if !hashes[report.KeySum(long('b'))] || !hashes[report.KeySum(long('d'))] {
			t.Errorf("pass %d: key hashes %v are not those of the deleted keys", pass, hashes)
		}
	}
	st.values[long('b')] = gone[long('b')]
	st.add(long('b'))
	rep, err := r.RunPass(context.Background())
	if err != nil || rep.FailuresByCheck[verify.CheckMissing] != 1 || len(rep.Fixed) != 1 || rep.Fixed[0].KeySHA256 != report.KeySum(long('b')) {
		t.Errorf("after restoring one: %v, %v, fixed %+v", err, rep.FailuresByCheck, rep.Fixed)
	}
}
