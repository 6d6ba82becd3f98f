package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// A table with no btree index on the key column is walked in physical
// order: each page reads a range of heap blocks with a TID range scan
// (`ctid >= '(b,0)' AND ctid < '(b+n,0)'`, PostgreSQL 14+), which reads
// those blocks and nothing else, so a pass is linear in the table's size.
// The resume cursor is the last block read ("block:N"), carried in
// Record.Cursor; the rows of one block share it.
//
// Rows the app updates during a pass move to a new ctid: a row moved ahead
// of the walk is read twice (CountKeys lets the caller tell that from a
// real duplicate), a row moved behind it is read next pass (the missing
// check re-reads a key before reporting it, so it is not reported).

const blockCursorPrefix = "block:"

func blockCursor(block int64) []byte {
	return strconv.AppendInt([]byte(blockCursorPrefix), block, 10)
}

// parseBlockCursor returns the block to start from after cursor.
func parseBlockCursor(cursor []byte) (int64, bool) {
	s, ok := strings.CutPrefix(string(cursor), blockCursorPrefix)
	if !ok {
		return 0, false
	}
	b, err := strconv.ParseInt(s, 10, 64)
	return b + 1, err == nil && b >= 0
}

// readBlockStats reads the block size and the planner's rows per block.
func (s *Store) readBlockStats(ctx context.Context, tx pgx.Tx) error {
	var tuples float64
	var pages int64
	err := tx.QueryRow(ctx, `SELECT current_setting('block_size')::bigint, c.reltuples::float8, c.relpages::bigint
FROM pg_class c WHERE c.oid = $1`, s.relid).Scan(&s.blockSize, &tuples, &pages)
	if err != nil {
		return err
	}
	s.perBlock = 4 // unknown: a guess that the first pages correct
	if tuples > 0 && pages > 0 {
		s.perBlock = max(tuples/float64(pages), 0.1)
	}
	return nil
}

// blocks is the table's current size in blocks.
func (s *Store) blocks(ctx context.Context) (int64, error) {
	var n int64
	err := s.readTx(ctx, "size postgres table "+s.opts.Table, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT pg_relation_size($1::oid::regclass) / $2::bigint`, s.relid, s.blockSize).Scan(&n)
	})
	return n, err
}

// blockEnd is where the walk ends: the table's size, or the shard's end.
func (s *Store) blockEnd(ctx context.Context) (int64, error) {
	n, err := s.blocks(ctx)
	if s.sharded() && s.rng.hiBlk >= 0 {
		n = min(n, s.rng.hiBlk)
	}
	return n, err
}

func (s *Store) scanBlocks(ctx context.Context, after []byte, fn func(store.Record) error) error {
	var from int64
	if after != nil {
		b, ok := parseBlockCursor(after)
		if !ok {
			s.opts.Logger.Warn("saved cursor is not a block position of this table; walking from the start", "table", s.opts.Table)
		} else {
			from = b
		}
	}
	from = max(from, s.rng.loBlock)
	end, err := s.blockEnd(ctx)
	if err != nil {
		return err
	}
	size := s.opts.PageSize
	if hint := store.ScanHint(ctx); hint > 0 {
		size = min(size, hint) // a paced caller: read about what it needs
	}
	span := max(int64(1), int64(float64(size)/s.perBlock))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if from >= end {
			// The table may have grown during the walk.
			if end, err = s.blockEnd(ctx); err != nil {
				return err
			}
			if from >= end {
				return nil
			}
		}
		to := min(from+span, end)
		start := time.Now()
		page, err := s.readBlocks(ctx, from, to)
		if err != nil {
			return err
		}
		s.opts.Logger.Debug("postgres block range read", "from", from, "to", to, "rows", len(page), "took", time.Since(start))
		var cursor []byte
		cb := int64(-1)
		for _, r := range page {
			if r.block != cb {
				cb, cursor = r.block, blockCursor(r.block)
			}
			if err := fn(store.Record{Key: r.key, Value: r.value, Cursor: cursor}); err != nil {
				return err
			}
		}
		// Keep pages near PageSize rows whatever the row width.
		switch n := len(page); {
		case n > 2*size && span > 1:
			span /= 2
		case n < size/2 && span < 1<<20:
			span *= 2
		}
		from = to
	}
}

func (s *Store) readBlocks(ctx context.Context, from, to int64) ([]row, error) {
	q, args := s.pageQuery(modeFirst, "", 0, from, to)
	var page []row
	var a pageArena
	var block int64
	err := s.readPipelined(ctx, "read postgres table "+s.opts.Table, q, args, func(rows pgx.Rows) error {
		r, err := a.scanRow(rows, &block)
		if err != nil {
			return err
		}
		page = append(page, r)
		return nil
	})
	return page, err
}

// CountKeys returns how many rows hold each key now (absent keys are left
// out). Without an index this reads the table once per call, however many
// keys it is given.
func (s *Store) CountKeys(ctx context.Context, keys [][]byte) (map[string]int64, error) {
	texts := make([]string, 0, len(keys))
	for _, k := range keys {
		if s.plan.validKey(k) {
			texts = append(texts, string(k))
		}
	}
	counts := map[string]int64{}
	if len(texts) == 0 {
		return counts, nil
	}
	arr := "$1::text[]"
	if !isTextType(s.plan.keyType) && s.plan.kind != walkSorted {
		arr = "CAST($1::text[] AS " + s.plan.typeSQL + "[])"
	}
	q := fmt.Sprintf(`SELECT %s, count(*) FROM %s AS t WHERE %s = ANY(%s) GROUP BY 1`, s.plan.keyText, s.table, s.plan.keyOrder, arr)
	err := s.readTx(ctx, "count keys in postgres table "+s.opts.Table, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, texts)
		if err != nil {
			return err
		}
		var k string
		var n int64
		_, err = pgx.ForEachRow(rows, []any{&k, &n}, func() error {
			counts[k] = n
			return nil
		})
		return err
	})
	return counts, err
}
