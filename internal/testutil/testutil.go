// Package testutil is what the tests of several packages share: finding the
// repository and the programs a test needs (with the CI rule below), the
// Node generators' manifests, copies and digests of directories, byte
// flips in table files, running processes and the exporter binary built
// once per run.
//
// It owns test support only. It imports the standard library and nothing
// of this module (no collector/, store/, exporter/), so that any package's
// tests may use it; PostgreSQL clusters live in store/postgres/pgtest.
//
// The CI rule: a test that needs something missing from the machine (node,
// promtool, PostgreSQL, ...) is skipped, but fails when the environment
// has CI=true, so that CI cannot pass by skipping. Under `go test -short`
// (make test-short) every test that needs Node, an external program or a
// process of the exporter is skipped, CI or not.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable ends a test that cannot run on this machine: it fails under
// CI=true and is skipped elsewhere. msg should say what to install.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: .ci/run must provide it)", msg)
	}
	t.Skip(msg)
}

// Long skips the test under -short: it needs Node, an external program, a
// server or the exporter's binary, which `make test-short` leaves out.
func Long(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: needs %s", what)
	}
}

// Tool returns the path of the first of names found in PATH. It skips the
// test under -short; when none is found it is Unavailable, with hint (for
// example "the Debian package prometheus") in the message.
func Tool(t testing.TB, hint string, names ...string) string {
	t.Helper()
	Long(t, strings.Join(names, " or "))
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Unavailable(t, fmt.Sprintf("%s not found in PATH; install %s", strings.Join(names, " or "), hint))
	return ""
}

// Node returns the node binary, after checking that testdata/node's npm
// packages (classic-level) are installed; see Tool for the rules.
func Node(t testing.TB) string {
	t.Helper()
	node := Tool(t, "Node.js 20 or later (Debian package nodejs)", "node")
	if _, err := os.Stat(filepath.Join(Root(t), "testdata", "node", "node_modules", "classic-level")); err != nil {
		Unavailable(t, "testdata/node/node_modules is missing: run `make testdata` (npm ci in testdata/node)")
	}
	return node
}

// findRoot walks up from the working directory, which `go test` sets to
// the package's directory, to the directory holding go.mod.
var findRoot = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	for err == nil {
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
			return dir, nil
		}
		if parent := filepath.Dir(dir); parent != dir {
			dir = parent
			continue
		}
		err = fmt.Errorf("no go.mod above the working directory")
	}
	return "", err
})

// Root is the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := findRoot()
	if err != nil {
		t.Fatalf("testutil: repository root: %v", err)
	}
	return dir
}

// Path is a path in the repository: Path(t, "testdata", "leveldb").
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Root(t)}, elem...)...)
}
