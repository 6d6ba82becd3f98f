package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// BinaryEnv names a prebuilt exporter binary for Binary. `make test` builds
// the binary once and sets it, so that the packages whose tests run it
// share one build; it must be built from the tree under test.
const BinaryEnv = "SIGIL_TEST_EXPORTER"

// Binary returns the exporter's binary, for tests that run it as a process
// (real signals, exit codes, peak memory): $SIGIL_TEST_EXPORTER when set,
// otherwise built once per test binary with `go build ./exporter`. It
// skips under -short.
func Binary(t testing.TB) string {
	t.Helper()
	Long(t, "the exporter's binary")
	path, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

var buildBinary = sync.OnceValues(func() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinaryEnv, p, err)
		}
		return p, nil
	}
	root, err := findRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "sigil-bin-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "sigil-integrity-exporter")
	cmd := exec.Command("go", "build", "-o", path, "./exporter")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./exporter: %w\n%s", err, out)
	}
	return path, nil
})
