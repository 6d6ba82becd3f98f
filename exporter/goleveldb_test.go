package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// LevelDBs written, edited and read with goleveldb directly, as the app (or
// a reference reader) would: the stores the exporter's tests run against.

// writeLevelDB writes n records from gen in batches of 10,000 with
// goleveldb, read-write as the app would, and compacts when asked so the
// records sit in table files rather than in the journal.
func writeLevelDB(t testing.TB, path string, n int, compact bool, gen func(i int) (key, value []byte)) {
	t.Helper()
	// A big write buffer and table size keep goleveldb's own compactions
	// from dominating the time to write a million records.
	writeLevelDBWith(t, path, &opt.Options{WriteBuffer: 64 * opt.MiB, CompactionTableSize: 32 * opt.MiB}, n, compact, gen)
}

// writeLevelDBWith is writeLevelDB with goleveldb options o.
func writeLevelDBWith(t testing.TB, path string, o *opt.Options, n int, compact bool, gen func(i int) (key, value []byte)) {
	t.Helper()
	db, err := leveldb.OpenFile(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := new(leveldb.Batch)
	for i := 0; i < n; i++ {
		k, v := gen(i)
		b.Put(k, v)
		if b.Len() == 10000 || i == n-1 {
			if err := db.Write(b, nil); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	if compact {
		if err := db.CompactRange(util.Range{}); err != nil {
			t.Fatal(err)
		}
	}
}

// manyTableDB writes n valid records with goleveldb into many level-1
// table files (64 KiB each, uncompressed) and returns the app.
func manyTableDB(t *testing.T, n int) *appDB {
	t.Helper()
	a := newAppDB(t)
	o := &opt.Options{CompactionTableSize: 64 << 10, Compression: opt.NoCompression}
	writeLevelDBWith(t, a.path, o, n, true, func(i int) ([]byte, []byte) {
		id := fmt.Sprintf("rec-%05d", i)
		return []byte(id), a.record(id, fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("p", 100)))
	})
	return a
}

// editLevelDB opens a LevelDB read-write as the app would and runs fn on it.
func editLevelDB(t *testing.T, path string, fn func(*leveldb.DB)) {
	t.Helper()
	ldb, err := leveldb.OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	fn(ldb)
	if err := ldb.Close(); err != nil {
		t.Fatal(err)
	}
}

// putCopy stores a copy of a valid record under a new id. The checksum and
// signature cover only `data`, so the copy is valid as it stands.
func putCopy(t *testing.T, ldb *leveldb.DB, prefix, from, to string) {
	t.Helper()
	v, err := ldb.Get([]byte(prefix+from), nil)
	if err != nil {
		t.Fatal(err)
	}
	old := fmt.Sprintf(`{"id":%q,`, from)
	if !bytes.HasPrefix(v, []byte(old)) {
		t.Fatalf("record %s does not start with %s: %.80s", from, old, v)
	}
	nv := append([]byte(fmt.Sprintf(`{"id":%q,`, to)), v[len(old):]...)
	if err := ldb.Put([]byte(prefix+to), nv, nil); err != nil {
		t.Fatal(err)
	}
}

// dbKeys lists the keys under prefix (prefix stripped) of a copy of db,
// read with goleveldb directly: the reference the exporter is held to.
func dbKeys(t *testing.T, db, prefix string) []string {
	t.Helper()
	l, err := leveldb.OpenFile(testutil.CopyDir(t, db), &opt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var keys []string
	it := l.NewIterator(util.BytesPrefix([]byte(prefix)), nil)
	for it.Next() {
		keys = append(keys, string(it.Key()[len(prefix):]))
	}
	it.Release()
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return keys
}
