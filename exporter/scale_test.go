//go:build scale

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScale builds LevelDBs of 200k and 10M realistic records (about
// 1 KiB each, signed as the app signs them) with goleveldb, caches them in
// $SIGIL_SCALE_DIR (default $TMPDIR/sigil-scale), and runs `check` on both
// as a process: the peak RSS at 10M stays within 1.25x of 200k's and the
// time per record within 1.5x (linear). Run:
//
//	go test -tags scale -run TestScale -timeout 2h -v ./exporter
//
// SIGIL_SCALE_BIG overrides the large count (e.g. 2000000 on a small disk).
func TestScale(t *testing.T) {
	dir := envOr("SIGIL_SCALE_DIR", filepath.Join(os.TempDir(), "sigil-scale"))
	big := 10_000_000
	if s := os.Getenv("SIGIL_SCALE_BIG"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1_000_000 {
			t.Fatalf("SIGIL_SCALE_BIG=%q: want a count of at least 1000000", s)
		}
		big = n
	}
	key := writeKeyFile(t, t.TempDir(), "k", badKey)
	var base checkRun
	var basePer float64
	for _, n := range []int{200_000, big} {
		db := scaleDB(t, dir, n)
		r := runCheckProc(t, "--store.leveldb.path="+db, "--verify.key-file="+key,
			"--report.dir="+t.TempDir(), "--state.path="+t.TempDir(), "--log.level=warn")
		if r.code != exitOK || !strings.HasPrefix(r.stdout, fmt.Sprintf("Checked %d sigils. 0 failures.\n", n)) {
			t.Fatalf("%d records: exit %d\n%s%.2000s", n, r.code, r.stdout, r.stderr)
		}
		per := float64(r.elapsed.Nanoseconds()) / float64(n)
		t.Logf("%d records: check %v (%.2f µs/record, %.0f records/s), peak RSS %d MiB",
			n, r.elapsed.Round(time.Millisecond), per/1e3, 1e9/per, r.maxRSSKiB>>10)
		if n == 200_000 {
			base, basePer = r, per
			continue
		}
		if r.maxRSSKiB > base.maxRSSKiB*5/4 {
			t.Errorf("peak RSS %d MiB at %d records, over 1.25x the %d MiB at 200k", r.maxRSSKiB>>10, n, base.maxRSSKiB>>10)
		}
		if per > basePer*1.5 {
			t.Errorf("%.2f µs/record at %d records, over 1.5x the %.2f at 200k: not linear", per/1e3, n, basePer/1e3)
		}
	}
}

// scaleDB returns a cached LevelDB of n records, building it if needed. A
// marker file written last says the build finished.
func scaleDB(t *testing.T, dir string, n int) string {
	db := filepath.Join(dir, fmt.Sprintf("sigils-v3-%d", n))
	done := db + ".complete"
	if _, err := os.Stat(done); err == nil {
		return db
	}
	os.RemoveAll(db)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	filler := pad(1300)
	writeLevelDB(t, db, n, true, func(i int) ([]byte, []byte) {
		id := fmt.Sprintf("sig-%09d", i)
		off := (i * 37) % 600
		data := fmt.Sprintf(`{"owner":"user-%d","createdAt":"2024-%02d-%02dT10:%02d:00.000Z","amountCents":%d,"tags":["a","b%d"],"note":"%s"}`,
			i%9973, i%12+1, i%28+1, i%60, (i%100000)*100+i%100, i%7, filler[off:off+100+i%600])
		return []byte(id), signedRecord(badKey, id, data)
	})
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d records in %s in %v", n, db, time.Since(start).Round(time.Second))
	return db
}
