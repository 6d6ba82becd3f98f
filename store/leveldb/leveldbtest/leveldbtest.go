// Package leveldbtest reads the committed Node-written LevelDB
// (testdata/leveldb/sigils-db) for the benchmarks of several packages
// (collector, collector/verify), which cannot share a helper through
// internal/testutil: that package imports nothing of this module, so that
// store/leveldb's own tests may use it.
//
// It owns this one reader. It imports store/leveldb and internal/testutil;
// tests only: no non-test package may import it (depguard).
package leveldbtest

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/leveldb"
)

// NodeRecords reads the app's ordinary records (sigil-NNNNNNN, about 1 KiB
// each) out of the committed Node-written database, in key order.
func NodeRecords(tb testing.TB) []store.Record {
	tb.Helper()
	db := filepath.Join(testutil.Root(tb), "testdata/leveldb/sigils-db")
	s, err := leveldb.Open(db, leveldb.Options{Prefix: []byte("!sigils!")})
	if err != nil {
		tb.Fatalf("open the committed Node database: %v", err)
	}
	defer s.Close()
	var recs []store.Record
	err = s.Scan(context.Background(), nil, func(r store.Record) error {
		if r.Err != nil {
			return r.Err
		}
		if bytes.HasPrefix(r.Key, []byte("sigil-")) {
			recs = append(recs, store.Record{Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)})
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("scan the committed Node database: %v", err)
	}
	if len(recs) < 20 {
		tb.Fatalf("the committed Node database holds %d ordinary records, want at least 20", len(recs))
	}
	return recs
}
