package leveldb

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/journal"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// edit encodes a version edit: pairs of tag and value, a value being a
// uint64 (varint) or a []byte (length-prefixed).
func edit(fields ...any) []byte {
	var b []byte
	for _, f := range fields {
		switch v := f.(type) {
		case int:
			b = binary.AppendUvarint(b, uint64(v))
		case string:
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

func manifestOf(edits ...[]byte) []byte {
	var out bytes.Buffer
	w := journal.NewWriter(&out)
	for _, e := range edits {
		jw, _ := w.Next()
		_, _ = jw.Write(e) // into memory
	}
	_ = w.Close()
	return out.Bytes()
}

// TestReadManifestJournals: the journal numbers come from the last edit
// that sets them, every other field is skipped whatever its shape, and a
// damaged edit keeps what was decoded before the damage (as goleveldb's
// session.recover does).
func TestReadManifestJournals(t *testing.T) {
	first := edit(tagComparator, "leveldb.BytewiseComparator", tagLogNumber, 7, tagPrevLogNumber, 3, tagNextFileNumber, 9, tagLastSequence, 1000)
	tables := edit(tagNewFile, 0, 8, 4096, "smallest-ikey-01", "largest-ikey-001", tagCompactPointer, 1, "ikey-compact-ptr",
		tagDeletedFile, 0, 5, tagLogNumber, 11, tagNextFileNumber, 13, tagLastSequence, 2000)
	for _, tc := range []struct {
		name     string
		manifest []byte
		want     manifestJournals
	}{
		{"one edit", manifestOf(first), manifestJournals{logNum: 7, prevLogNum: 3, hasLogNum: true}},
		{"a later edit moves the log number", manifestOf(first, tables), manifestJournals{logNum: 11, prevLogNum: 3, hasLogNum: true}},
		{"a damaged edit keeps what came before the damage", manifestOf(first, append(edit(tagLogNumber, 12, tagNewFile, 0), 0xff)), manifestJournals{logNum: 12, prevLogNum: 3, hasLogNum: true}},
		{"a torn tail", manifestOf(first, tables)[:len(manifestOf(first, tables))-5], manifestJournals{logNum: 7, prevLogNum: 3, hasLogNum: true}},
		{"empty", nil, manifestJournals{}},
	} {
		if got := readManifestJournals(tc.manifest); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	m := manifestJournals{logNum: 10, prevLogNum: 4}
	for n, want := range map[int64]bool{3: false, 4: true, 9: false, 10: true, 12: true} {
		if m.live(n) != want {
			t.Errorf("live(%d) = %v with log number 10, previous 4", n, !want)
		}
	}
}

// TestCommittedTwoJournals: the committed uncompacted database holds two
// live journals (000010.log, 000012.log); its MANIFEST's log number is the
// older one, and both are replayed.
func TestCommittedTwoJournals(t *testing.T) {
	dir := committedDBs[1].dir
	b := testutil.ReadFile(t, filepath.Join(dir, "MANIFEST-000002"))
	if m := readManifestJournals(b); m.logNum != 10 || !m.hasLogNum {
		t.Fatalf("MANIFEST-000002: %+v, want log number 10", m)
	}
	for _, j := range []string{"000010.log", "000012.log"} {
		if fi, err := os.Stat(filepath.Join(dir, j)); err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v; the fixture must hold two live journals with data", j, err)
		}
	}
}

// appendJournal writes a journal file of batches: each is a list of ops,
// "+key=value" or "-key", numbered from seq.
func appendJournal(t *testing.T, path string, seq uint64, batches ...[]string) {
	t.Helper()
	var out bytes.Buffer
	w := journal.NewWriter(&out)
	for _, ops := range batches {
		b := binary.LittleEndian.AppendUint64(nil, seq)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(ops)))
		for _, op := range ops {
			if op[0] == '-' {
				b = append(b, 0)
				b = binary.AppendUvarint(b, uint64(len(op)-1))
				b = append(b, op[1:]...)
				continue
			}
			k, v, _ := bytes.Cut([]byte(op[1:]), []byte("="))
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
		seq += uint64(len(ops))
		jw, _ := w.Next()
		_, _ = jw.Write(b) // into memory
	}
	_ = w.Close()
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestJournalsReplayedAsNodeDoes: on the uncompacted database (two live
// journals), a third, newer journal deletes a record held in a table,
// deletes and rewrites records of the older journals, and adds one, its
// batches numbered on from the newest live journal as the app would. An
// obsolete journal below the MANIFEST's log number, which
// C++ LevelDB ignores, would resurrect a deleted record if replayed. The
// walk sees the newest value of every key and nothing deleted; when Node is
// installed, its own recovery of a copy must agree.
func TestJournalsReplayedAsNodeDoes(t *testing.T) {
	dir := testutil.CopyDir(t, committedDBs[1].dir)
	const p = "!sigils!"
	appendJournal(t, filepath.Join(dir, "000020.log"), nextSeq(t, filepath.Join(dir, "000012.log")),
		[]string{"-" + p + "sigil-0000003", "+" + p + "zz-added={}"},
		[]string{"-" + p + "sigil-0000299", "+" + p + "sigil-0000298=rewritten"},
		[]string{"+" + p + "sigil-0000003=again", "-" + p + "sigil-0000003"})
	appendJournal(t, filepath.Join(dir, "000001.log"), 1, []string{"+" + p + "obsolete=x", "+" + p + "sigil-0000299=resurrected"})

	m := testutil.ReadJSON[testutil.LevelDBManifest](t, committedDBs[1].manifest)
	recs := scanAll(t, mustOpen(t, testutil.CopyDir(t, dir), Options{Prefix: []byte(p)}), nil)
	got := map[string]string{}
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("record %q: %v", r.Key, r.Err)
		}
		got[string(r.Key)] = string(r.Value)
	}
	if len(recs) != m.Total-1 {
		t.Errorf("%d records, want %d (two deleted, one added)", len(recs), m.Total-1)
	}
	for k, want := range map[string]string{"zz-added": "{}", "sigil-0000298": "rewritten"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	for _, k := range []string{"sigil-0000003", "sigil-0000299", "obsolete"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %q, want it deleted (or never replayed)", k, v)
		}
	}

	// Node's own recovery of the same state.
	node := testutil.Node(t)
	out, err := exec.Command(node, "../../testdata/node/count-records.js", "--prefix", p, testutil.CopyDir(t, dir)).Output()
	if err != nil {
		t.Fatalf("count-records.js: %v", err)
	}
	var c struct{ Count int }
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	if c.Count != len(recs) {
		t.Errorf("Node recovers %d records, the walk %d", c.Count, len(recs))
	}
}

// nextSeq is the sequence number after the last batch of a journal.
func nextSeq(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	r := journal.NewReader(f, nil, false, true)
	var next uint64
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		var h [12]byte
		if _, err := io.ReadFull(rec, h[:]); err != nil {
			t.Fatal(err)
		}
		next = binary.LittleEndian.Uint64(h[:]) + uint64(binary.LittleEndian.Uint32(h[8:]))
	}
	if next == 0 {
		t.Fatalf("%s: no batch", path)
	}
	return next
}

// TestCurrentJournalMissing: a MANIFEST whose current journal is not on
// disk is what a reader sees when the app flushed it and wrote a new
// MANIFEST meanwhile, so the open starts over (staleViewError); when it
// stays that way (a directory copied without it), the last attempt replays
// the journals that are there, as C++ LevelDB does, and Node agrees.
func TestCurrentJournalMissing(t *testing.T) {
	dir := testutil.CopyDir(t, committedDBs[1].dir)
	if err := os.Remove(filepath.Join(dir, "000010.log")); err != nil {
		t.Fatal(err)
	}
	st := &roStorage{dir: dir, log: slog.New(slog.DiscardHandler), strictJournals: true}
	if _, err := st.Open(storage.FileDesc{Type: storage.TypeManifest, Num: 2}); err != nil {
		t.Fatal(err)
	}
	var stale *staleViewError
	if _, err := st.List(storage.TypeJournal); !errors.As(err, &stale) {
		t.Fatalf("List(journals) without the current journal: %v, want a staleViewError", err)
	}
	// Through goleveldb's open, as Store.open sees it.
	if db, err := leveldb.Open(&roStorage{dir: dir, strictJournals: true}, &opt.Options{ReadOnly: true, ErrorIfMissing: true}); !errors.As(err, &stale) {
		if db != nil {
			_ = db.Close()
		}
		t.Fatalf("goleveldb open without the current journal: %v, want a staleViewError", err)
	}
	recs := scanAll(t, mustOpen(t, dir, Options{Prefix: []byte("!sigils!")}), nil)
	node := testutil.Node(t)
	out, err := exec.Command(node, "../../testdata/node/count-records.js", testutil.CopyDir(t, dir)).Output()
	if err != nil {
		t.Fatalf("count-records.js: %v", err)
	}
	var c struct{ Count int }
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	if c.Count != len(recs) || len(recs) == 0 {
		t.Errorf("Node recovers %d records, the walk %d", c.Count, len(recs))
	}
}
