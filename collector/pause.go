package collector

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigil/sigil-integrity-exporter/collector/internal/atomicfile"
	"github.com/sigil/sigil-integrity-exporter/collector/verify"
)

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
