package alerts

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

const metricsDoc = "../docs/METRICS.md"

var (
	// metricName matches an exporter metric name. Recording-rule names
	// (level:metric:operations) are not exporter names: the colon excludes
	// them.
	metricName = regexp.MustCompile(`(^|[^a-zA-Z0-9_:])(sigil_integrity_[a-z_]+)\b(?:[^:]|$)`)
	// quoted matches a PromQL string literal, whose text is a label value,
	// not a metric name.
	quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	// documented matches a metric row of docs/METRICS.md's table.
	documented = regexp.MustCompile("(?m)^\\| `(sigil_integrity_[a-z_]+)` \\|")
)

// namesInExpr returns the sigil_integrity_ metric names a PromQL expression
// uses.
func namesInExpr(expr string) []string {
	expr = quoted.ReplaceAllString(expr, `""`)
	var names []string
	for _, m := range metricName.FindAllStringSubmatch(expr, -1) {
		names = append(names, m[2])
	}
	return names
}

// usedMetricNames maps every sigil_integrity_ metric name used by an
// expression of the rules files or the dashboards to where it is used. The
// exporter's own test of a real scrape can take the keys of this map.
func usedMetricNames(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(where, expr string) {
		for _, n := range namesInExpr(expr) {
			if !slices.Contains(used[n], where) {
				used[n] = append(used[n], where)
			}
		}
	}
	for _, f := range rulesFiles(t) {
		for _, g := range loadRules(t, f).Groups {
			for _, r := range g.Rules {
				add(f+":"+r.Alert+r.Record, r.Expr)
			}
		}
	}
	boards, err := filepath.Glob("../dashboards/*.json")
	if err != nil || len(boards) == 0 {
		t.Fatalf("no dashboards/*.json: %v", err)
	}
	for _, b := range boards {
		for _, q := range dashboardQueries(t, b) {
			add(filepath.Base(b), q)
		}
	}
	return used
}

// dashboardQueries returns every PromQL text of a Grafana dashboard: panel
// targets' expr and template variables' query and definition.
func dashboardQueries(t *testing.T, path string) []string {
	t.Helper()
	b := testutil.ReadFile(t, path)
	var doc interface{}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not valid JSON: %v", path, err)
	}
	var out []string
	var walk func(v interface{})
	walk = func(v interface{}) {
		switch v := v.(type) {
		case map[string]interface{}:
			if v["type"] == "datasource" {
				return // a datasource variable: its query is a plugin id
			}
			for k, c := range v {
				if s, ok := c.(string); ok && (k == "expr" || k == "query" || k == "definition") {
					out = append(out, s)
				}
				walk(c)
			}
		case []interface{}:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	return out
}

func TestNamesInExpr(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`sigil_integrity_up == 0`, []string{"sigil_integrity_up"}},
		{`rate(sigil_integrity_records_verified_total{store="$store"}[5m])`, []string{"sigil_integrity_records_verified_total"}},
		{`up{job="sigil_integrity_check"} and sigil_integrity_last_status`, []string{"sigil_integrity_last_status"}},
		{`job:sigil_integrity_failures:max > 0`, nil},
		{`label_values(sigil_integrity_up, store)`, []string{"sigil_integrity_up"}},
	}
	for _, c := range cases {
		if got := namesInExpr(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("namesInExpr(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// TestMetricNamesAreDocumented checks that the rules and the dashboards use
// only the metric names listed in docs/METRICS.md.
func TestMetricNamesAreDocumented(t *testing.T) {
	doc := testutil.ReadFile(t, metricsDoc)
	known := map[string]bool{}
	for _, m := range documented.FindAllSubmatch(doc, -1) {
		known[string(m[1])] = true
	}
	if len(known) < 10 {
		t.Fatalf("found only %d metric names in %s; the table format changed?", len(known), metricsDoc)
	}
	used := usedMetricNames(t)
	if len(used) < 10 {
		t.Fatalf("found only %d metric names in the rules and dashboards; the extraction is broken", len(used))
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s is used by %v but not documented in %s", n, used[n], metricsDoc)
		}
	}
}
