package metrics

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store/leveldb"
)

// TestMetricsLint: the exposition of a runner on the committed Node-written
// database is clean under client_golang's linter, before any pass and
// after one, every check label is present, and the last pass's count is
// the generator's.
func TestMetricsLint(t *testing.T) {
	m := testutil.ReadJSON[testutil.LevelDBManifest](t, testutil.Path(t, "testdata/leveldb/expected.json"))
	st, err := leveldb.Open(testutil.Path(t, "testdata/leveldb/sigils-db"), leveldb.Options{Prefix: []byte(m.Prefix)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var keyFiles []string
	for _, k := range m.Keys {
		keyFiles = append(keyFiles, testutil.Path(t, filepath.FromSlash(k)))
	}
	keys, _, err := verify.LoadSigningKeys(keyFiles)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.NewVerifier(verify.VerifierConfig{Canonical: canonical.JS, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	r, err := collector.NewRunner(collector.RunnerConfig{Store: st, Verifier: v, StateDir: t.TempDir(), Identity: "test", KeyPrefix: m.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	c := New(r)
	if problems, err := promtest.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint before a pass: %v %v", err, problems)
	}
	if _, err := r.RunPass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if problems, err := promtest.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint after a pass: %v %v", err, problems)
	}
	want := `
# HELP sigil_integrity_last_pass_records Records checked by the last complete pass. From the background walk, not read at scrape time.
# TYPE sigil_integrity_last_pass_records gauge
sigil_integrity_last_pass_records{store="leveldb"} ` + strconv.Itoa(m.Total) + `
`
	if err := promtest.CollectAndCompare(c, strings.NewReader(want), "sigil_integrity_last_pass_records"); err != nil {
		t.Error(err)
	}
	if n := promtest.CollectAndCount(c, "sigil_integrity_last_pass_failures"); n != len(verify.Checks) {
		t.Errorf("%d last_pass_failures series, want one per check (%d)", n, len(verify.Checks))
	}
	if n := promtest.CollectAndCount(c, "sigil_integrity_last_pass_key_records"); n != len(keys) {
		t.Errorf("%d last_pass_key_records series, want one per signing key (%d)", n, len(keys))
	}
}
