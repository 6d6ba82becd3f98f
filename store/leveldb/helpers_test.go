package leveldb

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
)

const committedDB = "../../testdata/leveldb/sigils-db"

// committedDBs are the committed Node databases with their manifests: the
// tidy one (reopened and compacted) and one as a running app leaves it
// (closed without a final compaction: two live journals, tables on levels 0
// and 2). Both hold the same records.
var committedDBs = []struct{ name, dir, manifest string }{
	{"compacted", committedDB, "../../testdata/leveldb/expected.json"},
	{"uncompacted", "../../testdata/leveldb/sigils-db-uncompacted", "../../testdata/leveldb/expected-uncompacted.json"},
}

// committedManifest is testdata/leveldb/expected.json, the manifest of
// committedDB.
func committedManifest(t testing.TB) testutil.LevelDBManifest {
	t.Helper()
	return testutil.ReadJSON[testutil.LevelDBManifest](t, testutil.Path(t, "testdata", "leveldb", "expected.json"))
}

// scanned is a Record with its bytes copied.
type scanned struct {
	Key, Value []byte
	Err        error
}

func scanAll(t testing.TB, s *Store, after []byte) []scanned {
	t.Helper()
	var out []scanned
	err := s.Scan(context.Background(), after, func(r store.Record) error {
		out = append(out, scanned{Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value), Err: r.Err})
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

func mustOpen(t testing.TB, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeGoleveldb writes n records of about valueSize bytes under prefix
// with goleveldb in a fresh temp dir, for fault tests that need a shape the
// committed Node DB lacks (several tables, a journal). The file formats are
// LevelDB's own, the same as Node's C++ LevelDB writes.
func writeGoleveldb(t testing.TB, n, valueSize int, o *opt.Options, compact bool) string {
	t.Helper()
	dir := t.TempDir()
	db, err := leveldb.OpenFile(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	batch := new(leveldb.Batch)
	val := bytes.Repeat([]byte("x"), valueSize)
	for i := 0; i < n; i++ {
		batch.Put(testKey(i), append(fmt.Appendf(nil, `{"id":"%d","pad":"`, i), append(val, '"', '}')...))
		if batch.Len() == 1000 {
			if err := db.Write(batch, nil); err != nil {
				t.Fatal(err)
			}
			batch.Reset()
		}
	}
	if err := db.Write(batch, nil); err != nil {
		t.Fatal(err)
	}
	if compact {
		if err := db.CompactRange(utilRange()); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func testKey(i int) []byte { return fmt.Appendf(nil, "!sigils!rec-%07d", i) }
