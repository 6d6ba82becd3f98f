package leveldb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

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

// manifest is testdata/leveldb/expected.json, written by make-leveldb.js.
type manifest struct {
	Prefix         string `json:"prefix"`
	TotalRecords   int    `json:"total_records"`
	Failures       []struct{ Key, ID, Check string }
	SchemaFailures []struct{ Key, ID, Check string } `json:"schema_failures"`
	EdgeCases      []string                          `json:"edge_cases"`
	OutsidePrefix  int                               `json:"outside_prefix"`
}

func readManifest(t testing.TB, path string) manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// copyDB copies a database directory into a fresh temp dir.
func copyDB(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// fileState is what must not change in a database directory.
type fileState struct {
	Size    int64
	Mode    os.FileMode
	ModTime time.Time
	SHA256  string
}

func snapshotDir(t testing.TB, dir string) map[string]fileState {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]fileState{}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		m[e.Name()] = fileState{Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime(), SHA256: hex.EncodeToString(sum[:])}
	}
	return m
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
