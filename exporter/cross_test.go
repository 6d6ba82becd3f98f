package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store/postgres/pgtest"
)

// readCrossManifest reads testdata/cross/expected.json or a fresh one of
// make-cross.js, which must plant differences.
func readCrossManifest(t *testing.T, path string) testutil.CrossManifest {
	t.Helper()
	m := testutil.ReadJSON[testutil.CrossManifest](t, path)
	if len(m.Differences) == 0 || m.InBoth == 0 {
		t.Fatalf("%s plants no differences", path)
	}
	return m
}

// nodeCross runs make-cross.js into a temp dir and returns the dir.
func nodeCross(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cross")
	testutil.RunGenerator(t, "make-cross.js", dir)
	return dir
}

// TestCheckCrossStore runs `check` with a LevelDB and a PostgreSQL that
// Node filled with the same records and planted differences: each store is
// clean on its own, and the cross report (store "cross") names exactly the
// records present in one store only (missing) and those whose data differ
// (checksum), not those stored with other bytes but equal data; exit 1.
func TestCheckCrossStore(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	sources := map[string]func(t *testing.T) string{
		"committed": func(t *testing.T) string {
			return filepath.Join(repo, "testdata/cross")
		},
		"regenerated": func(t *testing.T) string {
			dir := nodeCross(t)
			// The committed files are what the generator writes.
			for _, f := range []string{"expected.json", "sigils.sql"} {
				a, _ := os.ReadFile(filepath.Join(repo, "testdata/cross", f))
				b, _ := os.ReadFile(filepath.Join(dir, f))
				if !bytes.Equal(a, b) {
					t.Errorf("testdata/cross/%s differs from what make-cross.js writes now: regenerate it", f)
				}
			}
			return dir
		},
	}
	// The PostgreSQL side also as a table walked in an order that is not
	// bytewise: an ICU-collated primary key, and no index at all.
	c.CreateDatabase("cross_probe")
	layouts := map[string][]string{"committed": nil, "regenerated": nil}
	for name, ddl := range orderLayouts(t, c, "cross_probe") {
		layouts["committed/"+strings.ReplaceAll(name, " ", "_")] = ddl
	}
	for i, name := range []string{"committed", "regenerated", "committed/icu_primary_key", "committed/no_index"} {
		ddl, ok := layouts[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := sources[strings.Split(name, "/")[0]](t)
			m := readCrossManifest(t, filepath.Join(dir, "expected.json"))
			database := fmt.Sprintf("cross_%d", i)
			c.CreateDatabase(database)
			c.LoadIn(database, filepath.Join(dir, "sigils.sql"))
			for _, stmt := range ddl {
				c.ExecIn(database, strings.ReplaceAll(stmt, "sigil_docs", "sigils"))
			}
			c.ExecIn(database, "GRANT SELECT ON sigils TO "+pgtest.ReaderRole)
			db := testutil.CopyDir(t, filepath.Join(dir, "sigils-db"))
			reports := t.TempDir()
			gw := newPushgateway(t)
			args := append([]string{"check", "--push.gateway-url=" + gw.srv.URL, "--store.leveldb.path=" + db, "--store.leveldb.prefix=" + m.Prefix,
				"--store.postgres.dsn=" + c.ReaderDSN(database), "--store.postgres.page-size=6",
				"--report.dir=" + reports, "--state.path=" + t.TempDir(), "--log.level=error"}, keyFlags(m.Keys)...)
			code, stdout, stderr := runCLI(t, args...)
			if code != exitFailures {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}

			for storeName, n := range map[string]int{"leveldb": m.LevelDBRecords, "postgres": m.PostgresRecords} {
				rep := reportFor(t, reports, storeName)
				if rep.Checked != int64(n) || rep.Failed != 0 {
					t.Errorf("%s report: checked %d, failed %d %v; want %d records, none failing on its own", storeName, rep.Checked, rep.Failed, failureSet(rep), n)
				}
			}
			rep := reportFor(t, reports, "cross")
			if d := cmp.Diff(wantSet("", m.Differences), failureSet(rep)); d != "" {
				t.Errorf("cross-store differences (-want +got):\n%s", d)
			}
			if rep.Store != "cross" || !rep.Complete || rep.Checked != int64(m.InBoth) || rep.Failed != int64(len(m.Differences)) {
				t.Errorf("cross report store=%q complete=%v checked=%d failed=%d; want cross, complete, %d in both, %d differences",
					rep.Store, rep.Complete, rep.Checked, rep.Failed, m.InBoth, len(m.Differences))
			}
			byCheck := countByCheck(m.Differences)
			for _, ch := range []string{"missing", "checksum"} {
				if rep.FailuresByCheck[ch] != int64(byCheck[ch]) {
					t.Errorf("cross failures_by_check[%s] = %d, want %d", ch, rep.FailuresByCheck[ch], byCheck[ch])
				}
			}
			same := map[string]bool{}
			for _, s := range m.SameDespite {
				same[s] = true
			}
			for _, f := range rep.Failures {
				if same[f.ID] {
					t.Errorf("%s holds the same data in both stores but is reported: %s %s", f.ID, f.Reason, f.Detail)
				}
				if f.Detail == "" {
					t.Errorf("%s %s has no detail", f.ID, f.Reason)
				}
			}
			pushed := gw.metrics()
			checkMissingMetrics(t, pushed, "cross", byCheck["missing"])
			if got := pushed[`sigil_integrity_last_pass_failures{check="checksum",store="cross"}`]; got != float64(byCheck["checksum"]) {
				t.Errorf("last_pass_failures{check=\"checksum\",store=\"cross\"} = %v, want %d", got, byCheck["checksum"])
			}
			if got := pushed[`sigil_integrity_last_pass_records{store="cross"}`]; got != float64(m.InBoth) {
				t.Errorf("last_pass_records{store=\"cross\"} = %v, want %d", got, m.InBoth)
			}
			wantLines := []string{
				fmt.Sprintf("leveldb: checked %d, failed 0\n", m.LevelDBRecords),
				fmt.Sprintf("postgres: checked %d, failed 0\n", m.PostgresRecords),
				fmt.Sprintf("cross: compared %d, failed %d\n", m.InBoth, len(m.Differences)),
			}
			for _, l := range wantLines {
				if !strings.Contains(stdout, l) {
					t.Errorf("stdout lacks %q:\n%s", l, stdout)
				}
			}
			if !strings.Contains(firstLine(stdout), fmt.Sprintf(" %d failures.", len(m.Differences))) {
				t.Errorf("summary %q, want %d failures", firstLine(stdout), len(m.Differences))
			}
		})
	}
}

// TestServeCrossStore: in serve mode the comparison runs after the passes
// and its findings are metrics under store="cross".
func TestServeCrossStore(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	dir := filepath.Join(repo, "testdata/cross")
	m := readCrossManifest(t, filepath.Join(dir, "expected.json"))
	c.CreateDatabase("cross")
	c.LoadIn("cross", filepath.Join(dir, "sigils.sql"))
	c.ExecIn("cross", "GRANT SELECT ON sigils TO "+pgtest.ReaderRole)
	p := startExporter(t, append([]string{"serve", "--store.leveldb.path=" + testutil.CopyDir(t, filepath.Join(dir, "sigils-db")), "--store.leveldb.prefix=" + m.Prefix,
		"--store.postgres.dsn=" + c.ReaderDSN("cross"), "--scan.pass-duration=1s", "--report.dir=" + t.TempDir(), "--state.path=" + t.TempDir()}, keyFlags(m.Keys)...)...)
	p.waitFor(30*time.Second, "a cross-store comparison", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="cross"}`] >= 1
	})
	s := p.scrape()
	byCheck := countByCheck(m.Differences)
	for _, ch := range allChecks {
		if got := s[fmt.Sprintf(`sigil_integrity_last_pass_failures{check=%q,store="cross"}`, ch)]; got != float64(byCheck[ch]) {
			t.Errorf("last_pass_failures{check=%q,store=\"cross\"} = %v, want %d", ch, got, byCheck[ch])
		}
	}
	if got := s[`sigil_integrity_missing_records{store="cross"}`]; got != float64(byCheck["missing"]) {
		t.Errorf("missing_records{store=\"cross\"} = %v, want %d", got, byCheck["missing"])
	}
	if got := s[`sigil_integrity_last_status{store="cross"}`]; got != 0 {
		t.Errorf("last_status{store=\"cross\"} = %v, want 0", got)
	}
	for _, st := range []string{"leveldb", "postgres"} {
		if got := s[fmt.Sprintf(`sigil_integrity_last_status{store=%q}`, st)]; got != 1 {
			t.Errorf("last_status{store=%q} = %v, want 1: each store is clean on its own", st, got)
		}
	}
}
