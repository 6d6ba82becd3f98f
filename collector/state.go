package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/internal/atomicfile"
	"github.com/sigil/sigil-integrity-exporter/collector/report"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
)

// This file owns the runner's state directory (--state.path): the
// progress file progress-<store>.json (read, checkpointed, set aside when
// damaged), the pause file pause-<store>.json, and the key lists' names
// and rotation (keys-<store>.next becomes .last). A key list's format,
// writing and sorting are keylist.go's and keysort.go's; runner.go opens
// the lists a pass writes and merges (openKeyLists).

const stateVersion = 1

// savedState is the progress file of one store: the pass under way and the
// last complete one.
type savedState struct {
	Version  int       `json:"version"`
	Store    string    `json:"store"`
	Identity string    `json:"identity"`
	Current  *Pass     `json:"current,omitempty"`
	Last     *LastPass `json:"last,omitempty"`
	// Fixed is the recently fixed failures, newest first.
	Fixed []report.FixedFailure `json:"fixed,omitempty"`
}

// encodeState encodes the progress file without HTML escaping, so that an
// id of '<' characters is not six times its size.
func encodeState(s *savedState) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// LastPass is a complete pass and when it ended.
type LastPass struct {
	Pass     *Pass         `json:"pass"`
	Finished time.Time     `json:"finished"`
	Duration time.Duration `json:"duration"`
}

func statePath(dir, storeName string) string {
	return filepath.Join(dir, "progress-"+storeName+".json")
}

func keysPath(dir, storeName, which string) string {
	return filepath.Join(dir, "keys-"+storeName+"."+which)
}

// errStateDamaged marks a progress file that cannot be used.
var errStateDamaged = errors.New("progress file is damaged")

// loadState reads the progress file. A missing file is an empty state, not
// an error; a torn or foreign one is errStateDamaged.
func loadState(dir, storeName string) (*savedState, error) {
	b, err := os.ReadFile(statePath(dir, storeName))
	if errors.Is(err, os.ErrNotExist) {
		return &savedState{Version: stateVersion, Store: storeName}, nil
	}
	if err != nil {
		return nil, err
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", errStateDamaged, err)
	}
	if s.Version != stateVersion || s.Store != storeName {
		return nil, fmt.Errorf("%w: version %d for store %q, want version %d for %q", errStateDamaged, s.Version, s.Store, stateVersion, storeName)
	}
	if s.Current != nil && !s.Current.valid() {
		return nil, fmt.Errorf("%w: the current pass's counts are inconsistent", errStateDamaged)
	}
	if s.Last != nil && (s.Last.Pass == nil || !s.Last.Pass.valid()) {
		return nil, fmt.Errorf("%w: the last pass's counts are inconsistent", errStateDamaged)
	}
	return &s, nil
}

// writeState replaces a store's progress file atomically.
func writeState(dir, storeName string, b []byte) error {
	return atomicfile.Write(statePath(dir, storeName), b, 0o640)
}

// valid checks what a resumed pass relies on.
func (p *Pass) valid() bool {
	if len(p.ByCheck) != len(verify.Checks) || p.Checked < 0 || p.MaxFailures < 1 || p.KeysFileSize < 0 {
		return false
	}
	for _, c := range p.ByCheck {
		if c < 0 {
			return false
		}
	}
	return !p.Started.IsZero()
}

// The runner's progress on disk is owned here: NewRunner loads it
// (loadProgress), the walk checkpoints it (checkpoint), a complete pass
// rotates its key lists (rotateKeyLists) or drops a sorted copy
// (dropSortedKeyList); runner.go calls these and writes, renames or
// removes no progress file itself (it opens the key lists a pass writes
// and merges: openKeyLists).

// loadProgress loads the saved progress into a new runner. A damaged
// progress file is logged and set aside as <file>.damaged: the pass starts
// over. Progress of another identity is dropped, a resumable pass is kept
// unless cfg.Fresh or the signing keys changed.
func (r *Runner) loadProgress() error {
	cfg := r.cfg
	s, err := loadState(cfg.StateDir, cfg.Store.Name())
	switch {
	case errors.Is(err, errStateDamaged):
		bad := statePath(cfg.StateDir, cfg.Store.Name())
		r.log.Warn("progress file is damaged; starting a new pass", "file", bad, "err", err)
		if err := os.Rename(bad, bad+".damaged"); err != nil {
			r.log.Warn("cannot set the damaged progress file aside; the next checkpoint replaces it", "file", bad, "err", err)
		}
	case err != nil:
		return fmt.Errorf("read progress in %q: %w", cfg.StateDir, verify.UnwrapPathError(err))
	default:
		r.cur, r.last, r.fixed = s.Current, s.Last, s.Fixed
		if s.Identity != cfg.Identity && (s.Current != nil || s.Last != nil) {
			r.log.Warn("the saved progress is for another database; starting afresh", "saved", s.Identity, "now", cfg.Identity)
			r.cur, r.last, r.fixed = nil, nil, nil
		}
		if cfg.Fresh {
			r.cur = nil
		}
		r.missing = r.missingLocked()
		if r.cur != nil && len(r.cur.KeyRecords) != cfg.Verifier.KeyCount() {
			r.log.Warn("the signing keys changed since the saved pass; starting a new pass")
			r.cur = nil
		}
	}
	return nil
}

// checkpoint saves progress. Failures are a metric and a log line; the
// walk goes on.
func (r *Runner) checkpoint(keys *keyListWriter) {
	if r.cfg.StateDir == "" {
		return
	}
	r.lastSave = r.now()
	if keys != nil {
		if err := keys.sync(); err != nil {
			r.stateFailed(err)
			return
		}
	}
	r.mu.Lock()
	if keys != nil && r.cur != nil {
		r.cur.KeysFileSize = keys.size
	}
	// Encode under the lock (a consistent snapshot), write and fsync
	// outside it, so a slow disk does not stall scrapes.
	b, err := encodeState(&savedState{Version: stateVersion, Store: r.Name(), Identity: r.cfg.Identity, Current: r.cur, Last: r.last, Fixed: r.fixed})
	r.mu.Unlock()
	if err == nil {
		r.saveMu.Lock()
		err = writeState(r.cfg.StateDir, r.Name(), b)
		r.saveMu.Unlock()
	}
	if err != nil {
		r.stateFailed(err)
		return
	}
	if r.stateErr {
		r.log.Info("progress is saved again", "dir", r.cfg.StateDir)
		r.stateErr = false
	}
}

func (r *Runner) stateFailed(err error) {
	r.mu.Lock()
	r.counters.stateErrors++
	first := !r.stateErr
	r.stateErr = true
	r.mu.Unlock()
	if first {
		r.log.Error("cannot save progress; the walk goes on, but a restart would redo this pass", "dir", r.cfg.StateDir, "err", err)
	}
}

// rotateKeyLists closes a complete pass's key list and makes it the last
// one (with the sorted copy afterWalk made, or none: made on demand). A
// list that does not close (a full disk) or a failed rename is a state
// error and is not rotated: the next pass compares against the older
// list, whose own sorted copy stays (never this pass's beside it).
func (r *Runner) rotateKeyLists(keys *keyListWriter) {
	if keys == nil || r.cfg.StateDir == "" {
		return
	}
	next, last := keysPath(r.cfg.StateDir, r.Name(), "next"), keysPath(r.cfg.StateDir, r.Name(), "last")
	if err := keys.close(); err != nil {
		r.stateFailed(err)
		return
	}
	if err := os.Rename(next, last); err != nil {
		r.stateFailed(err)
		_ = os.Remove(next + sortedSuffix) // best effort: it sorts a list that was not kept
		return
	}
	if err := os.Rename(next+sortedSuffix, last+sortedSuffix); err != nil {
		os.Remove(last + sortedSuffix)
	}
}

// dropSortedKeyList removes the sorted copy of this pass's key list that
// a failed afterWalk may have left (best effort: finishPass rotates
// whatever is there).
func (r *Runner) dropSortedKeyList() {
	_ = os.Remove(keysPath(r.cfg.StateDir, r.Name(), "next") + sortedSuffix)
}

// A pause is kept in the state directory (pause-<store>.json), so that a
// restart does not silently resume a walk an operator paused. It is a
// file of its own: the progress file is written by the walk, in step
// with its key list, and a pause arrives from an HTTP request at any
// moment.

type savedPause struct {
	PausedAt time.Time `json:"paused_at"`
}

func pausePath(dir, storeName string) string {
	return filepath.Join(dir, "pause-"+storeName+".json")
}

// loadPause reads a saved pause: the time it began, zero when not paused.
// A damaged file counts as paused now: it was only ever written by a pause.
func loadPause(dir, storeName string) (time.Time, error) {
	b, err := os.ReadFile(pausePath(dir, storeName))
	if errors.Is(err, os.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var p savedPause
	if err := json.Unmarshal(b, &p); err != nil || p.PausedAt.IsZero() {
		return time.Now(), nil
	}
	return p.PausedAt, nil
}

// savePause writes the pause file, or removes it when at is zero.
func (r *Runner) savePause(at time.Time) error {
	if r.cfg.StateDir == "" {
		return nil
	}
	path := pausePath(r.cfg.StateDir, r.Name())
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	if at.IsZero() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		return nil
	}
	b, _ := json.Marshal(savedPause{PausedAt: at.UTC()})
	return atomicfile.Write(path, b, 0o640)
}

// loadSavedPause restores a pause saved before a restart. r.mu not held;
// called by NewRunner only.
func (r *Runner) loadSavedPause() error {
	at, err := loadPause(r.cfg.StateDir, r.Name())
	if err != nil {
		return fmt.Errorf("read the pause file in %q: %w", r.cfg.StateDir, verify.UnwrapPathError(err))
	}
	if !at.IsZero() {
		r.paused, r.pausedAt = true, at
		r.log.Warn("the walk is paused, as it was before the restart; POST /-/resume to resume", "paused_since", at.UTC().Format(time.RFC3339))
	}
	return nil
}
