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
	cmd := exec.Command(node, "../../testdata/node/live-writer.js", dir, "--seconds", "10")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
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

	var logs bytes.Buffer
	s := mustOpen(t, dir, Options{Prefix: []byte("!sigils!"), Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	reopens, failed := 0, 0
	var worst time.Duration
	verified := -1
	for verified < 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("live-writer.js ended early: %s", stderr.String())
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
	if err := cmd.Wait(); err != nil {
		t.Fatalf("live-writer.js: %v\n%s", err, stderr.String())
	}
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
