package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCgroupMemoryMax: the soft memory limit's source, the cgroup v2
// memory.max of the process's own cgroup; none for "max", a v1-only
// system or a missing file.
func TestCgroupMemoryMax(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) string {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(filepath.Join(root, "system.slice/sie.service/memory.max"), "268435456\n")
	write(filepath.Join(root, "unlimited/memory.max"), "max\n")
	for _, tc := range []struct {
		name, cgroup string
		want         int64
	}{
		{"limited", "0::/system.slice/sie.service\n", 268435456},
		{"max", "0::/unlimited\n", 0},
		{"v1 only", "4:memory:/system.slice/sie.service\n", 0},
		{"no file", "0::/elsewhere\n", 0},
	} {
		got, _ := cgroupMemoryMax(write(filepath.Join(t.TempDir(), "cgroup"), tc.cgroup), root)
		if got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
