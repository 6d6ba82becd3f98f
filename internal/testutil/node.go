package testutil

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// RunGenerator runs a testdata/node script (make-leveldb.js, make-cross.js,
// ...) with args, from the repository root, and fails the test when it
// fails. Without Node it is Unavailable; under -short it skips.
func RunGenerator(t testing.TB, script string, args ...string) {
	t.Helper()
	node := Node(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", "node", script)}, args...)...)
	cmd.Dir = Root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
}

// NodeLevelDB writes a fresh LevelDB of count good records (plus the edge
// cases and planted failures) with testdata/node/make-leveldb.js, Node's
// own classic-level, into a temporary directory, and returns its path and
// manifest. extra goes to the script (its header lists the options).
func NodeLevelDB(t testing.TB, count int, extra ...string) (string, LevelDBManifest) {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "sigils-db")
	man := filepath.Join(dir, "expected.json")
	RunGenerator(t, "make-leveldb.js", append([]string{db, "--count", strconv.Itoa(count), "--manifest", man}, extra...)...)
	return db, ReadJSON[LevelDBManifest](t, man)
}
