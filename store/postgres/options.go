package postgres

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configures a PostgreSQL store. Zero fields take the defaults
// documented on each field.
type Options struct {
	// DSN is a libpq connection string or postgres:// URL. It may hold a
	// password: it never appears in an error or a log line.
	DSN string
	// Table holds the records; default "sigils". It may be
	// schema-qualified ("app.sigils"); each part is quoted as an
	// identifier, never pasted into SQL.
	Table string
	// KeyColumn is the record key; default "id".
	KeyColumn string
	// RecordColumn is the column holding the whole record document
	// (json, jsonb, text, varchar or bytea). Empty: the record is the
	// whole row as JSON (row_to_json).
	RecordColumn string
	// PageSize is the number of rows read per query; default 500.
	PageSize int
	// StatementTimeout bounds every query; default 30s.
	StatementTimeout time.Duration
	// ApplicationName is shown in pg_stat_activity; default
	// "sigil-integrity-exporter".
	ApplicationName string
	// Shard and Shards split the walk: with Shards > 1 the store walks
	// only range Shard (0-based) of Shards ranges of its walk order, so
	// that Shards replicas each read about 1/Shards of the table.
	Shard, Shards int
	// Logger receives debug lines; nil discards them.
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultTable            = "sigils"
	DefaultKeyColumn        = "id"
	DefaultPageSize         = 500
	DefaultStatementTimeout = 30 * time.Second
	DefaultApplicationName  = "sigil-integrity-exporter"
)

func (o Options) withDefaults() Options {
	if o.Table == "" {
		o.Table = DefaultTable
	}
	if o.KeyColumn == "" {
		o.KeyColumn = DefaultKeyColumn
	}
	if o.PageSize == 0 {
		o.PageSize = DefaultPageSize
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = DefaultStatementTimeout
	}
	if o.ApplicationName == "" {
		o.ApplicationName = DefaultApplicationName
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) validate() error {
	if o.PageSize < 1 {
		return fmt.Errorf("postgres page size %d: want a positive number of rows", o.PageSize)
	}
	if o.StatementTimeout < time.Millisecond {
		return fmt.Errorf("postgres statement timeout %s: want at least 1ms", o.StatementTimeout)
	}
	if o.Shards > 1 && (o.Shard < 0 || o.Shard >= o.Shards) {
		return fmt.Errorf("postgres shard %d/%d: want 0 <= shard < shards", o.Shard, o.Shards)
	}
	if _, err := tableIdent(o.Table); err != nil {
		return err
	}
	return nil
}

// tableIdent splits "schema.table" (or "table") into a quoted identifier.
func tableIdent(table string) (pgx.Identifier, error) {
	parts := strings.Split(table, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("postgres table %q: want TABLE or SCHEMA.TABLE", table)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("postgres table %q: empty schema or table name", table)
		}
	}
	return pgx.Identifier(parts), nil
}

// Sharded returns o walking shard i of n when on is true (and n > 1).
func (o Options) Sharded(on bool, i, n int) Options {
	if on && n > 1 {
		o.Shard, o.Shards = i, n
	}
	return o
}
