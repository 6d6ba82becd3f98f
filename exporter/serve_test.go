package main

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// committedDB copies the committed Node-written LevelDB and returns the
// flags that verify it, with its manifest.
func committedDB(t *testing.T) ([]string, testutil.LevelDBManifest) {
	t.Helper()
	db := testutil.CopyDir(t, filepath.Join(repo, "testdata/leveldb/sigils-db"))
	m := testutil.ReadJSON[testutil.LevelDBManifest](t, filepath.Join(repo, "testdata/leveldb/expected.json"))
	args := []string{"--store.leveldb.path=" + db, "--store.leveldb.prefix=" + m.Prefix}
	for _, k := range m.Keys {
		args = append(args, "--verify.key-file="+filepath.Join(repo, k))
	}
	return args, m
}

func countByCheck(ws []testutil.Failure) map[string]int {
	out := map[string]int{}
	for _, w := range ws {
		out[w.Check]++
	}
	return out
}

// TestServePacedPass: a 20 s pass target ends in about 20 s, not at full
// speed and not late; the report is archived, last_status is 0, each
// per-check gauge carries its planted count, the scrape is lint-clean, and
// SIGTERM ends it with exit 0 within a few seconds.
func TestServePacedPass(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s pass")
	}
	args, m := committedDB(t)
	reports, state := t.TempDir(), t.TempDir()
	p := startExporter(t, append(args, "serve", "--scan.pass-duration=20s", "--report.dir="+reports, "--state.path="+state)...)
	start := time.Now()
	p.waitFor(40*time.Second, "the first pass", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 1
	})
	elapsed := time.Since(start)
	s := p.scrape()
	dur := s[`sigil_integrity_last_pass_duration_seconds{store="leveldb"}`]
	t.Logf("pass took %.2fs by the exporter's clock (%.2fs seen from outside) for a 20s target", dur, elapsed.Seconds())
	if dur < 18.5 || dur > 20.5 {
		t.Errorf("pass took %.2fs, want 20s within a few percent", dur)
	}
	if got := s[`sigil_integrity_last_status{store="leveldb"}`]; got != 0 {
		t.Errorf("last_status = %v, want 0", got)
	}
	if got := s[`sigil_integrity_last_pass_records{store="leveldb"}`]; got != float64(m.Total) {
		t.Errorf("last_pass_records = %v, want %d", got, m.Total)
	}
	want := countByCheck(m.Failures)
	for _, c := range []string{"read", "decode", "fields", "key", "duplicate", "checksum", "signature", "schema", "missing"} {
		got := s[fmt.Sprintf(`sigil_integrity_last_pass_failures{check=%q,store="leveldb"}`, c)]
		if got != float64(want[c]) {
			t.Errorf("last_pass_failures{check=%q} = %v, want %d", c, got, want[c])
		}
	}
	files, _ := filepath.Glob(filepath.Join(reports, "integrity-report-leveldb-*.json"))
	if len(files) != 1 {
		t.Errorf("%d reports archived, want 1", len(files))
	}
	_, body := p.get("/metrics")
	promtoolCheckMetrics(t, body)
	code, took := p.stop(syscall.SIGTERM)
	if code != 0 || took > 5*time.Second {
		t.Errorf("SIGTERM: exit %d after %s, want 0 within 5s", code, took)
	}
}

// TestServeThrottled: when --scan.max-rate makes the deadline impossible,
// the predicted end says so at once and the log names the binding limit.
func TestServeThrottled(t *testing.T) {
	args, _ := committedDB(t)
	p := startExporter(t, append(args, "serve", "--scan.pass-duration=10s", "--scan.max-rate=5", "--report.dir="+t.TempDir(), "--state.path="+t.TempDir())...)
	p.waitFor(10*time.Second, "a predicted end past the deadline", func() bool {
		s := p.scrape()
		end, dl := s[`sigil_integrity_pass_predicted_end_timestamp_seconds{store="leveldb"}`], s[`sigil_integrity_pass_deadline_timestamp_seconds{store="leveldb"}`]
		return dl > 0 && end > dl+30 // 328 records at 5/s is about 65 s
	})
	s := p.scrape()
	if r := s[`sigil_integrity_pacing_rate_records_per_second{store="leveldb"}`]; r <= 0 || r > 5 {
		t.Errorf("pacing rate %v, want (0, 5]", r)
	}
	p.waitFor(5*time.Second, "a log line naming max-rate", func() bool {
		return strings.Contains(p.Out.String(), "max-rate")
	})
}

// TestServeResumeAfterKill: kill -9 mid-pass, restart: the pass resumes
// with its original start and deadline and counts every record once.
func TestServeResumeAfterKill(t *testing.T) {
	args, m := committedDB(t)
	state, reports := t.TempDir(), t.TempDir()
	flags := append(args, "serve", "--scan.pass-duration=20s", "--state.checkpoint-interval=500ms", "--report.dir="+reports, "--state.path="+state)
	p := startExporter(t, flags...)
	var start, deadline float64
	p.waitFor(10*time.Second, "a third of the pass and a checkpoint", func() bool {
		s := p.scrape()
		start = s[`sigil_integrity_pass_start_timestamp_seconds{store="leveldb"}`]
		deadline = s[`sigil_integrity_pass_deadline_timestamp_seconds{store="leveldb"}`]
		return s[`sigil_integrity_current_pass_records{store="leveldb"}`] > float64(m.Total)/3
	})
	time.Sleep(time.Second) // let a checkpoint land
	p.stop(syscall.SIGKILL)

	q := startExporter(t, flags...)
	s := q.scrape()
	if got := s[`sigil_integrity_pass_start_timestamp_seconds{store="leveldb"}`]; math.Abs(got-start) > 0.001 {
		t.Errorf("resumed pass start %v, want the original %v", got, start)
	}
	if got := s[`sigil_integrity_pass_deadline_timestamp_seconds{store="leveldb"}`]; math.Abs(got-deadline) > 0.001 {
		t.Errorf("resumed pass deadline %v, want the original %v", got, deadline)
	}
	if got := s[`sigil_integrity_current_pass_records{store="leveldb"}`]; got <= 0 {
		t.Errorf("resumed pass starts at %v records, want the saved count", got)
	}
	q.waitFor(30*time.Second, "the resumed pass to complete", func() bool {
		return q.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 1
	})
	s = q.scrape()
	if got := s[`sigil_integrity_last_pass_records{store="leveldb"}`]; got != float64(m.Total) {
		t.Errorf("resumed pass counted %v records, want each of the %d once", got, m.Total)
	}
	var failed float64
	for k, v := range s {
		if strings.HasPrefix(k, "sigil_integrity_last_pass_failures{") {
			failed += v
		}
	}
	if failed != float64(len(m.Failures)) {
		t.Errorf("resumed pass counted %v failures, want %d", failed, len(m.Failures))
	}
}

// promtoolCheckMetrics runs the real promtool over a scrape.
func promtoolCheckMetrics(t *testing.T, body string) {
	t.Helper()
	promtool := testutil.Tool(t, "the Debian package prometheus", "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
