package main

import (
	"log/slog"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// memLimitRatio of the container's memory limit becomes Go's soft memory
// limit: the GC then works harder before the kernel would OOM-kill the
// process (huge records, docs/RELIABILITY.md section 8), and costs nothing
// while the heap is far below it.
const memLimitRatio = 0.9

// setMemoryLimit sets Go's soft memory limit to memLimitRatio of what
// provider reports (the cgroup's memory limit, v1 or v2, in production),
// through automemlimit, as Prometheus does. GOMEMLIMIT, when set, wins;
// AUTOMEMLIMIT=off turns it off, AUTOMEMLIMIT=0.8 changes the ratio. No
// limit, or no cgroup at all, leaves the runtime's default (none) and
// logs nothing above debug level.
func setMemoryLimit(log *slog.Logger, provider memlimit.Provider) {
	limit, err := provider()
	if err != nil {
		log.Debug("no container memory limit found: Go's soft memory limit stays unset", "err", err)
		return
	}
	_, _ = memlimit.Set( // Set logs its own errors through log
		memlimit.WithRatio(memLimitRatio),
		memlimit.WithProvider(memlimit.Limit(limit)),
		memlimit.WithLogger(log),
	)
}
