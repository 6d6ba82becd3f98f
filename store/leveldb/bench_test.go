package leveldb

import (
	"context"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// BenchmarkScan walks 20,000 records of about 1 KiB (one op = one full
// pass) and reports records/s. Run: go test -bench Scan -benchmem ./store/leveldb
func BenchmarkScan(b *testing.B) {
	const n = 20000
	dir := writeGoleveldb(b, n, 1000, nil, true)
	s := mustOpen(b, dir, Options{Prefix: []byte("!sigils!")})
	var bytes int64
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		count := 0
		err := s.Scan(context.Background(), nil, func(r store.Record) error {
			count++
			bytes += int64(len(r.Value))
			return nil
		})
		if err != nil || count != n {
			b.Fatalf("scan: %d records, %v", count, err)
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(n*b.N)/el, "records/s")
	b.ReportMetric(float64(bytes)/el/1e6, "MB/s")
}
