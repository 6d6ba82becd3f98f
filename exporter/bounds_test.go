package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
)

// TestHugeIDsBounded: a store of 30 failing records whose ids (and keys)
// are 1 MB of '<': reports, the progress file and the pages stay under
// their documented bounds, every id and key truncated with the marker and
// the key's hash; two deleted records stay listed pass after pass. Peak
// RSS is bounded against what goleveldb alone needs for this store (the
// floor program): before the bounds it was 2.48 GB, then 541 MiB; with
// failures of keys over MaxRereadKeyBytes no longer re-read, 237 MiB. It
// is not under 64 MiB: goleveldb keeps every 1 MB key in the table's index
// block, which the floor already pays (74-78 MiB) (docs/RELIABILITY.md,
// bounds row).
func TestHugeIDsBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	const n = 30
	id := func(i int) string { return strings.Repeat("<", 1_000_000) + fmt.Sprintf("%02d", i) }
	writeLevelDB(t, db, n, true, func(i int) ([]byte, []byte) {
		// As JSON.stringify writes it: '<' is not escaped.
		return []byte(id(i)), []byte(fmt.Sprintf(`{"id":"%s","signature":"00","checksum":"00","data":{"n":%d}}`, id(i), i))
	})
	reports, state := filepath.Join(dir, "reports"), filepath.Join(dir, "state")
	p := startExporter(t, "serve", "--store.leveldb.path="+db, "--scan.pass-duration=1s", "--store.leveldb.reopen-interval=200ms",
		"--report.dir="+reports, "--state.path="+state, "--state.checkpoint-interval=200ms")
	passes := func() float64 { return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] }
	p.waitFor(60*time.Second, "a pass", func() bool { return passes() >= 1 })

	ldb, err := leveldb.OpenFile(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 20} {
		if err := ldb.Delete([]byte(id(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ldb.Close(); err != nil {
		t.Fatal(err)
	}
	// The deleted records stay listed (missing, or with the failure they
	// had when last read: the store may still show them to a Get until it
	// reopens), pass after pass, each under its own key hash.
	listedGone := func() (int, int) {
		_, body := p.get("/reports/latest.json")
		var r struct {
			Failed   int              `json:"failed"`
			Failures []report.Failure `json:"failures"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("latest.json: %v", err)
		}
		gone := 0
		for _, f := range r.Failures {
			if f.KeySHA256 == report.KeySum(id(3)) || f.KeySHA256 == report.KeySum(id(20)) {
				gone++
			}
		}
		return r.Failed, gone
	}
	p.waitFor(60*time.Second, "a pass that did not see the deleted records", func() bool {
		return p.scrape()[`sigil_integrity_last_pass_records{store="leveldb"}`] == n-2
	})
	after := passes()
	p.waitFor(60*time.Second, "three more passes", func() bool { return passes() >= after+3 })
	if failed, gone := listedGone(); failed != n || gone != 2 {
		t.Errorf("three passes after deleting two failing records: %d failures, %d of the deleted listed; want %d and 2", failed, gone, n)
	}
	s := p.scrape()
	if got := s[`sigil_integrity_last_pass_failures{check="checksum",store="leveldb"}`] + s[`sigil_integrity_last_pass_failures{check="missing",store="leveldb"}`]; got != n {
		t.Errorf("checksum + missing failures %v, want %d", got, n)
	}

	// goleveldb alone (the floor program: iterate and hash) needs tens of
	// MiB for this store: every 1 MB key is also in the table's index
	// block. The exporter may use a few times that, not gigabytes.
	floorKiB := floorPeakKiB(t, db)
	hwm := vmHWM(t, p.Cmd.Process.Pid)
	bound := 4*floorKiB + 32<<10
	t.Logf("30 records with 1 MB ids: serve peak RSS %d MiB; goleveldb floor %d MiB; bound %d MiB", hwm>>10, floorKiB>>10, bound>>10)
	if hwm > bound {
		t.Errorf("serve's peak RSS is %d MiB, bound %d MiB (4 x the floor + 32 MiB)", hwm>>10, bound>>10)
	}
	// One failure is at most ~1.6 KB (no escaping for '<'), 30 listed.
	const reportBound = 30*2*1024 + 8*1024
	files, _ := filepath.Glob(filepath.Join(reports, "integrity-report-leveldb-*.json"))
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Size() > reportBound {
			t.Errorf("report %s is %d bytes, bound %d", filepath.Base(f), fi.Size(), reportBound)
		}
	}
	// The progress file: the current and last lists, and the cursor (one
	// key, base64) of the pass under way.
	if fi, err := os.Stat(filepath.Join(state, "progress-leveldb.json")); err != nil || fi.Size() > 2*reportBound+1_400_000 {
		t.Logf("progress file %d bytes", fi.Size())
		t.Errorf("progress file: %v, %d bytes", err, fi.Size())
	}
	code, body := p.get("/reports/latest.json")
	var rep evidenceJSON
	if err := json.Unmarshal([]byte(body), &rep); code != 200 || err != nil || len(rep.Failures) != n {
		t.Fatalf("latest.json: %d %v, %d failures", code, err, len(rep.Failures))
	}
	var raw struct {
		Failures []report.Failure `json:"failures"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	for _, f := range raw.Failures {
		if len(f.ID) > report.MaxIDBytes+40 || !strings.Contains(f.ID, report.TruncMarker) || len(f.Key) > report.MaxKeyBytes+40 || len(f.KeySHA256) != 64 {
			t.Errorf("failure id %d bytes, key %d bytes, key_sha256 %q: want them truncated with the marker and hashed", len(f.ID), len(f.Key), f.KeySHA256)
			break
		}
	}
	code, page := p.get("/reports")
	if code != 200 || len(page) > 4*reportBound {
		t.Errorf("/reports: %d, %d bytes", code, len(page))
	}
	t.Logf("report %d bytes, /reports page %d bytes", len(body), len(page))
}
