package leveldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// maxVanishRetries is how many reopens a missing table file gets at one
// cursor before it is reported as damage rather than the app's compaction,
// when the MANIFEST has not moved since the view was opened (see
// Store.moved); while it moves, a Scan reopens up to maxMovedReopens times.
const (
	maxVanishRetries = 2
	maxMovedReopens  = 1000
)

// scanRO reads strictly: a damaged block stops the iterator with an error
// naming it. Scans do not fill the block cache.
var scanRO = &opt.ReadOptions{DontFillCache: true}

// Scan calls fn for each record strictly after the key `after` (nil: from
// the first), in bytewise key order, with the prefix stripped from
// Record.Key. It reads ChunkSize records per iterator and re-seeks after the
// last key, so no view is pinned for a whole pass.
//
// A table file that vanished (the app compacted since the last open) makes
// Scan reopen and resume from its cursor; a table file still missing after
// the reopen, or a damaged block, becomes one Record whose Err is a
// *CorruptionError, and the walk resumes at the next readable key.
// Scan returns an error wrapping store.ErrUnavailable when the database
// cannot be read at all; the caller retries from its last cursor.
func (s *Store) Scan(ctx context.Context, after []byte, fn func(store.Record) error) error {
	w := walk{s: s, fn: fn}
	// start is the first full key the next chunk may yield: the smallest
	// key strictly after `after` is `after` followed by a zero byte.
	w.start = append(bytes.Clone(s.prefix), after...)
	if after != nil {
		w.start = append(w.start, 0)
		w.lastGood = bytes.Clone(after)
		w.haveGood = true
	}
	var reopenedAt []byte // start of the chunk that last triggered a reopen
	retries, moved := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := w.chunk()
		if err == nil {
			if done {
				return nil
			}
			continue
		}
		var cb callbackError
		if errors.As(err, &cb) {
			return cb.err
		}
		switch {
		case isMissingTable(err) && w.view != nil && s.moved(w.view) && moved < maxMovedReopens:
			// The app compacted since this view was opened (its MANIFEST
			// moved on): not damage, however often it happens at this
			// cursor, as on a loaded machine where an open can take
			// longer than the app's next compaction.
			moved++
			s.log.Info("LevelDB table file vanished under the walk; reopening and resuming", "path", s.path, "file", damagedFile(err))
			if rerr := s.Reopen(); rerr != nil {
				return rerr
			}
		case isMissingTable(err) && (retries < maxVanishRetries || !bytes.Equal(reopenedAt, w.start)):
			// The app compacted while we held an old view: not damage.
			if !bytes.Equal(reopenedAt, w.start) {
				reopenedAt, retries = bytes.Clone(w.start), 0
			}
			retries++
			s.log.Info("LevelDB table file vanished under the walk; reopening and resuming", "path", s.path, "file", damagedFile(err))
			if rerr := s.Reopen(); rerr != nil {
				return rerr
			}
		case isCorrupted(err):
			done, derr := w.damage(ctx, err)
			if derr != nil {
				return derr
			}
			if done {
				return nil
			}
		default:
			return fmt.Errorf("scan LevelDB %q: %w: %w", s.path, store.ErrUnavailable, err)
		}
	}
}

// walk is the state of one Scan.
type walk struct {
	s        *Store
	fn       func(store.Record) error
	start    []byte // next full key to read from (inclusive)
	lastGood []byte // last key yielded (prefix stripped), for damage messages
	haveGood bool
	view     *handle // the view the last chunk read
}

// callbackError carries fn's error out of a chunk unchanged.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// chunk reads up to ChunkSize records from w.start under one iterator.
// done is true when the prefix range is exhausted.
func (w *walk) chunk() (done bool, err error) {
	h, err := w.s.acquire()
	if err != nil {
		return false, err
	}
	defer h.refs.Done()
	w.view = h
	it := h.db.NewIterator(&util.Range{Start: w.start, Limit: w.s.limit}, scanRO)
	defer it.Release()
	n := 0
	plen := len(w.s.prefix)
	for it.Next() {
		k := it.Key()
		if err := w.fn(store.Record{Key: k[plen:], Value: it.Value()}); err != nil {
			return false, callbackError{err}
		}
		w.lastGood = append(w.lastGood[:0], k[plen:]...)
		w.haveGood = true
		w.start = append(append(w.start[:0], k...), 0)
		n++
		if n == w.s.chunk {
			return false, it.Error()
		}
	}
	if err := it.Error(); err != nil {
		return false, err
	}
	return true, nil
}

// isCorrupted reports whether err is goleveldb corruption (a damaged
// block, a missing table file reported by roStorage).
func isCorrupted(err error) bool {
	var ce *lerrors.ErrCorrupted
	return errors.As(err, &ce) || lerrors.IsCorrupted(err)
}

// isMissingTable reports whether err is a table file that is not on disk.
func isMissingTable(err error) bool {
	var ce *lerrors.ErrCorrupted
	if !errors.As(err, &ce) {
		return false
	}
	var mt *missingTableError
	return errors.As(ce.Err, &mt)
}
