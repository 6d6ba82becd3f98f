package collector

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// posStore is a store whose walk is not bytewise: a Grouped store walks
// its rows in a fixed order of its own (keys sorted by length, then
// reversed bytes: no order Go's bytes.Compare gives); an Unordered one
// walks them as stored, ids repeating anywhere, and resumes by position.
type posStore struct {
	order store.Order
	rows  []posRow
}

type posRow struct{ key, value string }

func (p *posStore) Name() string       { return "pos" }
func (p *posStore) Order() store.Order { return p.order }
func (p *posStore) Close() error       { return nil }
func (p *posStore) Compare(a, b []byte) int {
	return bytes.Compare(a, b) // equality only: not the walk's order
}

func (p *posStore) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	start := 0
	if after != nil {
		if p.order == store.Unordered {
			i, err := strconv.Atoi(string(after))
			if err != nil {
				return err
			}
			start = i + 1
		} else {
			start = slices.IndexFunc(p.rows, func(r posRow) bool { return r.key == string(after) })
			for start >= 0 && start < len(p.rows) && p.rows[start].key == string(after) {
				start++
			}
		}
	}
	for i := start; i < len(p.rows); i++ {
		rec := store.Record{Key: []byte(p.rows[i].key), Value: []byte(p.rows[i].value)}
		if p.order == store.Unordered {
			rec.Cursor = []byte(strconv.Itoa(i))
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

func (p *posStore) Get(_ context.Context, key []byte) ([]byte, bool, error) {
	for _, r := range p.rows {
		if r.key == string(key) {
			return []byte(r.value), true, nil
		}
	}
	return nil, false, nil
}

func (p *posStore) CountKeys(_ context.Context, keys [][]byte) (map[string]int64, error) {
	out := map[string]int64{}
	for _, k := range keys {
		for _, r := range p.rows {
			if r.key == string(k) {
				out[r.key]++
			}
		}
	}
	return out, nil
}

func posValue(k string, n int) string {
	return fmt.Sprintf(`{"id":%q,"signature":"x","data":{"n":%d}}`, k, n)
}

// walkOrder is the Grouped store's own order.
func walkOrder(rows []posRow) {
	slices.SortStableFunc(rows, func(a, b posRow) int {
		if len(a.key) != len(b.key) {
			return len(a.key) - len(b.key)
		}
		return -bytes.Compare([]byte(a.key), []byte(b.key))
	})
}

func newPosStore(order store.Order, n int) *posStore {
	p := &posStore{order: order}
	for i := 0; i < n; i++ {
		k := strconv.Itoa(i * 7)
		p.rows = append(p.rows, posRow{k, posValue(k, i)})
	}
	if order == store.Grouped {
		walkOrder(p.rows)
	} else {
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(p.rows), func(i, j int) { p.rows[i], p.rows[j] = p.rows[j], p.rows[i] })
	}
	return p
}

func (p *posStore) remove(keys ...string) {
	p.rows = slices.DeleteFunc(p.rows, func(r posRow) bool { return slices.Contains(keys, r.key) })
}

// TestMissingNotBytewise: the missing check on walks that are not
// bytewise (sorted key lists merged after the walk) names exactly the
// records deleted between passes, and nothing on a third pass. A Grouped
// walk that happened to come in bytewise order (a text key in C.UTF-8)
// needs no sort: its sorted copy is the list itself.
func TestMissingNotBytewise(t *testing.T) {
	bytewise := func(rows []posRow) {
		slices.SortFunc(rows, func(a, b posRow) int { return strings.Compare(a.key, b.key) })
	}
	for _, tc := range []struct {
		name    string
		order   store.Order
		reorder func([]posRow) // the walk's order after rows are added; nil: as stored
	}{
		{"grouped", store.Grouped, walkOrder},
		{"grouped_in_bytewise_order", store.Grouped, bytewise},
		{"unordered", store.Unordered, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order := tc.order
			st := newPosStore(order, 3000)
			if tc.reorder != nil {
				tc.reorder(st.rows)
			}
			dir := t.TempDir()
			r := newTestRunner(t, st, dir)
			if rep, err := r.RunPass(context.Background()); err != nil || rep.Failed != 0 || rep.Checked != 3000 {
				t.Fatalf("first pass: %v %+v", err, rep)
			}
			deleted := []string{"0", "7", "10500", "20993", st.rows[0].key, st.rows[len(st.rows)-1].key}
			st.remove(deleted...)
			st.rows = append(st.rows, posRow{"new-1", posValue("new-1", 1)})
			rep, err := r.RunPass(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Failures {
				if f.Reason != verify.CheckMissing {
					t.Errorf("unexpected failure %+v", f)
				}
				got = append(got, f.ID)
			}
			slices.Sort(got)
			want := slices.Clone(deleted)
			slices.Sort(want)
			want = slices.Compact(want)
			if !slices.Equal(got, want) || rep.FailuresByCheck[verify.CheckMissing] != int64(len(want)) {
				t.Errorf("missing = %v (%d counted), want %v", got, rep.FailuresByCheck[verify.CheckMissing], want)
			}
			last := keysPath(dir, "pos", "last")
			list, _ := os.Stat(last)
			if sorted, err := os.Stat(last + sortedSuffix); err != nil {
				t.Errorf("no sorted copy of the last key list kept: %v", err)
			} else if linked := os.SameFile(list, sorted); linked != (tc.name == "grouped_in_bytewise_order") {
				t.Errorf("sorted copy is the list itself: %v; want that only when the walk came in bytewise order", linked)
			}
			// Evidence survives: the third pass still names them (not
			// found again: carried, not merged twice); restored, they
			// are fixed.
			rep, err = r.RunPass(context.Background())
			if err != nil || rep.FailuresByCheck[verify.CheckMissing] != int64(len(want)) || rep.Failed != int64(len(want)) {
				t.Errorf("third pass: %v, %d missing, want %d: %+v", err, rep.FailuresByCheck[verify.CheckMissing], len(want), rep.Failures)
			}
			for _, k := range want {
				st.rows = append(st.rows, posRow{k, posValue(k, 0)})
			}
			if tc.reorder != nil {
				tc.reorder(st.rows)
			}
			rep, err = r.RunPass(context.Background())
			if err != nil || rep.Failed != 0 || len(rep.Fixed) != len(want) {
				t.Errorf("pass after restoring: %v, %d failures, %d fixed (want 0 and %d)", err, rep.Failed, len(rep.Fixed), len(want))
			}
		})
	}
}

// TestDuplicatesUnordered: ids repeated far apart in an Unordered walk are
// found after the walk: each extra copy is one duplicate, a copy that
// failed an earlier check keeps its own failure, and a row read twice
// because it moved (the store holds it once) is neither a duplicate nor
// counted twice.
func TestDuplicatesUnordered(t *testing.T) {
	st := newPosStore(store.Unordered, 500)
	// "70" three times (two extra), "140" twice, and a decode failure
	// (its own failure, not a duplicate).
	st.rows = slices.Insert(st.rows, 100, posRow{"70", posValue("70", -1)})
	st.rows = slices.Insert(st.rows, 300, posRow{"70", posValue("70", -2)})
	st.rows = append(st.rows, posRow{"140", posValue("140", -3)})
	st.rows = slices.Insert(st.rows, 10, posRow{"bad", "not json"})
	moved := st.rows[20].key
	r := newTestRunner(t, st, t.TempDir())
	// Moved: the row is read at position 20 and again at the end, where
	// the app moved it during the pass.
	st2 := &movingStore{posStore: st, key: moved}
	r.cfg.Store = st2
	rep, err := r.RunPass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{verify.CheckDuplicate: 3, verify.CheckDecode: 1}
	if len(rep.FailuresByCheck) != len(want) || rep.FailuresByCheck[verify.CheckDuplicate] != 3 || rep.FailuresByCheck[verify.CheckDecode] != 1 {
		t.Errorf("failures by check = %v, want %v (%+v)", rep.FailuresByCheck, want, rep.Failures)
	}
	if rep.Checked != int64(len(st.rows)) {
		t.Errorf("checked %d, want %d (the moved row once)", rep.Checked, len(st.rows))
	}
	for _, f := range rep.Failures {
		if f.Reason == verify.CheckDuplicate && f.ID != "70" && f.ID != "140" {
			t.Errorf("false duplicate %+v", f)
		}
	}
}

// movingStore yields one row a second time at the end of the walk, as a
// row updated during the pass shows up again at its new ctid.
type movingStore struct {
	*posStore
	key string
}

func (m *movingStore) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	if err := m.posStore.Scan(ctx, after, fn); err != nil {
		return err
	}
	v, _, _ := m.Get(ctx, []byte(m.key))
	return fn(store.Record{Key: []byte(m.key), Value: v, Cursor: []byte(strconv.Itoa(len(m.rows)))})
}

// TestWalkChunksByCursor: a paced walk of an Unordered store resumes each
// chunk from the last record's Cursor: every record once, in order.
func TestWalkChunksByCursor(t *testing.T) {
	st := newPosStore(store.Unordered, 1000)
	v := mustVerifier(t, verify.VerifierConfig{Canonical: canonical.JS, RequiredFields: []string{"id"}})
	w := &Walker{Store: st, Verifier: v, Pacer: chunkPacer(7)}
	var got []string
	err := w.Walk(context.Background(), nil, func(r Result) error {
		got = append(got, string(r.Key))
		if string(r.Cursor) != strconv.Itoa(len(got)-1) {
			t.Fatalf("record %d: cursor %q", len(got)-1, r.Cursor)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range st.rows {
		want = append(want, r.key)
	}
	if !slices.Equal(got, want) {
		t.Errorf("chunked walk: %d records, want %d in store order", len(got), len(want))
	}
}

type chunkPacer int

func (c chunkPacer) Wait(context.Context, int, time.Duration) error { return nil }
func (c chunkPacer) Chunk() int                                     { return int(c) }

// TestSortKeyList: the external sort orders many runs, merged over
// several generations, stably, and keeps every entry and its checksum.
func TestSortKeyList(t *testing.T) {
	defer func(b, f int) { sortRunBytes, sortFanIn = b, f }(sortRunBytes, sortFanIn)
	sortRunBytes, sortFanIn = 2000, 3
	dir := t.TempDir()
	src := filepath.Join(dir, "keys")
	w, err := createKeyList(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	type ent struct {
		key string
		seq int
	}
	var want []ent
	for i := 0; i < 20000; i++ {
		k := fmt.Sprintf("k%d", rnd.IntN(15000))
		var sum [32]byte
		copy(sum[:], strconv.Itoa(i))
		if err := w.add([]byte(k), sum); err != nil {
			t.Fatal(err)
		}
		want = append(want, ent{k, i})
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(want, func(a, b ent) int { return bytes.Compare([]byte(a.key), []byte(b.key)) })
	dst, err := sortedKeyList(src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := openKeyList(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	i := 0
	for ; r.next(); i++ {
		var sum [32]byte
		copy(sum[:], strconv.Itoa(want[i].seq))
		if string(r.key) != want[i].key || r.sum != sum {
			t.Fatalf("entry %d = %q, want %q (seq %d)", i, r.key, want[i].key, want[i].seq)
		}
	}
	if r.err != nil || i != len(want) {
		t.Fatalf("%d entries, err %v; want %d", i, r.err, len(want))
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*run*"))
	gens, _ := filepath.Glob(filepath.Join(dir, "*gen*"))
	if len(left)+len(gens) != 0 {
		t.Errorf("temporary runs left behind: %v %v", left, gens)
	}
	// A damaged list is an error, not a shorter sorted list.
	b, _ := os.ReadFile(src)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(src, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sortKeyList(src, dst+"2"); err == nil {
		t.Error("sorting a damaged key list succeeded")
	}
}
