package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/postgres/pgtest"
)

// keyTable is one table of the walk-order tests, made as an app makes it:
// the key column's type and its primary key (or none), nothing for the
// exporter.
type keyTable struct {
	name   string
	ddl    string // CREATE TABLE ... (id ..., data json)
	ids    string // SQL expression of the id for generate_series(1, n) AS g
	index  bool   // an index on the key serves the walk
	order  store.Order
	orderQ string // the server's own order of the ids, for comparison
}

const orderRows = 1200

// icuCollation is a linguistic collation the cluster has ("" if none):
// ICU orders "a" < "B" < "b", not as bytes do.
func (e *env) icuCollation(t *testing.T) string {
	t.Helper()
	var name string
	e.query(t, func(ctx context.Context, conn *pgx.Conn) error {
		err := conn.QueryRow(ctx, `SELECT coalesce((SELECT collname FROM pg_collation WHERE collname IN ('en-US-x-icu', 'und-x-icu', 'en_US.utf8') ORDER BY collname LIMIT 1), '')`).Scan(&name)
		return err
	})
	return name
}

func (e *env) query(t *testing.T, fn func(context.Context, *pgx.Conn) error) {
	t.Helper()
	ctx := ctxT(t)
	conn, err := pgx.Connect(ctx, e.c.DSNFor(testDB))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if err := fn(ctx, conn); err != nil {
		t.Fatal(err)
	}
}

func (e *env) keyTables(t *testing.T) []keyTable {
	ids := `'Sigil-' || g || CASE WHEN g % 3 = 0 THEN 'a' WHEN g % 3 = 1 THEN 'B' ELSE '-b' END`
	tables := []keyTable{
		{"keys_text", "id text PRIMARY KEY", ids, true, store.Grouped, "id"},
		{"keys_text_c", `id text COLLATE "C" PRIMARY KEY`, ids, true, store.Bytewise, "id"},
		{"keys_bigint", "id bigint PRIMARY KEY", "(g * 7919) % 1000003 - 500000", true, store.Grouped, "id"},
		{"keys_int", "id integer PRIMARY KEY", "g * 3", true, store.Grouped, "id"},
		{"keys_uuid", "id uuid PRIMARY KEY", "md5(g::text)::uuid", true, store.Bytewise, "id"},
		{"keys_unique_varchar", "id varchar(40) UNIQUE", ids, true, store.Grouped, "id"},
		{"keys_noindex", "id text", ids, false, store.Unordered, "ctid"},
		{"keys_noindex_bigint", "id bigint", "g * 10", false, store.Unordered, "ctid"},
	}
	if icu := e.icuCollation(t); icu != "" {
		q := pgx.Identifier{icu}.Sanitize()
		tables = append(tables, keyTable{"keys_text_icu", "id text COLLATE " + q + " PRIMARY KEY", ids, true, store.Grouped, "id"})
	} else if os.Getenv("CI") == "true" {
		t.Fatal("the cluster has no ICU or en_US collation: the non-bytewise order is not tested")
	}
	return tables
}

func (e *env) createKeyTables(t *testing.T, tables []keyTable) {
	for _, kt := range tables {
		e.c.ExecIn(testDB, fmt.Sprintf(`CREATE TABLE app.%s (%s, data json, pad text)`, kt.name, kt.ddl))
		e.c.ExecIn(testDB, fmt.Sprintf(`INSERT INTO app.%s SELECT %s, json_build_object('n', g), repeat('x', 200) FROM generate_series(1, %d) g`, kt.name, kt.ids, orderRows))
		e.c.ExecIn(testDB, fmt.Sprintf(`ANALYZE app.%s`, kt.name))
		e.c.ExecIn(testDB, fmt.Sprintf(`GRANT SELECT ON app.%s TO %s`, kt.name, pgtest.ReaderRole))
	}
}

// serverOrder is the ids as the server orders them (or in ctid order).
func (e *env) serverOrder(t *testing.T, kt keyTable) []string {
	var ids []string
	e.query(t, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT t.id::text AS k FROM app.%s AS t ORDER BY t.%s`, kt.name, kt.orderQ))
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return ids
}

// testKeyTypes walks each key type in the order its index serves, page by
// page, resumes from cursors taken mid-walk, and proves with EXPLAIN that
// no page of an indexed table sorts.
func (e *env) testKeyTypes(t *testing.T) {
	tables := e.keyTables(t)
	e.createKeyTables(t, tables)
	for _, kt := range tables {
		t.Run(kt.name, func(t *testing.T) {
			want := e.serverOrder(t, kt)
			if len(want) != orderRows {
				t.Fatalf("%d rows in the server's order, want %d", len(want), orderRows)
			}
			for _, pageSize := range []int{7, 500} {
				s := e.open(t, Options{Table: "app." + kt.name, PageSize: pageSize})
				if s.Order() != kt.order {
					t.Fatalf("Order() = %v, want %v (%s)", s.Order(), kt.order, s.Describe())
				}
				if w := s.Warnings(); len(w) != 0 {
					t.Errorf("Warnings() = %q, want none", w)
				}
				got := scanKeys(t, s, nil)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("page %d: Scan order differs from the server's ORDER BY %s (-server +scan):\n%s", pageSize, kt.orderQ, diff)
				}
				if kt.order != store.Unordered {
					for i := 1; i < len(got); i++ {
						if s.Compare([]byte(got[i-1]), []byte(got[i])) == 0 {
							t.Fatalf("Compare(%q, %q) = 0 for distinct keys", got[i-1], got[i])
						}
						if kt.order == store.Bytewise || isIntType(s.plan.keyType) {
							if c := s.Compare([]byte(got[i-1]), []byte(got[i])); c >= 0 {
								t.Fatalf("Compare(%q, %q) = %d, want -1 (the walk's order)", got[i-1], got[i], c)
							}
						}
					}
				}
			}
			s := e.open(t, Options{Table: "app." + kt.name, PageSize: 50})
			e.checkResume(t, s, want)
			e.checkGet(t, s, want)
			e.checkPlan(t, s, kt)
		})
	}
}

// scanKeys scans after `after` and returns the keys, checking that every
// value is the row with that key.
func scanKeys(t *testing.T, s *Store, after []byte) []string {
	t.Helper()
	var keys []string
	for _, r := range scanAll(t, s, after) {
		if r.Err != nil {
			t.Fatalf("record %q: %v", r.Key, r.Err)
		}
		keys = append(keys, string(r.Key))
	}
	return keys
}

// checkResume resumes a walk from the cursors a first walk handed out
// (a key, or a block for a table without an index) and checks that each
// resumed walk yields exactly the rest.
func (e *env) checkResume(t *testing.T, s *Store, want []string) {
	t.Helper()
	var cursors [][]byte
	var at []int
	i := 0
	err := s.Scan(ctxT(t), nil, func(r store.Record) error {
		if i%337 == 5 {
			c := r.Cursor
			if c == nil {
				c = r.Key
			}
			cursors = append(cursors, append([]byte(nil), c...))
			at = append(at, i)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range cursors {
		got := scanKeys(t, s, c)
		rest := want[at[j]+1:]
		if s.Order() == store.Unordered {
			// The cursor is a block: the walk resumes after the whole
			// block that held the record.
			if len(got) > len(rest) || !slices.Equal(got, want[len(want)-len(got):]) {
				t.Fatalf("resume after %s: %d keys, not a suffix of the %d after the record", c, len(got), len(rest))
			}
			if len(rest)-len(got) > 40 {
				t.Errorf("resume after %s skipped %d rows: more than one block", c, len(rest)-len(got))
			}
			continue
		}
		if diff := cmp.Diff(rest, got); diff != "" {
			t.Fatalf("resume after %q (-want +got):\n%s", c, diff)
		}
	}
	// A cursor that is no key of this table (another walk's) starts over.
	if got := scanKeys(t, s, []byte("not-a-cursor-of:this")); len(got) != len(want) && s.plan.kind == walkBlocks {
		t.Errorf("foreign cursor: %d keys, want the whole table (%d)", len(got), len(want))
	}
}

func (e *env) checkGet(t *testing.T, s *Store, want []string) {
	t.Helper()
	for _, k := range []string{want[0], want[len(want)/2], want[len(want)-1]} {
		v, found, err := s.Get(ctxT(t), []byte(k))
		if err != nil || !found || !strings.Contains(string(v), `"data":{"n"`) {
			t.Errorf("Get(%q) = %s, %v, %v; want the row", k, v, found, err)
		}
	}
	for _, k := range []string{"absent-key", "12345678901234567890123", "00000000-0000-0000-0000-000000000000"} {
		if _, found, err := s.Get(ctxT(t), []byte(k)); err != nil || found {
			t.Errorf("Get(%q) = found %v, err %v; want absent", k, found, err)
		}
	}
	counts, err := s.CountKeys(ctxT(t), [][]byte{[]byte(want[3]), []byte("absent-key")})
	if err != nil || len(counts) != 1 || counts[want[3]] != 1 {
		t.Errorf("CountKeys = %v, %v; want {%s: 1}", counts, err, want[3])
	}
}

// checkPlan explains the page queries the walk runs, with the store's own
// session settings, and asserts that an indexed table's pages are index
// scans without a Sort node, and that a table without an index is read by
// TID range scans.
func (e *env) checkPlan(t *testing.T, s *Store, kt keyTable) {
	t.Helper()
	want := e.serverOrder(t, kt)
	for _, mode := range []pageMode{modeFirst, modeAfter, modeFrom} {
		q, args := s.pageQuery(mode, want[orderRows/2], s.opts.PageSize, 10, 12)
		plan := explain(t, s, q, args)
		switch {
		case kt.index:
			if strings.Contains(plan, "Sort") {
				t.Errorf("mode %d: the page query sorts:\n%s\n%s", mode, q, plan)
			}
			if !strings.Contains(plan, `"Index Scan"`) && !strings.Contains(plan, `"Index Only Scan"`) {
				t.Errorf("mode %d: the page query is not an index scan:\n%s", mode, plan)
			}
		default:
			if !strings.Contains(plan, `"Tid Range Scan"`) || strings.Contains(plan, "Sort") || strings.Contains(plan, `"Seq Scan"`) {
				t.Errorf("the block query is not a plain TID range scan:\n%s", plan)
			}
		}
	}
}

func explain(t *testing.T, s *Store, q string, args []any) string {
	t.Helper()
	var plan string
	err := s.readTx(ctxT(t), "explain", func(tx pgx.Tx) error {
		return tx.QueryRow(ctxT(t), "EXPLAIN (FORMAT JSON) "+q, args...).Scan(&plan)
	})
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	return plan
}

// testDuplicates: ids repeat and no unique index says they cannot. With a
// plain index the twins come out adjacent; without any index they come in
// physical order, every row exactly once, and CountKeys counts them.
func (e *env) testDuplicates(t *testing.T) {
	for _, ddl := range []string{"", "CREATE INDEX ON app.%s (id)"} {
		name := "dups_noindex"
		if ddl != "" {
			name = "dups_index"
		}
		e.c.ExecIn(testDB, fmt.Sprintf(`CREATE TABLE app.%s (id text, data json)`, name))
		e.c.ExecIn(testDB, fmt.Sprintf(`INSERT INTO app.%s SELECT 'k' || (g %% 300), json_build_object('g', g) FROM generate_series(1, 1000) g`, name))
		if ddl != "" {
			e.c.ExecIn(testDB, fmt.Sprintf(ddl, name))
		}
		e.c.ExecIn(testDB, fmt.Sprintf(`GRANT SELECT ON app.%s TO %s`, name, pgtest.ReaderRole))
		t.Run(name, func(t *testing.T) {
			for _, pageSize := range []int{1, 3, 100} {
				s := e.open(t, Options{Table: "app." + name, PageSize: pageSize})
				recs := scanAll(t, s, nil)
				if len(recs) != 1000 {
					t.Fatalf("page %d: %d rows, want 1000", pageSize, len(recs))
				}
				seen := map[string]bool{}
				per := map[string]int{}
				for i, r := range recs {
					seen[string(r.Value)] = true
					per[string(r.Key)]++
					if ddl != "" && i > 0 && string(recs[i-1].Key) != string(r.Key) && per[string(r.Key)] > 1 {
						t.Fatalf("indexed walk: twins of %q are not adjacent", r.Key)
					}
				}
				if len(seen) != 1000 || len(per) != 300 {
					t.Fatalf("page %d: %d distinct rows and %d distinct ids, want 1000 and 300", pageSize, len(seen), len(per))
				}
			}
			s := e.open(t, Options{Table: "app." + name})
			counts, err := s.CountKeys(ctxT(t), [][]byte{[]byte("k0"), []byte("k1"), []byte("k299"), []byte("nope")})
			want := map[string]int64{"k0": 3, "k1": 4, "k299": 3}
			if err != nil || !maps.Equal(counts, want) {
				t.Errorf("CountKeys = %v, %v; want %v", counts, err, want)
			}
		})
	}
}

// testShards splits each kind of walk into shards: together they read
// every row exactly once, each about its share, in the walk's order; ids
// that repeat stay in one shard.
func (e *env) testShards(t *testing.T) {
	tables := []struct {
		name    string
		even    bool // shares are checked for evenness (statistics or offsets)
		ordered bool
	}{
		{"keys_text", true, true},     // pg_stats histogram
		{"keys_bigint", true, true},   // histogram of integers, numeric order
		{"keys_uuid", true, true},     //
		{"keys_text_c", true, true},   //
		{"dups_index", true, false},   // repeated ids: offsets in the index
		{"keys_noindex", true, false}, // block ranges
		{"keys_text_icu", true, true}, // a linguistic collation
		{"rows_view", false, false},   // a view: hash split
	}
	for _, tt := range tables {
		t.Run(tt.name, func(t *testing.T) {
			all := scanKeys(t, e.open(t, Options{Table: "app." + tt.name, PageSize: 50}), nil)
			if len(all) == 0 && tt.name == "keys_text_icu" {
				t.Skip("no ICU table")
			}
			const n = 3
			var union []string
			for i := 0; i < n; i++ {
				s := e.open(t, Options{Table: "app." + tt.name, PageSize: 40, Shard: i, Shards: n})
				got := scanKeys(t, s, nil)
				if tt.even && (len(got) < len(all)/n*6/10 || len(got) > len(all)/n*14/10) {
					t.Errorf("shard %d/%d: %d of %d rows, want about a third", i, n, len(got), len(all))
				}
				if est, err := s.EstimateCount(ctxT(t)); err != nil || (tt.name != "rows_view" && est > int64(len(all))/n+1) {
					t.Errorf("shard %d/%d: EstimateCount = %d, %v; want about %d", i, n, est, err, len(all)/n)
				}
				// A resumed shard stays in its range.
				if len(got) > 10 {
					var cursor []byte
					j := 0
					_ = s.Scan(ctxT(t), nil, func(r store.Record) error { // stopped on purpose
						if j++; j == 10 {
							cursor = append([]byte(nil), r.Key...)
							if r.Cursor != nil {
								cursor = append([]byte(nil), r.Cursor...)
							}
							return errors.New("stop")
						}
						return nil
					})
					rest := scanKeys(t, s, cursor)
					if tt.ordered && !slices.Equal(rest, got[10:]) {
						t.Errorf("shard %d/%d resumed after %q: %d keys, want the %d after it", i, n, cursor, len(rest), len(got)-10)
					}
				}
				union = append(union, got...)
			}
			if (tt.ordered || tt.name == "dups_index") && !slices.Equal(union, all) {
				t.Errorf("the shards' walks, one after another, are not the whole walk (%d vs %d keys)", len(union), len(all))
			}
			slices.Sort(union)
			sorted := slices.Clone(all)
			slices.Sort(sorted)
			if !slices.Equal(union, sorted) {
				t.Errorf("shards read %d rows together, want each of the %d exactly once", len(union), len(all))
			}
		})
	}
}
