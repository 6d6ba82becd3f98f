package main

import (
	"bufio"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// memLimitFraction of the cgroup's memory.max becomes Go's soft memory
// limit when GOMEMLIMIT is not set: the GC then works harder before the
// kernel would OOM-kill the process (huge records, docs/RELIABILITY.md
// section 8), and costs nothing while the heap is far below it.
const memLimitFraction = 0.9

// setMemoryLimit derives Go's soft memory limit from the cgroup (v2)
// memory limit, unless GOMEMLIMIT is set (the runtime honours it).
func setMemoryLimit(log *slog.Logger) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		log.Debug("Go memory limit from GOMEMLIMIT", "gomemlimit", v)
		return
	}
	limit, path := cgroupMemoryMax("/proc/self/cgroup", "/sys/fs/cgroup")
	if limit <= 0 {
		return
	}
	soft := int64(float64(limit) * memLimitFraction)
	debug.SetMemoryLimit(soft)
	log.Info("Go soft memory limit set from the cgroup limit (set GOMEMLIMIT to override)", "cgroup_memory_max", limit, "file", path, "limit", soft)
}

// cgroupMemoryMax reads memory.max of this process's cgroup v2 (named in
// procCgroup, under the cgroup2 mount root); 0 when there is none or it
// is "max".
func cgroupMemoryMax(procCgroup, root string) (int64, string) {
	f, err := os.Open(procCgroup)
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rel, ok := strings.CutPrefix(sc.Text(), "0::")
		if !ok {
			continue
		}
		path := filepath.Join(root, rel, "memory.max")
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, ""
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, "" // "max": no limit
		}
		return n, path
	}
	return 0, ""
}
