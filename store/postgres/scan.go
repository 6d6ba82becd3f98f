package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// pageMode selects the WHERE clause of a page query.
type pageMode int

const (
	modeFirst pageMode = iota // from the first key
	modeAfter                 // strictly after $2
	modeFrom                  // from $2 inclusive: resumes inside a run of duplicate ids
)

// pageSQL is the keyset query for one page. $1 is the row limit, $2 the key.
// Identifiers come from Sanitize, never from raw user text.
func (s *Store) pageSQL(mode pageMode) string {
	var where string
	switch mode {
	case modeFirst:
		where = s.keyExpr + " IS NOT NULL"
	case modeAfter:
		where = s.keyExpr + " > $2"
	case modeFrom:
		where = s.keyExpr + " >= $2"
	}
	return fmt.Sprintf(`SELECT %s, %s FROM %s AS t WHERE %s ORDER BY %s%s LIMIT $1`,
		s.keyExpr, s.valueExpr, s.table, where, s.keyExpr, s.tiebreak)
}

type row struct {
	key   string
	value []byte
}

// Scan calls fn for each record strictly after `after` (nil: from the
// first), in bytewise key order. Rows whose key is NULL are not records and
// are not walked. Duplicate ids come out adjacent, each row once, in ctid
// order. Each page is read in its own read-only transaction, which ends
// before fn sees the page. A server that goes away mid-scan makes Scan
// return an error wrapping store.ErrUnavailable; the caller resumes from
// the last key it saw (a resumed cursor inside a run of duplicates skips the
// rest of that run, as the cursor cannot name a row, only a key).
func (s *Store) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	mode := modeFirst
	var last string
	if after != nil {
		mode, last = modeAfter, string(after)
	}
	seen := 0 // rows with key == last already yielded by this call
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		limit := s.opts.PageSize
		if mode == modeFrom {
			limit += seen
		}
		start := time.Now()
		page, err := s.readPage(ctx, mode, last, limit)
		if err != nil {
			return err
		}
		s.opts.Logger.Debug("postgres page read", "rows", len(page), "took", time.Since(start))
		rows := page
		if mode == modeFrom {
			skip := 0
			for skip < len(rows) && skip < seen && rows[skip].key == last {
				skip++
			}
			rows = rows[skip:]
		}
		for _, r := range rows {
			if r.key == last {
				seen++
			} else {
				last, seen = r.key, 1
			}
			if err := fn(store.Record{Key: []byte(r.key), Value: r.value}); err != nil {
				return err
			}
		}
		if len(page) < limit {
			return nil
		}
		if len(rows) == 0 {
			// A full page of rows we had already yielded: cannot
			// happen with a stable ctid order, but never loop.
			return fmt.Errorf("postgres scan of %s made no progress at key %q: %w", s.opts.Table, last, store.ErrUnavailable)
		}
		if s.unique {
			mode = modeAfter
		} else {
			mode = modeFrom
		}
	}
}

// readPage reads one page whole, so that its transaction ends before the
// caller's (possibly paced, slow) callback runs.
func (s *Store) readPage(ctx context.Context, mode pageMode, last string, limit int) ([]row, error) {
	args := []any{limit}
	if mode != modeFirst {
		args = append(args, last)
	}
	var page []row
	err := s.readTx(ctx, "read postgres table "+s.opts.Table, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, s.pageSQL(mode), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.key, &r.value); err != nil {
				return err
			}
			page = append(page, r)
		}
		return rows.Err()
	})
	return page, err
}
