package collector

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
)

var passT0 = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)

// failure is a listed failure of record id for check reason.
func failure(id, reason string) report.Failure {
	return report.Failure{ID: id, Reason: reason, Key: "!sigils!" + id, Detail: reason + " failed"}
}

// passStep is one thing that happens to a pass: a record the walk checked
// (passing when failure.Reason is "", verified by key when key >= 0), or,
// with missing set, a failure without a checked record.
type passStep struct {
	failure report.Failure
	key     int
	missing bool
}

func okStep(key int) passStep { return passStep{key: key} }

func failStep(id, reason string) passStep {
	return passStep{failure: failure(id, reason), key: -1}
}

func missingStep(id string) passStep {
	return passStep{failure: failure(id, verify.CheckMissing), key: -1, missing: true}
}

func (s passStep) apply(p *Pass) {
	if s.missing {
		p.AddFailure(s.failure)
		return
	}
	p.Count(verify.Outcome{ID: s.failure.ID, Check: s.failure.Reason, KeyIndex: s.key}, s.failure)
}

// checkReportInvariants checks what a Report rendered by a Pass promises
// (see report.Report).
func checkReportInvariants(t *testing.T, r *report.Report) {
	t.Helper()
	var sum int64
	for _, n := range r.FailuresByCheck {
		if n <= 0 {
			t.Errorf("failures_by_check has a non-positive entry: %v", r.FailuresByCheck)
		}
		sum += n
	}
	if sum != r.Failed {
		t.Errorf("failures_by_check sums to %d, failed is %d", sum, r.Failed)
	}
	if int64(len(r.Failures))+r.FailuresTruncated != r.Failed {
		t.Errorf("listed %d + truncated %d != failed %d", len(r.Failures), r.FailuresTruncated, r.Failed)
	}
	if want := max(r.Checked-r.Failed, 0); r.OK != want {
		t.Errorf("ok = %d, want checked %d - failed %d clamped at 0 = %d", r.OK, r.Checked, r.Failed, want)
	}
}

func TestPassCounts(t *testing.T) {
	tests := []struct {
		name  string
		max   int
		keys  int
		steps []passStep
		want  report.Report
	}{
		{
			name: "empty pass",
			max:  10,
			keys: 1,
			want: report.Report{Failures: []report.Failure{}, FailuresByCheck: map[string]int64{}, KeyRecords: []int64{0}},
		},
		{
			name:  "all ok",
			max:   10,
			keys:  2,
			steps: []passStep{okStep(0), okStep(1), okStep(0)},
			want: report.Report{
				Checked: 3, OK: 3, Failures: []report.Failure{},
				FailuresByCheck: map[string]int64{}, KeyRecords: []int64{2, 1},
			},
		},
		{
			name: "mixed under the cap",
			max:  10,
			keys: 1,
			steps: []passStep{
				okStep(0), failStep("a", verify.CheckSignature), okStep(0),
				failStep("b", verify.CheckChecksum), failStep("c", verify.CheckSignature),
			},
			want: report.Report{
				Checked: 5, OK: 2, Failed: 3,
				Failures:        []report.Failure{failure("a", verify.CheckSignature), failure("b", verify.CheckChecksum), failure("c", verify.CheckSignature)},
				FailuresByCheck: map[string]int64{verify.CheckSignature: 2, verify.CheckChecksum: 1},
				KeyRecords:      []int64{2},
			},
		},
		{
			name: "over the cap keeps the first ones and exact counts",
			max:  2,
			keys: 1,
			steps: []passStep{
				failStep("a", verify.CheckRead), failStep("b", verify.CheckDecode),
				failStep("c", verify.CheckDecode), okStep(0), missingStep("d"),
			},
			want: report.Report{
				// d is missing: a failure, but not a checked record.
				Checked: 4, OK: 0, Failed: 4,
				Failures:          []report.Failure{failure("a", verify.CheckRead), failure("b", verify.CheckDecode)},
				FailuresByCheck:   map[string]int64{verify.CheckRead: 1, verify.CheckDecode: 2, verify.CheckMissing: 1},
				FailuresTruncated: 2,
				KeyRecords:        []int64{1},
			},
		},
		{
			name:  "cap below one is one",
			max:   0,
			keys:  1,
			steps: []passStep{failStep("a", verify.CheckKey), failStep("b", verify.CheckKey)},
			want: report.Report{
				Checked: 2, Failed: 2, Failures: []report.Failure{failure("a", verify.CheckKey)},
				FailuresByCheck: map[string]int64{verify.CheckKey: 2}, FailuresTruncated: 1,
				KeyRecords: []int64{0},
			},
		},
		{
			name:  "missing records are failures, not checked records",
			max:   10,
			keys:  1,
			steps: []passStep{okStep(0), okStep(0), okStep(0), missingStep("x"), missingStep("y")},
			want: report.Report{
				Checked: 3, OK: 1, Failed: 2,
				Failures:        []report.Failure{failure("x", verify.CheckMissing), failure("y", verify.CheckMissing)},
				FailuresByCheck: map[string]int64{verify.CheckMissing: 2},
				KeyRecords:      []int64{3},
			},
		},
		{
			name:  "more missing than checked clamps ok at 0",
			max:   10,
			keys:  1,
			steps: []passStep{okStep(0), missingStep("x"), missingStep("y"), missingStep("z")},
			want: report.Report{
				Checked: 1, OK: 0, Failed: 3,
				Failures:        []report.Failure{failure("x", verify.CheckMissing), failure("y", verify.CheckMissing), failure("z", verify.CheckMissing)},
				FailuresByCheck: map[string]int64{verify.CheckMissing: 3},
				KeyRecords:      []int64{1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPass("leveldb", passT0, tt.keys, tt.max)
			for _, s := range tt.steps {
				s.apply(p)
			}
			got := p.Report(passT0.Add(time.Hour), true)
			want := tt.want
			want.Store, want.StartedAt, want.FinishedAt, want.Complete = "leveldb", passT0, passT0.Add(time.Hour), true
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			checkReportInvariants(t, got)
		})
	}
}

// TestPassCapBoundsMemory feeds a million failures into a pass capped at
// 100: the list stays 100 long, the counts are exact, the heap the pass
// holds does not grow with the failures, and past the cap a failure costs
// no allocation at all.
func TestPassCapBoundsMemory(t *testing.T) {
	const n, capped = 1_000_000, 100
	reasons := []string{verify.CheckRead, verify.CheckDecode, verify.CheckChecksum, verify.CheckSignature}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	p := NewPass("leveldb", passT0, 2, capped)
	f := report.Failure{Key: "k", Detail: "a detail long enough to matter if it were kept around"}
	for i := range n {
		f.ID = reasons[i%len(reasons)] // no per-iteration string building
		f.Reason = reasons[i%len(reasons)]
		p.Count(verify.Outcome{ID: f.ID, Check: f.Reason, KeyIndex: -1}, f)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(p)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// Every failure kept would be 64 bytes of report.Failure: 64 MB.
	t.Logf("heap held after %d failures with cap %d: %d bytes", n, capped, held)
	if held > 256<<10 {
		t.Errorf("pass holds %d bytes of heap after %d failures; want well under 256 KiB", held, n)
	}

	r := p.Report(passT0, true)
	if len(r.Failures) != capped {
		t.Errorf("listed %d failures, want %d", len(r.Failures), capped)
	}
	if r.Failed != n || r.Checked != n || r.FailuresTruncated != n-capped || r.OK != 0 {
		t.Errorf("failed=%d checked=%d truncated=%d ok=%d, want %d, %d, %d, 0", r.Failed, r.Checked, r.FailuresTruncated, r.OK, n, n, n-capped)
	}
	for _, c := range reasons {
		if r.FailuresByCheck[c] != n/4 {
			t.Errorf("failures_by_check[%s] = %d, want %d", c, r.FailuresByCheck[c], n/4)
		}
	}
	if len(r.FailuresByCheck) != len(reasons) {
		t.Errorf("failures_by_check = %v, want only %v", r.FailuresByCheck, reasons)
	}
	checkReportInvariants(t, r)

	o := verify.Outcome{ID: f.ID, Check: f.Reason, KeyIndex: 1}
	if allocs := testing.AllocsPerRun(1000, func() { p.AddFailure(f) }); allocs != 0 {
		t.Errorf("AddFailure past the cap allocates %.1f times per call, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(1000, func() { p.Count(o, f) }); allocs != 0 {
		t.Errorf("Count of a failure past the cap allocates %.1f times per call, want 0", allocs)
	}
	if len(p.Failures) != capped {
		t.Errorf("after more failures the list is %d long, want %d", len(p.Failures), capped)
	}
}

func TestPassFixed(t *testing.T) {
	p := NewPass("postgres", passT0, 1, 3)
	okStep(0).apply(p)
	for _, id := range []string{"a", "b", "c", "d"} {
		failStep(id, verify.CheckChecksum).apply(p)
	}
	failStep("e", verify.CheckSignature).apply(p)

	p.Fixed(1) // b
	r := p.Report(passT0, false)
	checkReportInvariants(t, r)
	want := &report.Report{
		Checked: 6, OK: 2, Failed: 4,
		Failures:        []report.Failure{failure("a", verify.CheckChecksum), failure("c", verify.CheckChecksum)},
		Store:           "postgres",
		StartedAt:       passT0,
		FinishedAt:      passT0,
		FailuresByCheck: map[string]int64{verify.CheckChecksum: 3, verify.CheckSignature: 1},
		// d and e were past the cap when they failed.
		FailuresTruncated: 2,
		KeyRecords:        []int64{1},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("after fixing b (-want +got):\n%s", diff)
	}

	// The freed slot lists the next failure; a check at zero disappears
	// from failures_by_check.
	failStep("f", verify.CheckSchema).apply(p)
	if got := p.Failures[len(p.Failures)-1].ID; got != "f" {
		t.Errorf("the failure after a fix went to %q, want it listed in the freed slot", got)
	}
	for len(p.Failures) > 0 {
		p.Fixed(0)
	}
	r = p.Report(passT0, false)
	checkReportInvariants(t, r)
	if _, ok := r.FailuresByCheck[verify.CheckSchema]; ok {
		t.Errorf("failures_by_check keeps a zero entry: %v", r.FailuresByCheck)
	}
	if len(r.Failures) != 0 || r.Failed != 2 || r.OK != 5 || r.Checked != 7 || r.FailuresTruncated != 2 {
		t.Errorf("after fixing every listed failure: listed=%d failed=%d ok=%d checked=%d truncated=%d, want 0, 2, 5, 7, 2",
			len(r.Failures), r.Failed, r.OK, r.Checked, r.FailuresTruncated)
	}
}

func TestPassKeyRecords(t *testing.T) {
	p := NewPass("leveldb", passT0, 3, 10)
	for _, s := range []passStep{
		okStep(0), okStep(2), okStep(2),
		okStep(-1), // counted as checked, under no key
		okStep(3),  // out of range: not counted, and no panic
		{failure: failure("s", verify.CheckSchema), key: 1}, // a record can verify and still fail a later check
	} {
		s.apply(p)
	}
	r := p.Report(passT0, true)
	if diff := cmp.Diff([]int64{1, 1, 2}, r.KeyRecords); diff != "" {
		t.Errorf("key records (-want +got):\n%s", diff)
	}
	if r.Checked != 6 || r.Failed != 1 {
		t.Errorf("checked=%d failed=%d, want 6, 1", r.Checked, r.Failed)
	}
}

// TestPassReportIsASnapshot checks that a report shares nothing with its
// pass: the pass going on (or a fix removing a listed failure in place)
// leaves an earlier report as it was, and changing a report leaves the pass.
func TestPassReportIsASnapshot(t *testing.T) {
	p := NewPass("leveldb", passT0, 1, 10)
	okStep(0).apply(p)
	failStep("a", verify.CheckRead).apply(p)
	failStep("b", verify.CheckRead).apply(p)
	r := p.Report(passT0, false)
	want := &report.Report{
		Checked: 3, OK: 1, Failed: 2,
		Failures:        []report.Failure{failure("a", verify.CheckRead), failure("b", verify.CheckRead)},
		Store:           "leveldb",
		StartedAt:       passT0,
		FinishedAt:      passT0,
		FailuresByCheck: map[string]int64{verify.CheckRead: 2},
		KeyRecords:      []int64{1},
	}

	p.Fixed(0)
	failStep("c", verify.CheckChecksum).apply(p)
	okStep(0).apply(p)
	missingStep("d").apply(p)
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("the pass going on changed an earlier report (-want +got):\n%s", diff)
	}

	before := p.Report(passT0, false)
	r.Failures[0].ID = "changed"
	r.FailuresByCheck[verify.CheckRead] = 99
	r.KeyRecords[0] = 99
	after := p.Report(passT0, false)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("changing a report changed its pass (-before +after):\n%s", diff)
	}
}

// TestPassJSONRoundTrip checks the progress file format: a pass saved
// mid-way and loaded back is the same pass, and going on from the loaded
// copy gives the same report as going on from the original, so a restart
// counts every record once.
func TestPassJSONRoundTrip(t *testing.T) {
	first := []passStep{okStep(0), failStep("a", verify.CheckChecksum), okStep(1), failStep("b", verify.CheckSignature), failStep("c", verify.CheckKey), missingStep("m")}
	rest := []passStep{okStep(0), failStep("d", verify.CheckSchema), missingStep("n"), okStep(1)}

	p := NewPass("leveldb", time.Date(2026, 11, 25, 23, 0, 0, 0, time.FixedZone("CET", 3600)), 2, 3)
	for _, s := range first {
		s.apply(p)
	}
	p.Deadline = p.Started.Add(6 * time.Hour)
	p.Expected = 2019
	p.Cursor = []byte{'!', 0x00, 0xff, 0xfe, 'k'} // keys are bytes, not text
	p.HaveCursor = true
	p.KeysFileSize = 4096

	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Pass
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	if diff := cmp.Diff(p, &back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if !back.valid() {
		t.Errorf("a round-tripped pass is not valid: %s", data)
	}

	for _, s := range rest {
		s.apply(p)
		s.apply(&back)
	}
	end := passT0.Add(7 * time.Hour)
	want, got := p.Report(end, true), back.Report(end, true)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("going on after a round trip (-uninterrupted +resumed):\n%s", diff)
	}
	checkReportInvariants(t, got)

	// A fresh pass has no cursor and no deadline; both survive as such.
	fresh := NewPass("postgres", passT0, 1, 5)
	data, err = json.Marshal(fresh)
	if err != nil {
		t.Fatal(err)
	}
	var freshBack Pass
	if err := json.Unmarshal(data, &freshBack); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, &freshBack); diff != "" {
		t.Errorf("round trip of a fresh pass (-want +got):\n%s", diff)
	}
	if freshBack.HaveCursor || freshBack.Cursor != nil || !freshBack.Deadline.IsZero() {
		t.Errorf("a fresh pass came back with cursor %q (have %v), deadline %v", freshBack.Cursor, freshBack.HaveCursor, freshBack.Deadline)
	}
}

// TestPassProgressFile round-trips passes through the progress file
// itself, as a restart reads it.
func TestPassProgressFile(t *testing.T) {
	dir := t.TempDir()
	cur := NewPass("leveldb", passT0, 2, 2)
	last := NewPass("leveldb", passT0.Add(-24*time.Hour), 2, 2)
	for i := range 5 {
		okStep(i % 2).apply(cur)
		failStep(fmt.Sprint("x", i), verify.CheckDuplicate).apply(last)
	}
	missingStep("gone").apply(last)
	cur.Cursor, cur.HaveCursor = []byte("sigil-0004"), true
	s := &savedState{
		Version: stateVersion, Store: "leveldb", Identity: "id-1", Current: cur,
		Last: &LastPass{Pass: last, Finished: passT0.Add(-time.Hour), Duration: 23 * time.Hour},
	}
	b, err := json.Marshal(s)
	if err == nil {
		err = writeState(dir, s.Store, b)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := loadState(dir, "leveldb")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("progress file round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(last.Report(passT0, true), got.Last.Pass.Report(passT0, true)); diff != "" {
		t.Errorf("the last pass's report changed through the progress file (-want +got):\n%s", diff)
	}
}
