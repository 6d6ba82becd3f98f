// Package metrics is the exporter's Prometheus collector: the
// sigil_integrity_* series of every runner and of the cross-store
// comparison, built from their exported collector.Status at scrape time
// (descs built once, values emitted in Collect), so a scrape never touches
// a store.
//
// It owns the metric names, help texts and labels (alerts/ and
// dashboards/ test them). It reads collector.Status only: it must not
// import store/, exporter/, goleveldb, pgx or database/sql, nor reach
// into a runner's internals.
package metrics

import (
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
)

const namespace = "sigil_integrity"

// Collector exports the runners' state. Descs are built once; values are
// read from snapshots at scrape time, so a scrape never touches a store.
type Collector struct {
	sources []collector.StatusSource
	d       map[string]*prometheus.Desc
}

type metricDef struct {
	name, help string
	labels     []string
}

var metricDefs = []metricDef{
	{"last_status", "1 when the last complete pass and the current pass found no failure (after re-checks), 0 when they did.", []string{"store"}},
	{"up", "1 when the store could be reached at the last attempt, 0 when not.", []string{"store"}},
	{"read_errors_total", "Errors reading the store: failed opens or scans and unreadable records.", []string{"store"}},
	{"records_verified_total", "Records verified by the background walk and re-checks.", []string{"store"}},
	{"last_pass_failures", "Records failing each check in the last complete pass, less those a re-check found fixed.", []string{"store", "check"}},
	{"current_pass_failures", "Records failing each check so far in the current pass, less those a re-check found fixed.", []string{"store", "check"}},
	{"last_pass_records", "Records checked by the last complete pass.", []string{"store"}},
	{"current_pass_records", "Records checked so far in the current pass.", []string{"store"}},
	{"last_pass_key_records", "Records each signing key verified in the last complete pass (key 0 is the current key).", []string{"store", "key"}},
	{"current_pass_key_records", "Records each signing key verified so far in the current pass (key 0 is the current key).", []string{"store", "key"}},
	{"pass_progress_ratio", "Share of the current pass done, from the last pass's record count; 1 between passes.", []string{"store"}},
	{"pass_start_timestamp_seconds", "When the current pass started.", []string{"store"}},
	{"pass_deadline_timestamp_seconds", "When the current pass must end.", []string{"store"}},
	{"pass_predicted_end_timestamp_seconds", "When the current pass will end at the pace the limits allow.", []string{"store"}},
	{"last_pass_completion_timestamp_seconds", "When the last complete pass ended; 0 before the first.", []string{"store"}},
	{"last_pass_duration_seconds", "How long the last complete pass took.", []string{"store"}},
	{"last_progress_timestamp_seconds", "When the background walk last verified a record.", []string{"store"}},
	{"paused", "1 while the walk is paused by POST /-/pause (kept across restarts), 0 otherwise.", []string{"store"}},
	{"paused_since_timestamp_seconds", "When the pause under way began; 0 when not paused.", []string{"store"}},
	{"scan_active", "1 when the walk should be making progress now, 0 when it is idle on purpose (paused, between passes, outside its window).", []string{"store"}},
	{"pacing_rate_records_per_second", "Records per second the pacer currently allows.", []string{"store"}},
	{"passes_completed_total", "Complete passes since the exporter started.", []string{"store"}},
	{"missing_records", "Records a complete pass saw that are absent since, until a read finds them restored (they stay counted pass after pass).", []string{"store"}},
	{"report_write_errors_total", "Reports that could not be written.", []string{"store"}},
	{"state_write_errors_total", "Progress checkpoints that could not be written.", []string{"store"}},
}

// New builds the collector for some runners (and the cross-store
// comparison).
func New(sources ...collector.StatusSource) *Collector {
	m := &Collector{sources: sources, d: map[string]*prometheus.Desc{}}
	for _, d := range metricDefs {
		help := d.help + " From the background walk, not read at scrape time."
		m.d[d.name] = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", d.name), help, d.labels, nil)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.d {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, src := range m.sources {
		m.collect(ch, src.Status())
	}
}

func (m *Collector) collect(ch chan<- prometheus.Metric, s collector.Status) {
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(m.d[name], prometheus.GaugeValue, v, append([]string{s.Store}, labels...)...)
	}
	counter := func(name string, v uint64) {
		ch <- prometheus.MustNewConstMetric(m.d[name], prometheus.CounterValue, float64(v), s.Store)
	}
	gauge("last_status", b2f(s.OK()))
	gauge("up", b2f(s.Up))
	counter("read_errors_total", s.ReadErrors)
	counter("records_verified_total", s.Verified)
	counter("passes_completed_total", s.Passes)
	counter("report_write_errors_total", s.ReportErrors)
	counter("state_write_errors_total", s.StateErrors)

	cur, last := s.Current, s.Last
	if cur == nil {
		cur = &collector.PassStatus{ByCheck: make([]int64, len(verify.Checks)), KeyRecords: make([]int64, s.SigningKeys)}
	}
	if last == nil {
		last = &collector.PassStatus{ByCheck: make([]int64, len(verify.Checks)), KeyRecords: make([]int64, s.SigningKeys)}
	}
	for i, c := range verify.Checks {
		gauge("current_pass_failures", float64(cur.ByCheck[i]), c)
		gauge("last_pass_failures", float64(last.ByCheck[i]), c)
	}
	for i := 0; i < s.SigningKeys; i++ {
		k := strconv.Itoa(i)
		gauge("current_pass_key_records", float64(at(cur.KeyRecords, i)), k)
		gauge("last_pass_key_records", float64(at(last.KeyRecords, i)), k)
	}
	gauge("current_pass_records", float64(cur.Checked))
	gauge("last_pass_records", float64(last.Checked))
	gauge("pass_progress_ratio", s.Progress())
	gauge("pass_start_timestamp_seconds", ts(cur.Started))
	gauge("pass_deadline_timestamp_seconds", ts(cur.Deadline))
	gauge("pass_predicted_end_timestamp_seconds", ts(s.PredictedEnd))
	gauge("last_pass_completion_timestamp_seconds", ts(s.Finished))
	gauge("last_pass_duration_seconds", s.Duration.Seconds())
	gauge("last_progress_timestamp_seconds", ts(s.LastProgress))
	gauge("scan_active", b2f(s.Active))
	gauge("paused", b2f(s.Paused))
	gauge("paused_since_timestamp_seconds", ts(s.PausedSince))
	rate := s.Rate
	if math.IsInf(rate, 1) {
		rate = 0 // unpaced; documented as 0 = no limit
	}
	gauge("pacing_rate_records_per_second", rate)
	gauge("missing_records", float64(s.Missing))
}

func at(s []int64, i int) int64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func ts(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
