package leveldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
)

func tableFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.ldb"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// checkDamage verifies a scan of a damaged copy against a scan of the
// pristine database: every Err record is a *CorruptionError whose range
// accounts exactly for the keys missing from the damaged scan.
func checkDamage(t *testing.T, pristine, damaged []scanned, wantErrs int, wantInMsg string) []*CorruptionError {
	t.Helper()
	var ces []*CorruptionError
	got := map[string]bool{}
	for i, r := range damaged {
		if r.Err == nil {
			got[string(r.Key)] = true
			continue
		}
		var ce *CorruptionError
		if !errors.As(r.Err, &ce) {
			t.Fatalf("Err %v is not a *CorruptionError", r.Err)
		}
		if !lerrors.IsCorrupted(errors.Unwrap(r.Err)) {
			t.Fatalf("errors.Unwrap(%v) is not a goleveldb corruption error", r.Err)
		}
		if !strings.Contains(r.Err.Error(), wantInMsg) {
			t.Fatalf("error %q does not mention %q", r.Err, wantInMsg)
		}
		if ce.Before != nil && (i+1 >= len(damaged) || !bytes.Equal(damaged[i+1].Key, ce.Before)) {
			t.Fatalf("the record after the damage is not Before=%q", ce.Before)
		}
		if ce.HasAfter && bytes.Compare(r.Key, ce.After) <= 0 || ce.Before != nil && bytes.Compare(r.Key, ce.Before) >= 0 {
			t.Fatalf("Err record key %q is outside its range (%q, %q)", r.Key, ce.After, ce.Before)
		}
		ces = append(ces, ce)
	}
	if len(ces) != wantErrs {
		t.Fatalf("%d damage records, want %d", len(ces), wantErrs)
	}
	hidden := func(k []byte) bool {
		for _, ce := range ces {
			if (!ce.HasAfter || bytes.Compare(k, ce.After) > 0) && (ce.Before == nil || bytes.Compare(k, ce.Before) < 0) {
				return true
			}
		}
		return false
	}
	nHidden := 0
	for _, r := range pristine {
		switch {
		case hidden(r.Key):
			nHidden++
			if got[string(r.Key)] {
				t.Fatalf("key %q inside a reported damage range was yielded", r.Key)
			}
		case !got[string(r.Key)]:
			t.Fatalf("key %q outside every damage range is missing", r.Key)
		}
	}
	if nHidden == 0 || nHidden == len(pristine) && wantErrs > 0 && ces[0].Before != nil {
		t.Fatalf("damage hides %d of %d records", nHidden, len(pristine))
	}
	return ces
}

func TestCorruptedBlock(t *testing.T) {
	pristine := scanAll(t, mustOpen(t, testutil.CopyDir(t, committedDB), Options{Prefix: []byte("!sigils!")}), nil)
	for _, chunk := range []int{1, 10, 1024} {
		dir := testutil.CopyDir(t, committedDB)
		tables := tableFiles(t, dir)
		fi, err := os.Stat(tables[0])
		if err != nil {
			t.Fatal(err)
		}
		testutil.FlipBytes(t, tables[0], fi.Size()/2, 8) // the middle of the file is inside a data block
		s := mustOpen(t, dir, Options{Prefix: []byte("!sigils!"), ChunkSize: chunk})
		damaged := scanAll(t, s, nil)
		ces := checkDamage(t, pristine, damaged, 1, filepath.Base(tables[0])+" at offset ")
		d := ces[0].Damage[0]
		if d.Offset > fi.Size()/2 || d.Offset+d.Size < fi.Size()/2 || d.Kind != "data-block" {
			t.Fatalf("damage at %+v does not cover the flipped offset %d", d, fi.Size()/2)
		}
		if !ces[0].HasAfter || ces[0].Before == nil {
			t.Fatalf("a block in the middle should have keys on both sides: %v", ces[0])
		}
		t.Logf("chunk %d: %v", chunk, ces[0])

		// A hidden key re-read with Get is a corruption error, not "absent".
		var hiddenKey []byte
		for _, r := range pristine {
			if bytes.Compare(r.Key, ces[0].After) > 0 {
				hiddenKey = r.Key
				break
			}
		}
		if _, _, err := s.Get(context.Background(), hiddenKey); err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Get(%q) in the damaged block: %v, want a corruption error", hiddenKey, err)
		}
		// Resuming from inside the damage reports it again, then goes on.
		again := scanAll(t, s, hiddenKey)
		if again[0].Err == nil || !bytes.Equal(again[1].Key, ces[0].Before) {
			t.Fatalf("resume inside the damage: first records %q/%v, %q", again[0].Key, again[0].Err, again[1].Key)
		}
	}
}

func TestTwoCorruptedBlocks(t *testing.T) {
	pristine := scanAll(t, mustOpen(t, testutil.CopyDir(t, committedDB), Options{Prefix: []byte("!sigils!")}), nil)
	dir := testutil.CopyDir(t, committedDB)
	table := tableFiles(t, dir)[0]
	fi, err := os.Stat(table)
	if err != nil {
		t.Fatal(err)
	}
	testutil.FlipBytes(t, table, fi.Size()/4, 4)
	testutil.FlipBytes(t, table, fi.Size()*3/4, 4)
	damaged := scanAll(t, mustOpen(t, dir, Options{Prefix: []byte("!sigils!"), ChunkSize: 16}), nil)
	checkDamage(t, pristine, damaged, 2, "corrupted data-block")
}

// manyTables writes a database whose records span many level-1 tables.
func manyTables(t testing.TB, n int) string {
	return writeGoleveldb(t, n, 1000, &opt.Options{CompactionTableSize: 64 << 10, Compression: opt.NoCompression}, true)
}

func TestMissingTableFile(t *testing.T) {
	src := manyTables(t, 3000)
	pristine := scanAll(t, mustOpen(t, src, Options{Prefix: []byte("!sigils!")}), nil)
	dir := testutil.CopyDir(t, src)
	tables := tableFiles(t, dir)
	if len(tables) < 5 {
		t.Fatalf("only %d tables", len(tables))
	}
	victim := tables[len(tables)/2]
	if err := os.Remove(victim); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir, Options{Prefix: []byte("!sigils!"), ChunkSize: 100})
	damaged := scanAll(t, s, nil)
	ces := checkDamage(t, pristine, damaged, 1, "table file "+filepath.Base(victim)+" is missing")
	if ces[0].Damage[0].Kind != "missing-file" {
		t.Fatalf("damage %+v, want missing-file", ces[0].Damage[0])
	}
	if s.Reopens() != maxVanishRetries {
		t.Fatalf("%d reopens; want %d (a vanished file is retried, then reported)", s.Reopens(), maxVanishRetries)
	}
}

// TestTruncatedJournal: records not yet in a table live in the journal
// (.log). A journal cut short (the app crashed mid-write, a disk filled)
// opens fine read-only: goleveldb's non-strict journal recovery drops the
// torn tail (logged at warn through the store's logger) and the walk sees
// every record before it.
func TestTruncatedJournal(t *testing.T) {
	const n = 500
	dir := t.TempDir()
	db, err := leveldb.OpenFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ { // one journal record per put, as an app writing one sigil at a time
		if err := db.Put(testKey(i), bytes.Repeat([]byte("v"), 200), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.TearJournal(t, dir)
	s, err := Open(dir, Options{Prefix: []byte("!sigils!")})
	if err != nil {
		t.Fatalf("open with a truncated journal: %v", err)
	}
	defer s.Close()
	recs := scanAll(t, s, nil)
	if len(recs) == 0 || len(recs) >= n {
		t.Fatalf("scanned %d of %d records after truncating the journal in half", len(recs), n)
	}
	for i, r := range recs {
		if r.Err != nil || string(r.Key) != string(testKey(i)[len("!sigils!"):]) {
			t.Fatalf("record %d: key %q err %v; want the journal's records in order", i, r.Key, r.Err)
		}
	}
}

// TestTableVanishesBetweenChunks: the app compacts while a walk holds an old
// read-only view, deleting table files the view still names. The walk
// reopens and resumes from its cursor: every key once, in order, no error.
//
// The app's compaction is prepared on a copy (a writer rewrites the second
// half of the keys, ahead of the walk, and compacts), and its result is
// swapped into the walked directory mid-walk, as the app's own compaction
// would leave it: new tables, a new MANIFEST and CURRENT, old tables gone.
// Preparing it first keeps the test deterministic (goleveldb decides
// compaction inputs by size and timing).
func TestTableVanishesBetweenChunks(t *testing.T) {
	const n = 3000
	dir := manyTables(t, n)
	after := appCompacts(t, dir)
	s := mustOpen(t, dir, Options{Prefix: []byte("!sigils!"), ChunkSize: 100})
	var keys []string
	err := s.Scan(context.Background(), nil, func(r store.Record) error {
		if r.Err != nil {
			t.Fatalf("record %q: %v", r.Key, r.Err)
		}
		keys = append(keys, string(r.Key))
		if len(keys) == n/2 {
			replaceDir(t, dir, after)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n {
		t.Fatalf("scanned %d keys, want %d", len(keys), n)
	}
	for i, k := range keys {
		if k != string(testKey(i)[len("!sigils!"):]) {
			t.Fatalf("key %d is %q", i, k)
		}
	}
	if s.Reopens() == 0 {
		t.Fatal("no reopen: the compaction did not delete a table the walk still needed, the test proves nothing")
	}
}

// appCompacts returns a copy of dir after the app rewrote the second half
// of the keys and compacted, with at least one of the tables holding that
// half deleted.
func appCompacts(t testing.TB, dir string) string {
	t.Helper()
	out := testutil.CopyDir(t, dir)
	o := &opt.Options{CompactionTableSize: 64 << 10, Compression: opt.NoCompression}
	for round := 0; round < 5; round++ {
		db, err := leveldb.OpenFile(out, o) // opening also deletes obsolete files
		if err != nil {
			t.Fatal(err)
		}
		b := new(leveldb.Batch)
		for i := 1500; i < 3000; i++ {
			b.Put(testKey(i), fmt.Appendf(nil, `{"rewritten":%d}`, round))
		}
		if err := db.Write(b, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.CompactRange(utilRange()); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		// The compaction that fully compacted dir wrote its level-1 tables
		// in key order, so the later half of them holds the keys ahead of
		// the walk's midpoint.
		tables := tableFiles(t, dir)
		for _, f := range tables[len(tables)/2+1:] {
			if _, err := os.Stat(filepath.Join(out, filepath.Base(f))); errors.Is(err, os.ErrNotExist) {
				return out
			}
		}
	}
	t.Fatal("compaction deleted no table")
	return ""
}

// replaceDir makes dir hold exactly the files of src, as a compaction
// leaves it: new files first, CURRENT last, then the obsolete files removed.
func replaceDir(t testing.TB, dir, src string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, e := range ents {
		keep[e.Name()] = true
		if e.Name() != "CURRENT" {
			copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	copyFile(t, filepath.Join(src, "CURRENT"), filepath.Join(dir, "CURRENT"))
	old, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range old {
		if !keep[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b := testutil.ReadFile(t, src)
	if err := os.WriteFile(dst+".tmp-copy", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dst+".tmp-copy", dst); err != nil {
		t.Fatal(err)
	}
}
