package collector

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// Pacer throttles a walk. Wait is told that n more records were read in
// work time, and blocks until the next chunk may be read.
type Pacer interface {
	Wait(ctx context.Context, n int, work time.Duration) error
	// Chunk is how many records to read before the next Wait.
	Chunk() int
}

// Result is one verified record, delivered in key order.
type Result struct {
	Key []byte // valid only during the sink call
	// Cursor is where a resumed walk starts after this record when it is
	// not the key (store.Record.Cursor); nil: Key. Valid only during the
	// sink call.
	Cursor  []byte
	Outcome verify.Outcome
}

// Walker streams a store through the verifier with every core, and hands
// the outcomes back in the store's key order.
type Walker struct {
	Store    store.Store
	Verifier *verify.Verifier
	Workers  int   // default: GOMAXPROCS
	Pacer    Pacer // nil: full speed
	Shard    Shard // the share of the key space to verify; zero: all
}

const batchSize = 256

// batchBytes ends a batch early when its keys and values pass it, so that
// a store of huge records (ids of a megabyte) holds a few records in
// flight, not batchSize of them in every batch of the pipeline.
const batchBytes = 1 << 20

// inFlightBytes is how many bytes of keys and values may be handed
// to the workers and not yet to the sink, per worker plus one (see
// budget): a store of 2 MB records then holds one dispatched record and
// the one being read, not a channel's worth of them. Batches of small
// records (256 of 1 KiB: 256 KiB) never reach it; the channels bound
// those.
func inFlightBytes(workers int) int { return (workers + 1) * batchBytes }

type item struct {
	oversize       int // the value's size when it was over the limit and not copied
	key, value     []byte
	cursor         []byte
	err            error
	out            verify.Outcome
	ks, vs, ve, ce int
	null           bool
}

type batch struct {
	items  []item
	arena  []byte
	weight int // what it took from the budget
	done   chan struct{}
}

// budget bounds the bytes of the batches in flight between the producer
// (one goroutine, which acquires) and the sink (which releases). A batch
// larger than the whole budget waits until nothing else is in flight.
type budget struct {
	mu        sync.Mutex
	cond      sync.Cond
	used, max int
}

func newBudget(limit int) *budget {
	b := &budget{max: limit}
	b.cond.L = &b.mu
	return b
}

// acquire blocks until n bytes (at most the whole budget) fit, and
// returns what it took. It cannot deadlock: whatever is in flight is in
// the ordered channel, which the sink drains (and releases) even after the
// walk is cancelled.
func (b *budget) acquire(n int) int {
	n = min(n, b.max)
	b.mu.Lock()
	for b.used > 0 && b.used+n > b.max {
		b.cond.Wait()
	}
	b.used += n
	b.mu.Unlock()
	return n
}

func (b *budget) release(n int) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Signal()
}

var errChunkDone = errors.New("chunk done")

// Walk verifies every record after the cursor `after` and calls sink for
// each, in order, from one goroutine. It returns nil when the store is
// exhausted, the sink's error, or the store's error (which wraps
// store.ErrUnavailable when the walk may be retried from the last key the
// sink saw).
func (w *Walker) Walk(ctx context.Context, after []byte, sink func(Result) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := w.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	work := make(chan *batch, workers)
	ordered := make(chan *batch, 2*workers)
	free := make(chan *batch, 3*workers+2)
	inFlight := newBudget(inFlightBytes(workers))

	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := w.Verifier.NewScratch()
			for b := range work {
				for j := range b.items {
					it := &b.items[j]
					if it.oversize > 0 {
						it.out = w.Verifier.Oversized(it.oversize)
						continue
					}
					it.out = w.Verifier.Verify(store.Record{Key: it.key, Value: it.value, Err: it.err}, s)
				}
				close(b.done)
			}
		}()
	}

	prodErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(work)
		prodErr <- w.produce(ctx, after, work, ordered, free, inFlight)
	}()

	var sinkErr error
	for b := range ordered {
		finished := true
		select {
		case <-b.done:
		case <-ctx.Done():
			select {
			case <-b.done:
			default:
				finished = false // a worker may still write it
			}
		}
		if sinkErr == nil && ctx.Err() == nil {
			for j := range b.items {
				if err := sink(Result{Key: b.items[j].key, Cursor: b.items[j].cursor, Outcome: b.items[j].out}); err != nil {
					sinkErr = err
					cancel()
					break
				}
			}
		}
		inFlight.release(b.weight)
		if !finished {
			continue
		}
		b.recycle()
		select {
		case free <- b:
		default:
		}
	}
	wg.Wait()
	err := <-prodErr
	switch {
	case sinkErr != nil:
		return sinkErr
	case errors.Is(err, errChunkDone):
		return nil
	}
	return err
}

func (w *Walker) produce(ctx context.Context, after []byte, work, ordered, free chan *batch, inFlight *budget) error {
	cursor := append([]byte(nil), after...)
	var b *batch
	dispatch := func() error {
		if b == nil || len(b.items) == 0 {
			return nil
		}
		b.seal()
		sent := b
		b = nil // dispatched once, whatever happens next
		sent.weight = inFlight.acquire(len(sent.arena))
		select {
		case ordered <- sent:
			// The sink releases its weight, done or cancelled.
		case <-ctx.Done():
			inFlight.release(sent.weight)
			return ctx.Err()
		}
		select {
		case work <- sent:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	// The pacer hears of each chunk after it is read (n records in work
	// time) and then decides how long to wait; a first Wait(0) waits for
	// the window to open.
	var workTime time.Duration
	n := 0
	for {
		chunk := 0
		if w.Pacer != nil {
			if err := w.Pacer.Wait(ctx, n, workTime); err != nil {
				return err
			}
			chunk = w.Pacer.Chunk()
		}
		start := time.Now()
		n = 0
		full := false
		sctx := ctx
		if chunk > 0 {
			// The record after the chunk is read too (it shows where
			// the key changes).
			sctx = store.WithScanHint(ctx, chunk+1)
		}
		err := w.Store.Scan(sctx, cursor, func(rec store.Record) error {
			if !w.Shard.Has(rec.Key) {
				return nil
			}
			// A chunk ends only where the position changes: the next
			// chunk starts strictly after the cursor, so twins (a
			// duplicated id in PostgreSQL) or the rows of one heap block
			// must not straddle two chunks. The record that shows the
			// change is read again by the next chunk.
			pos := rec.Cursor
			if pos == nil {
				pos = rec.Key
			}
			if full && !bytes.Equal(pos, cursor) {
				return errChunkDone
			}
			if b == nil {
				b = newBatch(free)
			}
			b.add(rec, w.Verifier.MaxRecordBytes())
			cursor = append(cursor[:0], pos...)
			n++
			if len(b.items) >= batchSize || len(b.arena) >= batchBytes {
				if err := dispatch(); err != nil {
					return err
				}
			}
			full = chunk > 0 && n >= chunk
			return nil
		})
		workTime = time.Since(start)
		if derr := dispatch(); derr != nil {
			return derr
		}
		if errors.Is(err, errChunkDone) {
			continue
		}
		return err
	}
}

func newBatch(free chan *batch) *batch {
	var b *batch
	select {
	case b = <-free:
	default:
		b = &batch{items: make([]item, 0, batchSize)}
	}
	b.done = make(chan struct{})
	return b
}

// recycle empties a batch the sink is done with before it waits in the
// free list: the outcomes' ids and an arena of huge records may be large,
// and must not stay alive while the batch waits.
func (b *batch) recycle() {
	clear(b.items)
	b.items = b.items[:0]
	if cap(b.arena) > 2*batchBytes {
		b.arena = nil
	}
	b.arena = b.arena[:0]
	b.weight = 0
}

// add copies a record into the batch. Keys and values share one arena,
// so the slices are taken in seal, once the arena has stopped growing.
// A value over maxBytes (when > 0) is not copied: it fails unread.
func (b *batch) add(rec store.Record, maxBytes int) {
	ks := len(b.arena)
	// One growth for the whole record (not one for the key and another
	// for the value, which leaves a megabyte of garbage per huge record).
	need := len(rec.Key) + len(rec.Cursor)
	if maxBytes <= 0 || len(rec.Value) <= maxBytes {
		need += len(rec.Value)
	}
	b.arena = slices.Grow(b.arena, need)
	b.arena = append(b.arena, rec.Key...)
	ce := len(b.arena)
	if rec.Cursor != nil {
		b.arena = append(b.arena, rec.Cursor...)
	}
	vs := len(b.arena)
	it := item{err: rec.Err, ks: ks, ce: ce, vs: vs, null: rec.Value == nil}
	if rec.Cursor == nil {
		it.ce = -1
	}
	if maxBytes > 0 && len(rec.Value) > maxBytes {
		it.oversize = len(rec.Value)
	} else {
		b.arena = append(b.arena, rec.Value...)
	}
	it.ve = len(b.arena)
	b.items = append(b.items, it)
}

// seal points every item's key and value into the final arena.
func (b *batch) seal() {
	for i := range b.items {
		it := &b.items[i]
		it.cursor = nil
		if it.ce < 0 {
			it.key = b.arena[it.ks:it.vs:it.vs]
		} else {
			it.key = b.arena[it.ks:it.ce:it.ce]
			it.cursor = b.arena[it.ce:it.vs:it.vs]
		}
		it.value = nil
		if !it.null {
			it.value = b.arena[it.vs:it.ve:it.ve]
		}
	}
}
