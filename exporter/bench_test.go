package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// BenchmarkCheck runs the whole check command in-process (one op = one full
// pass, every check but schema, two key files, js mode) so that a CPU or
// memory profile covers the real pipeline: LevelDB scan, walk, verifier,
// consumer, key list and report. It walks the committed Node database, or
// the one in SIGIL_BENCH_DB (prefix !sigils!), e.g. one that
// testdata/bench/run.sh generated:
//
//	SIGIL_BENCH_DB=/tmp/sigil-bench/db-200000/sigils-db \
//	  go test -run '^$' -bench Check -benchtime 3x -cpuprofile /tmp/check.cpu ./exporter
func BenchmarkCheck(b *testing.B) {
	db := envOr("SIGIL_BENCH_DB", "../testdata/leveldb/sigils-db")
	checked := regexp.MustCompile(`Checked (\d+) sigils`)
	var records int64
	for b.Loop() {
		b.StopTimer()
		work := b.TempDir()
		var out, errOut bytes.Buffer
		args := []string{"check",
			"--store.leveldb.path=" + db, "--store.leveldb.prefix=!sigils!",
			"--verify.key-file=../testdata/keys/current.key", "--verify.key-file=../testdata/keys/previous.key",
			"--report.dir=" + filepath.Join(work, "reports"), "--state.path=" + filepath.Join(work, "state"),
			"--log.level=error",
		}
		b.StartTimer()
		code := run(args, &out, &errOut)
		b.StopTimer()
		m := checked.FindStringSubmatch(out.String())
		if code > 1 || m == nil {
			b.Fatalf("check exited %d: %s%s", code, out.String(), errOut.String())
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		if n == 0 {
			b.Fatalf("check verified no record: %s", out.String())
		}
		records = n
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records)/float64(b.N), "ns/record")
	b.ReportMetric(float64(records), "records")
}
