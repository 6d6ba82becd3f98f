package leveldb

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
)

func utilRange() util.Range { return util.Range{} }

func TestScanCommittedNodeDB(t *testing.T) {
	for _, db := range committedDBs {
		t.Run(db.name, func(t *testing.T) { scanCommittedNodeDB(t, db.dir, db.manifest) })
	}
}

func scanCommittedNodeDB(t *testing.T, dir, manifest string) {
	m := testutil.ReadJSON[testutil.LevelDBManifest](t, manifest)
	for _, chunk := range []int{1, 7, 1024} {
		s := mustOpen(t, testutil.CopyDir(t, dir), Options{Prefix: []byte(m.Prefix), ChunkSize: chunk})
		recs := scanAll(t, s, nil)
		if len(recs) != m.Total {
			t.Fatalf("chunk %d: scanned %d records, manifest says %d", chunk, len(recs), m.Total)
		}
		seen := map[string]bool{}
		for i, r := range recs {
			if r.Err != nil {
				t.Fatalf("chunk %d: record %q: unexpected error %v", chunk, r.Key, r.Err)
			}
			if i > 0 && bytes.Compare(recs[i-1].Key, r.Key) >= 0 {
				t.Fatalf("chunk %d: keys out of order: %q then %q", chunk, recs[i-1].Key, r.Key)
			}
			seen[string(r.Key)] = true
		}
		for _, f := range append(m.Failures, m.SchemaFailures...) {
			if !seen[f.Key] {
				t.Errorf("chunk %d: planted %s failure %q not scanned", chunk, f.Check, f.Key)
			}
		}
		for _, id := range m.EdgeCases {
			if !seen[id] {
				t.Errorf("chunk %d: edge case %q not scanned", chunk, id)
			}
		}
	}
}

func TestScanWholeDBAndCursor(t *testing.T) {
	for _, db := range committedDBs {
		t.Run(db.name, func(t *testing.T) { scanWholeDBAndCursor(t, db.dir, db.manifest) })
	}
}

func scanWholeDBAndCursor(t *testing.T, dir, manifest string) {
	m := testutil.ReadJSON[testutil.LevelDBManifest](t, manifest)
	s := mustOpen(t, testutil.CopyDir(t, dir), Options{ChunkSize: 5})
	all := scanAll(t, s, nil)
	if want := m.Total + m.OutsidePrefix; len(all) != want {
		t.Fatalf("empty prefix: scanned %d keys, want %d (records + keys outside the prefix)", len(all), want)
	}
	// Resuming after any key yields exactly the keys after it.
	for _, i := range []int{0, 4, 5, len(all) / 2, len(all) - 1} {
		got := scanAll(t, s, all[i].Key)
		if diff := cmp.Diff(keysOf(all[i+1:]), keysOf(got)); diff != "" {
			t.Fatalf("Scan after %q (-want +got):\n%s", all[i].Key, diff)
		}
	}
	// A cursor that is not a key resumes at the next key.
	got := scanAll(t, s, []byte("!sigils!sigil-0000100x"))
	if string(got[0].Key) != "!sigils!sigil-0000101" {
		t.Fatalf("Scan after a non-key: first key %q, want !sigils!sigil-0000101", got[0].Key)
	}
}

func keysOf(rs []scanned) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Key)
	}
	return out
}

func TestGet(t *testing.T) {
	s := mustOpen(t, testutil.CopyDir(t, committedDB), Options{Prefix: []byte("!sigils!")})
	recs := scanAll(t, s, nil)
	for _, r := range []scanned{recs[0], recs[len(recs)/2], recs[len(recs)-1]} {
		v, found, err := s.Get(context.Background(), r.Key)
		if err != nil || !found || !bytes.Equal(v, r.Value) {
			t.Fatalf("Get(%q) = %d bytes, %v, %v; want the scanned value", r.Key, len(v), found, err)
		}
	}
	for _, k := range []string{"absent", "schema-version" /* under !meta! only */} {
		if _, found, err := s.Get(context.Background(), []byte(k)); found || err != nil {
			t.Fatalf("Get(%q) = found %v, err %v; want not found", k, found, err)
		}
	}
}

func TestOpenNotALevelDB(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"empty dir":   t.TempDir(),
		"nonexistent": filepath.Join(t.TempDir(), "nope"),
		"a file":      file,
	} {
		_, err := Open(path, Options{})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Open error %v, want store.ErrNotFound", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "check --store.leveldb.path") {
			t.Errorf("%s: error %q does not say what to do", name, err)
		}
	}
	// Nothing was created at the nonexistent path.
	if _, err := os.Stat(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Open created a directory")
	}
}

func TestOpenCorruptManifest(t *testing.T) {
	dir := testutil.CopyDir(t, committedDB)
	cur := testutil.ReadFile(t, filepath.Join(dir, "CURRENT"))
	if err := os.WriteFile(filepath.Join(dir, strings.TrimSpace(string(cur))), []byte("garbage, not a manifest"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{})
	if err == nil || !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "MANIFEST") {
		t.Fatalf("Open with a corrupt manifest: %v; want an ErrUnavailable naming the MANIFEST", err)
	}
}

// TestFilesByteIdenticalAfterPass: the store's files are byte-identical after a pass.
func TestFilesByteIdenticalAfterPass(t *testing.T) {
	for _, tc := range []struct {
		name, db string
		remove   []string
	}{
		{"as Node left it", committedDB, nil},
		{"without LOCK and LOG", committedDB, []string{"LOCK", "LOG", "LOG.old"}},
		{"uncompacted, two journals", committedDBs[1].dir, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testutil.CopyDir(t, tc.db)
			for _, f := range tc.remove {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
			before := testutil.Digest(t, dir)
			s, err := Open(dir, Options{Prefix: []byte("!sigils!"), ChunkSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			recs := scanAll(t, s, nil)
			if len(recs) == 0 {
				t.Fatal("scanned nothing")
			}
			if _, _, err := s.Get(context.Background(), recs[0].Key); err != nil {
				t.Fatal(err)
			}
			if _, err := s.EstimateCount(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := s.Reopen(); err != nil {
				t.Fatal(err)
			}
			scanAll(t, s, nil)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, testutil.Digest(t, dir)); diff != "" {
				t.Fatalf("database directory changed by a read-only pass (-before +after):\n%s", diff)
			}
		})
	}
}

// TestGoleveldbReadOnlyCreatesLock documents why roStorage exists: goleveldb's
// own read-only file storage creates LOCK when it is absent.
func TestGoleveldbReadOnlyCreatesLock(t *testing.T) {
	dir := testutil.CopyDir(t, committedDB)
	if err := os.Remove(filepath.Join(dir, "LOCK")); err != nil {
		t.Fatal(err)
	}
	db, err := leveldb.OpenFile(dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(filepath.Join(dir, "LOCK")); err != nil {
		t.Fatalf("goleveldb's read-only open no longer creates LOCK (%v): roStorage may be unnecessary", err)
	}
}

func TestEstimateCount(t *testing.T) {
	m := committedManifest(t)
	s := mustOpen(t, testutil.CopyDir(t, committedDB), Options{Prefix: []byte(m.Prefix)})
	n, err := s.EstimateCount(context.Background())
	if err != nil || n != int64(m.Total) {
		t.Fatalf("EstimateCount on %d records = %d, %v; want exact", m.Total, n, err)
	}
	const big = 20000
	dir := writeGoleveldb(t, big, 1000, nil, true)
	s = mustOpen(t, dir, Options{Prefix: []byte("!sigils!")})
	n, err = s.EstimateCount(context.Background())
	if err != nil || n < big*8/10 || n > big*12/10 {
		t.Fatalf("EstimateCount on %d records = %d, %v; want within 20%%", big, n, err)
	}
	// Only in the journal: counted.
	dir = writeGoleveldb(t, 1500, 100, nil, false)
	s = mustOpen(t, dir, Options{Prefix: []byte("!sigils!")})
	if n, err = s.EstimateCount(context.Background()); err != nil || n != 1500 {
		t.Fatalf("EstimateCount on 1500 journal records = %d, %v", n, err)
	}
}

func TestCallbackErrorStopsScan(t *testing.T) {
	s := mustOpen(t, testutil.CopyDir(t, committedDB), Options{Prefix: []byte("!sigils!"), ChunkSize: 3})
	stop := errors.New("stop")
	n := 0
	err := s.Scan(context.Background(), nil, func(store.Record) error {
		n++
		if n == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Fatalf("Scan returned %v after %d records; want the callback's error after 5", err, n)
	}
}
