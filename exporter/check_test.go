package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

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
	dir, db, keys := demoStore(t, 50, false)
	code, stdout, stderr := runCLI(t, "check", "--store.leveldb.path="+db, "--store.leveldb.prefix=!sigils!", "--state.path="+filepath.Join(dir, "state"),
		"--verify.key-file="+keys[0], "--verify.key-file="+keys[1], "--report.dir="+filepath.Join(dir, "r"), "--log.level=error")
	if code != exitOK || !strings.HasPrefix(stdout, "Checked 50 sigils. 0 failures.\n") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
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

// TestCheckPushesToPushgateway: the CronJob path. `check
// --push.gateway-url` pushes the pass's metrics to a real Pushgateway,
// where Prometheus would scrape them, grouped by instance, store and shard.
func TestCheckPushesToPushgateway(t *testing.T) {
	pgw := testutil.Tool(t, "the Debian package prometheus-pushgateway", "prometheus-pushgateway")
	addr := testutil.FreeAddr(t)
	gw := testutil.Start(t, "pushgateway", exec.Command(pgw, "--web.listen-address="+addr))
	gw.WaitHTTP(t, "http://"+addr+"/-/ready", 10*time.Second)

	args, m := committedDB(t)
	check := func(extra ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, append(append(args, "check", "--push.gateway-url=http://"+addr,
			"--report.dir="+t.TempDir(), "--state.path="+filepath.Join(t.TempDir(), "s"), "--log.level=error"), extra...)...)
		if code != exitFailures && code != exitOK {
			t.Fatalf("check %v: exit %d\n%s%s", extra, code, stdout, stderr)
		}
	}
	scrape := func() (map[string]float64, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return parseMetrics(t, string(body)), string(body)
	}

	// Two hosts check the same store, and one host checks it in two shards:
	// every push is its own group (job, instance, store, shard), none
	// replaces another.
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	check() // the default instance: the host name
	check("--push.instance=node-b")
	check("--push.instance=node-c", "--scan.shard=0/2")
	check("--push.instance=node-c", "--scan.shard=1/2")
	s, body := scrape()
	series := func(inst, shard, name, extra string) string {
		return name + `{` + extra + `instance="` + inst + `",job="sigil_integrity_check",shard="` + shard + `",store="leveldb"}`
	}
	for _, inst := range []string{host, "node-b"} {
		for name, want := range map[string]float64{
			"sigil_integrity_last_status":       0,
			"sigil_integrity_last_pass_records": float64(m.Total),
		} {
			if got, ok := s[series(inst, "all", name, "")]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", series(inst, "all", name, ""), got, ok, want)
			}
		}
		if got := s[series(inst, "all", "sigil_integrity_last_pass_failures", `check="checksum",`)]; got != 2 {
			t.Errorf("%s = %v, want 2", series(inst, "all", "sigil_integrity_last_pass_failures", `check="checksum",`), got)
		}
	}
	a, okA := s[series("node-c", "0/2", "sigil_integrity_last_pass_records", "")]
	b, okB := s[series("node-c", "1/2", "sigil_integrity_last_pass_records", "")]
	if !okA || !okB || a+b != float64(m.Total) || a == 0 || b == 0 {
		t.Errorf("the two shards' groups hold %v (present %v) and %v (present %v) records, want both present, adding up to %d",
			a, okA, b, okB, m.Total)
	}
	if strings.Contains(body, `instance=""`) {
		t.Errorf("a pushed series has an empty instance:\n%s", body)
	}
	if !strings.Contains(body, "sigil_integrity_last_pass_completion_timestamp_seconds") {
		t.Error("completion timestamp not pushed")
	}
}
