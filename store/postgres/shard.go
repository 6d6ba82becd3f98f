package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
)

// A sharded store (Options.Shards > 1) walks one of N ranges of the walk's
// own order, so that N replicas each read about 1/N of the table:
//
//   - walkIndex: N-1 boundary keys, taken from the key column's pg_stats
//     histogram (equal-frequency bounds, as ANALYZE last saw the table) or,
//     with no statistics or many repeated ids, from the index at offsets of
//     1/N of the estimated row count (an index-only read of up to the
//     whole index, once per pass). Shard i reads keys in [bound[i-1], bound[i]); the first
//     shard is open below, the last open above, so every key belongs to a
//     shard.
//   - walkBlocks: N ranges of heap blocks of the table's size at the start
//     of the pass; the last range is open-ended.
//   - walkSorted (a view): every replica reads everything and keeps the
//     keys whose FNV-1a hash falls in its shard.
//
// The boundaries are computed at the start of each pass (a Scan from nil)
// and kept until the next. Replicas compute them independently: if an
// ANALYZE moves the histogram between two replicas' pass starts, a key
// near a boundary may be read by two replicas or, for that night, by none.

// shardRange is the part of the walk order a shard reads.
type shardRange struct {
	ready          bool
	lo, hi         *string // keys (walkIndex): lo inclusive, hi exclusive; nil: open
	loBlock, hiBlk int64   // blocks (walkBlocks); hiBlk < 0: open
}

// sharded reports whether the store walks a share of the table.
func (s *Store) sharded() bool { return s.opts.Shards > 1 }

// hashShare reports whether a key belongs to this shard by hash (walkSorted).
func (s *Store) hashShare(key []byte) bool {
	h := fnv.New64a()
	h.Write(key)
	return h.Sum64()%uint64(s.opts.Shards) == uint64(s.opts.Shard)
}

// computeRange works out this shard's range.
func (s *Store) computeRange(ctx context.Context) error {
	r := shardRange{hiBlk: -1}
	switch s.plan.kind {
	case walkBlocks:
		n, err := s.blocks(ctx)
		if err != nil {
			return err
		}
		i, k := int64(s.opts.Shard), int64(s.opts.Shards)
		r.loBlock = n * i / k
		if i < k-1 {
			r.hiBlk = n * (i + 1) / k
		}
	case walkIndex:
		bounds, err := s.bounds(ctx)
		if err != nil {
			return err
		}
		if i := s.opts.Shard; i > 0 && i-1 < len(bounds) {
			r.lo = &bounds[i-1]
		}
		if i := s.opts.Shard; i < len(bounds) {
			r.hi = &bounds[i]
		}
		if s.opts.Shard > len(bounds) {
			// Fewer distinct bounds than shards (a tiny table): the
			// shards past them are empty.
			last := bounds[len(bounds)-1]
			r.lo, r.hi = &last, &last
		}
	}
	r.ready = true
	s.opts.Logger.Info("postgres shard range", "shard", fmt.Sprintf("%d/%d", s.opts.Shard, s.opts.Shards),
		"from", strOr(r.lo, "(first)"), "to", strOr(r.hi, "(last)"), "from_block", r.loBlock, "to_block", r.hiBlk)
	s.rng = r
	return nil
}

func strOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

// bounds returns up to Shards-1 distinct boundary keys in walk order.
func (s *Store) bounds(ctx context.Context) ([]string, error) {
	k := s.opts.Shards
	var picked []string
	err := s.readTx(ctx, "split postgres table "+s.opts.Table, func(tx pgx.Tx) error {
		var hist []string
		var common float64
		err := tx.QueryRow(ctx, `
SELECT st.histogram_bounds::text::text[], coalesce((SELECT sum(f) FROM unnest(st.most_common_freqs) f), 0)::float8
FROM pg_stats st JOIN pg_class c ON c.relname = st.tablename
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = st.schemaname
WHERE c.oid = $1 AND st.attname = $2 AND st.histogram_bounds IS NOT NULL
ORDER BY st.inherited DESC LIMIT 1`, s.relid, s.opts.KeyColumn).Scan(&hist, &common)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// The histogram leaves out the most common values: it only
		// splits the rows evenly when they are few (unique keys).
		if len(hist) >= k && common < 0.05 {
			for j := 1; j < k; j++ {
				picked = append(picked, hist[j*(len(hist)-1)/k])
			}
			return nil
		}
		// No statistics: offsets in the index.
		var rows float64
		if err := tx.QueryRow(ctx, `SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = $1`, s.relid).Scan(&rows); err != nil {
			return err
		}
		if rows == 0 {
			if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*)::float8 FROM %s`, s.table)).Scan(&rows); err != nil {
				return err
			}
		}
		q := fmt.Sprintf(`SELECT %s FROM %s AS t WHERE %s IS NOT NULL ORDER BY %s OFFSET $1 LIMIT 1`, s.plan.keyText, s.table, s.plan.keyOrder, s.plan.keyOrder)
		for j := 1; j < k; j++ {
			var b string
			err := tx.QueryRow(ctx, q, int64(rows*float64(j)/float64(k))).Scan(&b)
			if errors.Is(err, pgx.ErrNoRows) {
				break
			}
			if err != nil {
				return err
			}
			picked = append(picked, b)
		}
		return nil
	})
	if err != nil || len(picked) == 0 {
		return picked, err
	}
	// The histogram is in the column's collation; the walk may follow an
	// index in another: let the server order the bounds the walk's way.
	var sorted []string
	err = s.readTx(ctx, "split postgres table "+s.opts.Table, func(tx pgx.Tx) error {
		col := pgx.Identifier{s.opts.KeyColumn}.Sanitize()
		q := fmt.Sprintf(`SELECT DISTINCT %[1]s, %[2]s FROM (SELECT %[3]s AS %[4]s FROM unnest($1::text[]) u) AS t ORDER BY %[2]s`,
			s.plan.keyText, s.plan.keyOrder, s.castU(), col)
		rows, err := tx.Query(ctx, q, picked)
		if err != nil {
			return err
		}
		sorted, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
			var b string
			var order any // the key in the walk's order; only the text is kept
			err := row.Scan(&b, &order)
			return b, err
		})
		return err
	})
	return sorted, err
}

// castU is the text column u of unnest as a key value.
func (s *Store) castU() string {
	if isTextType(s.plan.keyType) {
		return "u"
	}
	return "CAST(u AS " + s.plan.typeSQL + ")"
}
