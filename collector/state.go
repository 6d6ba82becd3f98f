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
