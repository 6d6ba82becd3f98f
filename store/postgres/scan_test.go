package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// storedValue is the part of a record whose bytes Node wrote: the whole
// document for a record column, the `data` member of a row_to_json row.
func storedValue(t *testing.T, recordColumn string, r store.Record) *string {
	t.Helper()
	if recordColumn != "" {
		if r.Value == nil {
			return nil
		}
		s := string(r.Value)
		return &s
	}
	var row map[string]json.RawMessage
	if err := json.Unmarshal(r.Value, &row); err != nil {
		t.Fatalf("row %q is not a JSON object: %v: %s", r.Key, err, r.Value)
	}
	var id string
	if err := json.Unmarshal(row["id"], &id); err != nil || id != string(r.Key) {
		t.Errorf("row %q: id member %s, want the key column", r.Key, row["id"])
	}
	for _, f := range []string{"checksum", "signature", "created_at"} {
		if _, ok := row[f]; !ok {
			t.Errorf("row %q lacks column %q: %s", r.Key, f, r.Value)
		}
	}
	if string(row["data"]) == "null" {
		return nil
	}
	s := string(row["data"])
	return &s
}

type kv struct {
	Key   string
	Value *string
}

func (e *env) testScanLayouts(t *testing.T) {
	for _, table := range []string{"sigils", "sigil_docs", "sigil_docs_text"} {
		want := e.want.Tables[table]
		var wantRows []kv
		for _, r := range want.Rows {
			wantRows = append(wantRows, kv{r.Key, r.Value})
		}
		if len(wantRows) != want.Total {
			t.Fatalf("manifest %s: %d rows, total_records %d", table, len(wantRows), want.Total)
		}
		for _, pageSize := range []int{1, 2, 7, 500} {
			t.Run(fmt.Sprintf("%s/page%d", table, pageSize), func(t *testing.T) {
				s := e.open(t, Options{Table: table, RecordColumn: want.RecordColumn, PageSize: pageSize})
				if w := s.Warnings(); len(w) != 0 {
					t.Errorf("Warnings() = %q, want none (json/text columns, C-collated index)", w)
				}
				got := scanAll(t, s, nil)
				var gotRows []kv
				for i, r := range got {
					if r.Err != nil {
						t.Errorf("record %q: Err %v", r.Key, r.Err)
					}
					if i > 0 && s.Compare(got[i-1].Key, r.Key) > 0 {
						t.Errorf("order: %q after %q, Compare says it sorts before", r.Key, got[i-1].Key)
					}
					gotRows = append(gotRows, kv{string(r.Key), storedValue(t, want.RecordColumn, r)})
				}
				if diff := cmp.Diff(wantRows, gotRows); diff != "" {
					t.Errorf("Scan rows (-node wrote +store read):\n%s", diff)
				}
			})
		}
	}
}

func (e *env) testResume(t *testing.T) {
	rows := e.want.Tables["sigils"].Rows
	cursors := []string{"", "dup-1", "bad-signature-wrong", "edge-null-data", "sigil-0039", "~edge-tilde", "a-key-that-is-absent", "zzz"}
	for _, cursor := range cursors {
		for _, pageSize := range []int{1, 3, 500} {
			t.Run(fmt.Sprintf("%s/page%d", cursor, pageSize), func(t *testing.T) {
				s := e.open(t, Options{PageSize: pageSize})
				var after []byte
				if cursor != "" {
					after = []byte(cursor)
				}
				var want []string
				for _, r := range rows {
					if after == nil || bytes.Compare([]byte(r.Key), after) > 0 {
						want = append(want, r.Key)
					}
				}
				var got []string
				for _, r := range scanAll(t, s, after) {
					got = append(got, string(r.Key))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Scan after %q (-want +got):\n%s", cursor, diff)
				}
			})
		}
	}
}

func (e *env) testGet(t *testing.T) {
	docs := e.open(t, Options{Table: "sigil_docs", RecordColumn: "doc"})
	rows := e.open(t, Options{})
	byKey := map[string]*string{}
	for _, r := range e.want.Tables["sigil_docs"].Rows {
		byKey[r.Key] = r.Value
	}
	for _, key := range []string{"sigil-0003", "edge-pretty-doc", "edge-unicode-\u00fc", "bad-decode-null-doc", "absent"} {
		v, found, err := docs.Get(ctxT(t), []byte(key))
		if err != nil {
			t.Fatalf("Get(%q): %v", key, err)
		}
		wantV, wantFound := byKey[key]
		if found != wantFound {
			t.Errorf("Get(%q) found = %v, want %v", key, found, wantFound)
			continue
		}
		switch {
		case wantV == nil && v != nil:
			t.Errorf("Get(%q) = %q, want nil (NULL doc)", key, v)
		case wantV != nil && string(v) != *wantV:
			t.Errorf("Get(%q) = %q, want %q", key, v, *wantV)
		}
	}
	// Whole-row layout; a duplicated id returns its first row.
	v, found, err := rows.Get(ctxT(t), []byte("dup-1"))
	if err != nil || !found {
		t.Fatalf("Get(dup-1) = found %v, err %v", found, err)
	}
	if got := storedValue(t, "", store.Record{Key: []byte("dup-1"), Value: v}); got == nil || *got != `{"copy":1}` {
		t.Errorf("Get(dup-1) data = %v, want the first row's {\"copy\":1}", got)
	}
	// A Get of a non-unique key sorts its few rows by ctid, a plan that
	// enable_sort off prices at 10^10: JIT must stay off, or each Get spends
	// tens of milliseconds compiling.
	err = rows.readTx(ctxT(t), "plan", func(tx pgx.Tx) error {
		r, err := tx.Query(ctxT(t), `EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1 FROM sigils AS t WHERE t.id = $1 ORDER BY t.ctid LIMIT 1`, "dup-1")
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			var plan string
			if err := r.Scan(&plan); err != nil {
				return err
			}
			if !strings.Contains(plan, "Sort") || strings.Contains(plan, `"JIT"`) {
				t.Errorf("a sorted lookup in a read transaction: want a Sort and no JIT, got %s", plan)
			}
		}
		return r.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) testEstimateCount(t *testing.T) {
	s := e.open(t, Options{Table: "sigil_docs_text", RecordColumn: "doc"})
	want := int64(e.want.Tables["sigil_docs_text"].Total)
	// Never analyzed: a small table is counted exactly.
	if n, err := s.EstimateCount(ctxT(t)); err != nil || n != want {
		t.Errorf("EstimateCount before ANALYZE = %d, %v; want %d", n, err, want)
	}
	e.c.ExecIn(testDB, "ANALYZE sigil_docs_text")
	if n, err := s.EstimateCount(ctxT(t)); err != nil || n != want {
		t.Errorf("EstimateCount after ANALYZE = %d, %v; want %d", n, err, want)
	}
	// Analyzed, it is the statistics, not a count: rows added since do not
	// show (a count(*) at every start would scan a production table whole).
	e.c.ExecIn(testDB, "INSERT INTO sigil_docs_text SELECT 'estimate-extra-' || g, NULL FROM generate_series(1, 20) g")
	defer e.c.ExecIn(testDB, "DELETE FROM sigil_docs_text WHERE id LIKE 'estimate-extra-%'")
	if n, err := s.EstimateCount(ctxT(t)); err != nil || n != want {
		t.Errorf("EstimateCount after ANALYZE and 20 inserts = %d, %v; want the statistics' %d, not a count", n, err, want)
	}
}

// testBytea: a bytea record column is read as its bytes, byte for byte
// (not PostgreSQL's \x text form), with NULL and empty kept apart, by
// both the walk and Get.
func (e *env) testBytea(t *testing.T) {
	s := e.open(t, Options{Table: "app.docs_bytea", RecordColumn: "doc"})
	want := map[string][]byte{"z-binary": {0xff, 0x00, 0xfe}, "z-empty": {}, "z-null": nil}
	for _, r := range e.want.Tables["sigil_docs"].Rows {
		if r.Value != nil && strings.HasPrefix(r.Key, "sigil-") {
			want[r.Key] = []byte(*r.Value)
		}
	}
	got := scanAll(t, s, nil)
	if len(got) != len(want) {
		t.Fatalf("scanned %d rows, want %d", len(got), len(want))
	}
	for _, r := range got {
		w, ok := want[string(r.Key)]
		if !ok || !bytes.Equal(r.Value, w) || (w == nil) != (r.Value == nil) {
			t.Errorf("%s: scanned %q (nil %v), want %q (nil %v)", r.Key, r.Value, r.Value == nil, w, w == nil)
		}
		v, found, err := s.Get(ctxT(t), r.Key)
		if err != nil || !found || !bytes.Equal(v, w) || (w == nil) != (v == nil) {
			t.Errorf("Get(%s) = %q (nil %v), %v, %v; want %q", r.Key, v, v == nil, found, err, w)
		}
	}
}
