package collector

import (
	"crypto/sha256"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkSortKeyList sorts the key list of a pass over 200,000 bigint
// ids walked in numeric order ("1" … "200000", far from bytewise), as the
// missing check does after each such pass (docs/PERFORMANCE.md,
// PostgreSQL). Run:
//
//	go test -run '^$' -bench SortKeyList -benchmem ./collector
func BenchmarkSortKeyList(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "keys")
	w, err := createKeyList(src, 0)
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= 200_000; i++ {
		k := []byte(strconv.Itoa(i))
		if err := w.add(k, sha256.Sum256(k)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(dir, "sorted")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := sortKeyList(src, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200_000, "ns/key")
}
