package collector

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// CrossStore is the store label of the cross-store comparison.
const CrossStore = "cross"

// Cross compares the last complete passes of two stores that should hold
// the same records (a migration, dual writes): records present in one and
// absent from the other are `missing`, records whose canonical data differ
// are `checksum`. It merges the two passes' ordered key lists, so memory
// stays constant, and confirms each difference by re-reading both stores.
// A store whose walk is not bytewise is compared through a bytewise-sorted
// copy of its key list (sortedKeyList), made once per pass.
type Cross struct {
	A, B        *Runner
	Archive     *report.Archive
	MaxFailures int
	Logger      *slog.Logger

	mu       sync.Mutex
	running  sync.Mutex
	last     *Pass
	finished time.Time
	duration time.Duration
	passes   uint64
	verified uint64
	errors   uint64
}

// Compare runs the comparison when both stores have a complete pass and
// key lists; it is cheap to call after every pass of either store.
func (c *Cross) Compare(ctx context.Context) (*report.Report, error) {
	c.running.Lock()
	defer c.running.Unlock()
	dirA, dirB := c.A.cfg.StateDir, c.B.cfg.StateDir
	if dirA == "" || dirB == "" || c.A.Status().Last == nil || c.B.Status().Last == nil {
		return nil, nil
	}
	ra, err := openSortedKeys(c.A, dirA)
	if err != nil {
		return nil, c.failed(err)
	}
	defer ra.close()
	rb, err := openSortedKeys(c.B, dirB)
	if err != nil {
		return nil, c.failed(err)
	}
	defer rb.close()

	start := time.Now()
	p := NewPass(CrossStore, start, 0, c.MaxFailures)
	sa, sb := c.A.cfg.Verifier.NewScratch(), c.B.cfg.Verifier.NewScratch()
	var prevA, prevB []byte
	nextA := func() bool { return nextDistinct(ra, &prevA) }
	nextB := func() bool { return nextDistinct(rb, &prevB) }
	okA, okB := nextA(), nextB()
	for okA || okB {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var cmp int
		switch {
		case !okA:
			cmp = 1
		case !okB:
			cmp = -1
		default:
			cmp = bytes.Compare(ra.key, rb.key)
		}
		switch {
		case cmp < 0:
			c.onlyIn(ctx, p, c.A, c.B, ra.key)
			okA = nextA()
		case cmp > 0:
			c.onlyIn(ctx, p, c.B, c.A, rb.key)
			okB = nextB()
		default:
			p.Checked++
			if ra.sum != rb.sum && ra.sum != ([32]byte{}) && rb.sum != ([32]byte{}) {
				c.differ(ctx, p, ra.key, sa, sb)
			}
			okA, okB = nextA(), nextB()
		}
	}
	for _, r := range []*keyListReader{ra, rb} {
		if r.err != nil {
			return nil, c.failed(r.err)
		}
	}
	now := time.Now()
	rep := p.Report(now, true)
	c.mu.Lock()
	c.last, c.finished, c.duration = p, now, now.Sub(start)
	c.passes++
	c.verified += uint64(p.Checked)
	c.mu.Unlock()
	if c.Archive != nil {
		if _, err := c.Archive.Write(rep); err != nil {
			c.Logger.Error("cannot write the cross-store report", "err", err)
		}
	}
	c.Logger.Info("cross-store comparison complete", "a", c.A.Name(), "b", c.B.Name(), "in_both", p.Checked, "differences", p.Failed())
	return rep, nil
}

// openSortedKeys opens a runner's last key list in bytewise order.
func openSortedKeys(r *Runner, dir string) (*keyListReader, error) {
	path := keysPath(dir, r.Name(), "last")
	if store.OrderOf(r.cfg.Store) != store.Bytewise {
		var err error
		if path, err = sortedKeyList(path); err != nil {
			return nil, err
		}
	}
	return openKeyList(path)
}

// nextDistinct advances past repeated keys (a duplicated id is the
// duplicate check's business, not a cross-store difference).
func nextDistinct(r *keyListReader, prev *[]byte) bool {
	for r.next() {
		if *prev != nil && bytes.Equal(r.key, *prev) {
			continue
		}
		*prev = append((*prev)[:0], r.key...)
		return true
	}
	return false
}

func (c *Cross) failed(err error) error {
	c.mu.Lock()
	c.errors++
	c.mu.Unlock()
	return fmt.Errorf("cross-store comparison: %w", err)
}

// onlyIn records a key the `has` store listed and `lacks` did not, unless
// a re-read finds it in `lacks` now (written since its pass).
func (c *Cross) onlyIn(ctx context.Context, p *Pass, has, lacks *Runner, key []byte) {
	if _, found, err := lacks.cfg.Store.Get(ctx, key); err == nil && found {
		return
	}
	p.AddFailure(report.Failure{ID: string(key), Reason: CheckMissing, Key: string(key),
		Detail: fmt.Sprintf("present in %s, absent from %s", has.Name(), lacks.Name())})
}

// differ re-reads a record from both stores and records it when their
// canonical data still differ.
func (c *Cross) differ(ctx context.Context, p *Pass, key []byte, sa, sb *Scratch) {
	oa, okA := reverify(ctx, c.A, key, sa)
	ob, okB := reverify(ctx, c.B, key, sb)
	if !okA || !okB || oa.Sum == ob.Sum || oa.Sum == ([32]byte{}) || ob.Sum == ([32]byte{}) {
		return
	}
	p.AddFailure(report.Failure{ID: string(key), Reason: CheckChecksum, Key: string(key),
		Detail: fmt.Sprintf("data differs between %s (sha256 %x) and %s (sha256 %x)", c.A.Name(), oa.Sum[:6], c.B.Name(), ob.Sum[:6])})
}

func reverify(ctx context.Context, r *Runner, key []byte, s *Scratch) (Outcome, bool) {
	v, found, err := r.cfg.Store.Get(ctx, key)
	if err != nil || !found {
		return Outcome{}, false
	}
	return r.cfg.Verifier.Verify(store.Record{Key: key, Value: v}, s), true
}

// Status reports the comparison like a store, under store="cross".
func (c *Cross) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Store: CrossStore, Up: true, Verified: c.verified, Passes: c.passes, ReadErrors: c.errors, Finished: c.finished, Duration: c.duration}
	if c.last != nil {
		l := c.last.status()
		s.Last = &l
		s.Missing = c.last.ByCheck[checkIndex(CheckMissing)]
	}
	return s
}
