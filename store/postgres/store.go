// Package postgres reads sigil records from a PostgreSQL table, strictly
// read-only, in the order an existing index on the key column serves
// (keyset pagination: every page is an index range scan), or, with no such
// index, in physical order by ranges of heap blocks (TID range scans).
//
// Every query runs in its own READ ONLY transaction with a statement timeout
// and a short lock timeout; a page is read whole and the transaction ended
// before the caller sees its first record, so a slow caller never holds a
// snapshot or a lock.
//
// It owns everything SQL (pgx): no other package but tests and pgtest
// imports pgx. It must not import collector/ or exporter/.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigil/sigil-integrity-exporter/store"
)

var (
	_ store.Store      = (*Store)(nil)
	_ store.Estimator  = (*Store)(nil)
	_ store.Orderer    = (*Store)(nil)
	_ store.KeyCounter = (*Store)(nil)
)

// lockTimeout bounds how long a read waits behind an exclusive lock (DDL,
// VACUUM FULL): waiting longer would queue the app's writers behind us.
const lockTimeout = "2s"

// Store is a PostgreSQL table of sigil records. Build it with Open.
type Store struct {
	pool  *pgxpool.Pool
	opts  Options
	table string // quoted identifier
	relid uint32

	plan      plan
	valueExpr string // the record document's bytes
	tiebreak  string // ", t.ctid" when ids may repeat, else ""
	unique    bool   // a unique index on the key: no duplicates possible
	warnings  []string
	rng       shardRange // the share of the walk this store reads (Options.Shards)
	blockSize int64      // the server's block size (walkBlocks)
	perBlock  float64    // rows per heap block, estimated at open (walkBlocks)
}

// Name is the store's label value.
func (s *Store) Name() string { return "postgres" }

// Warnings lists conditions the caller should log once at startup: jsonb
// columns that make js-mode checksums unreproducible, and a table that can
// only be walked by sorting (a view without an index).
func (s *Store) Warnings() []string { return append([]string(nil), s.warnings...) }

// Describe is one line for the startup log: the order the walk follows.
func (s *Store) Describe() string { return s.plan.describe(s.opts.Table) }

// Order is the walk's order: Bytewise for a C-collated text key, a uuid
// key, or a table walked by sorting; Grouped for other collations and
// integer keys (the index's order); Unordered without an index.
func (s *Store) Order() store.Order { return s.plan.order }

// Compare orders two keys' texts: numerically for an integer key (the
// walk's order), bytewise otherwise (the walk's order when Order is
// Bytewise). It is 0 exactly when the keys are equal.
func (s *Store) Compare(a, b []byte) int { return s.plan.compare(a, b) }

// Close releases the connections. It never writes.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// readTx runs fn in a READ ONLY transaction with the statement and lock
// timeouts set, and classifies its error.
//
// The server enforces the statement timeout; a client-side deadline a
// little longer bounds what the server cannot: a network cut that leaves
// the connection silent (no reset, no answer) would otherwise hang the
// walk until TCP gives up, minutes later.
func (s *Store) readTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	grace := max(time.Second, s.opts.StatementTimeout/2)
	ctx, cancel := context.WithTimeoutCause(ctx, s.opts.StatementTimeout+grace,
		fmt.Errorf("%w: no answer from PostgreSQL within %s (network cut or server stalled)", store.ErrUnavailable, s.opts.StatementTimeout+grace))
	defer cancel()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return classify(ctx, what, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		tx.Rollback(rctx) //nolint:errcheck // read-only: nothing to undo
	}()
	timeout := fmt.Sprintf("%dms", s.opts.StatementTimeout.Milliseconds())
	if _, err := tx.Exec(ctx, readSettings, timeout, lockTimeout); err != nil {
		return classify(ctx, what, err)
	}
	if err := fn(tx); err != nil {
		return classify(ctx, what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return classify(ctx, what, err)
	}
	return nil
}

// readSettings is what every read transaction sets, for itself only:
//   - statement_timeout and lock_timeout ($1, $2): a stalled read gives up.
//   - enable_sort off: the walk's pages are meant to be index range scans,
//     and a planner that misjudges a small table must not sort it.
//   - jit off: a plan the planner was kept from (enable_sort off) costs
//     10^10, far above jit_above_cost, and JIT-compiling a one-row lookup
//     took 40-90 ms of server CPU against well under 1 ms to run it. None of
//     our queries gains from JIT.
const readSettings = `SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true), set_config('enable_sort', 'off', true), set_config('jit', 'off', true)`

// readPipelined runs one query in a READ ONLY transaction with the same
// settings as readTx, but sends BEGIN, the settings, the query and COMMIT
// in one pipeline: one round trip per page instead of four, which is most
// of a page's cost when the server is busy. each is called for every row.
// A failed query leaves the connection in an aborted transaction, which
// the pool then discards.
func (s *Store) readPipelined(ctx context.Context, what, q string, args []any, each func(pgx.Rows) error) error {
	grace := max(time.Second, s.opts.StatementTimeout/2)
	ctx, cancel := context.WithTimeoutCause(ctx, s.opts.StatementTimeout+grace,
		fmt.Errorf("%w: no answer from PostgreSQL within %s (network cut or server stalled)", store.ErrUnavailable, s.opts.StatementTimeout+grace))
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(ctx, what, err)
	}
	defer conn.Release()
	timeout := fmt.Sprintf("%dms", s.opts.StatementTimeout.Milliseconds())
	b := &pgx.Batch{}
	b.Queue(`BEGIN TRANSACTION READ ONLY`)
	b.Queue(readSettings, timeout, lockTimeout)
	b.Queue(q, args...)
	b.Queue(`COMMIT`)
	br := conn.SendBatch(ctx, b)
	err = func() error {
		for i := 0; i < 2; i++ {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := each(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = br.Exec()
		return err
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return classify(ctx, what, err)
}

// Get re-reads one record by key. With duplicate ids it returns the first
// in scan order. A NULL record column is found with a nil value.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	if !s.plan.validKey(key) {
		return nil, false, nil
	}
	q := fmt.Sprintf(`SELECT %s FROM %s AS t WHERE %s = %s`, s.valueExpr, s.table, s.plan.keyOrder, s.plan.param(1))
	if s.tiebreak != "" {
		q += " ORDER BY t.ctid"
	}
	q += " LIMIT 1"
	var value []byte
	found := false
	err := s.readTx(ctx, "get postgres record", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, string(key))
		if err != nil {
			return err
		}
		defer rows.Close()
		if rows.Next() {
			found = true
			if err := rows.Scan(&value); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, false, err
	}
	return value, found, nil
}

// smallTable is the size under which EstimateCount counts exactly when the
// planner's statistics are missing.
const smallTable = 256 << 20

// EstimateCount returns the planner's row estimate (pg_class.reltuples,
// summed over partitions), divided by Shards when the store walks a shard. When the table was never analyzed and is small,
// it counts the rows instead; a large unanalyzed table estimates 0.
func (s *Store) EstimateCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.readTx(ctx, "estimate postgres row count", func(tx pgx.Tx) error {
		var size int64
		err := tx.QueryRow(ctx, `
SELECT coalesce(sum(c.reltuples) FILTER (WHERE c.reltuples > 0), 0)::bigint,
       coalesce(sum(pg_relation_size(c.oid)), 0)::bigint
FROM pg_class c
WHERE c.oid = $1::oid OR c.oid IN (SELECT relid FROM pg_partition_tree($1::oid::regclass))`, s.relid).Scan(&n, &size)
		if err != nil {
			return err
		}
		if n > 0 || size > smallTable {
			if s.sharded() {
				n /= int64(s.opts.Shards)
			}
			return nil
		}
		start := time.Now()
		err = tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, s.table)).Scan(&n)
		s.opts.Logger.Debug("postgres table never analyzed: counted rows", "rows", n, "took", time.Since(start))
		if s.sharded() {
			n /= int64(s.opts.Shards)
		}
		return err
	})
	return n, err
}
