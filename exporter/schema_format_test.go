package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestCheckSchemaFormat: on a LevelDB written by real Node, `check` with the
// starter schema fails the record whose createdAt is "yesterday" (detail
// naming /createdAt and format) and nothing else; with
// --verify.schema-format=annotate it passes; an unknown format in the
// schema is exit 2 with one line naming it.
func TestCheckSchemaFormat(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	testutil.RunGenerator(t, "gen-schema-records.js", "--leveldb", db)
	key := filepath.Join(dir, "schema.key")
	if err := os.WriteFile(key, []byte("sigil-schema-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	starter := filepath.Join(repo, "deploy/schema/sigil-record.schema.json")
	base := func(reports string, extra ...string) []string {
		return append([]string{"check", "--store.leveldb.path=" + db, "--store.leveldb.prefix=!sigils!", "--verify.key-file=" + key,
			"--report.dir=" + reports, "--state.path=" + filepath.Join(t.TempDir(), "state"), "--log.level=error"}, extra...)
	}

	reports := t.TempDir()
	code, stdout, stderr := runCLI(t, base(reports, "--verify.schema-file="+starter)...)
	if code != exitFailures || !strings.Contains(stdout, " 1 failures.") {
		t.Fatalf("exit %d, want 1 with one failure\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	rep := latestReport(t, reports)
	if len(rep.Failures) != 1 {
		t.Fatalf("failures %+v", rep.Failures)
	}
	f := rep.Failures[0]
	if f.ID != "createdat-yesterday" || f.Reason != "schema" || !strings.Contains(f.Detail, "/createdAt") || !strings.Contains(f.Detail, "format") {
		t.Errorf("failure %+v, want createdat-yesterday schema naming /createdAt and format", f)
	}

	code, stdout, stderr = runCLI(t, base(t.TempDir(), "--verify.schema-file="+starter, "--verify.schema-format=annotate")...)
	if code != exitOK {
		t.Errorf("annotate: exit %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	unknown := filepath.Join(dir, "unknown.schema.json")
	if err := os.WriteFile(unknown, []byte(`{"properties":{"createdAt":{"format":"datetime"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, base(t.TempDir(), "--verify.schema-file="+unknown)...)
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if code != exitError || len(lines) != 1 || !strings.Contains(stderr, `"datetime"`) {
		t.Errorf("unknown format: exit %d, want 2 and one line naming \"datetime\"\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, base(t.TempDir(), "--verify.schema-file="+unknown, "--verify.schema-format=annotate")...)
	if code != exitOK {
		t.Errorf("unknown format, annotate: exit %d, want 0: %s", code, stderr)
	}
}
