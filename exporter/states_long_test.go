//go:build states

package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// statesDefault under -tags states (make test-states): the long run.
const statesDefault = 500

// TestBulkLoadTwoJournals is issue 9's bulk load: 200,000 records of about
// 1 KiB written in db.batch() chunks of 5,000, then db.close(). The close
// usually lands while the previous memtable is being flushed, which leaves
// two live journals; the writer runs again (up to five times) until it has
// made that state. check must read it in full.
func TestBulkLoadTwoJournals(t *testing.T) {
	node := testutil.Node(t)
	const records = 200000
	var twoJournals bool
	for attempt := 1; attempt <= 5 && !twoJournals; attempt++ {
		dir := filepath.Join(t.TempDir(), "db")
		if err := makeState(node, dir, stateSpec{Mode: "bulk"}); err != nil {
			t.Fatal(err)
		}
		shape, err := shapeOf(dir)
		if err != nil {
			t.Fatal(err)
		}
		twoJournals = shape.Journals >= 2
		nodeCopy, checkCopy := dir+"-node", dir
		if err := copyTree(dir, nodeCopy); err != nil {
			t.Fatal(err)
		}
		want := countWithNode(t, node, []string{nodeCopy})[nodeCopy]
		if want.Count != records {
			t.Fatalf("Node recovers %d records, want %d", want.Count, records)
		}
		before := testutil.Digest(t, checkCopy)
		start := time.Now()
		code, stdout, stderr := runCLI(t, "check", "--store.leveldb.path="+checkCopy, "--store.leveldb.prefix="+statesPrefix,
			"--verify.key-file="+filepath.Join(repo, "testdata/keys/current.key"),
			"--report.dir="+t.TempDir(), "--state.path="+t.TempDir(), "--log.level=error")
		took := time.Since(start)
		if wantLine := "Checked 200000 sigils. 0 failures.\n"; code != 0 || !strings.HasPrefix(stdout, wantLine) {
			t.Fatalf("attempt %d (%+v): check exit %d, stdout %q, want 0 and %q\nstderr: %s", attempt, shape, code, firstLine(stdout), wantLine, stderr)
		}
		if after := testutil.Digest(t, checkCopy); !maps.Equal(before, after) {
			t.Fatal("the database directory changed during check")
		}
		msg := fmt.Sprintf("bulk load attempt %d: %d journals, %d tables: check exit 0, %q in %s", attempt, shape.Journals, shape.Tables, firstLine(stdout), took.Round(time.Millisecond))
		t.Log(msg)
		fmt.Println(msg)
	}
	if !twoJournals {
		t.Error("five bulk loads never left two live journals: the state of issue 9 was not reproduced")
	}
}

// TestLiveNodeAppMinute: TestLiveNodeApp for 65 s with a 32 KiB write
// buffer (a memtable switch every few dozen records), `serve` reopening
// every second.
func TestLiveNodeAppMinute(t *testing.T) {
	liveNodeApp(t, 65, 32<<10)
}
