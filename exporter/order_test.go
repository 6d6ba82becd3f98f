package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
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
	} else if testutil.InCI() {
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
			wantFail := append([]testutil.Failure(nil), tm.Failures...)
			total := tm.Total
			if name == "no index" {
				// A second row with the id of a valid record.
				c.ExecIn(database, `INSERT INTO sigil_docs SELECT id, doc FROM sigil_docs WHERE id = 'sigil-0003'`)
				wantFail = append(wantFail, testutil.Failure{Key: "sigil-0003", ID: "sigil-0003", Check: "duplicate"})
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
			second := slices.DeleteFunc(slices.Clone(wantFail), func(w testutil.Failure) bool { return slices.Contains(deleted, w.Key) })
			for _, k := range deleted {
				second = append(second, testutil.Failure{Key: k, ID: k, Check: "missing"})
			}
			if d := cmp.Diff(wantSet("", second), failureSet(rep)); d != "" {
				t.Errorf("second pass failures (-want +got):\n%s", d)
			}
			if rep.Checked != int64(total-len(deleted)+1) {
				t.Errorf("second pass checked %d, want %d", rep.Checked, total-len(deleted)+1)
			}
			// Evidence survives a pass that does not find them again.
			rep = check()
			got = missingIDs(rep)
			slices.Sort(got)
			if d := cmp.Diff(deleted, got); d != "" || rep.FailuresByCheck["missing"] != int64(len(deleted)) {
				t.Errorf("third pass: missing ids (-want +got):\n%s", d)
			}
		})
	}
}

// TestCheckPostgresKeyTypes: tables keyed as apps key them (text, bigint,
// uuid primary keys), rows written and signed by real Node crypto
// (make-postgres-bench.js), are checked clean by `check`: integer and
// uuid ids are valid ids, compared with the key's text; a row whose id
// disagrees with its key fails `key` with both as text.
func TestCheckPostgresKeyTypes(t *testing.T) {
	t.Parallel()
	node := testutil.Node(t)
	c := pgtest.Start(t)
	c.CreateDatabase("keytypes")
	const rows = 60
	for _, kt := range []string{"text", "bigint", "uuid"} {
		t.Run(kt, func(t *testing.T) {
			table := "sigils_" + kt
			c.ExecIn("keytypes", fmt.Sprintf(`CREATE TABLE %s (id %s PRIMARY KEY, data json, checksum text, signature text, type text, created_at timestamptz)`, table, kt))
			out, err := exec.Command(node, filepath.Join(repo, "testdata/node/make-postgres-bench.js"), kt, fmt.Sprint(rows)).Output()
			if err != nil {
				t.Fatalf("make-postgres-bench.js: %v", err)
			}
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, c.DSNFor("keytypes"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.PgConn().CopyFrom(ctx, bytes.NewReader(out), fmt.Sprintf(`COPY %s (id, data, checksum, signature, type, created_at) FROM STDIN`, table))
			_ = conn.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c.ExecIn("keytypes", fmt.Sprintf(`GRANT SELECT ON %s TO %s`, table, pgtest.ReaderRole))
			reports := t.TempDir()
			run := func() (int, string, string) {
				return runCLI(t, "check", "--store.postgres.dsn="+c.ReaderDSN("keytypes"), "--store.postgres.table="+table,
					"--store.postgres.page-size=7", "--verify.key-file="+filepath.Join(repo, "testdata/keys/current.key"),
					"--report.dir="+reports, "--state.path="+t.TempDir(), "--log.level=error")
			}
			code, stdout, stderr := run()
			if code != 0 || !strings.HasPrefix(stdout, fmt.Sprintf("Checked %d sigils. 0 failures.", rows)) {
				t.Fatalf("exit %d, want 0 and %d clean records\nstdout: %s\nstderr: %s", code, rows, stdout, stderr)
			}
			if kt != "bigint" {
				return
			}
			// A row stored under key 1000 whose record says id 7 (the
			// row_to_json of a bigint key is a number: the key check
			// compares the record's id with the key's text).
			c.ExecIn("keytypes", `CREATE TABLE sigils_moved (id bigint PRIMARY KEY, doc json)`)
			c.ExecIn("keytypes", `INSERT INTO sigils_moved SELECT 1000, json_build_object('id', 7, 'data', data, 'signature', signature) FROM sigils_bigint WHERE id = 7`)
			c.ExecIn("keytypes", `INSERT INTO sigils_moved SELECT id, json_build_object('id', id, 'data', data, 'signature', signature) FROM sigils_bigint WHERE id = 8`)
			c.ExecIn("keytypes", `GRANT SELECT ON sigils_moved TO `+pgtest.ReaderRole)
			code, stdout, stderr = runCLI(t, "check", "--store.postgres.dsn="+c.ReaderDSN("keytypes"), "--store.postgres.table=sigils_moved",
				"--store.postgres.record-column=doc", "--verify.key-file="+filepath.Join(repo, "testdata/keys/current.key"),
				"--report.dir="+reports, "--state.path="+t.TempDir(), "--log.level=error")
			if code != exitFailures || !strings.HasPrefix(stdout, "Checked 2 sigils. 1 failures.") || !strings.Contains(stdout, "key: 1") {
				t.Fatalf("exit %d, want 1 with one key failure\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
		})
	}
}

// TestCheckPostgresShards: three `check --scan.shard=i/3` runs over the
// Node-made table (repeated ids, a planted failure of every kind) each
// read their own range of the index order; together they check every
// row once and find exactly the planted failures.
func TestCheckPostgresShards(t *testing.T) {
	t.Parallel()
	c := startPG(t)
	pm := readPGManifest(t)
	tm := pm.Tables["sigils"]
	var checked int64
	got := []string{}
	for i := 0; i < 3; i++ {
		reports := t.TempDir()
		code, stdout, stderr := runCLI(t, append([]string{"check", "--store.postgres.dsn=" + c.ReaderDSN(pgTestDB), fmt.Sprintf("--scan.shard=%d/3", i),
			"--store.postgres.page-size=4", "--report.dir=" + reports, "--state.path=" + t.TempDir(), "--log.level=error"}, keyFlags(pm.Keys)...)...)
		if code == exitError {
			t.Fatalf("shard %d: exit %d\n%s%s", i, code, stdout, stderr)
		}
		rep := reportFor(t, reports, "postgres")
		if rep.Checked < int64(tm.Total)/6 || rep.Checked > int64(tm.Total)/2 {
			t.Errorf("shard %d/3 checked %d of %d rows: not about a third", i, rep.Checked, tm.Total)
		}
		checked += rep.Checked
		got = append(got, failureSet(rep)...)
	}
	slices.Sort(got)
	if checked != int64(tm.Total) {
		t.Errorf("3 shards checked %d rows, want %d", checked, tm.Total)
	}
	if d := cmp.Diff(wantSet("", tm.Failures), got); d != "" {
		t.Errorf("failures over 3 shards (-want +got):\n%s", d)
	}
}
