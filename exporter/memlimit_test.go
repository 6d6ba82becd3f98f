package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// TestSetMemoryLimit: the soft memory limit is 90 % of the container's
// limit; GOMEMLIMIT wins; no limit and no cgroup leave the limit as it
// was (unset in a real start).
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	log := slog.New(slog.DiscardHandler)
	const mib = 1 << 20
	for _, tc := range []struct {
		name       string
		gomemlimit string
		provider   memlimit.Provider
		want       int64
	}{
		{"cgroup 256 MiB", "", memlimit.Limit(256 * mib), 256 * mib * 9 / 10},
		{"cgroup 128 MiB", "", memlimit.Limit(128 * mib), 128 * mib * 9 / 10},
		{"no limit", "", func() (uint64, error) { return 0, memlimit.ErrNoLimit }, 12345 * mib},
		{"no cgroup", "", func() (uint64, error) { return 0, memlimit.ErrNoCgroup }, 12345 * mib},
		{"GOMEMLIMIT wins", "100MiB", memlimit.Limit(256 * mib), 12345 * mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.gomemlimit)
			t.Setenv("AUTOMEMLIMIT", "") // restored after the test
			os.Unsetenv("AUTOMEMLIMIT")
			debug.SetMemoryLimit(12345 * mib)
			setMemoryLimit(log, tc.provider)
			if got := debug.SetMemoryLimit(-1); got < tc.want-mib || got > tc.want+mib {
				t.Errorf("memory limit %d, want about %d", got, tc.want)
			}
		})
	}
}
