package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Regenerate the golden files with: go test ./collector/report -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// ticketExample is the report format of the user's ticket, verbatim; the
// README's "Reports" shows the superset the exporter writes.
const ticketExample = `{"checked": 2019, "ok": 2006, "failed": 13,
 "failures": [{"id": "bad-sig-1", "reason": "signature", "key": "!sigils!bad-sig-1", "detail": "..."}],
 "store": "leveldb", "started_at": "...", "finished_at": "...", "complete": true,
 "failures_by_check": {"signature": 2}, "failures_truncated": 0}`

// t0 is a fixed time for test reports.
var t0 = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)

// goldenReport is a fixed report as collector.Pass renders one: five
// records walked, three of them passing and two failing, plus a missing
// record (a failure without a checked record), so ok = 5 - 3 = 2; a cap of
// two listed failures, so the third is truncated.
func goldenReport() *Report {
	start := time.Date(2026, 11, 25, 1, 0, 0, 0, time.FixedZone("CET", 3600))
	return &Report{
		Checked: 5,
		OK:      2,
		Failed:  3,
		Failures: []Failure{
			{ID: "bad-sig-1", Reason: "signature", Key: "!sigils!bad-sig-1", Detail: "no configured key verifies the signature"},
			{ID: "bad-sum-1", Reason: "checksum", Key: "!sigils!bad-sum-1", Detail: "stored checksum 00ab… does not match the recomputed 9f1c…"},
		},
		Store:             "leveldb",
		StartedAt:         start,
		FinishedAt:        start.Add(20 * time.Second),
		Complete:          true,
		FailuresByCheck:   map[string]int64{"signature": 1, "checksum": 1, "missing": 1},
		FailuresTruncated: 1,
		Canonical:         "js",
		KeyRecords:        []int64{1, 1},
		Host:              "host-1",
		Version:           "0.1.0",
	}
}

func TestReportJSONGolden(t *testing.T) {
	got, err := json.MarshalIndent(goldenReport(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "report.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (regenerate with go test ./collector/report -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("report JSON differs from %s (-want +got); if intended, run go test ./collector/report -update:\n%s", golden, diff)
	}
}

// TestReportHasTicketFields checks that the report is a superset of the
// ticket's example: every field name there, at the top level and in a failure, with
// the same JSON type.
func TestReportHasTicketFields(t *testing.T) {
	var spec map[string]any
	if err := json.Unmarshal([]byte(ticketExample), &spec); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(goldenReport())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	sameShape(t, "", spec, got)
	specFailure := spec["failures"].([]any)[0].(map[string]any)
	gotFailure := got["failures"].([]any)[0].(map[string]any)
	sameShape(t, "failures[0].", specFailure, gotFailure)
	for _, k := range []string{"started_at", "finished_at"} {
		if _, err := time.Parse(time.RFC3339, got[k].(string)); err != nil {
			t.Errorf("%s = %q is not RFC 3339: %v", k, got[k], err)
		}
	}
	if got["started_at"] != "2026-11-25T00:00:00Z" {
		t.Errorf("started_at = %v, want UTC 2026-11-25T00:00:00Z", got["started_at"])
	}
}

func sameShape(t *testing.T, path string, want, got map[string]any) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			t.Errorf("report JSON lacks the ticket's field %s%s", path, k)
			continue
		}
		if wt, gt := jsonType(want[k]), jsonType(g); wt != gt {
			t.Errorf("field %s%s is a JSON %s, the ticket has a %s", path, k, gt, wt)
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// TestEmptyReportJSON checks that an empty report, whether its slices are
// nil or empty, has [] and {} rather than null, and omits the optional
// fields.
func TestEmptyReportJSON(t *testing.T) {
	for name, r := range map[string]*Report{
		"nil slices": {Store: "leveldb", StartedAt: t0, FinishedAt: t0, Complete: true},
		"empty slices": {
			Store: "leveldb", StartedAt: t0, FinishedAt: t0, Complete: true,
			Failures: []Failure{}, FailuresByCheck: map[string]int64{}, KeyRecords: []int64{},
		},
	} {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"checked":0,"ok":0,"failed":0,"failures":[],"store":"leveldb","started_at":"2026-11-25T22:00:00Z","finished_at":"2026-11-25T22:00:00Z","complete":true,"failures_by_check":{},"failures_truncated":0}`
		if string(data) != want {
			t.Errorf("%s: got  %s\nwant %s", name, data, want)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	r := goldenReport()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !back.StartedAt.Equal(r.StartedAt) || !back.FinishedAt.Equal(r.FinishedAt) {
		t.Errorf("times changed in a round trip: %v %v", back.StartedAt, back.FinishedAt)
	}
	back.StartedAt, back.FinishedAt = r.StartedAt, r.FinishedAt
	if diff := cmp.Diff(r, &back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		r    Report
		want string
	}{
		{Report{Complete: true}, "ok"},
		{Report{Complete: false}, "incomplete"},
		{Report{Complete: true, Failed: 1}, "failures"},
		{Report{Complete: false, Failed: 1}, "failures"},
	}
	for _, tt := range tests {
		if got := tt.r.Status(); got != tt.want {
			t.Errorf("Status(complete=%v failed=%d) = %q, want %q", tt.r.Complete, tt.r.Failed, got, tt.want)
		}
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
