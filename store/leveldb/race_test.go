package leveldb

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// TestReopenRaceUnderLoad provokes the open/compaction race on purpose:
// live-writer.js (32 KiB write buffer: a memtable switch, flush and
// MANIFEST edit every few tens of milliseconds) writes for 8 s while four
// goroutines reopen the store back to back, with no pause, and two more
// keep the CPU busy so that an open is often descheduled between reading
// the MANIFEST and replaying the journals, as on a loaded machine. Every
// reopen must succeed (a view the app moved past is opened again, never an
// error), and a walk after each reopen must read only valid records.
func TestReopenRaceUnderLoad(t *testing.T) {
	node := testutil.Node(t)
	testutil.Long(t, "an 8 s Node writer beside reopens in a tight loop")
	dir := filepath.Join(t.TempDir(), "db")
	w := startLiveWriter(t, node, dir, "--seconds", "8", "--write-buffer", "32768")

	logs := &testutil.Buffer{}
	s := mustOpen(t, dir, Options{Prefix: []byte("!sigils!"), Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var reopens, failed, damaged atomic.Int64
	var mu sync.Mutex
	var errs []string
	var worst time.Duration
	for range 2 { // CPU load inside the test process
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for ctx.Err() == nil {
				for i := range 1 << 16 {
					x += i
				}
			}
			_ = x
		}()
	}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				err := s.Reopen()
				took := time.Since(start)
				mu.Lock()
				worst = max(worst, took)
				mu.Unlock()
				reopens.Add(1)
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if len(errs) < 10 {
						errs = append(errs, err.Error())
					}
					mu.Unlock()
					continue
				}
				if g == 0 { // one walker: a view must never look damaged
					_ = s.Scan(ctx, nil, func(r store.Record) error {
						if r.Err != nil {
							damaged.Add(1)
							mu.Lock()
							if len(errs) < 10 {
								errs = append(errs, "walk: "+r.Err.Error())
							}
							mu.Unlock()
						}
						return nil
					})
				}
			}
		}()
	}
	verified := -1
	for verified < 0 {
		l, ok := <-w.lines
		if !ok {
			stop()
			wg.Wait()
			t.Fatalf("live-writer.js ended early: %s", w.stderr.String())
		}
		_, _ = fmt.Sscanf(l, "verified %d", &verified)
	}
	stop()
	wg.Wait()
	w.wait(t)
	retries := strings.Count(logs.String(), "opening again")
	most := 0
	for _, m := range regexp.MustCompile(`attempt=(\d+)`).FindAllStringSubmatch(logs.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		most = max(most, n+1)
	}
	t.Logf("%d reopens beside the app, %d failed, %d damaged records seen, %d started over, at most %d attempts for one open, slowest reopen %s",
		reopens.Load(), failed.Load(), damaged.Load(), retries, most, worst.Round(time.Millisecond))
	if failed.Load() > 0 || damaged.Load() > 0 {
		t.Errorf("%d reopens failed, %d records looked damaged beside a healthy app:\n%s", failed.Load(), damaged.Load(), strings.Join(errs, "\n"))
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	if n := len(scanAll(t, s, nil)); n != verified {
		t.Errorf("after the app stopped: %d records, Node read back %d", n, verified)
	}
}

// TestMovedTellsCompactionFromDamage: a view's MANIFEST has not moved while
// the directory is at rest, so a table file missing from it is damage; once
// the app has written and compacted (the MANIFEST grew, the old tables were
// deleted), the view has moved and a missing table is the app's doing, and
// the walk over the stale view reads every record without a damaged one.
func TestMovedTellsCompactionFromDamage(t *testing.T) {
	dir := writeGoleveldb(t, 3000, 200, nil, true)
	s := mustOpen(t, dir, Options{Prefix: []byte("!sigils!"), ChunkSize: 100})
	h, err := s.acquire()
	if err != nil {
		t.Fatal(err)
	}
	h.refs.Done()
	if s.moved(h) {
		t.Fatal("moved reports a change in a directory at rest")
	}
	// The "app" (goleveldb, read-write, on this test's own copy) rewrites
	// every record and compacts: every table the view names is deleted.
	db, err := leveldb.OpenFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if err := db.Put(testKey(i), fmt.Appendf(nil, `{"id":"%d","v":2}`, i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CompactRange(utilRange()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !s.moved(h) {
		t.Fatal("moved misses a MANIFEST that grew and tables that were deleted")
	}
	got := scanAll(t, s, nil)
	if len(got) != 3000 {
		t.Errorf("walk over the stale view: %d records, want 3000", len(got))
	}
	for _, r := range got {
		if r.Err != nil {
			t.Fatalf("record %q reported damaged after the app's compaction: %v", r.Key, r.Err)
		}
	}
}
