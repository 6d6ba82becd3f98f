package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repo is the repository root, relative to this package.
const repo = ".."

// runCLI runs the command line in-process and returns its exit code and
// output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// needTool finds a program; without it the test skips, or fails in CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI and missing: .ci/run installs it", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// manifest is testdata/node/make-leveldb.js's expected.json.
type manifest struct {
	Prefix         string   `json:"prefix"`
	TotalRecords   int      `json:"total_records"`
	Failures       []want   `json:"failures"`
	SchemaFailures []want   `json:"schema_failures"`
	EdgeCases      []string `json:"edge_cases"`
	Keys           []string `json:"keys"`
}

type want struct {
	Key   string `json:"key"`
	ID    string `json:"id"`
	Check string `json:"check"`
}

func readManifest(t *testing.T, path string) manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// copyDir copies a directory tree (a LevelDB) so a test may damage it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// treeDigest maps every file under dir to its size and SHA-256.
func treeDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, dir)] = hex.EncodeToString(sum[:]) + " " + fi.Mode().String() + " " + fi.ModTime().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// needNode finds node with the generators' npm packages installed; without
// them the test skips, or fails in CI.
func needNode(t *testing.T) string {
	t.Helper()
	node := needTool(t, "node")
	if _, err := os.Stat(filepath.Join(repo, "testdata/node/node_modules/classic-level")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("testdata/node/node_modules is missing: run `npm ci` in testdata/node (make test does)")
		}
		t.Skip("testdata/node/node_modules missing: run npm ci in testdata/node")
	}
	return node
}

// nodeLevelDB runs the Node generator into a temp dir and returns the
// database path and its manifest; extra arguments go to make-leveldb.js
// (--no-compact: as a running app leaves it).
func nodeLevelDB(t *testing.T, count string, extra ...string) (string, manifest) {
	t.Helper()
	node := needNode(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sigils-db")
	cmd := exec.Command(node, append([]string{filepath.Join(repo, "testdata/node/make-leveldb.js"), db, "--count", count}, extra...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-leveldb.js: %v\n%s", err, out)
	}
	return db, readManifest(t, filepath.Join(dir, "expected.json"))
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
}

// readReport reads one report file.
func readReport(t *testing.T, path string) reportJSON {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r reportJSON
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report %s: %v", path, err)
	}
	return r
}
