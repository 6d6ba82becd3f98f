package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

var rangeRE = regexp.MustCompile(`hides the records (?:after ("(?:[^"\\]|\\.)*")|from the first one)(?: and before ("(?:[^"\\]|\\.)*")| to the last one)`)

// hiddenBy reads the key range a read failure's detail names and returns
// the keys of all that fall inside it.
func hiddenBy(t *testing.T, detail string, all []string) map[string]bool {
	t.Helper()
	m := rangeRE.FindStringSubmatch(detail)
	if m == nil {
		t.Fatalf("read failure detail %q names no key range", detail)
	}
	unq := func(s string) string {
		u, err := strconv.Unquote(s)
		if err != nil {
			t.Fatalf("detail %q: %v", detail, err)
		}
		return u
	}
	hidden := map[string]bool{}
	for _, k := range all {
		if (m[1] == "" || k > unq(m[1])) && (m[2] == "" || k < unq(m[2])) {
			hidden[k] = true
		}
	}
	return hidden
}

// readFailures returns the report's read failures.
func readFailures(r reportJSON) []string {
	var out []string
	for _, f := range r.Failures {
		if f.Reason == "read" {
			out = append(out, f.Detail)
		}
	}
	return out
}

// TestCheckCorruptedBlock: flipped bytes in the middle of the committed
// Node-written table give one `read` failure naming the file, the damaged
// block's offset and the key range it hides; every record outside that
// range is verified (its planted failures still found), exit 1.
func TestCheckCorruptedBlock(t *testing.T) {
	args, m := committedDB(t)
	db := strings.TrimPrefix(args[0], "--store.leveldb.path=")
	all := dbKeys(t, db, m.Prefix)
	tables, _ := filepath.Glob(filepath.Join(db, "*.ldb"))
	if len(tables) == 0 {
		t.Fatal("no table file in the committed database")
	}
	fi, err := os.Stat(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	mid := fi.Size() / 2
	testutil.FlipBytes(t, tables[0], mid, 8)

	reports := t.TempDir()
	code, stdout, stderr := runCLI(t, append(args, "check", "--report.dir="+reports, "--state.path="+t.TempDir(), "--log.level=error")...)
	if code != exitFailures {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	rep := latestReport(t, reports)
	reads := readFailures(rep)
	if len(reads) != 1 {
		t.Fatalf("%d read failures, want 1: %q", len(reads), reads)
	}
	detail := reads[0]
	var off, size int64
	if _, err := fmt.Sscanf(detail[strings.Index(detail, " at offset "):], " at offset %d (%d bytes)", &off, &size); err != nil ||
		!strings.Contains(detail, filepath.Base(tables[0])) || off > mid || off+size < mid {
		t.Errorf("read failure %q does not name %s and a block covering offset %d", detail, filepath.Base(tables[0]), mid)
	}
	hidden := hiddenBy(t, detail, all)
	if len(hidden) == 0 || len(hidden) == len(all) {
		t.Fatalf("the damage hides %d of %d records: the test proves nothing", len(hidden), len(all))
	}
	readable := len(all) - len(hidden)
	if rep.Checked != int64(readable+1) {
		t.Errorf("checked %d, want the %d readable records plus the read failure", rep.Checked, readable)
	}
	var want, got []string
	for _, w := range m.Failures {
		if !hidden[w.Key] {
			want = append(want, m.Prefix+w.Key+" "+w.Check)
		}
	}
	for _, f := range rep.Failures {
		if f.Reason != "read" {
			got = append(got, f.Key+" "+f.Reason)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("failures outside the damaged range (-want +got):\n%s", d)
	}
	if !strings.Contains(stdout, "  read: 1\n") {
		t.Errorf("stdout does not count the read failure:\n%s", stdout)
	}
	t.Logf("%s; %d of %d records hidden, %d checked", detail, len(hidden), len(all), rep.Checked)
}

// TestCheckMissingTable: a table file deleted from a many-table database is
// one `read` failure naming it, the other tables' records are verified,
// exit 1.
func TestCheckMissingTable(t *testing.T) {
	const n = 3000
	a := manyTableDB(t, n)
	all := dbKeys(t, a.path, "")
	tables, _ := filepath.Glob(filepath.Join(a.path, "*.ldb"))
	sort.Strings(tables)
	if len(tables) < 5 {
		t.Fatalf("only %d table files", len(tables))
	}
	victim := tables[len(tables)/2]
	if err := os.Remove(victim); err != nil {
		t.Fatal(err)
	}
	reports := t.TempDir()
	code, stdout, stderr := runCLI(t, "check", "--store.leveldb.path="+a.path, "--verify.key-file="+a.keyFile(),
		"--report.dir="+reports, "--state.path="+t.TempDir(), "--log.level=error")
	if code != exitFailures {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	rep := latestReport(t, reports)
	reads := readFailures(rep)
	if len(reads) != 1 || !strings.Contains(reads[0], "table file "+filepath.Base(victim)+" is missing") {
		t.Fatalf("read failures %q, want one naming %s as missing", reads, filepath.Base(victim))
	}
	hidden := hiddenBy(t, reads[0], all)
	if len(hidden) == 0 || len(hidden) == n {
		t.Fatalf("the missing table hides %d of %d records", len(hidden), n)
	}
	if rep.Failed != 1 || rep.Checked != int64(n-len(hidden)+1) {
		t.Errorf("checked %d, failed %d; want %d readable records plus 1 read failure", rep.Checked, rep.Failed, n-len(hidden))
	}
	t.Logf("%s; %d hidden", reads[0], len(hidden))
}

// TestCheckTruncatedJournal: records not yet in a table live in the
// journal. A journal cut in half (the app crashed mid-write, a disk filled)
// still opens: the torn tail is dropped with a warning, which the app's own
// LevelDB would also do on its next open, so `check` alone cannot see the
// loss (exit 0, fewer records). With the last complete pass kept in
// --state.path, the next check reports each lost record as `missing`, exit 1.
func TestCheckTruncatedJournal(t *testing.T) {
	const n = 400
	a := newAppDB(t)
	editLevelDB(t, a.path, func(db *leveldb.DB) {
		for i := 0; i < n; i++ { // one journal record per put
			id := fmt.Sprintf("rec-%05d", i)
			if err := db.Put([]byte(id), a.record(id, fmt.Sprintf(`{"n":%d}`, i)), nil); err != nil {
				t.Fatal(err)
			}
		}
	})
	state := t.TempDir()
	base := []string{"check", "--store.leveldb.path=" + a.path, "--verify.key-file=" + a.keyFile(), "--state.path=" + state, "--log.level=warn"}

	reports := t.TempDir()
	if code, stdout, stderr := runCLI(t, append(base, "--report.dir="+reports)...); code != exitOK || !strings.HasPrefix(stdout, fmt.Sprintf("Checked %d sigils. 0 failures.", n)) {
		t.Fatalf("intact journal: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	_, size := testutil.TearJournal(t, a.path)

	// Without a previous pass: the loss cannot be seen, but it is logged.
	code, stdout, stderr := runCLI(t, "check", "--store.leveldb.path="+a.path, "--verify.key-file="+a.keyFile(),
		"--state.path="+t.TempDir(), "--report.dir="+t.TempDir(), "--log.level=warn")
	var kept, failed int
	if _, err := fmt.Sscanf(stdout, "Checked %d sigils. %d failures.", &kept, &failed); err != nil || code != exitOK || failed != 0 || kept == 0 || kept >= n {
		t.Fatalf("truncated journal, no previous pass: exit %d, want 0 with fewer than %d records\nstdout: %s\nstderr: %s", code, n, stdout, stderr)
	}
	if !strings.Contains(stderr, "journal") {
		t.Errorf("no warning about the dropped journal tail:\n%s", stderr)
	}

	// With the previous pass: every lost record is `missing`.
	reports = t.TempDir()
	code, stdout, stderr = runCLI(t, append(base, "--report.dir="+reports)...)
	if code != exitFailures {
		t.Fatalf("truncated journal after a complete pass: exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	rep := latestReport(t, reports)
	if rep.Checked != int64(kept) || rep.FailuresByCheck["missing"] != int64(n-kept) || rep.Failed != int64(n-kept) {
		t.Errorf("checked %d, failures %v; want %d checked and %d missing", rep.Checked, rep.FailuresByCheck, kept, n-kept)
	}
	t.Logf("journal cut from %d to %d bytes: %d of %d records kept, %d reported missing", size, size/2+3, kept, n, rep.FailuresByCheck["missing"])
}

// TestNotALevelDB: a --store.leveldb.path that holds no LevelDB. `check`
// exits 2 with one line naming the path. `serve` exits 2 the same way when
// the path is not a database at all (no CURRENT, a plain file); when CURRENT
// names a MANIFEST that is not there (a half-restored directory) the store
// counts as unreachable: serve keeps serving with up 0, read errors counted
// and a log line naming the path, and retries with back-off. Nothing is
// ever created in the path.
func TestNotALevelDB(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage-current")
	testutil.Must(t, os.MkdirAll(garbage, 0o755))
	testutil.Must(t, os.WriteFile(filepath.Join(garbage, "CURRENT"), []byte("MANIFEST-000009\n"), 0o644)) // names a manifest that is not there
	file := filepath.Join(dir, "a-file")
	testutil.Must(t, os.WriteFile(file, []byte("not a database"), 0o644))
	empty := filepath.Join(dir, "empty")
	testutil.Must(t, os.MkdirAll(empty, 0o755))
	before := testutil.Digest(t, dir)
	for _, path := range []string{empty, garbage, file} {
		for _, cmd := range []string{"check", "serve"} {
			t.Run(filepath.Base(path)+"/"+cmd, func(t *testing.T) {
				if path == garbage && cmd == "serve" {
					p := startExporter(t, "serve", "--store.leveldb.path="+path, "--report.dir="+t.TempDir(), "--state.path="+t.TempDir())
					p.waitFor(5*time.Second, "up 0 and read errors counted", func() bool {
						s := p.scrape()
						return s[`sigil_integrity_up{store="leveldb"}`] == 0 && s[`sigil_integrity_read_errors_total{store="leveldb"}`] >= 2
					})
					if !strings.Contains(p.Out.String(), "MANIFEST-000009: no such file") {
						t.Errorf("no log line naming the missing manifest:\n%s", p.Out.String())
					}
					return
				}
				bin := testutil.Binary(t)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c := exec.CommandContext(ctx, bin, cmd, "--store.leveldb.path="+path, "--report.dir="+t.TempDir(),
					"--state.path="+t.TempDir(), "--web.listen-address="+testutil.FreeAddr(t), "--log.level=error")
				var stderr bytes.Buffer
				c.Stderr = &stderr
				if code := testutil.ExitCode(t, c.Run()); code != exitError {
					t.Fatalf("exit %d, want 2\nstderr: %s", code, stderr.String())
				}
				lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], filepath.Base(path)) {
					t.Errorf("stderr is not one line naming the path:\n%s", stderr.String())
				}
			})
		}
	}
	if d := cmp.Diff(before, testutil.Digest(t, dir)); d != "" {
		t.Errorf("the exporter changed the directories it was pointed at:\n%s", d)
	}
}

// TestServeCorruptedDB: serve on a database with a corrupted block keeps
// serving pass after pass and shows the damage: a read failure in the
// pass gauges, read_errors_total, last_status 0, lint-clean metrics.
func TestServeCorruptedDB(t *testing.T) {
	args, _ := committedDB(t)
	db := strings.TrimPrefix(args[0], "--store.leveldb.path=")
	tables, _ := filepath.Glob(filepath.Join(db, "*.ldb"))
	fi, _ := os.Stat(tables[0])
	testutil.FlipBytes(t, tables[0], fi.Size()/2, 8)
	p := startExporter(t, append(args, "serve", "--scan.pass-duration=1s", "--report.dir="+t.TempDir(), "--state.path="+t.TempDir())...)
	start := time.Now()
	// A 1 s pass over 328 records may run late, but not by many times its
	// length: the first pass is paced from the store's estimate.
	p.waitFor(30*time.Second, "the first pass over the damaged database", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 1
	})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the first 1 s pass over a damaged database took %s: EstimateCount stops at the damage and the pass is paced for too few records", took.Round(100*time.Millisecond))
	}
	p.waitFor(10*time.Second, "a second pass", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 2
	})
	s := p.scrape()
	for series, want := range map[string]float64{
		`sigil_integrity_last_pass_failures{check="read",store="leveldb"}`: 1,
		`sigil_integrity_last_status{store="leveldb"}`:                     0,
		`sigil_integrity_up{store="leveldb"}`:                              1,
	} {
		if s[series] != want {
			t.Errorf("%s = %v, want %v", series, s[series], want)
		}
	}
	if got := s[`sigil_integrity_read_errors_total{store="leveldb"}`]; got < 2 {
		t.Errorf("read_errors_total = %v after two passes over one damaged block, want >= 2", got)
	}
	_, body := p.get("/metrics")
	promtoolCheckMetrics(t, body)
}
