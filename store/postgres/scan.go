package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// pageMode selects the WHERE clause of a keyset page query.
type pageMode int

const (
	modeFirst pageMode = iota // from the first key
	modeAfter                 // strictly after $2
	modeFrom                  // from $2 inclusive: resumes inside a run of duplicate ids
)

// keysetSQL is the keyset query for one page. $1 is the row limit; the
// key after which the page starts (modeAfter, modeFrom) and the shard's
// range (Options.Shards) are text parameters cast to the key's type.
// Identifiers come from Sanitize, never from raw user text. With an index
// on the key, the WHERE and ORDER BY are on the key in its own type and
// the index's collation, so the page is an index range scan.
func (s *Store) keysetSQL(mode pageMode, last string, limit int) (string, []any) {
	args := []any{limit}
	arg := func(v string) string {
		args = append(args, v)
		return s.plan.param(len(args))
	}
	k := s.plan.keyOrder
	var conds []string
	switch mode {
	case modeFirst:
		conds = append(conds, k+" IS NOT NULL")
	case modeAfter:
		conds = append(conds, k+" > "+arg(last))
	case modeFrom:
		conds = append(conds, k+" >= "+arg(last))
	}
	if s.rng.lo != nil {
		conds = append(conds, k+" >= "+arg(*s.rng.lo))
	}
	if s.rng.hi != nil {
		conds = append(conds, k+" < "+arg(*s.rng.hi))
	}
	return fmt.Sprintf(`SELECT %s, %s FROM %s AS t WHERE %s ORDER BY %s%s LIMIT $1`,
		s.plan.keyText, s.valueExpr, s.table, strings.Join(conds, " AND "), k, s.tiebreak), args
}

// blockSQL reads the rows of heap blocks [$1, $2) with a TID range scan.
func (s *Store) blockSQL() string {
	return fmt.Sprintf(`SELECT (t.ctid::text::point)[0]::bigint, %s, %s FROM %s AS t
WHERE t.ctid >= $1::tid AND t.ctid < $2::tid AND %s IS NOT NULL`,
		s.plan.keyText, s.valueExpr, s.table, s.plan.keyCol)
}

// pageQuery is the SQL and arguments of one page: a keyset page after
// `last` (walkIndex, walkSorted), or blocks [from, to) (walkBlocks).
func (s *Store) pageQuery(mode pageMode, last string, limit int, from, to int64) (string, []any) {
	if s.plan.kind == walkBlocks {
		return s.blockSQL(), []any{tid(from), tid(to)}
	}
	return s.keysetSQL(mode, last, limit)
}

func tid(block int64) string { return fmt.Sprintf("(%d,0)", block) }

type row struct {
	block      int64
	key, value []byte // in the page's arena; value nil for SQL NULL
}

// pageArena holds a page's keys and values in a few large blocks, copied
// out of pgx's read buffer (pgtype.DriverBytes): no allocation per row.
// A page's rows are handed on as records, so blocks are never reused.
type pageArena struct{ buf []byte }

func (a *pageArena) copy(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(a.buf)+len(b) > cap(a.buf) {
		a.buf = make([]byte, 0, max(256<<10, len(b)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// scanRow reads a row's key and value (after the block number when block
// is not nil) into the arena.
func (a *pageArena) scanRow(rows pgx.Rows, block *int64) (row, error) {
	var k, v pgtype.DriverBytes
	var err error
	if block != nil {
		err = rows.Scan(block, &k, &v)
	} else {
		err = rows.Scan(&k, &v)
	}
	r := row{key: a.copy(k), value: a.copy(v)}
	if block != nil {
		r.block = *block
	}
	return r, err
}

// Scan calls fn for each record strictly after `after` (nil: from the
// first), in the walk's order (see Order). Rows whose key is NULL are not
// records and are not walked. With an index, `after` is a key and
// duplicate ids come out adjacent, each row once, in ctid order; without
// one, `after` is a block position (Record.Cursor) and rows come in
// physical order. Each page is read in its own read-only transaction,
// which ends before fn sees the page. A server that goes away mid-scan
// makes Scan return an error wrapping store.ErrUnavailable; the caller
// resumes from the last key (or cursor) it saw (a resumed key cursor
// inside a run of duplicates skips the rest of that run, as the cursor
// cannot name a row, only a key).
func (s *Store) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	if s.sharded() && (after == nil || !s.rng.ready) {
		if err := s.computeRange(ctx); err != nil {
			return err
		}
	}
	if s.plan.kind == walkBlocks {
		return s.scanBlocks(ctx, after, fn)
	}
	hashed := s.sharded() && s.plan.kind == walkSorted
	hint := store.ScanHint(ctx) // 0: the caller reads everything
	size := s.opts.PageSize
	if hint > 0 {
		size = min(size, hint)
	}
	req := pageReq{mode: modeFirst, limit: size}
	if after != nil {
		if !s.plan.validKey(after) {
			// A cursor saved by another kind of walk (the table's index
			// changed): start over rather than fail every page.
			s.opts.Logger.Warn("saved cursor is not a key of this table; walking from the start", "table", s.opts.Table)
		} else {
			req.mode, req.last = modeAfter, string(after)
		}
	}
	// Without a hint, one page is read ahead while fn consumes the
	// current one, so the server's time and the caller's overlap. A
	// paced caller (a hint) gets pages of its size and no read-ahead.
	ctx, cancel := context.WithCancel(ctx)
	var inflight *fetch
	defer func() {
		cancel()
		if inflight != nil {
			<-inflight.done
		}
	}()
	inflight = s.fetch(ctx, func(ctx context.Context) ([]row, error) { return s.readPage(ctx, req) })
	yielded := 0
	for {
		<-inflight.done
		page, err := inflight.page, inflight.err
		inflight = nil
		if err != nil {
			return err
		}
		if hint == 0 && size < fullSpeedPages*s.opts.PageSize {
			// A caller that reads everything gets larger pages, up to
			// fullSpeedPages times the page size: fewer round trips.
			size = min(2*size, fullSpeedPages*s.opts.PageSize)
		}
		rows, next, more, err := s.nextPage(req, page, size)
		if err != nil {
			return err
		}
		yielded += len(rows)
		if more && (hint == 0 || yielded < hint) {
			inflight = s.fetch(ctx, func(ctx context.Context) ([]row, error) { return s.readPage(ctx, next) })
		}
		for _, r := range rows {
			if hashed && !s.hashShare(r.key) {
				continue
			}
			if err := fn(store.Record{Key: r.key, Value: r.value}); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		req = next
		if inflight == nil {
			inflight = s.fetch(ctx, func(ctx context.Context) ([]row, error) { return s.readPage(ctx, next) })
		}
	}
}

// fullSpeedPages bounds how far pages grow when the caller reads the whole
// table (no scan hint): 8 × 500 rows of 1 KiB is 4 MiB a page.
const fullSpeedPages = 8

// pageReq is one keyset page to read: where it starts and how many rows.
type pageReq struct {
	mode  pageMode
	last  string
	limit int
	seen  int // rows with key == last already yielded (modeFrom skips them)
}

// nextPage trims the rows of req's page that were yielded before (a run
// of duplicate ids across pages) and works out the next page's request.
func (s *Store) nextPage(req pageReq, page []row, size int) (rows []row, next pageReq, more bool, err error) {
	rows = page
	if req.mode == modeFrom {
		skip := 0
		for skip < len(rows) && skip < req.seen && string(rows[skip].key) == req.last {
			skip++
		}
		rows = rows[skip:]
	}
	next = req
	var lastKey []byte // nil: still next.last
	for _, r := range rows {
		if lastKey == nil && string(r.key) == next.last || lastKey != nil && bytes.Equal(r.key, lastKey) {
			next.seen++
		} else {
			lastKey, next.seen = r.key, 1
		}
	}
	if lastKey != nil {
		next.last = string(lastKey)
	}
	if len(page) < req.limit {
		return rows, next, false, nil
	}
	if len(rows) == 0 {
		// A full page of rows we had already yielded: cannot happen
		// with a stable ctid order, but never loop.
		return nil, next, false, fmt.Errorf("postgres scan of %s made no progress at key %q: %w", s.opts.Table, req.last, store.ErrUnavailable)
	}
	next.mode, next.limit = modeAfter, size
	if !s.unique {
		next.mode, next.limit = modeFrom, size+next.seen
	}
	return rows, next, true, nil
}

// fetch is a page being read in the background.
type fetch struct {
	page []row
	err  error
	done chan struct{}
}

func (s *Store) fetch(ctx context.Context, read func(context.Context) ([]row, error)) *fetch {
	f := &fetch{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if err := ctx.Err(); err != nil {
			f.err = err
			return
		}
		start := time.Now()
		f.page, f.err = read(ctx)
		s.opts.Logger.Debug("postgres page read", "rows", len(f.page), "took", time.Since(start))
	}()
	return f
}

// readPage reads one keyset page whole, so that its transaction ends
// before the caller's (possibly paced, slow) callback runs.
func (s *Store) readPage(ctx context.Context, req pageReq) ([]row, error) {
	q, args := s.pageQuery(req.mode, req.last, req.limit, 0, 0)
	var page []row
	var a pageArena
	err := s.readPipelined(ctx, "read postgres table "+s.opts.Table, q, args, func(rows pgx.Rows) error {
		r, err := a.scanRow(rows, nil)
		if err != nil {
			return err
		}
		page = append(page, r)
		return nil
	})
	return page, err
}

// ExplainPage runs EXPLAIN (ANALYZE, BUFFERS) on the page the walk reads
// after `after` (nil: the first page), in the walk's own read-only
// transaction settings, and returns the plan as text: what one page costs
// the server (for docs/PERFORMANCE.md and an operator's doubts).
func (s *Store) ExplainPage(ctx context.Context, after []byte) (string, error) {
	var q string
	var args []any
	switch {
	case s.plan.kind == walkBlocks:
		from, ok := parseBlockCursor(after)
		if !ok {
			from = 0
		}
		span := max(int64(1), int64(float64(s.opts.PageSize)/s.perBlock))
		q, args = s.pageQuery(modeFirst, "", 0, from, from+span)
	case after == nil:
		q, args = s.pageQuery(modeFirst, "", s.opts.PageSize, 0, 0)
	default:
		q, args = s.pageQuery(modeAfter, string(after), s.opts.PageSize, 0, 0)
	}
	var out []string
	err := s.readTx(ctx, "explain postgres page", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return strings.Join(out, "\n"), err
}
