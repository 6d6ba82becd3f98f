package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/postgres/pgtest"
)

// createAppTables makes small tables in schema app with the column types
// and indexes the warning and error tests need.
func (e *env) createAppTables() {
	e.c.ExecIn(testDB, `CREATE SCHEMA app`)
	e.c.ExecIn(testDB, `CREATE TABLE app.docs_jsonb (id text PRIMARY KEY, doc jsonb)`)
	e.c.ExecIn(testDB, `CREATE INDEX ON app.docs_jsonb (id COLLATE "C")`)
	e.c.ExecIn(testDB, `INSERT INTO app.docs_jsonb SELECT id, doc::jsonb FROM sigil_docs`)
	e.c.ExecIn(testDB, `CREATE TABLE app.rows_jsonb (id text, data jsonb, signature text)`)
	e.c.ExecIn(testDB, `CREATE TABLE app.rows_noindex (id text, data json)`)
	e.c.ExecIn(testDB, `CREATE TABLE app.rows_c (id text COLLATE "C" PRIMARY KEY, data json)`)
	e.c.ExecIn(testDB, `CREATE TABLE app.rows_int (id integer PRIMARY KEY, data json)`)
	e.c.ExecIn(testDB, `CREATE VIEW app.rows_view AS SELECT * FROM app.rows_c`)
	e.c.ExecIn(testDB, `CREATE TABLE app.docs_bytea (id text PRIMARY KEY, doc bytea)`)
	e.c.ExecIn(testDB, `INSERT INTO app.docs_bytea SELECT id, convert_to(doc::text, 'UTF8') FROM sigil_docs WHERE doc IS NOT NULL AND id LIKE 'sigil-%'`)
	e.c.ExecIn(testDB, `INSERT INTO app.docs_bytea VALUES ('z-binary', '\xff00fe'::bytea), ('z-empty', ''::bytea), ('z-null', NULL)`)
	e.c.ExecIn(testDB, fmt.Sprintf(`GRANT USAGE ON SCHEMA app TO %[1]s; GRANT SELECT ON ALL TABLES IN SCHEMA app TO %[1]s`, pgtest.ReaderRole))
}

func (e *env) testWarnings(t *testing.T) {
	tests := []struct {
		name, table, recordColumn string
		want                      []string // substrings, one per expected warning; nil: none
	}{
		{"jsonb record column", "app.docs_jsonb", "doc", []string{"record column doc of app.docs_jsonb is jsonb"}},
		{"jsonb column in a row", "app.rows_jsonb", "", []string{"column data of app.rows_jsonb is jsonb"}},
		{"no index: walked by blocks, nothing to ask for", "app.rows_noindex", "", nil},
		{"C-collated column, plain primary key", "app.rows_c", "", nil},
		{"integer key", "app.rows_int", "", nil},
		{"view without an index sorts", "app.rows_view", "", []string{"every page sorts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.open(t, Options{Table: tt.table, RecordColumn: tt.recordColumn})
			got := s.Warnings()
			if len(got) != len(tt.want) {
				t.Fatalf("Warnings() = %q, want %d warning(s) containing %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], w)
				}
				if strings.Contains(got[i], "is jsonb") && !strings.Contains(got[i], "--verify.canonical=jcs") {
					t.Errorf("jsonb warning %q does not say what to do", got[i])
				}
			}
		})
	}
	// A scan of the jsonb table still works: values are jsonb's text.
	s := e.open(t, Options{Table: "app.docs_jsonb", RecordColumn: "doc", PageSize: 4})
	if n := len(scanAll(t, s, nil)); n != e.want.Tables["sigil_docs"].Total {
		t.Errorf("jsonb scan: %d records, want %d", n, e.want.Tables["sigil_docs"].Total)
	}
}

func (e *env) testOpenErrors(t *testing.T) {
	const secret = "Sup3rSecretPw"
	deadPort := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}()
	tests := []struct {
		name    string
		o       Options
		is      error  // errors.Is target; nil: neither sentinel
		contain string // substring of the message
	}{
		{"missing table", Options{Table: "nope"}, store.ErrNotFound, `"nope" does not exist`},
		{"missing schema", Options{Table: "nope.sigils"}, store.ErrNotFound, `"nope.sigils" does not exist`},
		{"missing key column", Options{KeyColumn: "uid"}, store.ErrNotFound, `no key column "uid"`},
		{"missing record column", Options{RecordColumn: "body"}, store.ErrNotFound, `no record column "body"`},
		{"record column of wrong type", Options{Table: "app.rows_int", RecordColumn: "id"}, nil, "has type integer"},
		{"injection attempt is an identifier", Options{Table: `sigils; DROP TABLE sigils; --`}, store.ErrNotFound, "does not exist"},
		{"no grant", Options{DSN: e.c.ReaderDSN("postgres"), Table: "pg_authid", KeyColumn: "rolname"}, nil, "permission denied"},
		{"wrong password", Options{DSN: strings.Replace(e.c.ReaderDSN(testDB), pgtest.ReaderPassword, secret, 1)}, nil, "password authentication failed"},
		{"unreachable", Options{DSN: fmt.Sprintf("postgres://u:%s@127.0.0.1:%d/db?connect_timeout=5", secret, deadPort)}, store.ErrUnavailable, "connect"},
		{"bad port in URL", Options{DSN: "postgres://u:" + secret + "@localhost:notaport/db"}, nil, "invalid postgres DSN"},
		{"malformed URL", Options{DSN: "postgres://u:" + secret + "@[::1/db"}, nil, "invalid postgres DSN"},
		{"bad keyword DSN", Options{DSN: "host=localhost password=" + secret + " port=x sslmode=maybe"}, nil, "invalid postgres DSN"},
		{"unterminated quote", Options{DSN: "host=localhost password='" + secret}, nil, "invalid postgres DSN"},
		{"empty DSN", Options{DSN: " "}, nil, "DSN is empty"},
		{"bad table name", Options{Table: "a.b.c"}, nil, "want TABLE or SCHEMA.TABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.DSN == "" {
				tt.o.DSN = e.c.ReaderDSN(testDB)
			}
			s, err := Open(ctxT(t), tt.o)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tt.contain)
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if !strings.Contains(msg, tt.contain) {
				t.Errorf("error %q does not contain %q", msg, tt.contain)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, pgtest.ReaderPassword) {
				t.Errorf("error leaks the password: %q", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, sentinel := range []error{store.ErrNotFound, store.ErrUnavailable} {
				if got, want := errors.Is(err, sentinel), sentinel == tt.is; got != want { //nolint:errorlint // two sentinels compared, not an error returned
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, sentinel, got, want)
				}
			}
		})
	}
}

// testReadOnly proves that the store's transactions cannot write, even
// when the role could: the superuser's INSERT fails inside readTx.
func (e *env) testReadOnly(t *testing.T) {
	s := e.open(t, Options{DSN: e.c.DSNFor(testDB), StatementTimeout: 1500 * 1e6, ApplicationName: "pgtest-app"})
	ctx := ctxT(t)
	settings := map[string]string{}
	err := s.readTx(ctx, "inspect session", func(tx pgx.Tx) error {
		for _, name := range []string{"transaction_read_only", "statement_timeout", "lock_timeout", "application_name"} {
			var v string
			if err := tx.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
				return err
			}
			settings[name] = v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"transaction_read_only": "on", "statement_timeout": "1500ms", "lock_timeout": "2s", "application_name": "pgtest-app"}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("%s = %q in the store's transaction, want %q", k, settings[k], v)
		}
	}
	err = s.readTx(ctx, "write attempt", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sigils (id) VALUES ('written-by-exporter')`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "25006") {
		t.Errorf("INSERT in the store's transaction: err = %v, want read-only violation (SQLSTATE 25006)", err)
	}
	var n int
	e.c.ExecIn(testDB, "SELECT 1") // the cluster is still fine
	conn, err := pgx.Connect(ctx, e.c.DSNFor(testDB))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM sigils WHERE id = 'written-by-exporter'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows written by the exporter: %d (err %v), want 0", n, err)
	}
}
