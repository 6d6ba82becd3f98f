package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// Bad input end to end: `check` runs as a process on LevelDBs written here
// with goleveldb (as the app would), so its exit code and peak RSS are real.

// badKey is the HMAC key the records in these tests are signed with.
const badKey = "badinput-test-key-4f2a"

// signedRecord is a valid record: data must already be in its canonical
// (JSON.stringify) form, which is what gets hashed and signed.
func signedRecord(key, id, data string) []byte {
	sum := sha256.Sum256([]byte(data))
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(data))
	idJSON, _ := json.Marshal(id)
	return []byte(fmt.Sprintf(`{"id":%s,"data":%s,"checksum":"%x","signature":"%x"}`, idJSON, data, sum, mac.Sum(nil)))
}

// writeKeyFile writes a key file with mode 0600 and returns its path.
func writeKeyFile(t *testing.T, dir, name, key string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkRun is one `check` process.
type checkRun struct {
	code           int
	stdout, stderr string
	maxRSSKiB      int64
	elapsed        time.Duration
}

// resetPeakRSS makes a child's rusage Maxrss its own. os/exec starts a
// child with clone(CLONE_VM|CLONE_VFORK), so the child shares this test
// process's memory until it execs, and Linux carries that memory's peak RSS
// (this process's, often hundreds of MiB after writing a big store) into
// the child's ru_maxrss. Returning freed memory to the OS and resetting the
// peak (clear_refs 5, Linux 4.0+) leaves the child's figure as the larger
// of its own peak and this process's RSS now, which is returned in KiB.
func resetPeakRSS(t testing.TB) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS: %v", err)
	}
	return procStatusKiB(t, "self", "VmRSS")
}

// procStatusKiB reads a memory figure (VmRSS, VmHWM, ...) in KiB from
// /proc/<pid>/status; pid is a number or "self".
func procStatusKiB(t testing.TB, pid, field string) int64 {
	t.Helper()
	b := testutil.ReadFile(t, "/proc/"+pid+"/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib
		}
	}
	t.Fatalf("no %s in /proc/%s/status", field, pid)
	return 0
}

// floorPeakKiB is the peak RSS of testdata/bench/floor walking db (the
// whole key space): what goleveldb alone needs to iterate and hash the
// store, the floor the exporter's memory is held against.
func floorPeakKiB(t *testing.T, db string) int64 {
	t.Helper()
	floorBin := filepath.Join(t.TempDir(), "floor")
	if out, err := exec.Command("go", "build", "-o", floorBin, "../testdata/bench/floor").CombinedOutput(); err != nil {
		t.Fatalf("build floor: %v\n%s", err, out)
	}
	fl := exec.Command(floorBin, "-prefix", "", db)
	resetPeakRSS(t)
	if out, err := fl.CombinedOutput(); err != nil {
		t.Fatalf("floor: %v\n%s", err, out)
	}
	return fl.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

// runCheckProc runs `check` as a process and reads its peak RSS.
func runCheckProc(t testing.TB, args ...string) checkRun {
	t.Helper()
	bin := testutil.Binary(t)
	cmd := exec.Command(bin, append([]string{"check"}, args...)...)
	cmd.Dir = t.TempDir()
	parentKiB := resetPeakRSS(t)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := checkRun{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start), code: testutil.ExitCode(t, err)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSKiB = ru.Maxrss
	}
	if r.maxRSSKiB <= parentKiB+1024 {
		t.Logf("check's peak RSS reads %d KiB, no more than the test process's own %d KiB: the figure is a ceiling", r.maxRSSKiB, parentKiB)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("check died of %v\nstderr: %.2000s", ws.Signal(), r.stderr)
	}
	return r
}

// fullReport is the report file with the fields these tests need.
type fullReport struct {
	reportJSON
	FailuresTruncated int64 `json:"failures_truncated"`
}

func readOnlyReport(t testing.TB, dir string) fullReport {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "integrity-report-leveldb-*.json"))
	if len(files) != 1 {
		t.Fatalf("want one leveldb report in %s, have %v", dir, files)
	}
	b := testutil.ReadFile(t, files[0])
	if !json.Valid(b) {
		t.Fatalf("report %s is not valid JSON", files[0])
	}
	var r fullReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCheckOddRecords: a million levels of nesting, invalid UTF-8 in keys
// and values, NUL bytes in keys and values, and trailing garbage each give
// the right check (or none, for the valid ones), with no crash.
func TestCheckOddRecords(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	const deep = 1_000_000
	type rec struct {
		key   string
		value []byte
		check string // "" = valid, must not be reported
		inDet string // in the detail
	}
	recs := []rec{
		{"ok-1", signedRecord(badKey, "ok-1", `{"a":1}`), "", ""},
		{"ok-nul-escaped", signedRecord(badKey, "ok-nul-escaped", `{"s":"a\u0000b"}`), "", ""},
		{"ok-nul\x00in-key", signedRecord(badKey, "ok-nul\x00in-key", `{"n":2}`), "", ""},
		{"ok-nul-name", signedRecord(badKey, "ok-nul-name", `{"\u0000":"\u0000"}`), "", ""},
		{"deep-arrays", []byte(`{"id":"deep-arrays","signature":"00","data":` + strings.Repeat("[", deep) + strings.Repeat("]", deep) + `}`), "decode", "nesting deeper than"},
		{"deep-objects", []byte(`{"id":"deep-objects","signature":"00","data":` + strings.Repeat(`{"a":`, deep) + "1" + strings.Repeat("}", deep) + `}`), "decode", "nesting deeper than"},
		{"deep-unclosed", []byte(`{"id":"deep-unclosed","data":` + strings.Repeat("[", deep)), "decode", "nesting deeper than"},
		{"utf8-value", []byte("{\"id\":\"utf8-value\",\"signature\":\"00\",\"data\":{\"s\":\"\xff\xfe\"}}"), "decode", "invalid UTF-8"},
		{"utf8-overlong", []byte("{\"id\":\"utf8-overlong\",\"signature\":\"00\",\"data\":\"\xc0\xaf\"}"), "decode", "invalid UTF-8"},
		{"utf8-surrogate", []byte("{\"id\":\"utf8-surrogate\",\"signature\":\"00\",\"data\":\"\xed\xa0\x80\"}"), "decode", "invalid UTF-8"},
		{"utf8-key-\xff", signedRecord(badKey, "utf8-key-\ufffd", `{}`), "key", "0x"},
		{"nul-raw-in-string", []byte("{\"id\":\"nul-raw-in-string\",\"signature\":\"00\",\"data\":\"a\x00b\"}"), "decode", "invalid JSON"},
		{"nul-trailing", append(signedRecord(badKey, "nul-trailing", `{}`), 0), "decode", "invalid JSON"},
		{"nul-only", []byte{0, 0, 0}, "decode", "invalid JSON"},
		{"empty-value", []byte{}, "decode", ""},
		{"nul-in-id", signedRecord(badKey, "nul-in-id\x00", `{}`), "key", `\x00`},
	}
	writeLevelDB(t, db, len(recs), true, func(i int) ([]byte, []byte) { return []byte(recs[i].key), recs[i].value })
	reports := filepath.Join(dir, "reports")
	r := runCheckProc(t, "--store.leveldb.path="+db, "--verify.key-file="+writeKeyFile(t, dir, "k", badKey),
		"--report.dir="+reports, "--state.path="+filepath.Join(dir, "state"))
	if r.code != exitFailures {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %.3000s", r.code, r.stdout, r.stderr)
	}
	var want []string
	for _, x := range recs {
		if x.check != "" {
			want = append(want, strings.ToValidUTF8(x.key, "\ufffd")+" "+x.check)
		}
	}
	if line := fmt.Sprintf("Checked %d sigils. %d failures.", len(recs), len(want)); !strings.HasPrefix(r.stdout, line) {
		t.Errorf("stdout %q, want %q", firstLine(r.stdout), line)
	}
	rep := readOnlyReport(t, reports)
	var got []string
	details := map[string]string{}
	for _, f := range rep.Failures {
		got = append(got, f.Key+" "+f.Reason)
		details[f.Key] = f.Detail
	}
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("failures (-want +got):\n%s", d)
	}
	for _, x := range recs {
		if d := details[strings.ToValidUTF8(x.key, "\ufffd")]; x.inDet != "" && !strings.Contains(d, x.inDet) {
			t.Errorf("%q: detail %q lacks %q", x.key, d, x.inDet)
		}
	}
	t.Logf("odd records: exit %d in %v, peak RSS %d MiB", r.code, r.elapsed.Round(time.Millisecond), r.maxRSSKiB>>10)
}

// corruptRecord is record i of a store where every record is corrupt,
// cycling through five kinds of damage; kinds says which check each fails.
func corruptRecord(i int) (key, value []byte) {
	id := fmt.Sprintf("rec-%07d", i)
	data := fmt.Sprintf(`{"n":%d,"note":"corrupt store"}`, i)
	good := signedRecord(badKey, id, data)
	switch i % 5 {
	case 0: // decode: truncated JSON
		return []byte(id), good[:len(good)/2]
	case 1: // fields: no signature
		return []byte(id), []byte(fmt.Sprintf(`{"id":%q,"data":%s}`, id, data))
	case 2: // key: stored under another id
		return []byte(id), signedRecord(badKey, id+"-x", data)
	case 3: // checksum: data changed after signing
		return []byte(id), bytes.Replace(good, []byte(`"n":`), []byte(`"n":1`), 1)
	default: // signature: signed with another key
		return []byte(id), signedRecord("another-key", id, data)
	}
}

var corruptKinds = []string{"decode", "fields", "key", "checksum", "signature"}

// TestCheckAllCorrupt: a store where every record is corrupt, at 10,000
// and at a million records. The report lists --report.max-failures of them
// and says how many it left out, every count is exact, stderr stays a few
// lines, and the peak RSS at a million is within 1.25x of 10,000's plus
// 16 MiB: nothing grows with the number of failures.
func TestCheckAllCorrupt(t *testing.T) {
	testutil.Long(t, "the exporter's binary (check as a process, peak memory)")
	var base checkRun
	for _, n := range []int{10_000, 1_000_000} {
		dir := t.TempDir()
		db := filepath.Join(dir, "db")
		start := time.Now()
		writeLevelDB(t, db, n, true, corruptRecord)
		gen := time.Since(start)
		reports := filepath.Join(dir, "reports")
		r := runCheckProc(t, "--store.leveldb.path="+db, "--verify.key-file="+writeKeyFile(t, dir, "k", badKey),
			"--report.dir="+reports, "--state.path="+filepath.Join(dir, "state"), "--report.max-failures=500")
		t.Logf("%d corrupt records: written in %v, check exit %d in %v, peak RSS %d MiB", n, gen.Round(time.Millisecond), r.code, r.elapsed.Round(time.Millisecond), r.maxRSSKiB>>10)
		if r.code != exitFailures || !strings.HasPrefix(r.stdout, fmt.Sprintf("Checked %d sigils. %d failures.\n", n, n)) {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %.3000s", r.code, r.stdout, r.stderr)
		}
		if lines := strings.Count(r.stderr, "\n"); lines > 10 {
			t.Errorf("stderr has %d lines: failures must not be logged one by one\n%.2000s", lines, r.stderr)
		}
		rep := readOnlyReport(t, reports)
		want := map[string]int64{}
		for _, k := range corruptKinds {
			want[k] = int64(n / 5)
		}
		if d := cmp.Diff(want, rep.FailuresByCheck); d != "" {
			t.Errorf("failures_by_check (-want +got):\n%s", d)
		}
		if rep.Checked != int64(n) || rep.Failed != int64(n) || rep.OK != 0 || !rep.Complete ||
			len(rep.Failures) != 500 || rep.FailuresTruncated != int64(n-500) {
			t.Errorf("report: checked %d failed %d ok %d complete %v, %d failures listed, %d truncated",
				rep.Checked, rep.Failed, rep.OK, rep.Complete, len(rep.Failures), rep.FailuresTruncated)
		}
		for i, f := range rep.Failures[:min(len(rep.Failures), 5)] {
			if wantKey := fmt.Sprintf("rec-%07d", i); f.Key != wantKey || f.Reason != corruptKinds[i] {
				t.Errorf("failure %d: %s %s, want %s %s", i, f.Key, f.Reason, wantKey, corruptKinds[i])
			}
		}
		if n == 10_000 {
			base = r
			continue
		}
		if bound := base.maxRSSKiB*5/4 + 16<<10; r.maxRSSKiB > bound {
			t.Errorf("peak RSS %d MiB at %d records, over 1.25x the %d MiB at 10,000 (+16 MiB)", r.maxRSSKiB>>10, n, base.maxRSSKiB>>10)
		}
	}
}
