package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// nodeWriter is testdata/node/live-writer.js running: the app writing to
// its LevelDB.
type nodeWriter struct {
	cmd    *exec.Cmd
	stderr *testutil.Buffer
	lines  chan string // stdout lines: "ready n", "written n", "verified n"
	done   chan error
}

// startNodeWriter starts the live writer on db for the given seconds and
// waits for its "ready" line. Without node or node_modules the test skips,
// or fails in CI.
func startNodeWriter(t *testing.T, db string, seconds int, extra ...string) *nodeWriter {
	t.Helper()
	node := testutil.Node(t)
	w := &nodeWriter{stderr: &testutil.Buffer{}, lines: make(chan string, 8), done: make(chan error, 1)}
	w.cmd = exec.Command(node, append([]string{filepath.Join(repo, "testdata/node/live-writer.js"), db, "--seconds", strconv.Itoa(seconds)}, extra...)...)
	w.cmd.Stderr = w.stderr
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		wg.Wait()
		w.done <- w.cmd.Wait()
		close(w.lines)
	}()
	t.Cleanup(func() { _ = w.cmd.Process.Kill() })
	w.expect(t, "ready", 30*time.Second)
	return w
}

// expect waits for the stdout line "<word> <n>" and returns n.
func (w *nodeWriter) expect(t *testing.T, word string, timeout time.Duration) int {
	t.Helper()
	select {
	case line, ok := <-w.lines:
		if !ok {
			t.Fatalf("live-writer.js exited before %q: %v\n%s", word, <-w.done, w.stderr.String())
		}
		var n int
		if _, err := fmt.Sscanf(line, word+" %d", &n); err != nil {
			t.Fatalf("live-writer.js said %q, want %q: %v\n%s", line, word+" N", err, w.stderr.String())
		}
		return n
	case <-time.After(timeout):
		t.Fatalf("live-writer.js: no %q line within %s\n%s", word, timeout, w.stderr.String())
	}
	return 0
}

// failureGauges sums the failure gauges of a scrape and names the non-zero
// ones.
func failureGauges(s map[string]float64) (sum float64, nonZero []string) {
	for k, v := range s {
		if (strings.HasPrefix(k, "sigil_integrity_last_pass_failures{") || strings.HasPrefix(k, "sigil_integrity_current_pass_failures{")) && v != 0 {
			sum += v
			nonZero = append(nonZero, fmt.Sprintf("%s = %v", k, v))
		}
	}
	return sum, nonZero
}

// TestLiveNodeApp: a real Node process (classic-level, as the app) writes
// signed records into the LevelDB for 12 s while `serve` walks it in 3 s
// passes, reopening every second. The app sees no error and reads back
// every record it wrote; the exporter never reports a failure (every
// failure gauge is 0 at every scrape, every report lists none), later
// passes count the new records, and a pass that starts after the app
// stopped writing counts every record the app wrote.
//
//	go test ./exporter -run TestLiveNodeApp -v
//
// make test-states runs the same for a minute with a 32 KiB write buffer
// (TestLiveNodeAppMinute).
func TestLiveNodeApp(t *testing.T) {
	liveNodeApp(t, 12, 128<<10)
}

// liveNodeApp runs the app for the given seconds with the given write
// buffer beside `serve`; up must be 1 at every scrape.
func liveNodeApp(t *testing.T, seconds, writeBuffer int) {
	dir := t.TempDir()
	db := filepath.Join(dir, "app-db")
	// Build the exporter before the app starts: alone under load the
	// build took 6-10 s of the app's 12, and the passes it left were too
	// few for the checks below.
	testutil.Binary(t)
	w := startNodeWriter(t, db, seconds, "--write-buffer", strconv.Itoa(writeBuffer))
	reports, state := t.TempDir(), t.TempDir()
	p := startExporter(t, "serve", "--store.leveldb.path="+db, "--store.leveldb.prefix=!sigils!",
		"--verify.key-file="+filepath.Join(repo, "testdata/keys/current.key"),
		"--scan.pass-duration=3s", "--store.leveldb.reopen-interval=1s", "--state.checkpoint-interval=250ms",
		"--scan.recheck-interval=1s", "--report.dir="+reports, "--state.path="+state)

	var (
		lastRecords []float64 // last_pass_records after each new completed pass
		passes      float64
		falseAlarms []string
		downs       []string
		scrapes     int
		writtenAt   time.Time
		written     = -1
	)
	poll := func() map[string]float64 {
		s := p.scrape()
		if _, nz := failureGauges(s); len(nz) > 0 && len(falseAlarms) < 20 {
			falseAlarms = append(falseAlarms, fmt.Sprintf("%s: %s", time.Now().Format("15:04:05.000"), strings.Join(nz, ", ")))
		}
		if up, ok := s[`sigil_integrity_up{store="leveldb"}`]; (!ok || up != 1) && len(downs) < 20 {
			downs = append(downs, fmt.Sprintf("%s: up = %v (present %v)", time.Now().Format("15:04:05.000"), up, ok))
		}
		scrapes++
		if c := s[`sigil_integrity_passes_completed_total{store="leveldb"}`]; c > passes {
			passes = c
			lastRecords = append(lastRecords, s[`sigil_integrity_last_pass_records{store="leveldb"}`])
		}
		return s
	}
	// While the app writes: scrape every 100 ms.
	for written < 0 {
		select {
		case line, ok := <-w.lines:
			if !ok {
				t.Fatalf("live-writer.js exited while writing: %v\n%s", <-w.done, w.stderr.String())
			}
			if _, err := fmt.Sscanf(line, "written %d", &written); err != nil {
				t.Fatalf("live-writer.js said %q, want \"written N\"", line)
			}
			writtenAt = time.Now()
		case <-time.After(100 * time.Millisecond):
			poll()
		}
	}
	verified := w.expect(t, "verified", 30*time.Second)
	if err := <-w.done; err != nil {
		t.Fatalf("the app saw an error or a record that did not read back: %v\n%s", err, w.stderr.String())
	}
	if verified != written {
		t.Fatalf("the app read back %d records of the %d it wrote", verified, written)
	}
	t.Logf("the app wrote %d records in %d s and read every one back", written, seconds)

	// A pass that starts after the app's last write counts every record.
	var final map[string]float64
	p.waitFor(20*time.Second, "a pass started after the app's last write", func() bool {
		final = poll()
		done := final[`sigil_integrity_last_pass_completion_timestamp_seconds{store="leveldb"}`]
		dur := final[`sigil_integrity_last_pass_duration_seconds{store="leveldb"}`]
		return done-dur > float64(writtenAt.UnixNano())/1e9
	})
	t.Logf("last_pass_records after each pass: %v; %d scrapes", lastRecords, scrapes)
	if len(downs) > 0 {
		t.Errorf("up was not 1 at every scrape while the app wrote:\n%s", strings.Join(downs, "\n"))
	}
	if len(falseAlarms) > 0 {
		t.Errorf("failure gauges were non-zero while the app wrote valid records:\n%s", strings.Join(falseAlarms, "\n"))
	}
	if got := final[`sigil_integrity_last_pass_records{store="leveldb"}`]; got != float64(written) {
		t.Errorf("the pass after the app stopped counted %v records, want all %d the app wrote", got, written)
	}
	if len(lastRecords) < 3 {
		t.Errorf("only %d passes completed, want at least 3 (3 s passes over ~15 s)", len(lastRecords))
	}
	grew := 0
	for i := 1; i < len(lastRecords); i++ {
		if lastRecords[i] > lastRecords[i-1] {
			grew++
		}
	}
	if grew < 2 {
		t.Errorf("last_pass_records %v: later passes should count the app's new records", lastRecords)
	}
	if got := final[`sigil_integrity_last_status{store="leveldb"}`]; got != 1 {
		t.Errorf("last_status = %v, want 1", got)
	}
	if got := final[`sigil_integrity_up{store="leveldb"}`]; got != 1 {
		t.Errorf("up = %v, want 1", got)
	}
	if got := final[`sigil_integrity_read_errors_total{store="leveldb"}`]; got != 0 {
		t.Errorf("read_errors_total = %v while the app only wrote: the reopen or the walk hit an error", got)
	}
	files, _ := filepath.Glob(filepath.Join(reports, "integrity-report-leveldb-*.json"))
	if len(files) < len(lastRecords) {
		t.Errorf("%d reports for %d passes, want one per pass", len(files), len(lastRecords))
	}
	for _, f := range files {
		r := readReport(t, f)
		if r.Failed != 0 || len(r.Failures) != 0 {
			t.Errorf("report %s lists failures: %+v", filepath.Base(f), r.Failures)
		}
	}
	if logs := p.Out.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("the exporter logged an error while the app wrote:\n%s", grepLines(logs, "level=ERROR"))
	}
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
