package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sigil/sigil-integrity-exporter/collector/pace"
	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
	"github.com/sigil/sigil-integrity-exporter/store"
)

// Reopener is implemented by stores that must be reopened to see the
// app's new data (a read-only LevelDB sees the database as of its open).
type Reopener interface {
	Reopen() error
}

// Availability is implemented by stores that may not be open yet (a
// database that was down at start-up); the runner shows them down until
// they open.
type Availability interface {
	Available() bool
}

// RunnerConfig wires one store's walk.
type RunnerConfig struct {
	Store store.Store
	// Identity names the database behind the store (path and prefix,
	// host, database and table: never a password). Saved progress and key
	// lists of another identity are set aside, so that pointing the
	// exporter at another database never reports its records as missing.
	Identity    string
	KeyPrefix   string // prepended to keys in reports
	Verifier    *verify.Verifier
	Workers     int
	Archive     *report.Archive // nil: no reports written
	MaxFailures int
	// StateDir keeps the progress file and key lists; "" keeps nothing
	// (no resume, no missing check).
	StateDir string
	// Shard is the share of the key space this runner verifies.
	Shard Shard
	// Pacer paces the walk; nil walks at full speed.
	Pacer *pace.Pacer
	// MaxRate and Tranquility still bound a walk that run-now unpaced:
	// they protect the app, the deadline does not (see pace.Config).
	MaxRate, Tranquility float64
	// ReopenInterval reopens a Reopener store this often during a pass.
	ReopenInterval time.Duration
	// ReopenGrace is how long reopens may keep failing, while the store
	// serves from its previous view, before the store counts as down
	// (default DefaultReopenGrace). See Runner.reopen.
	ReopenGrace time.Duration
	// CheckpointInterval saves progress this often (default 5s).
	CheckpointInterval time.Duration
	// Fresh starts a new pass even when a saved one could be resumed (the
	// check command); the last complete pass is still used for the
	// missing check.
	Fresh bool
	// OnPassComplete, when set, runs after each complete pass (the
	// cross-store comparison).
	OnPassComplete func(ctx context.Context)
	Logger         *slog.Logger
	Now            func() time.Time
}

// Runner walks one store pass after pass and keeps what it found.
type Runner struct {
	cfg RunnerConfig
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	cur      *Pass
	last     *LastPass
	counters counters
	up       bool
	lastProg time.Time
	missing  int64 // missing records found in the last complete pass
	paused   bool
	fast     bool // run-now: no pacing for the rest of this pass
	waiting  bool // between passes
	resume   chan struct{}
	runNow   chan struct{}
	lastSave time.Time
	stateErr bool
	schedule scheduleLog           // when the schedule is worth a log line
	wake     context.CancelFunc    // ends the pacer's current sleep
	fixed    []report.FixedFailure // recently fixed failures, newest first
	pausedAt time.Time
	fastLim  *rate.Limiter // run-now's bound by MaxRate
	saveMu   sync.Mutex    // serialises writes of the progress and pause files

	// reopenFailing is when the reopens that keep failing began (zero:
	// the last reopen succeeded).
	reopenFailing time.Time
}

type counters struct {
	verified, readErrors, passes, reportErrors, stateErrors uint64
}

// NewRunner builds a runner and loads the saved progress, if any. A damaged
// progress file is logged and set aside: the pass starts over.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = 5 * time.Second
	}
	if cfg.ReopenGrace <= 0 {
		cfg.ReopenGrace = DefaultReopenGrace
	}
	if cfg.MaxFailures < 1 {
		cfg.MaxFailures = 1000
	}
	r := &Runner{cfg: cfg, log: cfg.Logger, now: cfg.Now, resume: make(chan struct{}), runNow: make(chan struct{}, 1), up: true}
	if a, ok := cfg.Store.(Availability); ok {
		r.up = a.Available()
	}
	if cfg.StateDir == "" {
		return r, nil
	}
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("state directory %q: %w", cfg.StateDir, verify.UnwrapPathError(err))
	}
	if cfg.Pacer != nil { // a paused walk matters only to serve
		if err := r.loadSavedPause(); err != nil {
			return nil, err
		}
	}
	if err := r.loadProgress(); err != nil {
		return nil, err
	}
	return r, nil
}

// Name is the store's label value.
func (r *Runner) Name() string { return r.cfg.Store.Name() }

// The configuration other types of the package read (Cross): through
// these, not r.cfg.
func (r *Runner) store() store.Store         { return r.cfg.Store }
func (r *Runner) verifier() *verify.Verifier { return r.cfg.Verifier }
func (r *Runner) stateDir() string           { return r.cfg.StateDir }

// RunPass runs (or resumes) one pass to its end, writes its report and
// returns it. An error leaves the pass resumable by the next call.
func (r *Runner) RunPass(ctx context.Context) (*report.Report, error) {
	st := r.cfg.Store
	if ro, ok := st.(Reopener); ok {
		if err := r.reopen(ro); err != nil {
			r.setDown(err)
			return nil, err
		}
	}
	p := r.beginPass(ctx)
	order := store.OrderOf(st)
	keys, merge, err := r.openKeyLists(p, order)
	if err != nil {
		r.log.Warn("cannot keep the key list; the missing check is off for this pass", "err", err)
	}
	defer func() {
		if keys != nil {
			keys.close()
		}
		if merge != nil {
			merge.r.close()
		}
	}()

	cons := &Consumer{Store: st, Verifier: r.cfg.Verifier, KeyPrefix: r.cfg.KeyPrefix, Pass: p}
	r.mu.Lock()
	open := r.openFailuresLocked(p)
	r.mu.Unlock()
	missing := func(key []byte) { r.noteMissing(ctx, cons, open, key) }
	sink := cons.Sink(ctx)
	lastReopen := r.now()
	w := &Walker{Store: st, Verifier: r.cfg.Verifier, Workers: r.cfg.Workers, Shard: r.cfg.Shard}
	if r.cfg.Pacer != nil {
		w.Pacer = &pacer{r: r}
	}
	err = w.Walk(ctx, cursorOf(p), func(res Result) error {
		if merge != nil {
			merge.see(res.Key, missing)
		}
		r.mu.Lock()
		before, failedBefore, listedBefore := p.Checked, p.Failed(), len(p.Failures)
		err := sink(res)
		counted := p.Checked > before
		if counted {
			r.noteCountedLocked(p, open, res.Key, failedBefore, listedBefore)
			r.counters.verified++
			if res.Outcome.Check == verify.CheckRead {
				r.counters.readErrors++
			}
			r.lastProg = r.now()
			r.up = true
		}
		r.mu.Unlock()
		if counted && keys != nil {
			if kerr := keys.add(res.Key, res.Outcome.Sum); kerr != nil {
				r.log.Warn("cannot write the key list; the missing check is off for this pass", "err", kerr)
				keys.close()
				keys = nil
			}
		}
		if r.now().Sub(r.lastSave) >= r.cfg.CheckpointInterval {
			r.checkpoint(keys)
			if ro, ok := st.(Reopener); ok && r.cfg.ReopenInterval > 0 && r.now().Sub(lastReopen) >= r.cfg.ReopenInterval {
				lastReopen = r.now()
				if rerr := r.reopen(ro); rerr != nil {
					return rerr
				}
			}
		}
		return err
	})
	if err != nil {
		r.checkpoint(keys)
		if !errors.Is(err, context.Canceled) {
			r.setDown(err)
		}
		return nil, err
	}
	if merge != nil {
		merge.finish(missing)
		if merge.r.err != nil {
			r.log.Warn("the previous key list is damaged; missing records may be under-reported", "err", merge.r.err)
		}
	}
	if order != store.Bytewise && keys != nil {
		if err := r.afterWalk(ctx, cons, open, keys, order); err != nil {
			if ctx.Err() != nil {
				r.checkpoint(keys)
				return nil, ctx.Err()
			}
			r.log.Warn("cannot sort the key lists; the missing and duplicate checks after the walk are off for this pass", "err", err)
			r.dropSortedKeyList()
		}
	}
	r.carryOpen(ctx, p, open)
	rep := r.finishPass(p, keys)
	if r.cfg.OnPassComplete != nil {
		r.cfg.OnPassComplete(ctx)
	}
	return rep, nil
}

// DefaultReopenGrace is how long a store whose reopens fail keeps serving
// from its previous view before it counts as down.
const DefaultReopenGrace = 30 * time.Second

// reopen reopens the store to see what the app wrote since. A failed reopen
// leaves the previous view in use (Reopener's contract), so while the store
// was up and the reopens have failed for less than ReopenGrace, the failure
// is logged and the walk goes on from that view: a reopen that raced the
// app (a memtable flush, a compaction) is not the store being unreadable,
// and a walk over a view that really cannot be read fails by itself. Only
// reopens failing for longer, or a store that was not up, return the error.
func (r *Runner) reopen(ro Reopener) error {
	err := ro.Reopen()
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if err == nil {
		if !r.reopenFailing.IsZero() {
			r.log.Info("the store reopened again", "failed_for", now.Sub(r.reopenFailing).Round(time.Millisecond))
		}
		r.reopenFailing = time.Time{}
		r.up = true
		return nil
	}
	if r.reopenFailing.IsZero() {
		r.reopenFailing = now
	}
	if failing := now.Sub(r.reopenFailing); r.up && failing < r.cfg.ReopenGrace {
		r.log.Warn("cannot reopen the store; reading on from the previous view", "err", err,
			"failing_for", failing.Round(time.Millisecond), "down_after", r.cfg.ReopenGrace)
		return nil
	}
	return err
}

func cursorOf(p *Pass) []byte {
	if !p.HaveCursor {
		return nil
	}
	return p.Cursor
}

// beginPass resumes the saved pass or starts a new one.
func (r *Runner) beginPass(ctx context.Context) *Pass {
	r.mu.Lock()
	fresh, last := r.cur == nil, r.last
	r.mu.Unlock()
	// A first pass asks the store for an estimate: I/O, so outside the
	// lock that scrapes take.
	var expected int64
	if fresh && last != nil {
		expected = last.Pass.Checked
	} else if est, ok := r.cfg.Store.(store.Estimator); fresh && ok {
		if n, err := est.EstimateCount(ctx); err == nil {
			expected = n / int64(max(1, r.cfg.Shard.Count))
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if fresh {
		now := r.now()
		p := NewPass(r.Name(), now, r.cfg.Verifier.KeyCount(), r.cfg.MaxFailures)
		p.Expected = expected
		if r.cfg.Pacer != nil {
			p.Deadline = r.cfg.Pacer.Deadline(now)
		}
		r.cur = p
		r.lastSave = time.Time{}
	} else {
		r.log.Info("resuming the pass", "started", r.cur.Started, "deadline", r.cur.Deadline, "checked", r.cur.Checked)
	}
	if r.cfg.Pacer != nil {
		r.cfg.Pacer.Start(r.cur.Started, r.cur.Deadline, r.cur.Expected, r.cur.Checked)
	}
	r.waiting = false
	return r.cur
}

// openKeyLists opens this pass's key list for writing and, for a bytewise
// walk, the last complete pass's for the missing merge (other walks merge
// sorted copies after the walk: afterWalk).
func (r *Runner) openKeyLists(p *Pass, order store.Order) (*keyListWriter, *missingMerge, error) {
	if r.cfg.StateDir == "" {
		return nil, nil, nil
	}
	name := r.Name()
	w, err := createKeyList(keysPath(r.cfg.StateDir, name, "next"), p.KeysFileSize)
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	haveLast := r.last != nil
	r.mu.Unlock()
	if !haveLast || order != store.Bytewise {
		return w, nil, nil
	}
	lr, err := openKeyList(keysPath(r.cfg.StateDir, name, "last"))
	if err != nil {
		return w, nil, err
	}
	m := newMissingMerge(lr, r.cfg.Store.Compare)
	if p.HaveCursor {
		m.skipThrough(p.Cursor)
	}
	return w, m, nil
}

// noteMissing confirms with a re-read that a key of the last pass is gone
// and counts it.
func (r *Runner) noteMissing(ctx context.Context, cons *Consumer, open *openSet, key []byte) {
	if _, found, err := r.cfg.Store.Get(ctx, key); err == nil && found {
		return // present after all (written behind the walk's cursor)
	}
	f := report.Failure{ID: string(key), Reason: verify.CheckMissing, Key: r.cfg.KeyPrefix + string(key), Detail: missingDetail}
	r.mu.Lock()
	listed := len(cons.Pass.Failures)
	cons.Pass.AddFailure(f)
	r.noteMissingLocked(cons.Pass, open, key, listed)
	r.mu.Unlock()
}

const missingDetail = "present in the last complete pass, absent now"

// finishPass closes a complete pass: key lists rotate, the report is
// written, and the pass becomes the last one.
func (r *Runner) finishPass(p *Pass, keys *keyListWriter) *report.Report {
	// The key list rotates before the pass becomes the last one: whoever
	// sees the last pass (the cross-store comparison) finds its key list.
	r.rotateKeyLists(keys)
	now := r.now()
	rep := func() *report.Report {
		r.mu.Lock()
		defer r.mu.Unlock()
		p.Cursor, p.HaveCursor = nil, false // a complete pass resumes nowhere: keep no key in the state
		r.last = &LastPass{Pass: p, Finished: now, Duration: now.Sub(p.Started)}
		r.cur = nil
		r.fast = false
		r.fastLim = nil
		r.missing = p.ByCheck[verify.CheckIndex(verify.CheckMissing)]
		rep := p.Report(now, true)
		rep.Fixed = r.fixedListLocked()
		return rep
	}()
	r.lastSave = time.Time{}
	r.checkpoint(nil)
	r.writeReport(rep)
	r.mu.Lock()
	r.counters.passes++ // after the report: a pass counted has its report archived
	r.mu.Unlock()
	r.log.Info("pass complete", "checked", rep.Checked, "failed", rep.Failed, "duration", now.Sub(p.Started).Round(time.Millisecond))
	return rep
}

func (r *Runner) writeReport(rep *report.Report) {
	if r.cfg.Archive == nil {
		return
	}
	if _, err := r.cfg.Archive.Write(rep); err != nil {
		r.mu.Lock()
		r.counters.reportErrors++
		r.mu.Unlock()
		r.log.Error("cannot write the report", "err", err)
	}
}

func (r *Runner) setDown(err error) {
	r.mu.Lock()
	r.up = false
	r.counters.readErrors++
	r.mu.Unlock()
}
