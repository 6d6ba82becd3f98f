package canonical

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestVectorsUpToDate reruns testdata/node/gen-vectors.js on the local Node
// and checks that the committed vectors are what it writes now. Without
// node it skips, except in CI (CI=true), where it fails.
//
// To regenerate: node testdata/node/gen-vectors.js > testdata/canonical/vectors.json
func TestVectorsUpToDate(t *testing.T) {
	node := testutil.Tool(t, "Node.js 20 or later: CI checks that testdata/canonical/vectors.json is up to date", "node")
	root := testutil.Root(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "vectors.json")
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "node", "gen-vectors.js"))
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gen-vectors.js: %v\n%s", err, stderr.Bytes())
	}
	if err := os.WriteFile(out, stdout.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	committed := testutil.ReadFile(t, vectorsPath)
	if !bytes.Equal(committed, stdout.Bytes()) {
		t.Fatalf("%s is out of date with testdata/node/gen-vectors.js; regenerate with:\n"+
			"  node testdata/node/gen-vectors.js > testdata/canonical/vectors.json", vectorsPath)
	}
}
