package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestHugeIDsBounded: a store of 30 failing records whose ids (and keys)
// are 1 MB of '<': reports, the progress file and the pages stay under
// their documented bounds, every id and key truncated with the marker and
// the key's hash; two deleted records stay listed pass after pass. Peak
// RSS is bounded against what goleveldb alone needs for this store (the
// floor program): before the bounds it was 2.48 GB, then 541 MiB; with
// failures of keys over MaxRereadKeyBytes no longer re-read, 237 MiB;
// with the walk's in-flight byte budget, 196 MiB. It
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

// hugeLevelDB writes a store with a record of just under 64 MiB (valid,
// signed), one of 70 MiB (over the default --verify.max-record-bytes) and
// two small ones, compacted into table files.
func hugeLevelDB(t *testing.T, db string, withUnder bool) {
	t.Helper()
	testutil.Long(t, "a store of huge records for the exporter's binary (check as a process, peak memory)")
	const mib = 1 << 20
	over := []byte(`{"id":"huge-70mib","signature":"00","data":{"blob":"` + pad(70*mib) + `"}}`)
	keys := []string{"a-ok", "huge-70mib", "z-ok"}
	vals := [][]byte{signedRecord(badKey, "a-ok", `{}`), over, signedRecord(badKey, "z-ok", `{"z":true}`)}
	if withUnder {
		keys = append(keys, "huge-63mib")
		vals = append(vals, signedRecord(badKey, "huge-63mib", `{"blob":"`+pad(63*mib)+`"}`))
	}
	writeLevelDB(t, db, len(keys), true, func(i int) ([]byte, []byte) { return []byte(keys[i]), vals[i] })
}

// pad is n bytes of varied printable text (it compresses like real data,
// not like a run of one byte).
func pad(n int) string {
	b := make([]byte, 0, n+16)
	for x := uint64(1); len(b) < n; x++ {
		b = strconv.AppendUint(b, x*2654435761%1000000007, 36)
	}
	return string(b[:n])
}

// TestCheckHugeRecords: records of 64 MiB and more. A 70 MiB record is a
// decode failure "over --verify.max-record-bytes" (default 64 MiB),
// reported without quoting it, and the rest of the store is verified; a
// record of just under 64 MiB is verified in full and passes. With a 1 MiB
// limit both are refused.
func TestCheckHugeRecords(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	hugeLevelDB(t, db, true)
	reports := filepath.Join(dir, "reports")
	key := writeKeyFile(t, dir, "k", badKey)
	r := runCheckProc(t, "--store.leveldb.path="+db, "--verify.key-file="+key,
		"--report.dir="+reports, "--state.path="+filepath.Join(dir, "state"))
	if r.code != exitFailures || !strings.HasPrefix(r.stdout, "Checked 4 sigils. 1 failures.\n  decode: 1\n") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %.3000s", r.code, r.stdout, r.stderr)
	}
	rep := readOnlyReport(t, reports)
	if len(rep.Failures) != 1 || rep.Failures[0].Key != "huge-70mib" || rep.Failures[0].Reason != "decode" ||
		!strings.Contains(rep.Failures[0].Detail, "over --verify.max-record-bytes=67108864") {
		t.Fatalf("report failures: %+v", rep.Failures)
	}
	if len(rep.Failures[0].Detail) > 200 {
		t.Errorf("the detail is %d bytes: it must not quote the record", len(rep.Failures[0].Detail))
	}
	small := runCheckProc(t, "--store.leveldb.path="+db, "--verify.key-file="+key, "--verify.max-record-bytes=1MiB",
		"--report.dir="+filepath.Join(dir, "r2"), "--state.path="+filepath.Join(dir, "s2"))
	if small.code != exitFailures || !strings.HasPrefix(small.stdout, "Checked 4 sigils. 2 failures.\n  decode: 2\n") {
		t.Fatalf("1 MiB limit: exit %d\nstdout: %s\nstderr: %.3000s", small.code, small.stdout, small.stderr)
	}
	t.Logf("63 MiB + 70 MiB records: 64 MiB limit: peak RSS %d MiB in %v; 1 MiB limit: %d MiB in %v",
		r.maxRSSKiB>>10, r.elapsed.Round(time.Millisecond), small.maxRSSKiB>>10, small.elapsed.Round(time.Millisecond))
}

// TestCheckHugeRecordMemory: a record over --verify.max-record-bytes
// ("bounds memory", says the flag) costs no more than goleveldb itself
// needs to step over it. goleveldb must read the value once: the table
// block that holds it is read and decompressed whole, which the floor
// program (testdata/bench/floor: iterate and hash, nothing else) measures
// on the same store. The bound allows check twice the floor (the walk's
// read and the re-read of the failure) plus 32 MiB, and no copy of the
// refused value on top.
func TestCheckHugeRecordMemory(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	hugeLevelDB(t, db, false)
	floorKiB := floorPeakKiB(t, db)
	r := runCheckProc(t, "--store.leveldb.path="+db, "--report.dir="+filepath.Join(dir, "r"), "--state.path="+filepath.Join(dir, "s"))
	if r.code != exitFailures || !strings.HasPrefix(r.stdout, "Checked 3 sigils. 1 failures.\n  decode: 1\n") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %.3000s", r.code, r.stdout, r.stderr)
	}
	bound := 2*floorKiB + 32<<10
	t.Logf("70 MiB record over the limit: check peak RSS %d MiB, goleveldb floor %d MiB, bound %d MiB", r.maxRSSKiB>>10, floorKiB>>10, bound>>10)
	if r.maxRSSKiB > bound {
		t.Errorf("check's peak RSS is %d MiB for a store whose largest record (70 MiB) it refuses unread; goleveldb alone needs %d MiB to step over it, bound %d MiB. "+
			"The walk copies the refused value into its batch (collector/walk.go batch.add) and the re-read fetches it again (collector/pass.go Consumer.reread)",
			r.maxRSSKiB>>10, floorKiB>>10, bound>>10)
	}
}
