package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store/postgres/pgtest"
)

// layouts are the ways an app's table may be keyed that the walk does not
// read in bytewise order: a text primary key in a linguistic (ICU)
// collation, and no index at all (walked by block ranges).
func orderLayouts(t *testing.T, c *pgtest.Cluster, database string) map[string][]string {
	icu := ""
	for _, name := range []string{"und-x-icu", "en-US-x-icu"} {
		var n int
		pgQueryRow(t, c, database, `SELECT count(*) FROM pg_collation WHERE collname = $1`, []any{name}, &n)
		if n > 0 {
			icu = name
			break
		}
	}
	// For sigil_docs (text primary key and a C index) or sigils (a C
	// index only): the statements drop what the layout does not have.
	layouts := map[string][]string{"no index": {`ALTER TABLE sigil_docs DROP CONSTRAINT IF EXISTS sigil_docs_pkey`, `DROP INDEX sigil_docs_id_c`}}
	if icu != "" {
		layouts["icu primary key"] = []string{`DROP INDEX sigil_docs_id_c`, `ALTER TABLE sigil_docs ALTER COLUMN id TYPE text COLLATE "` + icu + `"`,
			`ALTER TABLE sigil_docs DROP CONSTRAINT IF EXISTS sigil_docs_pkey`, `ALTER TABLE sigil_docs ADD PRIMARY KEY (id)`}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("PostgreSQL without ICU: the linguistic-collation layout is not tested")
	}
	return layouts
}

func pgQueryRow(t *testing.T, c *pgtest.Cluster, database, q string, args []any, dst ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.DSNFor(database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, q, args...).Scan(dst...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestMissingAndCrossNotBytewise: on tables walked in an order Go cannot
// reproduce, `check` still names exactly the rows deleted between two
// passes as missing (sorted key lists merged after the walk), counts a
// repeated id in a table without an index once, and the cross-store
// comparison with a LevelDB holding the same records names exactly the
// planted differences.
func TestMissingAndCrossNotBytewise(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	pm := readPGManifest(t)
	tm := pm.Tables["sigil_docs"]
	dir := filepath.Join(repo, "testdata/postgres")
	c.CreateDatabase("probe")
	for name, ddl := range orderLayouts(t, c, "probe") {
		t.Run(name, func(t *testing.T) {
			database := map[string]string{"no index": "noindex", "icu primary key": "icu"}[name]
			c.CreateDatabase(database)
			c.LoadIn(database, filepath.Join(dir, "sigil_docs.sql"))
			for _, stmt := range ddl {
				c.ExecIn(database, stmt)
			}
			c.ExecIn(database, "GRANT SELECT ON sigil_docs TO "+pgtest.ReaderRole)
			wantFail := append([]want(nil), tm.Failures...)
			total := tm.Total
			if name == "no index" {
				// A second row with the id of a valid record.
				c.ExecIn(database, `INSERT INTO sigil_docs SELECT id, doc FROM sigil_docs WHERE id = 'sigil-0003'`)
				wantFail = append(wantFail, want{Key: "sigil-0003", ID: "sigil-0003", Check: "duplicate"})
				total++
			}
			state := t.TempDir()
			var reports string
			check := func() reportJSON {
				t.Helper()
				reports = t.TempDir()
				args := append([]string{"check", "--store.postgres.dsn=" + c.ReaderDSN(database), "--store.postgres.table=sigil_docs",
					"--store.postgres.record-column=doc", "--store.postgres.page-size=4", "--report.dir=" + reports,
					"--state.path=" + state, "--log.level=error"}, keyFlags(pm.Keys)...)
				code, stdout, stderr := runCLI(t, args...)
				if code != exitFailures {
					t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
				}
				return reportFor(t, reports, "postgres")
			}
			rep := check()
			if d := cmp.Diff(wantSet("", wantFail), failureSet(rep)); d != "" || rep.Checked != int64(total) {
				t.Fatalf("first pass: checked %d, want %d; failures (-want +got):\n%s", rep.Checked, total, d)
			}
			// Deleted: the first and last ids in the walk's order and
			// one in the middle; one row added.
			var first, last string
			pgQueryRow(t, c, database, `SELECT min(id), max(id) FROM sigil_docs`, nil, &first, &last)
			deleted := []string{first, "sigil-0010", last}
			c.ExecIn(database, fmt.Sprintf(`DELETE FROM sigil_docs WHERE id IN ('%s', '%s', '%s')`, first, "sigil-0010", last))
			c.ExecIn(database, `INSERT INTO sigil_docs SELECT 'sigil-0010a', replace(doc::text, '"id":"sigil-0011"', '"id":"sigil-0010a"')::json FROM sigil_docs WHERE id = 'sigil-0011'`)
			rep = check()
			got := missingIDs(rep)
			slices.Sort(got)
			slices.Sort(deleted)
			if d := cmp.Diff(deleted, got); d != "" {
				t.Errorf("missing ids (-want +got):\n%s", d)
			}
			second := slices.DeleteFunc(slices.Clone(wantFail), func(w want) bool { return slices.Contains(deleted, w.Key) })
			for _, k := range deleted {
				second = append(second, want{Key: k, ID: k, Check: "missing"})
			}
			if d := cmp.Diff(wantSet("", second), failureSet(rep)); d != "" {
				t.Errorf("second pass failures (-want +got):\n%s", d)
			}
			if rep.Checked != int64(total-len(deleted)+1) {
				t.Errorf("second pass checked %d, want %d", rep.Checked, total-len(deleted)+1)
			}
			rep = check()
			if ids := missingIDs(rep); len(ids) != 0 {
				t.Errorf("third pass names %v missing again", ids)
			}
		})
	}
}
