package leveldb

import (
	"context"
	"fmt"

	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// estimateSample is how many records EstimateCount reads.
const estimateSample = 1000

// EstimateCount estimates the records under the prefix without a full walk:
// it reads the first 1000 records (exact when there are no more), then
// scales by the on-disk size of the whole prefix range over the on-disk size
// of the sampled range (goleveldb's SizeOf: table bytes, block-granular).
// Records still only in the journal are not in SizeOf; when the sample's
// range has no table bytes at all, it counts with a full walk instead.
// Damaged blocks are read past (lenient reads), so damage near the start
// does not pass for the end of the data. The estimate is only for pacing a
// first pass.
func (s *Store) EstimateCount(ctx context.Context) (int64, error) {
	h, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer h.refs.Done()
	start := s.prefix
	it := h.db.NewIterator(&util.Range{Start: start, Limit: s.limit}, lenientRO)
	var n int64
	var last []byte
	for n < estimateSample && it.Next() {
		n++
		last = append(last[:0], it.Key()...)
	}
	more := n == estimateSample && it.Next()
	err = it.Error()
	it.Release()
	if err != nil && !isCorrupted(err) {
		return 0, fmt.Errorf("estimate records in LevelDB %q: %w: %w", s.path, store.ErrUnavailable, err)
	}
	if !more {
		return n, nil
	}
	sizes, err := h.db.SizeOf([]util.Range{
		{Start: start, Limit: append(last, 0)},
		{Start: start, Limit: s.limit},
	})
	if err != nil {
		return 0, fmt.Errorf("estimate records in LevelDB %q: %w: %w", s.path, store.ErrUnavailable, err)
	}
	if sizes[0] > 0 {
		est := int64(float64(sizes[1]) / float64(sizes[0]) * float64(n))
		return max(est, n+1), nil
	}
	// Everything sampled is in the journal: count the keys.
	it = h.db.NewIterator(&util.Range{Start: start, Limit: s.limit}, lenientRO)
	defer it.Release()
	n = 0
	for it.Next() {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		n++
	}
	return n, nil
}
