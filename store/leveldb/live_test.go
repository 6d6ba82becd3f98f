package leveldb

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestReopenBesideNodeWriter: testdata/node/live-writer.js (classic-level,
// 128 KiB write buffer: a memtable switch, flush or compaction every few
// hundred milliseconds) writes for 10 s while the store reopens every 50 ms.
// Every reopen must succeed: a view taken while two journals are live, or
// while the app flushes one and rewrites the MANIFEST, is read or retried,
// never an error. Once the app has stopped, a reopen counts exactly the
// records Node read back.
func TestReopenBesideNodeWriter(t *testing.T) {
	node := testutil.Node(t)
	dir := filepath.Join(t.TempDir(), "db")
	w := startLiveWriter(t, node, dir, "--seconds", "10")

	var logs bytes.Buffer
	s := mustOpen(t, dir, Options{Prefix: []byte("!sigils!"), Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	reopens, failed := 0, 0
	var worst time.Duration
	verified := -1
	for verified < 0 {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatalf("live-writer.js ended early: %s", w.stderr.String())
			}
			_, _ = fmt.Sscanf(l, "verified %d", &verified) // "written N" comes first
		case <-time.After(50 * time.Millisecond):
			start := time.Now()
			if err := s.Reopen(); err != nil {
				failed++
				t.Errorf("reopen %d beside the app: %v", reopens, err)
			}
			worst = max(worst, time.Since(start))
			reopens++
		}
	}
	w.wait(t)
	retries := strings.Count(logs.String(), "opening again")
	t.Logf("%d reopens beside the app, %d failed, %d started over, slowest %s", reopens, failed, retries, worst.Round(time.Millisecond))
	if reopens < 50 {
		t.Errorf("only %d reopens while the app wrote", reopens)
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	if n := len(scanAll(t, s, nil)); n != verified {
		t.Errorf("after the app stopped: %d records, Node read back %d", n, verified)
	}
}

// liveWriter is testdata/node/live-writer.js writing to a LevelDB: lines
// are what it prints after "ready" ("written N", then "verified N").
type liveWriter struct {
	cmd    *exec.Cmd
	lines  <-chan string
	stderr *testutil.Buffer
}

// startLiveWriter starts live-writer.js on dir with args (--seconds,
// --write-buffer) and returns once it said ready; the test's cleanup kills it.
func startLiveWriter(t *testing.T, node, dir string, args ...string) *liveWriter {
	t.Helper()
	cmd := exec.Command(node, append([]string{"../../testdata/node/live-writer.js", dir}, args...)...)
	stderr := &testutil.Buffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; !strings.HasPrefix(l, "ready ") {
		t.Fatalf("live-writer.js said %q, want ready\n%s", l, stderr.String())
	}
	return &liveWriter{cmd: cmd, lines: lines, stderr: stderr}
}

// wait waits for live-writer.js to end and fails the test if it failed.
func (w *liveWriter) wait(t *testing.T) {
	t.Helper()
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("live-writer.js: %v\n%s", err, w.stderr.String())
	}
}
