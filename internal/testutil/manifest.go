package testutil

import (
	"encoding/json"
	"os"
	"testing"
)

// Failure is one failure a generator planted: the record's key (with the
// prefix), its id and the check it must fail.
type Failure struct {
	Key   string `json:"key"`
	ID    string `json:"id"`
	Check string `json:"check"`
}

// LevelDBManifest is the expected.json that testdata/node/make-leveldb.js
// writes beside a database (testdata/leveldb/expected.json).
type LevelDBManifest struct {
	Prefix         string    `json:"prefix"`
	TotalRecords   int       `json:"total_records"`
	Failures       []Failure `json:"failures"`
	SchemaFailures []Failure `json:"schema_failures"`
	EdgeCases      []string  `json:"edge_cases"`
	Keys           []string  `json:"keys"`
	OutsidePrefix  int       `json:"outside_prefix"`
}

// PostgresManifest is testdata/postgres/expected.json, written by
// testdata/node/make-postgres.js.
type PostgresManifest struct {
	Keys   []string                 `json:"keys"`
	Tables map[string]PostgresTable `json:"tables"`
}

// PostgresTable is one table of a PostgresManifest.
type PostgresTable struct {
	RecordColumn string        `json:"record_column"`
	Total        int           `json:"total_records"`
	Failures     []Failure     `json:"failures"`
	EdgeCases    []string      `json:"edge_cases"`
	Rows         []PostgresRow `json:"rows"`
}

// PostgresRow is one row of a table as the generator wrote it: its key and
// the record column's text (nil for SQL NULL).
type PostgresRow struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

// CrossManifest is testdata/cross/expected.json, written by
// testdata/node/make-cross.js.
type CrossManifest struct {
	Prefix          string    `json:"prefix"`
	Keys            []string  `json:"keys"`
	LevelDBRecords  int       `json:"leveldb_records"`
	PostgresRecords int       `json:"postgres_records"`
	InBoth          int       `json:"in_both"`
	Differences     []Failure `json:"differences"`
	SameDespite     []string  `json:"same_despite_bytes"`
}

// ReadManifest decodes a generator's manifest (one of the types above)
// from path, failing the test when it cannot.
func ReadManifest[M any](t testing.TB, path string) M {
	t.Helper()
	var m M
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read manifest (regenerate with the testdata/node generator that wrote it): %v", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest %s: %v", path, err)
	}
	return m
}
