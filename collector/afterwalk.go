package collector

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// afterWalk does, once a walk that is not bytewise has reached its end,
// what a bytewise walk does as it goes: the missing check, and for an
// Unordered walk (a table without an index) the duplicate check. Both run
// on bytewise-sorted copies of the key lists (sortKeyList), so memory stays
// constant. It leaves the sorted copy of this pass's list beside it, for
// finishPass to keep as the last pass's.
func (r *Runner) afterWalk(ctx context.Context, cons *Consumer, open *openSet, keys *keyListWriter, order store.Order) error {
	if err := keys.sync(); err != nil {
		return err
	}
	dir, name := r.cfg.StateDir, r.Name()
	next := keysPath(dir, name, "next")
	if err := sortOrLink(keys, next); err != nil {
		return err
	}
	if order == store.Unordered {
		if err := r.duplicatesAfterWalk(ctx, cons, open, next+sortedSuffix); err != nil {
			return err
		}
	}
	r.mu.Lock()
	haveLast := r.last != nil
	r.mu.Unlock()
	if !haveLast {
		return nil
	}
	last, err := sortedKeyList(keysPath(dir, name, "last"))
	if err != nil {
		return fmt.Errorf("sort the last pass's key list: %w", err)
	}
	return missingSorted(last, next+sortedSuffix, func(key []byte) { r.noteMissing(ctx, cons, open, key) })
}

// sortOrLink makes next's bytewise-sorted copy: a hard link to next when
// the walk happened to come in bytewise order (a text key in a collation
// such as C.UTF-8 that sorts like bytes, which the store cannot promise),
// else an external sort. The link is safe: key lists are replaced by
// rename, never rewritten in place.
func sortOrLink(keys *keyListWriter, next string) error {
	dst := next + sortedSuffix
	if keys.inOrder {
		_ = os.Remove(dst) // a stale copy: best effort, Link says if it stays
		if os.Link(next, dst) == nil {
			return nil
		}
	}
	return sortKeyList(next, dst)
}

// missingSorted reports each key of the sorted list prev that the sorted
// list cur lacks.
func missingSorted(prev, cur string, missing func(key []byte)) error {
	rp, err := openKeyList(prev)
	if err != nil {
		return err
	}
	defer rp.close()
	rc, err := openKeyList(cur)
	if err != nil {
		return err
	}
	defer rc.close()
	var lastP, lastC []byte
	okP, okC := nextDistinct(rp, &lastP), nextDistinct(rc, &lastC)
	for okP {
		c := 1
		if okC {
			c = bytes.Compare(rp.key, rc.key)
		}
		switch {
		case c < 0 || !okC:
			missing(rp.key)
			okP = nextDistinct(rp, &lastP)
		case c > 0:
			okC = nextDistinct(rc, &lastC)
		default:
			okP, okC = nextDistinct(rp, &lastP), nextDistinct(rc, &lastC)
		}
	}
	if rp.err != nil {
		return rp.err
	}
	return rc.err
}

// dupBatch is how many repeated keys one CountKeys call confirms: without
// an index, each call reads the table once.
const dupBatch = 1000

// duplicatesAfterWalk finds the ids this pass saw more than once, in the
// sorted key list. Each extra occurrence whose record got as far as the
// checksum (non-zero sum: it would have been a duplicate in an ordered
// walk) is a `duplicate` failure, once the store confirms that the id is
// held by that many rows now: a row the app updated during the pass can
// move ahead of the walk and be read twice, which is not a duplicate (and
// is then counted once).
func (r *Runner) duplicatesAfterWalk(ctx context.Context, cons *Consumer, open *openSet, sorted string) error {
	rd, err := openKeyList(sorted)
	if err != nil {
		return err
	}
	defer rd.close()
	type run struct {
		key          []byte
		seen, extras int64
	}
	var batch []run
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var counts map[string]int64
		if kc, ok := r.cfg.Store.(store.KeyCounter); ok {
			ks := make([][]byte, len(batch))
			for i, b := range batch {
				ks[i] = b.key
			}
			if counts, err = kc.CountKeys(ctx, ks); err != nil {
				return err
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, b := range batch {
			extras := b.extras
			if counts != nil {
				now := counts[string(b.key)]
				extras = min(extras, max(now-1, 0))
				// Read more often than the store holds it: moved rows.
				if over := b.seen - max(now, 1); over > 0 {
					cons.Pass.Checked -= over
				}
			}
			for i := int64(0); i < extras; i++ {
				p := cons.Pass
				listed := len(p.Failures)
				p.AddFailure(report.Failure{ID: string(b.key), Reason: verify.CheckDuplicate, Key: cons.KeyPrefix + string(b.key),
					Detail: "the same id appears more than once in the store (found after the walk: the table has no index on the key)"})
				// Found again: the open duplicate of the last pass keeps
				// its first-seen time (and is not closed by carryOpen).
				prev, wasOpen := open.take(r.cfg.KeyPrefix, b.key, never)
				switch {
				case len(p.Failures) > listed && wasOpen && !prev.FirstSeen.IsZero():
					p.Failures[len(p.Failures)-1].FirstSeen = prev.FirstSeen
				case len(p.Failures) > listed:
					p.Failures[len(p.Failures)-1].FirstSeen = r.now().UTC()
				case wasOpen:
					p.List(prev)
				}
			}
		}
		batch = batch[:0]
		return nil
	}
	var cur run
	have := false
	end := func() error {
		if have && cur.seen > 1 {
			batch = append(batch, cur)
			if len(batch) >= dupBatch {
				return flush()
			}
		}
		return nil
	}
	for rd.next() {
		if have && bytes.Equal(rd.key, cur.key) {
			cur.seen++
			if rd.sum != ([32]byte{}) {
				cur.extras++
			}
			continue
		}
		if err := end(); err != nil {
			return err
		}
		cur, have = run{key: append([]byte(nil), rd.key...), seen: 1}, true
	}
	if rd.err != nil {
		return rd.err
	}
	if err := end(); err != nil {
		return err
	}
	return flush()
}
