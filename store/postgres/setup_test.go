package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/postgres/pgtest"
)

const testDB = "sigil"

// env is one cluster loaded with the Node-made tables, shared by the
// subtests of TestPostgres.
type env struct {
	c    *pgtest.Cluster
	want testutil.PostgresManifest
}

func loadManifest(t *testing.T) testutil.PostgresManifest {
	t.Helper()
	return testutil.ReadJSON[testutil.PostgresManifest](t, testutil.Path(t, "testdata", "postgres", "expected.json"))
}

// TestPostgres starts one throwaway cluster and runs every store test
// against it; the fault tests that stop the server run last.
func TestPostgres(t *testing.T) {
	c := pgtest.Start(t)
	c.CreateDatabase(testDB)
	dir := filepath.Join("..", "..", "testdata", "postgres")
	c.LoadIn(testDB, filepath.Join(dir, "sigils.sql"), filepath.Join(dir, "sigil_docs.sql"))
	c.ExecIn(testDB, fmt.Sprintf("GRANT SELECT ON sigils, sigil_docs, sigil_docs_text TO %s", pgtest.ReaderRole))
	e := &env{c: c, want: loadManifest(t)}
	e.createAppTables()

	t.Run("ScanLayouts", e.testScanLayouts)
	t.Run("Resume", e.testResume)
	t.Run("Get", e.testGet)
	t.Run("Bytea", e.testBytea)
	t.Run("EstimateCount", e.testEstimateCount)
	t.Run("Warnings", e.testWarnings)
	t.Run("KeyTypes", e.testKeyTypes)
	t.Run("Duplicates", e.testDuplicates)
	t.Run("Shards", e.testShards)
	t.Run("OpenErrors", e.testOpenErrors)
	t.Run("ReadOnly", e.testReadOnly)
	t.Run("StatementTimeout", e.testStatementTimeout)
	t.Run("StopMidScan", e.testStopMidScan)
	t.Run("RestartMidScan", e.testRestartMidScan)
	t.Run("NetworkCut", e.testNetworkCut)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens a store as the password-auth reader role.
func (e *env) open(t *testing.T, o Options) *Store {
	t.Helper()
	if o.DSN == "" {
		o.DSN = e.c.ReaderDSN(testDB)
	}
	s, err := Open(ctxT(t), o)
	if err != nil {
		t.Fatalf("Open(%s): %v", o.Table, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// scanAll collects every record after `after`.
func scanAll(t *testing.T, s *Store, after []byte) []store.Record {
	t.Helper()
	var got []store.Record
	err := s.Scan(ctxT(t), after, func(r store.Record) error {
		got = append(got, store.Record{Key: append([]byte(nil), r.Key...), Value: cloneBytes(r.Value), Err: r.Err})
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return got
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
