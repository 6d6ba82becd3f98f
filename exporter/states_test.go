package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/leveldb"
)

// The LevelDB state harness: Node's own recovery is the ground truth.
//
// For each state, testdata/node/state-writer.js (classic-level, a small
// write buffer, single puts, batches with rewrites and deletes) is stopped
// in one of several ways: SIGKILL at a random moment, a clean close right
// after a memtable switch, a close while a compaction runs. Some states get
// earlier sessions (a rolled MANIFEST, LOG.old), table files renamed to the
// legacy .sst name, or a torn tail on the newest journal. The state is
// copied twice: Node opens one copy (count-records.js: C++ LevelDB's
// recovery) and counts and digests the records under the prefix; `check`
// runs on the other copy and must exit 0 with exactly that count and no
// failure, the store's walk must digest to the same bytes in the same
// order, and that copy must be byte-identical afterwards.
//
// `go test` runs statesDefault states (states_count_test.go);
// `make test-states` (-tags states) runs 500. SIGIL_STATES_SEED replays a
// run, SIGIL_STATES sets the number of states.

const statesPrefix = "!sigils!"

// stateSpec says how one state is made.
type stateSpec struct {
	Mode        string // kill, switch, compaction
	Seed        int64
	Sessions    int           // whole sessions before the last one
	WriteBuffer int           // bytes
	KillAfter   time.Duration // kill: time after "writing"
	SST         bool          // rename some tables to NNNNNN.sst
	Torn        bool          // cut the newest journal mid-record
	TornCut     int64         // torn: bytes cut off (at most all but one)
}

func (s stateSpec) String() string {
	d := fmt.Sprintf("%s seed=%d sessions=%d wb=%d", s.Mode, s.Seed, s.Sessions, s.WriteBuffer)
	if s.Mode == "kill" {
		d += " kill-after=" + s.KillAfter.String()
	}
	if s.SST {
		d += " sst"
	}
	if s.Torn {
		d += fmt.Sprintf(" torn=%d", s.TornCut)
	}
	return d
}

// nodeCount is one line of count-records.js.
type nodeCount struct {
	Dir    string `json:"dir"`
	Count  int    `json:"count"`
	SHA256 string `json:"sha256"`
}

// stateShape is what the directory held before any reader touched it.
type stateShape struct {
	Journals, Tables, SST int
	LOGOld                bool
	Manifest              string
	// CompactionCut: LOG ends inside a compaction (a "Compacting" or
	// "Manual compaction" line with no "compacted to" after it).
	CompactionCut bool
}

func TestNodeLevelDBStates(t *testing.T) {
	node := testutil.Node(t)
	n := statesDefault
	if v := os.Getenv("SIGIL_STATES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("SIGIL_STATES=%q: want a positive number", v)
		}
	}
	seed := time.Now().UnixNano()
	if v := os.Getenv("SIGIL_STATES_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("SIGIL_STATES_SEED=%q: %v", v, err)
		}
	}
	t.Logf("LevelDB states: %d, seed %d (replay: SIGIL_STATES_SEED=%d SIGIL_STATES=%d)", n, seed, seed, n)
	rnd := rand.New(rand.NewPCG(uint64(seed), 0x5161))
	start := time.Now()

	tmp := t.TempDir()
	type state struct {
		spec                stateSpec
		shape               stateShape
		nodeCopy, checkCopy string
		err                 error
	}
	states := make([]state, n)
	for i := range states {
		states[i].spec = stateSpec{
			Mode:        []string{"kill", "switch", "compaction"}[i%3],
			Seed:        rnd.Int64N(1 << 40),
			Sessions:    []int{0, 0, 1, 2}[rnd.IntN(4)],
			WriteBuffer: []int{16 << 10, 32 << 10, 64 << 10, 128 << 10}[rnd.IntN(4)],
			KillAfter:   time.Duration(20+rnd.IntN(700)) * time.Millisecond,
			SST:         i%5 == 3,
			Torn:        i%4 == 1,
			TornCut:     1 + rnd.Int64N(3000),
		}
	}
	// Two writers at a time: a Node writer mostly waits on its own I/O.
	work := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				st := &states[i]
				dir := filepath.Join(tmp, fmt.Sprintf("state-%03d", i))
				if st.err = makeState(node, dir, st.spec); st.err != nil {
					continue
				}
				if st.shape, st.err = shapeOf(dir); st.err != nil {
					continue
				}
				st.nodeCopy, st.checkCopy = dir+"-node", dir+"-check"
				if st.err = copyTree(dir, st.nodeCopy); st.err == nil {
					st.err = os.Rename(dir, st.checkCopy)
				}
			}
		}()
	}
	for i := range states {
		work <- i
	}
	close(work)
	wg.Wait()
	var nodeDirs []string
	for i, st := range states {
		if st.err != nil {
			t.Fatalf("state %d (%s): %v (seed %d)", i, st.spec, st.err, seed)
		}
		nodeDirs = append(nodeDirs, st.nodeCopy)
	}
	made := time.Since(start)

	counts := countWithNode(t, node, nodeDirs)

	var multi, torn, sst, logOld, rolled, killed, cut int
	for i, st := range states {
		what := fmt.Sprintf("state %d (%s; %+v)", i, st.spec, st.shape)
		want := counts[st.nodeCopy]
		before := testutil.Digest(t, st.checkCopy)

		code, stdout, stderr := runCLI(t, "check", "--store.leveldb.path="+st.checkCopy, "--store.leveldb.prefix="+statesPrefix,
			"--verify.key-file="+filepath.Join(repo, "testdata/keys/current.key"),
			"--report.dir="+filepath.Join(tmp, "reports"), "--state.path="+filepath.Join(tmp, fmt.Sprintf("progress-%03d", i)), "--log.level=error")
		wantLine := fmt.Sprintf("Checked %d sigils. 0 failures.\n", want.Count)
		if code != 0 || !strings.HasPrefix(stdout, wantLine) {
			t.Errorf("%s: check exit %d, stdout %q; Node recovers %d records, want exit 0 and %q\nstderr: %s\nseed %d",
				what, code, firstLine(stdout), want.Count, wantLine, stderr, seed)
		}
		if got, err := walkDigest(st.checkCopy); err != nil {
			t.Errorf("%s: the store's walk: %v (seed %d)", what, err, seed)
		} else if got != want {
			t.Errorf("%s: the store's walk gives %d records, sha256 %s; Node's recovery %d, %s (seed %d)", what, got.Count, got.SHA256, want.Count, want.SHA256, seed)
		}
		if after := testutil.Digest(t, st.checkCopy); !maps.Equal(before, after) {
			t.Errorf("%s: the database directory changed during check", what)
		}

		if st.shape.Journals > 1 {
			multi++
		}
		if st.spec.Torn {
			torn++
		}
		if st.shape.SST > 0 {
			sst++
		}
		if st.shape.LOGOld {
			logOld++
		}
		if st.shape.Manifest != "MANIFEST-000002" {
			rolled++
		}
		if st.spec.Mode == "kill" {
			killed++
		}
		if st.shape.CompactionCut {
			cut++
		}
	}
	summary := fmt.Sprintf("LevelDB states: %d checked against Node (seed %d): %d with several live journals, %d killed, %d torn journal tails, %d with .sst tables, %d with LOG.old, %d with a rolled MANIFEST, %d stopped inside a compaction; made in %s, all in %s",
		n, seed, multi, killed, torn, sst, logOld, rolled, cut, made.Round(time.Second), time.Since(start).Round(time.Second))
	t.Log(summary)
	if testing.Verbose() {
		fmt.Println(summary)
	}
	// The harness must exercise what it is for.
	if n >= 10 && (multi == 0 || sst == 0 || logOld == 0 || rolled == 0 || torn == 0 || cut == 0) {
		t.Errorf("the states lack a shape the harness must cover: %s", summary)
	}
}

// makeState runs state-writer.js into dir as sp says, then renames tables
// or tears the journal.
func makeState(node, dir string, sp stateSpec) error {
	args := []string{filepath.Join(repo, "testdata/node/state-writer.js"), dir, "--mode", sp.Mode,
		"--seed", strconv.FormatInt(sp.Seed, 10), "--sessions", strconv.Itoa(sp.Sessions), "--write-buffer", strconv.Itoa(sp.WriteBuffer)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if sp.Mode == "kill" {
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "writing" {
		}
		time.Sleep(sp.KillAfter)
		_ = cmd.Process.Kill() // SIGKILL: no close, no flush
		_ = cmd.Wait()
		if ctx.Err() != nil {
			return fmt.Errorf("state-writer: %w\n%s", ctx.Err(), stderr.String())
		}
		if stderr.Len() > 0 {
			return fmt.Errorf("state-writer failed before the kill:\n%s", stderr.String())
		}
	} else if out, err := cmd.Output(); err != nil {
		return fmt.Errorf("state-writer: %w\n%s%s", err, out, stderr.String())
	} else if !strings.Contains(string(out), "closed") {
		return fmt.Errorf("state-writer did not close the database:\n%s%s", out, stderr.String())
	}
	// C++ LevelDB opens a table as NNNNNN.sst when NNNNNN.ldb is absent (the
	// name older versions wrote).
	if sp.SST {
		tables, _ := filepath.Glob(filepath.Join(dir, "*.ldb"))
		for i, p := range tables {
			if i%2 == 0 {
				if err := os.Rename(p, strings.TrimSuffix(p, ".ldb")+".sst"); err != nil {
					return err
				}
			}
		}
	}
	// A torn tail: the newest journal loses its last bytes, cutting a
	// record in two, as a crash of the machine (not only the app) does.
	if sp.Torn {
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		if len(logs) > 0 {
			newest := logs[len(logs)-1] // zero-padded numbers sort as text
			if fi, err := os.Stat(newest); err == nil && fi.Size() > 1 {
				if err := os.Truncate(newest, fi.Size()-min(sp.TornCut, fi.Size()-1)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// copyTree copies the files of a database directory.
func copyTree(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

var manifestName = regexp.MustCompile(`^MANIFEST-\d+$`)

func shapeOf(dir string) (stateShape, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return stateShape{}, err
	}
	var s stateShape
	for _, e := range ents {
		switch n := e.Name(); {
		case strings.HasSuffix(n, ".log"):
			s.Journals++
		case strings.HasSuffix(n, ".ldb"):
			s.Tables++
		case strings.HasSuffix(n, ".sst"):
			s.Tables++
			s.SST++
		case n == "LOG.old":
			s.LOGOld = true
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "LOG")); err == nil {
		done := bytes.LastIndex(b, []byte("compacted to"))
		s.CompactionCut = max(bytes.LastIndex(b, []byte("Compacting ")), bytes.LastIndex(b, []byte("Manual compaction at"))) > done
	}
	if b, err := os.ReadFile(filepath.Join(dir, "CURRENT")); err == nil && manifestName.MatchString(strings.TrimSpace(string(b))) {
		s.Manifest = strings.TrimSpace(string(b))
	}
	return s, nil
}

// countWithNode runs count-records.js once over every directory.
func countWithNode(t *testing.T, node string, dirs []string) map[string]nodeCount {
	t.Helper()
	cmd := exec.Command(node, append([]string{filepath.Join(repo, "testdata/node/count-records.js"), "--prefix", statesPrefix}, dirs...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("count-records.js: %v\n%s", err, stderr.String())
	}
	counts := map[string]nodeCount{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var c nodeCount
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("count-records.js printed %q: %v", line, err)
		}
		counts[c.Dir] = nodeCount{Count: c.Count, SHA256: c.SHA256}
	}
	if len(counts) != len(dirs) {
		t.Fatalf("count-records.js counted %d of %d databases", len(counts), len(dirs))
	}
	return counts
}

// walkDigest walks the records under the prefix with the store, as check
// does, and digests them as count-records.js does.
func walkDigest(dir string) (nodeCount, error) {
	s, err := leveldb.Open(dir, leveldb.Options{Prefix: []byte(statesPrefix), ChunkSize: 97})
	if err != nil {
		return nodeCount{}, err
	}
	defer func() { _ = s.Close() }()
	h := sha256.New()
	var c nodeCount
	err = s.Scan(context.Background(), nil, func(r store.Record) error {
		if r.Err != nil {
			return fmt.Errorf("record %q: %w", r.Key, r.Err)
		}
		c.Count++
		h.Write([]byte(statesPrefix))
		h.Write(r.Key)
		h.Write([]byte{0})
		h.Write(r.Value)
		h.Write([]byte{0})
		return nil
	})
	c.SHA256 = hex.EncodeToString(h.Sum(nil))
	return c, err
}
