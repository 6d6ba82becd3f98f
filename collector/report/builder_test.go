package report

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)

func fail(id, reason string) Failure {
	return Failure{ID: id, Reason: reason, Key: "!sigils!" + id, Detail: reason + " failed"}
}

func TestBuilderCounts(t *testing.T) {
	type step struct {
		ok      bool
		failure Failure
	}
	tests := []struct {
		name  string
		max   int
		steps []step
		want  Report
	}{
		{
			name: "empty pass",
			max:  10,
			want: Report{Failures: []Failure{}, FailuresByCheck: map[string]int64{}},
		},
		{
			name:  "all ok",
			max:   10,
			steps: []step{{ok: true}, {ok: true}, {ok: true}},
			want:  Report{Checked: 3, OK: 3, Failures: []Failure{}, FailuresByCheck: map[string]int64{}},
		},
		{
			name: "mixed under the cap",
			max:  10,
			steps: []step{
				{ok: true}, {failure: fail("a", "signature")}, {ok: true},
				{failure: fail("b", "checksum")}, {failure: fail("c", "signature")},
			},
			want: Report{
				Checked: 5, OK: 2, Failed: 3,
				Failures:        []Failure{fail("a", "signature"), fail("b", "checksum"), fail("c", "signature")},
				FailuresByCheck: map[string]int64{"signature": 2, "checksum": 1},
			},
		},
		{
			name: "over the cap keeps the first ones and exact counts",
			max:  2,
			steps: []step{
				{failure: fail("a", "read")}, {failure: fail("b", "decode")},
				{failure: fail("c", "decode")}, {ok: true}, {failure: fail("d", "missing")},
			},
			want: Report{
				Checked: 5, OK: 1, Failed: 4,
				Failures:          []Failure{fail("a", "read"), fail("b", "decode")},
				FailuresByCheck:   map[string]int64{"read": 1, "decode": 2, "missing": 1},
				FailuresTruncated: 2,
			},
		},
		{
			name:  "cap below one is one",
			max:   0,
			steps: []step{{failure: fail("a", "key")}, {failure: fail("b", "key")}},
			want: Report{
				Checked: 2, Failed: 2, Failures: []Failure{fail("a", "key")},
				FailuresByCheck: map[string]int64{"key": 2}, FailuresTruncated: 1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("leveldb", tt.max, t0)
			for _, s := range tt.steps {
				if s.ok {
					b.OK()
				} else {
					b.Fail(s.failure)
				}
			}
			got := b.Report(t0.Add(time.Hour), true)
			want := tt.want
			want.Store, want.StartedAt, want.FinishedAt, want.Complete = "leveldb", t0, t0.Add(time.Hour), true
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			checkInvariants(t, got)
		})
	}
}

func checkInvariants(t *testing.T, r *Report) {
	t.Helper()
	if r.Checked != r.OK+r.Failed {
		t.Errorf("checked %d != ok %d + failed %d", r.Checked, r.OK, r.Failed)
	}
	if int64(len(r.Failures))+r.FailuresTruncated != r.Failed {
		t.Errorf("listed %d + truncated %d != failed %d", len(r.Failures), r.FailuresTruncated, r.Failed)
	}
	var sum int64
	for _, n := range r.FailuresByCheck {
		sum += n
	}
	if sum != r.Failed {
		t.Errorf("failures_by_check sums to %d, failed is %d", sum, r.Failed)
	}
}

// TestBuilderCapBoundsMemory feeds a million failures into a builder capped
// at 100: the list stays 100 long, the counts are exact, and past the cap a
// failure costs no allocation at all.
func TestBuilderCapBoundsMemory(t *testing.T) {
	const n = 1_000_000
	reasons := []string{"read", "decode", "checksum", "signature"}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	b := NewBuilder("leveldb", 100, t0)
	f := Failure{Reason: "x", Key: "k", Detail: "a detail long enough to matter if it were kept around"}
	for i := range n {
		f.ID = reasons[i%len(reasons)] // no per-iteration string building
		f.Reason = reasons[i%len(reasons)]
		b.Fail(f)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap held after %d failures with cap 100: %d bytes", n, held)
	if held > 256<<10 {
		t.Errorf("builder holds %d bytes of heap after %d failures; want well under 256 KiB", held, n)
	}

	r := b.Report(t0, true)
	if len(r.Failures) != 100 {
		t.Errorf("listed %d failures, want 100", len(r.Failures))
	}
	if r.Failed != n || r.Checked != n || r.FailuresTruncated != n-100 {
		t.Errorf("failed=%d checked=%d truncated=%d, want %d, %d, %d", r.Failed, r.Checked, r.FailuresTruncated, n, n, n-100)
	}
	for _, c := range reasons {
		if r.FailuresByCheck[c] != n/4 {
			t.Errorf("failures_by_check[%s] = %d, want %d", c, r.FailuresByCheck[c], n/4)
		}
	}
	checkInvariants(t, r)

	if allocs := testing.AllocsPerRun(1000, func() { b.Fail(f) }); allocs != 0 {
		t.Errorf("Fail past the cap allocates %.1f times per call, want 0", allocs)
	}
}

func TestBuilderResolve(t *testing.T) {
	b := NewBuilder("postgres", 3, t0)
	b.OK()
	for _, id := range []string{"a", "b", "c", "d"} {
		b.Fail(fail(id, "checksum"))
	}
	b.Fail(fail("e", "signature"))

	fixed := fail("b", "checksum")
	fixed.Detail = "a re-read detail may differ"
	if !b.Resolve(fixed) {
		t.Fatal("Resolve of a listed failure returned false")
	}
	if b.Resolve(fixed) {
		t.Error("Resolve of an already resolved failure returned true")
	}
	if b.Resolve(fail("a", "signature")) {
		t.Error("Resolve matched a failure with another reason")
	}
	if b.Resolve(fail("d", "checksum")) {
		t.Error("Resolve matched a failure past the cap, which was never listed")
	}
	r := b.Report(t0, false)
	checkInvariants(t, r)
	want := &Report{
		Checked: 6, OK: 2, Failed: 4,
		Failures:        []Failure{fail("a", "checksum"), fail("c", "checksum")},
		Store:           "postgres",
		StartedAt:       t0,
		FinishedAt:      t0,
		FailuresByCheck: map[string]int64{"checksum": 3, "signature": 1},
		// d and e were past the cap when they failed.
		FailuresTruncated: 2,
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("after resolve (-want +got):\n%s", diff)
	}

	// The freed slot lists the next failure; a check at zero disappears.
	b.Fail(fail("f", "schema"))
	b.Resolve(fail("a", "checksum"))
	b.Resolve(fail("c", "checksum"))
	b.Resolve(fail("f", "schema"))
	r = b.Report(t0, false)
	checkInvariants(t, r)
	if _, ok := r.FailuresByCheck["schema"]; ok {
		t.Errorf("failures_by_check keeps a zero entry: %v", r.FailuresByCheck)
	}
	if len(r.Failures) != 0 || r.Failed != 2 || r.OK != 5 {
		t.Errorf("after resolving all listed: listed=%d failed=%d ok=%d, want 0, 2, 5", len(r.Failures), r.Failed, r.OK)
	}
}

func TestBuilderKeyVerified(t *testing.T) {
	b := NewBuilder("leveldb", 10, t0)
	b.KeyVerified(0)
	b.KeyVerified(2)
	b.KeyVerified(2)
	b.KeyVerified(-1)
	if diff := cmp.Diff([]int64{1, 0, 2}, b.Report(t0, true).KeyRecords); diff != "" {
		t.Errorf("key records (-want +got):\n%s", diff)
	}
}

func TestReportIsASnapshot(t *testing.T) {
	b := NewBuilder("leveldb", 10, t0)
	b.Fail(fail("a", "read"))
	b.KeyVerified(0)
	r := b.Report(t0, false)
	r.Failures[0].ID = "changed"
	r.FailuresByCheck["read"] = 99
	r.KeyRecords[0] = 99
	b.Fail(fail("b", "read"))
	r2 := b.Report(t0, false)
	if r2.Failures[0].ID != "a" || r2.FailuresByCheck["read"] != 2 || r2.KeyRecords[0] != 1 {
		t.Errorf("changing a snapshot changed the builder: %+v", r2)
	}
	if len(r.Failures) != 1 || r.Failed != 1 {
		t.Errorf("the builder changed an earlier snapshot: %+v", r)
	}
}

func TestResume(t *testing.T) {
	b := NewBuilder("leveldb", 5, t0)
	for i := range 8 {
		b.OK()
		b.Fail(fail(fmt.Sprint("id", i), "checksum"))
	}
	b.KeyVerified(1)
	snap := b.Report(t0.Add(time.Minute), false)

	same := Resume(snap, 5)
	if diff := cmp.Diff(snap, same.Report(t0.Add(time.Minute), false)); diff != "" {
		t.Errorf("resume with the same cap (-want +got):\n%s", diff)
	}

	smaller := Resume(snap, 2).Report(t0, false)
	checkInvariants(t, smaller)
	if len(smaller.Failures) != 2 || smaller.FailuresTruncated != 6 {
		t.Errorf("resume with a smaller cap: listed %d, truncated %d, want 2, 6", len(smaller.Failures), smaller.FailuresTruncated)
	}
	if !smaller.StartedAt.Equal(t0) {
		t.Errorf("resume lost the start time: %v", smaller.StartedAt)
	}

	resumed := Resume(snap, 5)
	resumed.OK()
	if snap.Checked != 16 {
		t.Errorf("Resume modified its input: checked %d", snap.Checked)
	}
}

func TestValidateMaxFailures(t *testing.T) {
	for _, n := range []int{-1, 0} {
		if err := ValidateMaxFailures(n); err == nil {
			t.Errorf("ValidateMaxFailures(%d) = nil, want an error", n)
		}
	}
	for _, n := range []int{1, DefaultMaxFailures} {
		if err := ValidateMaxFailures(n); err != nil {
			t.Errorf("ValidateMaxFailures(%d) = %v", n, err)
		}
	}
}

// TestBuilderConcurrent feeds a builder from several goroutines while
// another takes snapshots; run with -race. Counts must come out exact.
func TestBuilderConcurrent(t *testing.T) {
	b := NewBuilder("leveldb", 50, t0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				if i%2 == 0 {
					b.OK()
				} else {
					b.Fail(fail(fmt.Sprint(g, "-", i), "checksum"))
				}
				b.KeyVerified(g)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			checkInvariants(t, b.Report(t0, false))
			_ = b.Failures()
		}
	}()
	wg.Wait()
	<-done
	r := b.Report(t0, true)
	checkInvariants(t, r)
	if r.Checked != 4000 || r.Failed != 2000 || len(r.Failures) != 50 {
		t.Errorf("checked=%d failed=%d listed=%d, want 4000, 2000, 50", r.Checked, r.Failed, len(r.Failures))
	}
	for g, n := range r.KeyRecords {
		if n != 1000 {
			t.Errorf("key %d verified %d records, want 1000", g, n)
		}
	}
}
