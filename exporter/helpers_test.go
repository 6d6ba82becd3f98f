package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// repo is the repository root, as an absolute path: processes the tests
// start run in a temporary directory.
var repo = func() string {
	dir, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return dir
}()

// runCLI runs the command line in-process and returns its exit code and
// output. Unless args set them, --state.path and --report.dir point into
// t.TempDir(): the defaults (./state, ./reports) would write into the
// package's directory, the source tree.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	args = withScratchDirs(t, args)
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// withScratchDirs appends --state.path and --report.dir in a new temporary
// directory to args that do not set them.
func withScratchDirs(t testing.TB, args []string) []string {
	set := func(flag string) bool {
		return slices.ContainsFunc(args, func(a string) bool { return a == flag || strings.HasPrefix(a, flag+"=") })
	}
	dir := ""
	for _, f := range []string{"--state.path", "--report.dir"} {
		if !set(f) {
			if dir == "" {
				dir = t.TempDir()
			}
			args = append(args, f+"="+filepath.Join(dir, strings.TrimPrefix(f, "--")))
		}
	}
	return args
}

// latestReport reads the newest report in dir.
func latestReport(t *testing.T, dir string) reportJSON {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "integrity-report-*.json"))
	if len(files) == 0 {
		t.Fatalf("no report in %s", dir)
	}
	var newest string
	var newestMod int64
	for _, f := range files {
		fi, _ := os.Stat(f)
		if fi.ModTime().UnixNano() >= newestMod {
			newest, newestMod = f, fi.ModTime().UnixNano()
		}
	}
	return readReport(t, newest)
}

type reportJSON struct {
	Checked  int64 `json:"checked"`
	OK       int64 `json:"ok"`
	Failed   int64 `json:"failed"`
	Failures []struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
		Key    string `json:"key"`
		Detail string `json:"detail"`
	} `json:"failures"`
	Store           string           `json:"store"`
	Complete        bool             `json:"complete"`
	FailuresByCheck map[string]int64 `json:"failures_by_check"`
	Canonical       string           `json:"canonical"`
	Host            string           `json:"host"`
	Version         string           `json:"exporter_version"`
}

// readReport reads one report file.
func readReport(t *testing.T, path string) reportJSON {
	t.Helper()
	return testutil.ReadJSON[reportJSON](t, path)
}

// envOr is the environment variable name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// demoStore writes the demo's LevelDB of n records (with the demo's
// planted failures when planted) into a temporary directory and returns
// the directory, the database in it and the two key files.
func demoStore(t *testing.T, n int, planted bool) (dir, db string, keys []string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "db")
	keys, err := writeDemoDB(db, dir, n, planted)
	if err != nil {
		t.Fatal(err)
	}
	return dir, db, keys
}
