package leveldb

import (
	"context"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestNodeGeneratedDB reruns make-leveldb.js and checks the scan sees exactly
// the records the manifest promises under the prefix, and none outside it.
func TestNodeGeneratedDB(t *testing.T) {
	t.Run("compacted", func(t *testing.T) { nodeGeneratedDB(t) })
	t.Run("uncompacted", func(t *testing.T) { nodeGeneratedDB(t, "--no-compact") })
}

func nodeGeneratedDB(t *testing.T, extra ...string) {
	dir, m := testutil.NodeLevelDB(t, 1500, extra...)
	s := mustOpen(t, dir, Options{Prefix: []byte(m.Prefix), ChunkSize: 256})
	recs := scanAll(t, s, nil)
	if len(recs) != m.Total || m.Total < 1500 {
		t.Fatalf("scanned %d records under %q, manifest says %d", len(recs), m.Prefix, m.Total)
	}
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("record %q: %v", r.Key, r.Err)
		}
	}
	whole := mustOpen(t, dir, Options{})
	if n := len(scanAll(t, whole, nil)); n != m.Total+m.OutsidePrefix {
		t.Fatalf("whole database: %d keys, want %d records + %d outside the prefix", n, m.Total, m.OutsidePrefix)
	}
	if est, err := s.EstimateCount(context.Background()); err != nil || est < int64(m.Total)*7/10 || est > int64(m.Total)*13/10 {
		t.Fatalf("EstimateCount = %d, %v; want about %d", est, err, m.Total)
	}
}
