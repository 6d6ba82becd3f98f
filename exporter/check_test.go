package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestCheckNodeLevelDB runs `check` on LevelDBs written by real Node with
// planted corruptions of every kind: every bad record is named with its
// check, no valid edge case is reported, and the store's files are
// byte-identical afterwards.
func TestCheckNodeLevelDB(t *testing.T) {
	dbs := map[string]func(t *testing.T) (string, testutil.LevelDBManifest){
		"committed": func(t *testing.T) (string, testutil.LevelDBManifest) {
			return testutil.CopyDir(t, filepath.Join(repo, "testdata/leveldb/sigils-db")), testutil.ReadJSON[testutil.LevelDBManifest](t, filepath.Join(repo, "testdata/leveldb/expected.json"))
		},
		"regenerated": func(t *testing.T) (string, testutil.LevelDBManifest) { return testutil.NodeLevelDB(t, 500) },
		// As a running app leaves it: closed without a final compaction,
		// two live journals, tables on levels 0 and 2.
		"committed-uncompacted": func(t *testing.T) (string, testutil.LevelDBManifest) {
			return testutil.CopyDir(t, filepath.Join(repo, "testdata/leveldb/sigils-db-uncompacted")), testutil.ReadJSON[testutil.LevelDBManifest](t, filepath.Join(repo, "testdata/leveldb/expected-uncompacted.json"))
		},
		"regenerated-uncompacted": func(t *testing.T) (string, testutil.LevelDBManifest) {
			return testutil.NodeLevelDB(t, 500, "--no-compact")
		},
	}
	for name, mk := range dbs {
		for _, withSchema := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/schema=%v", name, withSchema), func(t *testing.T) {
				db, m := mk(t)
				before := testutil.Digest(t, db)
				reports := t.TempDir()
				args := []string{"check", "--store.leveldb.path=" + db, "--store.leveldb.prefix=" + m.Prefix, "--report.dir=" + reports, "--state.path=" + t.TempDir(), "--log.level=error"}
				for _, k := range m.Keys {
					args = append(args, "--verify.key-file="+filepath.Join(repo, k))
				}
				wantFail := append([]testutil.Failure(nil), m.Failures...)
				if withSchema {
					args = append(args, "--verify.schema-file="+filepath.Join(repo, "deploy/schema/sigil-record.schema.json"))
					wantFail = append(wantFail, m.SchemaFailures...)
				}
				code, stdout, stderr := runCLI(t, args...)
				if code != exitFailures {
					t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
				}
				wantLine := fmt.Sprintf("Checked %d sigils. %d failures.\n", m.Total, len(wantFail))
				if !strings.HasPrefix(stdout, wantLine) {
					t.Errorf("stdout starts %q, want %q", firstLine(stdout), wantLine)
				}
				rep := latestReport(t, reports)
				var got []string
				for _, f := range rep.Failures {
					got = append(got, f.Key+" "+f.Reason)
				}
				var exp []string
				for _, w := range wantFail {
					exp = append(exp, m.Prefix+w.Key+" "+w.Check)
				}
				sort.Strings(got)
				sort.Strings(exp)
				if d := cmp.Diff(exp, got); d != "" {
					t.Errorf("failures (-want +got):\n%s", d)
				}
				if rep.Checked != int64(m.Total) || rep.Failed != int64(len(wantFail)) || rep.OK != rep.Checked-rep.Failed || !rep.Complete {
					t.Errorf("report counts checked=%d ok=%d failed=%d complete=%v", rep.Checked, rep.OK, rep.Failed, rep.Complete)
				}
				for _, f := range rep.Failures {
					for _, e := range m.EdgeCases {
						if f.Key == m.Prefix+e {
							t.Errorf("valid edge case %s reported: %s %s", e, f.Reason, f.Detail)
						}
					}
				}
				if d := cmp.Diff(before, testutil.Digest(t, db)); d != "" {
					t.Errorf("check changed the store's files (-before +after):\n%s", d)
				}
			})
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestCheckCleanStoreExitsZero: no failures is exit 0 and says so.
func TestCheckCleanStoreExitsZero(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	keys, err := writeDemoDB(db, dir, 50, false)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "check", "--store.leveldb.path="+db, "--store.leveldb.prefix=!sigils!", "--state.path="+filepath.Join(dir, "state"),
		"--verify.key-file="+keys[0], "--verify.key-file="+keys[1], "--report.dir="+filepath.Join(dir, "r"), "--log.level=error")
	if code != exitOK || !strings.HasPrefix(stdout, "Checked 50 sigils. 0 failures.\n") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// TestCheckBadInput: every bad input is one clear line on stderr and exit 2,
// with no key material in it.
func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	keys, err := writeDemoDB(db, dir, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.key", "  \n", 0o600)
	badSchema := write("bad.schema.json", `{"type": 12}`, 0o600)
	notJSONSchema := write("notjson.schema.json", `{"type": `, 0o600)
	notDB := filepath.Join(dir, "not-a-db")
	testutil.Must(t, os.MkdirAll(notDB, 0o755))
	reports := "--report.dir=" + filepath.Join(dir, "r")
	state := "--state.path=" + filepath.Join(dir, "state")
	cases := []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"no store", []string{"check", reports}, "no store configured"},
		{"missing path", []string{"check", "--store.leveldb.path=" + filepath.Join(dir, "nope"), reports}, "nope"},
		{"not a leveldb", []string{"check", "--store.leveldb.path=" + notDB, reports}, "not-a-db"},
		{"missing key file", []string{"check", "--store.leveldb.path=" + db, "--verify.key-file=" + filepath.Join(dir, "missing.key"), reports}, "missing.key"},
		{"empty key file", []string{"check", "--store.leveldb.path=" + db, "--verify.key-file=" + empty, reports}, "is empty"},
		{"key file is a dir", []string{"check", "--store.leveldb.path=" + db, "--verify.key-file=" + dir, reports}, "is a directory"},
		{"bad schema", []string{"check", "--store.leveldb.path=" + db, "--verify.schema-file=" + badSchema, reports}, "not a valid JSON Schema"},
		{"schema not json", []string{"check", "--store.leveldb.path=" + db, "--verify.schema-file=" + notJSONSchema, reports}, "not valid JSON"},
		{"bad canonical", []string{"check", "--store.leveldb.path=" + db, "--verify.canonical=xml", reports}, "canonical"},
		{"unknown flag", []string{"check", "--store.leveldb.pth=" + db, reports}, "unknown long flag"},
		{"bad duration", []string{"check", "--store.leveldb.path=" + db, "--scan.pass-duration=soon", reports}, "pass-duration"},
		{"bad max failures", []string{"check", "--store.leveldb.path=" + db, "--report.max-failures=0", reports}, "--report.max-failures"},
		{"bad retain", []string{"check", "--store.leveldb.path=" + db, "--report.retain=0", reports}, "--report.retain"},
		{"bad shard", []string{"check", "--store.leveldb.path=" + db, "--scan.shard=3/3", reports}, `invalid --scan.shard "3/3"`},
		{"bad window", []string{"serve", "--store.leveldb.path=" + db, "--scan.window=25:00-03:00", reports}, `invalid --scan.window "25:00-03:00": hour must be 00-23`},
		{"bad dsn", []string{"check", "--store.postgres.dsn=postgres://u:hunter2secret@/db?sslmode=bogus", reports}, "postgres"},
		{"unreachable postgres", []string{"check", "--store.postgres.dsn=postgres://u:hunter2secret@127.0.0.1:1/db?connect_timeout=2", reports}, "postgres"},
		{"report dir is a file", []string{"check", "--store.leveldb.path=" + db, "--report.dir=" + keys[0]}, "report"},
	}
	secrets := []string{"hunter2secret", "demo-current-key", "demo-previous-key"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(c.args, state, "--log.level=error")...)
			if code != exitError {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("stderr is %d lines, want one:\n%s", len(lines), stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not mention %q", stderr, c.want)
			}
			for _, s := range secrets {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("output leaks a secret %q: %s", s, stderr)
				}
			}
		})
	}
}

// TestCheckShards: three replicas with --scan.shard i/3 together check
// every record of a Node-written LevelDB once and find every failure once.
func TestCheckShards(t *testing.T) {
	args, m := committedDB(t)
	var checked int64
	var got []string
	for i := 0; i < 3; i++ {
		reports := t.TempDir()
		code, stdout, stderr := runCLI(t, append(args, "check", fmt.Sprintf("--scan.shard=%d/3", i),
			"--report.dir="+reports, "--state.path="+t.TempDir(), "--log.level=error")...)
		if code == exitError {
			t.Fatalf("shard %d: exit %d\n%s%s", i, code, stdout, stderr)
		}
		rep := latestReport(t, reports)
		checked += rep.Checked
		for _, f := range rep.Failures {
			got = append(got, f.Key+" "+f.Reason)
		}
	}
	var exp []string
	for _, w := range m.Failures {
		exp = append(exp, m.Prefix+w.Key+" "+w.Check)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if checked != int64(m.Total) {
		t.Errorf("3 shards checked %d records, want %d", checked, m.Total)
	}
	if d := cmp.Diff(exp, got); d != "" {
		t.Errorf("failures over 3 shards (-want +got):\n%s", d)
	}
}
