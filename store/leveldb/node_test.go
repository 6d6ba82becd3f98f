package leveldb

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// needNode returns the node binary, failing under CI=true when node or the
// testdata/node modules (npm ci) are missing, skipping otherwise.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("../../testdata/node/node_modules/classic-level")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and testdata/node/node_modules are required under CI (run npm ci in testdata/node): %v", err)
		}
		t.Skipf("node or testdata/node/node_modules missing: %v", err)
	}
	return node
}

// TestNodeGeneratedDB reruns make-leveldb.js and checks the scan sees exactly
// the records the manifest promises under the prefix, and none outside it.
func TestNodeGeneratedDB(t *testing.T) {
	t.Run("compacted", func(t *testing.T) { nodeGeneratedDB(t) })
	t.Run("uncompacted", func(t *testing.T) { nodeGeneratedDB(t, "--no-compact") })
}

func nodeGeneratedDB(t *testing.T, extra ...string) {
	node := needNode(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "db")
	man := filepath.Join(tmp, "expected.json")
	cmd := exec.Command(node, append([]string{"../../testdata/node/make-leveldb.js", dir, "--count", "1500", "--manifest", man}, extra...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-leveldb.js: %v\n%s", err, out)
	}
	m := readManifest(t, man)
	s := mustOpen(t, dir, Options{Prefix: []byte(m.Prefix), ChunkSize: 256})
	recs := scanAll(t, s, nil)
	if len(recs) != m.TotalRecords || m.TotalRecords < 1500 {
		t.Fatalf("scanned %d records under %q, manifest says %d", len(recs), m.Prefix, m.TotalRecords)
	}
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("record %q: %v", r.Key, r.Err)
		}
	}
	whole := mustOpen(t, dir, Options{})
	if n := len(scanAll(t, whole, nil)); n != m.TotalRecords+m.OutsidePrefix {
		t.Fatalf("whole database: %d keys, want %d records + %d outside the prefix", n, m.TotalRecords, m.OutsidePrefix)
	}
	if est, err := s.EstimateCount(context.Background()); err != nil || est < int64(m.TotalRecords)*7/10 || est > int64(m.TotalRecords)*13/10 {
		t.Fatalf("EstimateCount = %d, %v; want about %d", est, err, m.TotalRecords)
	}
}
