package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store/postgres/pgtest"
)

const pgTestDB = "sigil"

func readPGManifest(t *testing.T) testutil.PostgresManifest {
	t.Helper()
	return testutil.ReadJSON[testutil.PostgresManifest](t, filepath.Join(repo, "testdata/postgres/expected.json"))
}

// startPG starts a throwaway cluster with the Node-made tables loaded into
// database pgTestDB, readable by the password-auth reader role.
func startPG(t *testing.T) *pgtest.Cluster {
	t.Helper()
	c := pgtest.Start(t)
	c.CreateDatabase(pgTestDB)
	dir := filepath.Join(repo, "testdata/postgres")
	c.LoadIn(pgTestDB, filepath.Join(dir, "sigils.sql"), filepath.Join(dir, "sigil_docs.sql"))
	c.ExecIn(pgTestDB, "GRANT SELECT ON sigils, sigil_docs, sigil_docs_text TO "+pgtest.ReaderRole)
	return c
}

// keyFlags are the --verify.key-file flags for key files relative to the
// repository root.
func keyFlags(keys []string) []string {
	var out []string
	for _, k := range keys {
		out = append(out, "--verify.key-file="+filepath.Join(repo, k))
	}
	return out
}

// failureSet is a report's failures as sorted "key reason" lines.
func failureSet(rep reportJSON) []string {
	got := []string{}
	for _, f := range rep.Failures {
		got = append(got, f.Key+" "+f.Reason)
	}
	sort.Strings(got)
	return got
}

// wantSet is planted failures as sorted "key check" lines.
func wantSet(prefix string, ws []testutil.Failure) []string {
	exp := []string{}
	for _, w := range ws {
		exp = append(exp, prefix+w.Key+" "+w.Check)
	}
	sort.Strings(exp)
	return exp
}

// reportFor reads the one report of a store in dir (tests give each run
// its own report directory).
func reportFor(t *testing.T, dir, storeName string) reportJSON {
	t.Helper()
	return readReport(t, storeReport(t, dir, storeName))
}

// storeReport is the path of the one report of a store in dir.
func storeReport(t *testing.T, dir, storeName string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "integrity-report-"+storeName+"-*.json"))
	if len(files) != 1 {
		t.Fatalf("%d %s reports in %s, want 1", len(files), storeName, dir)
	}
	return files[0]
}

// checkPlanted compares a report with a table's planted failures exactly
// and checks its counts and that no valid edge case is named.
func checkPlanted(t *testing.T, rep reportJSON, storeName string, tm testutil.PostgresTable) {
	t.Helper()
	if d := cmp.Diff(wantSet("", tm.Failures), failureSet(rep)); d != "" {
		t.Errorf("failures (-want +got):\n%s", d)
	}
	if rep.Store != storeName || rep.Checked != int64(tm.Total) || rep.Failed != int64(len(tm.Failures)) || rep.OK != rep.Checked-rep.Failed || !rep.Complete {
		t.Errorf("report store=%s checked=%d ok=%d failed=%d complete=%v, want %s checked=%d failed=%d complete", rep.Store, rep.Checked, rep.OK, rep.Failed, rep.Complete, storeName, tm.Total, len(tm.Failures))
	}
	edges := map[string]bool{}
	for _, e := range tm.EdgeCases {
		edges[e] = true
	}
	for _, f := range rep.Failures {
		if edges[f.Key] {
			t.Errorf("valid edge case %s reported: %s %s", f.Key, f.Reason, f.Detail)
		}
	}
}

// TestCheckPostgres runs `check` on the Node-made tables in a real
// PostgreSQL as the password-auth reader role: the columnar table (record =
// row as JSON, a duplicated id) and the document tables (json and text
// columns). Every planted failure is named with its check, nothing else,
// exit 1; the DSN works from a file and from DATABASE_URL; an unreachable
// server is exit 2 with one line and no password.
func TestCheckPostgres(t *testing.T) {
	t.Parallel()
	c := startPG(t)
	m := readPGManifest(t)
	dsn := c.ReaderDSN(pgTestDB)

	// run runs check on one table and verifies the outcome; dsnArgs and
	// env choose how the DSN is given.
	run := func(t *testing.T, table string, dsnArgs []string, env []string) {
		tm, ok := m.Tables[table]
		if !ok {
			t.Fatalf("no table %s in testdata/postgres/expected.json", table)
		}
		reports := t.TempDir()
		args := append([]string{"check", "--store.postgres.table=" + table, "--store.postgres.record-column=" + tm.RecordColumn,
			"--store.postgres.page-size=7", "--report.dir=" + reports, "--state.path=" + t.TempDir(), "--log.level=warn"}, dsnArgs...)
		args = append(args, keyFlags(m.Keys)...)
		var code int
		var stdout, stderr string
		if env == nil {
			code, stdout, stderr = runCLI(t, args...)
		} else {
			code, stdout, stderr = runBinary(t, env, args...)
		}
		if code != exitFailures {
			t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		wantLine := fmt.Sprintf("Checked %d sigils. %d failures.\n", tm.Total, len(tm.Failures))
		if !strings.HasPrefix(stdout, wantLine) {
			t.Errorf("stdout starts %q, want %q", firstLine(stdout), wantLine)
		}
		for c, n := range countByCheck(tm.Failures) {
			if line := fmt.Sprintf("  %s: %d\n", c, n); !strings.Contains(stdout, line) {
				t.Errorf("stdout lacks %q:\n%s", line, stdout)
			}
		}
		if strings.Contains(stdout+stderr, pgtest.ReaderPassword) {
			t.Errorf("output leaks the password:\n%s\n%s", stdout, stderr)
		}
		checkPlanted(t, reportFor(t, reports, "postgres"), "postgres", tm)
	}

	for _, table := range []string{"sigils", "sigil_docs", "sigil_docs_text"} {
		t.Run("table="+table, func(t *testing.T) {
			run(t, table, []string{"--store.postgres.dsn=" + dsn}, nil)
		})
	}
	t.Run("dsn-file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "dsn")
		if err := os.WriteFile(f, []byte("  "+dsn+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		run(t, "sigils", []string{"--store.postgres.dsn-file=" + f}, nil)
	})
	t.Run("DATABASE_URL", func(t *testing.T) {
		run(t, "sigils", nil, []string{"DATABASE_URL=" + dsn})
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := strings.Replace(dsn, fmt.Sprintf(":%d/", c.Port()), ":"+portOf(t, testutil.FreeAddr(t))+"/", 1) + "&connect_timeout=3"
		start := time.Now()
		code, stdout, stderr := runCLI(t, "check", "--store.postgres.dsn="+dead, "--report.dir="+t.TempDir(), "--state.path="+t.TempDir(), "--log.level=error")
		took := time.Since(start)
		if code != exitError {
			t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if len(lines) != 1 || len(stderr) > 400 {
			t.Errorf("stderr is %d lines, %d bytes; want one short line:\n%s", len(lines), len(stderr), stderr)
		}
		if !strings.Contains(stderr, "postgres") {
			t.Errorf("stderr %q does not name postgres", stderr)
		}
		if strings.Contains(stdout+stderr, pgtest.ReaderPassword) {
			t.Errorf("output leaks the password: %s", stderr)
		}
		if took > 10*time.Second {
			t.Errorf("an unreachable server took %s to report", took)
		}
	})
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("no port in %q", addr)
	}
	return addr[i+1:]
}

// runBinary runs the built exporter as a process with extra environment
// variables (DATABASE_URL) and returns its exit code and output.
func runBinary(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t), args...)
	cmd.Dir = t.TempDir()
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DATABASE_URL=") && !strings.HasPrefix(e, "SIGIL_DB_PATH=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb testutil.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return testutil.ExitCode(t, cmd.Run()), out.String(), errb.String()
}

// pgSeries names one postgres series.
func pgSeries(name string) string { return name + `{store="postgres"}` }

func pgCheckSeries(check string) string {
	return fmt.Sprintf(`sigil_integrity_last_pass_failures{check=%q,store="postgres"}`, check)
}

// allChecks are the check label values.
var allChecks = []string{"read", "decode", "fields", "key", "duplicate", "checksum", "signature", "schema", "missing"}

// checkLastPass compares the last pass's per-check failure gauges with the
// planted failures.
func checkLastPass(t *testing.T, s map[string]float64, tm testutil.PostgresTable) {
	t.Helper()
	if got := s[pgSeries("sigil_integrity_last_pass_records")]; got != float64(tm.Total) {
		t.Errorf("last_pass_records = %v, want %d", got, tm.Total)
	}
	want := countByCheck(tm.Failures)
	for _, c := range allChecks {
		if got := s[pgCheckSeries(c)]; got != float64(want[c]) {
			t.Errorf("last_pass_failures{check=%q} = %v, want %d", c, got, want[c])
		}
	}
}

// TestServePostgresRestart restarts PostgreSQL in the middle of a paced
// serve pass read in small pages: the store shows down while the server
// is stopped and up again after, and the pass completes with every record
// counted once and exactly the planted failures.
func TestServePostgresRestart(t *testing.T) {
	t.Parallel()
	c := startPG(t)
	m := readPGManifest(t)
	tm := m.Tables["sigils"]
	args := append([]string{"serve", "--store.postgres.dsn=" + c.ReaderDSN(pgTestDB), "--store.postgres.page-size=3",
		"--scan.pass-duration=8s", "--state.checkpoint-interval=500ms", "--report.dir=" + t.TempDir(), "--state.path=" + t.TempDir()},
		keyFlags(m.Keys)...)
	p := startExporter(t, args...)
	// Past the duplicated id (the 10th key), so that the restart does not
	// land inside that run of rows.
	p.waitFor(15*time.Second, "a third of the pass", func() bool {
		return p.scrape()[pgSeries("sigil_integrity_current_pass_records")] >= 20
	})
	s := p.scrape()
	if s[pgSeries("sigil_integrity_up")] != 1 {
		t.Errorf("up = %v while walking, want 1", s[pgSeries("sigil_integrity_up")])
	}
	before := s[pgSeries("sigil_integrity_current_pass_records")]
	c.Stop()
	p.waitFor(10*time.Second, "up 0 while the server is down", func() bool {
		return p.scrape()[pgSeries("sigil_integrity_up")] == 0
	})
	time.Sleep(time.Second)
	if got := p.scrape()[pgSeries("sigil_integrity_passes_completed_total")]; got != 0 {
		t.Fatalf("a pass completed while the server was down (%v)", got)
	}
	c.Restart()
	p.waitFor(30*time.Second, "the pass to complete after the restart", func() bool {
		return p.scrape()[pgSeries("sigil_integrity_passes_completed_total")] >= 1
	})
	s = p.scrape()
	t.Logf("stopped at %v of %d records", before, tm.Total)
	if s[pgSeries("sigil_integrity_up")] != 1 {
		t.Errorf("up = %v after the restart, want 1", s[pgSeries("sigil_integrity_up")])
	}
	if s[pgSeries("sigil_integrity_read_errors_total")] < 1 {
		t.Errorf("read_errors_total = %v, want the outage counted", s[pgSeries("sigil_integrity_read_errors_total")])
	}
	checkLastPass(t, s, tm)
	checkPlanted(t, reportFor(t, argValue(t, args, "--report.dir="), "postgres"), "postgres", tm)
}

// argValue returns the value of a --flag= argument.
func argValue(t *testing.T, args []string, prefix string) string {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, prefix); ok {
			return v
		}
	}
	t.Fatalf("no %s in %v", prefix, args)
	return ""
}

// TestServePostgresDownAtStart: serve starts with the server down, answers
// /metrics with up 0, and completes a pass once the server is up.
func TestServePostgresDownAtStart(t *testing.T) {
	t.Parallel()
	c := startPG(t)
	m := readPGManifest(t)
	tm := m.Tables["sigils"]
	c.Stop()
	p := startExporter(t, append([]string{"serve", "--store.postgres.dsn=" + c.ReaderDSN(pgTestDB), "--scan.pass-duration=2s",
		"--report.dir=" + t.TempDir(), "--state.path=" + t.TempDir()}, keyFlags(m.Keys)...)...)
	p.waitFor(10*time.Second, "a failed attempt to reach the server", func() bool {
		return p.scrape()[pgSeries("sigil_integrity_read_errors_total")] >= 1
	})
	s := p.scrape()
	if v, ok := s[pgSeries("sigil_integrity_up")]; !ok || v != 0 {
		t.Errorf("up = %v (present %v), want 0 while the server is down", v, ok)
	}
	if v, ok := s[pgSeries("sigil_integrity_last_status")]; !ok {
		t.Errorf("last_status missing from the scrape while down (%v)", v)
	}
	if strings.Contains(p.Out.String(), pgtest.ReaderPassword) {
		t.Errorf("logs leak the password:\n%s", p.Out.String())
	}
	c.Restart()
	p.waitFor(30*time.Second, "a pass after the server came up", func() bool {
		return p.scrape()[pgSeries("sigil_integrity_passes_completed_total")] >= 1
	})
	s = p.scrape()
	if s[pgSeries("sigil_integrity_up")] != 1 {
		t.Errorf("up = %v after the server came up, want 1", s[pgSeries("sigil_integrity_up")])
	}
	checkLastPass(t, s, tm)
}

// TestServePostgresDuplicateAcrossChunks: a paced walk reads in chunks
// (about a second's worth of records each); a chunk that ends between two
// rows with the same id must not make the next chunk skip the second row.
// With --scan.max-rate=1 every chunk is one record, so the run of two
// dup-1 rows is always split.
func TestServePostgresDuplicateAcrossChunks(t *testing.T) {
	t.Parallel()
	c := startPG(t)
	m := readPGManifest(t)
	c.ExecIn(pgTestDB, `CREATE TABLE dups AS SELECT * FROM sigils WHERE id IN ('Edge-Upper', 'dup-1', 'sigil-0000')`)
	c.ExecIn(pgTestDB, `CREATE INDEX dups_id_c ON dups (id COLLATE "C")`)
	c.ExecIn(pgTestDB, "GRANT SELECT ON dups TO "+pgtest.ReaderRole)
	p := startExporter(t, append([]string{"serve", "--store.postgres.dsn=" + c.ReaderDSN(pgTestDB), "--store.postgres.table=dups",
		"--scan.pass-duration=2s", "--scan.max-rate=1", "--report.dir=" + t.TempDir(), "--state.path=" + t.TempDir()}, keyFlags(m.Keys)...)...)
	p.waitFor(20*time.Second, "a pass", func() bool {
		return p.scrape()[pgSeries("sigil_integrity_passes_completed_total")] >= 1
	})
	checkLastPass(t, p.scrape(), testutil.PostgresTable{Planted: testutil.Planted{Total: 4, Failures: []testutil.Failure{{Key: "dup-1", ID: "dup-1", Check: "duplicate"}}}})
}

// TestServeRunNowDuringPacedSleep: /-/run-now lifts the pacing of the pass
// under way at once, even while the walk sleeps between two chunks of a
// slow pace (here about 60 s per record).
func TestServeRunNowDuringPacedSleep(t *testing.T) {
	t.Parallel()
	c := startPG(t)
	m := readPGManifest(t)
	p := startExporter(t, append([]string{"serve", "--web.enable-lifecycle", "--store.postgres.dsn=" + c.ReaderDSN(pgTestDB), "--scan.pass-duration=1h",
		"--report.dir=" + t.TempDir(), "--state.path=" + t.TempDir()}, keyFlags(m.Keys)...)...)
	p.waitFor(10*time.Second, "the first chunk", func() bool {
		return p.scrape()[pgSeries("sigil_integrity_current_pass_records")] >= 1
	})
	if code := p.post("/-/run-now"); code != 200 {
		t.Fatalf("run-now: HTTP %d", code)
	}
	p.waitFor(5*time.Second, "the pass to finish after run-now", func() bool {
		return p.scrape()[pgSeries("sigil_integrity_passes_completed_total")] >= 1
	})
	checkLastPass(t, p.scrape(), m.Tables["sigils"])
}
