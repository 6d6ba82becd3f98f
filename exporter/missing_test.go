package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// pushgateway is a stand-in Pushgateway that keeps the last body pushed
// to each group, so a test can read the metrics of a `check` run. Like the
// real one, it keys a group by its grouping labels (in any order in the
// URL path: check pushes one group per store) and adds the group's store
// label back to every series.
type pushgateway struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	groups map[string]pushedGroup // by sorted grouping labels
}

type pushedGroup struct {
	store  string
	body   []byte
	header http.Header
}

func newPushgateway(t *testing.T) *pushgateway {
	g := &pushgateway{t: t, groups: map[string]pushedGroup{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/metrics/"), "/")
		var labels []string
		store := ""
		for i := 0; i+1 < len(parts); i += 2 {
			labels = append(labels, parts[i]+"="+parts[i+1])
			if parts[i] == "store" {
				store = parts[i+1]
			}
		}
		sort.Strings(labels)
		g.mu.Lock()
		g.groups[strings.Join(labels, ",")] = pushedGroup{store: store, body: b, header: r.Header.Clone()}
		g.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// metrics decodes the last push of every group into series text -> value,
// like a scrape of the Pushgateway.
func (g *pushgateway) metrics() map[string]float64 {
	g.t.Helper()
	g.mu.Lock()
	groups := make([]pushedGroup, 0, len(g.groups))
	for _, p := range g.groups {
		groups = append(groups, p)
	}
	g.mu.Unlock()
	if len(groups) == 0 {
		g.t.Fatal("nothing was pushed")
	}
	out := map[string]float64{}
	for _, p := range groups {
		dec := expfmt.NewDecoder(bytes.NewReader(p.body), expfmt.ResponseFormat(p.header))
		for {
			var f dto.MetricFamily
			if err := dec.Decode(&f); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				g.t.Fatalf("decode pushed metrics: %v", err)
			}
			if p.store != "" {
				name, value := "store", p.store
				for _, m := range f.Metric {
					m.Label = append(m.Label, &dto.LabelPair{Name: &name, Value: &value})
				}
			}
			addSamples(out, f.GetName(), f.Metric)
		}
	}
	return out
}

// missingIDs is the sorted ids a report names as missing.
func missingIDs(rep reportJSON) []string {
	out := []string{}
	for _, f := range rep.Failures {
		if f.Reason == "missing" {
			out = append(out, f.ID)
		}
	}
	sort.Strings(out)
	return out
}

// checkMissingMetrics checks the pushed missing gauges of one store.
func checkMissingMetrics(t *testing.T, s map[string]float64, storeName string, n int) {
	t.Helper()
	if got := s[fmt.Sprintf(`sigil_integrity_missing_records{store=%q}`, storeName)]; got != float64(n) {
		t.Errorf("missing_records{store=%q} = %v, want %d", storeName, got, n)
	}
	if got := s[fmt.Sprintf(`sigil_integrity_last_pass_failures{check="missing",store=%q}`, storeName)]; got != float64(n) {
		t.Errorf("last_pass_failures{check=\"missing\",store=%q} = %v, want %d", storeName, got, n)
	}
}

// checkDeletedMissing checks the report and stdout of the pass after the
// app deleted records (keys without prefix) from a store whose planted
// failures are base: the deleted are named missing, each under its key,
// beside the planted failures, and total records were checked.
func checkDeletedMissing(t *testing.T, rep reportJSON, stdout, prefix string, base []testutil.Failure, deleted []string, total int) {
	t.Helper()
	if d := cmp.Diff(deleted, missingIDs(rep)); d != "" {
		t.Errorf("missing ids (-want +got):\n%s", d)
	}
	for _, f := range rep.Failures {
		if f.Reason == "missing" && f.Key != prefix+f.ID {
			t.Errorf("missing %s has key %q, want %q", f.ID, f.Key, prefix+f.ID)
		}
	}
	wantFail := append([]testutil.Failure(nil), base...)
	for _, k := range deleted {
		wantFail = append(wantFail, testutil.Failure{Key: k, ID: k, Check: "missing"})
	}
	if d := cmp.Diff(wantSet(prefix, wantFail), failureSet(rep)); d != "" {
		t.Errorf("failures (-want +got):\n%s", d)
	}
	if rep.Checked != int64(total) || rep.FailuresByCheck["missing"] != int64(len(deleted)) {
		t.Errorf("checked %d, missing %d; want %d and %d", rep.Checked, rep.FailuresByCheck["missing"], total, len(deleted))
	}
	wantLine := fmt.Sprintf("Checked %d sigils. %d failures.\n", total, len(wantFail))
	if !strings.HasPrefix(stdout, wantLine) || !strings.Contains(stdout, fmt.Sprintf("  missing: %d\n", len(deleted))) {
		t.Errorf("stdout:\n%s\nwant it to start %q and count missing", stdout, wantLine)
	}
}

// pushingCheck is a `check` of one store, selected by storeFlags(target),
// that pushes to gw and writes its report into a new directory each run,
// left in *reports.
func pushingCheck(gw *pushgateway, reports *string, keys []string, storeFlags func(target string) []string) func(t *testing.T, target, state string) (int, string, string) {
	return func(t *testing.T, target, state string) (int, string, string) {
		t.Helper()
		*reports = t.TempDir()
		args := append([]string{"check"}, storeFlags(target)...)
		args = append(args, "--report.dir="+*reports, "--state.path="+state, "--push.gateway-url="+gw.srv.URL, "--log.level=error")
		return runCLI(t, append(args, keyFlags(keys)...)...)
	}
}

// TestMissingLevelDB: records the app deletes between two passes are named
// as missing in the next pass (and only there); a record the app added is
// not; the same state pointed at another database reports nothing missing.
func TestMissingLevelDB(t *testing.T) {
	t.Parallel()
	m := testutil.ReadJSON[testutil.LevelDBManifest](t, filepath.Join(repo, "testdata/leveldb/expected.json"))
	src := filepath.Join(repo, "testdata/leveldb/sigils-db")
	db := testutil.CopyDir(t, src)
	state := t.TempDir()
	var reports string // a new one for each run: one report per store in it
	gw := newPushgateway(t)
	check := pushingCheck(gw, &reports, m.Keys, func(db string) []string {
		return []string{"--store.leveldb.path=" + db, "--store.leveldb.prefix=" + m.Prefix}
	})

	if code, stdout, stderr := check(t, db, state); code != exitFailures {
		t.Fatalf("first pass: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	first := reportFor(t, reports, "leveldb")
	if ids := missingIDs(first); len(ids) != 0 {
		t.Fatalf("first pass names missing records %v", ids)
	}
	checkMissingMetrics(t, gw.metrics(), "leveldb", 0)
	otherState := testutil.CopyDir(t, state) // the state after one pass of db, for the identity case

	// The app deletes records (the first and last sigil keys included, so
	// that the merge's start and end are covered) and adds one.
	deleted := []string{"sigil-0000000", "sigil-0000150", "sigil-0000299"}
	added := "sigil-0000150a"
	deletedValues := map[string][]byte{}
	editLevelDB(t, db, func(ldb *leveldb.DB) {
		for _, k := range deleted {
			v, err := ldb.Get([]byte(m.Prefix+k), nil)
			if err != nil {
				t.Fatal(err)
			}
			deletedValues[k] = v
			if err := ldb.Delete([]byte(m.Prefix+k), nil); err != nil {
				t.Fatal(err)
			}
		}
		putCopy(t, ldb, m.Prefix, "sigil-0000151", added)
	})

	t.Run("deleted are missing", func(t *testing.T) {
		code, stdout, stderr := check(t, db, state)
		if code != exitFailures {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		rep := reportFor(t, reports, "leveldb")
		checkDeletedMissing(t, rep, stdout, m.Prefix, m.Failures, deleted, m.Total-len(deleted)+1)
		checkMissingMetrics(t, gw.metrics(), "leveldb", len(deleted))
	})
	t.Run("still missing until restored", func(t *testing.T) {
		// Evidence survives: however many passes run, the deleted records
		// stay missing, with the time they were first seen, until a read
		// finds them restored.
		var firstSeen map[string]string
		for pass := 0; pass < 3; pass++ {
			if code, stdout, stderr := check(t, db, state); code != exitFailures {
				t.Fatalf("pass %d: exit %d\nstdout: %s\nstderr: %s", pass, code, stdout, stderr)
			}
			rep := readEvidence(t, reports, "leveldb")
			if d := cmp.Diff(deleted, missingIDs(rep.reportJSON)); d != "" {
				t.Errorf("pass %d: missing ids (-want +got):\n%s", pass, d)
			}
			checkMissingMetrics(t, gw.metrics(), "leveldb", len(deleted))
			seen := map[string]string{}
			for _, f := range rep.Failures {
				if f.Reason == "missing" {
					seen[f.ID] = f.FirstSeen
				}
			}
			if firstSeen == nil {
				firstSeen = seen
			} else if d := cmp.Diff(firstSeen, seen); d != "" {
				t.Errorf("pass %d: first_seen changed (-before +now):\n%s", pass, d)
			}
		}
		for id, ts := range firstSeen {
			if ts == "" {
				t.Errorf("%s has no first_seen", id)
			}
		}
		editLevelDB(t, db, func(ldb *leveldb.DB) {
			for k, v := range deletedValues {
				if err := ldb.Put([]byte(m.Prefix+k), v, nil); err != nil {
					t.Fatal(err)
				}
			}
		})
		if code, stdout, stderr := check(t, db, state); code != exitFailures {
			t.Fatalf("after restoring: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		rep := readEvidence(t, reports, "leveldb")
		if ids := missingIDs(rep.reportJSON); len(ids) != 0 {
			t.Errorf("restored records still missing: %v", ids)
		}
		checkMissingMetrics(t, gw.metrics(), "leveldb", 0)
		fixed := map[string]bool{}
		for _, f := range rep.Fixed {
			if f.Reason == "missing" && f.FixedAt != "" && f.FirstSeen == firstSeen[f.ID] {
				fixed[f.ID] = true
			}
		}
		if len(fixed) != len(deleted) {
			t.Errorf("fixed list %+v, want the %d restored records with first_seen and fixed_at", rep.Fixed, len(deleted))
		}
	})
	t.Run("another database", func(t *testing.T) {
		// A different database lacking records, checked with the state of
		// the first one: its absent records are not "missing".
		other := testutil.CopyDir(t, src)
		editLevelDB(t, other, func(ldb *leveldb.DB) {
			for _, k := range deleted {
				if err := ldb.Delete([]byte(m.Prefix+k), nil); err != nil {
					t.Fatal(err)
				}
			}
		})
		code, stdout, stderr := check(t, other, otherState)
		checkOtherDatabase(t, reports, "leveldb", m.Total-len(deleted), code, stdout, stderr)
	})
}

// checkOtherDatabase checks the outcome of `check` on another database
// that lacks records, run with the first database's state: it exits 1 for
// its planted failures, reports none of its absent records as missing, and
// checked wantChecked records.
func checkOtherDatabase(t *testing.T, reports, storeName string, wantChecked, code int, stdout, stderr string) {
	t.Helper()
	if code != exitFailures {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	rep := reportFor(t, reports, storeName)
	if ids := missingIDs(rep); len(ids) != 0 {
		t.Errorf("another database's absent records reported missing: %v", ids)
	}
	if rep.Checked != int64(wantChecked) {
		t.Errorf("checked %d, want %d", rep.Checked, wantChecked)
	}
}

// TestMissingPostgres: rows the app deletes between two `check` passes are
// named as missing; a row it inserted is not; the state pointed at another
// database reports nothing missing; serve, restarted on the same state,
// shows the last pass's missing count.
func TestMissingPostgres(t *testing.T) {
	t.Parallel()
	c := startPG(t)
	pm := readPGManifest(t)
	tm := pm.Tables["sigils"]
	state := t.TempDir()
	var reports string // a new one for each run: one report per store in it
	gw := newPushgateway(t)
	check := pushingCheck(gw, &reports, pm.Keys, func(database string) []string {
		return []string{"--store.postgres.dsn=" + c.ReaderDSN(database), "--store.postgres.page-size=5"}
	})
	if code, stdout, stderr := check(t, pgTestDB, state); code != exitFailures {
		t.Fatalf("first pass: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if ids := missingIDs(reportFor(t, reports, "postgres")); len(ids) != 0 {
		t.Fatalf("first pass names missing records %v", ids)
	}
	otherState := testutil.CopyDir(t, state)

	// First sigil, one in the middle, and the last key in bytewise order.
	deleted := []string{"sigil-0000", "sigil-0010", "~edge-tilde"}
	del := `DELETE FROM sigils WHERE id IN ('sigil-0000', 'sigil-0010', '~edge-tilde')`
	c.ExecIn(pgTestDB, del)
	c.ExecIn(pgTestDB, `INSERT INTO sigils (id, data, checksum, signature, created_at)
		SELECT 'sigil-0010a', data, checksum, signature, created_at FROM sigils WHERE id = 'sigil-0011'`)

	t.Run("deleted are missing", func(t *testing.T) {
		code, stdout, stderr := check(t, pgTestDB, state)
		if code != exitFailures {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		rep := reportFor(t, reports, "postgres")
		checkDeletedMissing(t, rep, stdout, "", tm.Failures, deleted, tm.Total-len(deleted)+1)
		checkMissingMetrics(t, gw.metrics(), "postgres", len(deleted))
	})
	t.Run("serve restarted on the same state", func(t *testing.T) {
		p := startExporter(t, append([]string{"serve", "--store.postgres.dsn=" + c.ReaderDSN(pgTestDB), "--scan.pass-duration=1h",
			"--report.dir=" + t.TempDir(), "--state.path=" + state}, keyFlags(pm.Keys)...)...)
		s := p.scrape()
		if got := s[pgCheckSeries("missing")]; got != float64(len(deleted)) {
			t.Errorf("last_pass_failures{check=\"missing\"} = %v, want %d from the saved last pass", got, len(deleted))
		}
		if got := s[pgSeries("sigil_integrity_missing_records")]; got != float64(len(deleted)) {
			t.Errorf("missing_records = %v after a restart, want %d: the saved last pass found them", got, len(deleted))
		}
	})
	t.Run("another database", func(t *testing.T) {
		other := "sigil_other"
		c.CreateDatabase(other)
		c.LoadIn(other, filepath.Join(repo, "testdata/postgres/sigils.sql"))
		c.ExecIn(other, "GRANT SELECT ON sigils TO sigil_reader")
		c.ExecIn(other, del)
		code, stdout, stderr := check(t, other, otherState)
		checkOtherDatabase(t, reports, "postgres", tm.Total-len(deleted), code, stdout, stderr)
	})
}

// evidenceJSON is a report with the evidence fields: first_seen per
// failure and the recently fixed list.
type evidenceJSON struct {
	reportJSON
	Failures []struct {
		ID        string `json:"id"`
		Reason    string `json:"reason"`
		Key       string `json:"key"`
		FirstSeen string `json:"first_seen"`
	} `json:"failures"`
	Fixed []struct {
		ID        string `json:"id"`
		Reason    string `json:"reason"`
		FirstSeen string `json:"first_seen"`
		FixedAt   string `json:"fixed_at"`
	} `json:"fixed"`
}

func readEvidence(t *testing.T, dir, storeName string) evidenceJSON {
	t.Helper()
	file := storeReport(t, dir, storeName)
	r := testutil.ReadJSON[evidenceJSON](t, file)
	r.reportJSON = readReport(t, file) // the embedded fields its own Failures shadows
	return r
}
