package report

import (
	"encoding/json"
	"os"
)

// fileSummary is the counts of an archived report, for the archive table.
type fileSummary struct {
	Checked  int64 `json:"checked"`
	Failed   int64 `json:"failed"`
	Complete bool  `json:"complete"`
}

// summary returns an archived report's counts, read once per file (an
// archived file never changes); nil when it cannot be read.
func (h *Handler) summary(e Entry) *fileSummary {
	h.mu.Lock()
	s, ok := h.summaries[e.Name]
	h.mu.Unlock()
	if ok {
		return s
	}
	f, err := os.OpenInRoot(h.Archive.dir, e.Name)
	if err == nil {
		defer f.Close()
		var fs fileSummary
		if json.NewDecoder(f).Decode(&fs) == nil {
			s = &fs
		}
	}
	h.mu.Lock()
	if h.summaries == nil {
		h.summaries = map[string]*fileSummary{}
	}
	h.summaries[e.Name] = s
	h.mu.Unlock()
	return s
}

// pruneSummaries forgets the files no longer listed (pruned by retention).
func (h *Handler) pruneSummaries(listed []string) {
	keep := make(map[string]bool, len(listed))
	for _, n := range listed {
		keep[n] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for n := range h.summaries {
		if !keep[n] {
			delete(h.summaries, n)
		}
	}
}
