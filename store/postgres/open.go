package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// Open parses the DSN, connects, checks that the table and columns exist
// and can be read, and works out how to walk the table: in the order of an
// existing index on the key column, or by block ranges without one. A DSN that does not parse is a one-line error that never repeats
// the DSN. A server that cannot be reached is an error wrapping
// store.ErrUnavailable; a missing table or column wraps store.ErrNotFound.
// Conditions worth a startup log line (jsonb columns, a view that can only
// be walked by sorting) are in Warnings; Describe says how the walk goes.
func Open(ctx context.Context, o Options) (*Store, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(o.DSN) == "" {
		return nil, errors.New("postgres DSN is empty: set --store.postgres.dsn, --store.postgres.dsn-file or DATABASE_URL")
	}
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		return nil, dsnError(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = o.ApplicationName
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	cfg.MaxConns = 2
	cfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify(ctx, "connect to postgres", err)
	}
	ident, _ := tableIdent(o.Table) // validated above
	s := &Store{
		pool:  pool,
		opts:  o,
		table: ident.Sanitize(),
	}
	if err := s.introspect(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// column is one attribute of the table as the catalog describes it.
type column struct {
	name      string
	typ       string // base type name, domains resolved: "text", "jsonb", ...
	typeSQL   string // the declared type as SQL, for casts: "bigint", "app.my_domain"
	collation uint32
}

// introspect fills in the SQL fragments for the table's shape.
func (s *Store) introspect(ctx context.Context) error {
	o := s.opts
	return s.readTx(ctx, "inspect postgres table "+o.Table, func(tx pgx.Tx) error {
		var relid *uint32
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1)::oid`, s.table).Scan(&relid); err != nil {
			return err
		}
		if relid == nil {
			return plain(fmt.Errorf("postgres table %q does not exist or is not visible to this role: create it, grant access, or set --store.postgres.table: %w", o.Table, store.ErrNotFound))
		}
		s.relid = *relid
		var relkind string
		if err := tx.QueryRow(ctx, `SELECT relkind::text FROM pg_class WHERE oid = $1`, s.relid).Scan(&relkind); err != nil {
			return err
		}
		cols, err := readColumns(ctx, tx, s.relid)
		if err != nil {
			return err
		}
		key, ok := findColumn(cols, o.KeyColumn)
		if !ok {
			return plain(fmt.Errorf("postgres table %q has no key column %q: set --store.postgres.key-column: %w", o.Table, o.KeyColumn, store.ErrNotFound))
		}
		if err := s.setValueExpr(cols); err != nil {
			return err
		}
		var idx walkIndexInfo
		if s.plan, idx, err = choosePlan(ctx, tx, s.relid, relkind, key); err != nil {
			return err
		}
		s.unique = s.plan.kind == walkIndex && idx.unique
		if !s.unique && (relkind == "r" || relkind == "p" || relkind == "m") {
			s.tiebreak = ", t.ctid"
		}
		if s.plan.kind == walkBlocks {
			if err := s.readBlockStats(ctx, tx); err != nil {
				return err
			}
		}
		// Fail now, with the server's words, on a missing SELECT grant.
		q, args := s.pageQuery(modeFirst, "", 0, 0, 0)
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if s.plan.kind == walkSorted {
			s.warnings = append(s.warnings, s.plan.describe(o.Table))
		}
		return nil
	})
}

func readColumns(ctx context.Context, tx pgx.Tx, relid uint32) ([]column, error) {
	rows, err := tx.Query(ctx, `
SELECT a.attname::text,
       (CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE a.atttypid END)::regtype::text,
       format_type(a.atttypid, a.atttypmod),
       a.attcollation::oid
FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, relid)
	if err != nil {
		return nil, err
	}
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ, &c.typeSQL, &c.collation); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

func findColumn(cols []column, name string) (column, bool) {
	for _, c := range cols {
		if c.name == name {
			return c, true
		}
	}
	return column{}, false
}

// isBytewise reports whether a collation orders text as the C locale does
// (bytewise), either itself or as the database default.
func isBytewise(ctx context.Context, tx pgx.Tx, collation uint32) (bool, error) {
	if collation == 0 {
		return false, nil
	}
	var ok *bool
	err := tx.QueryRow(ctx, `
SELECT CASE WHEN co.collprovider = 'd' THEN
         (SELECT d.datcollate IN ('C', 'POSIX') AND coalesce(to_jsonb(d)->>'datlocprovider', 'c') = 'c'
          FROM pg_database d WHERE d.datname = current_database())
       ELSE co.collprovider = 'c' AND co.collcollate IN ('C', 'POSIX') END
FROM pg_collation co WHERE co.oid = $1`, collation).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return ok != nil && *ok, err
}
