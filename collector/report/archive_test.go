package report

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil/sigil-integrity-exporter/internal/fielderr"
	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

func newTestArchive(t *testing.T, retain int) (*Archive, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "reports", "nested")
	a, err := NewArchive(dir, retain, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, dir
}

// testReport is a small complete report of store, an hour long, finished
// at finished: checked records, one of which failed its checksum.
func testReport(store string, finished time.Time, checked int64) *Report {
	return &Report{
		Checked:         checked,
		OK:              checked - 1,
		Failed:          1,
		Failures:        []Failure{{ID: "x", Reason: "checksum", Key: "x"}},
		Store:           store,
		StartedAt:       finished.Add(-time.Hour).UTC(),
		FinishedAt:      finished.UTC(),
		Complete:        true,
		FailuresByCheck: map[string]int64{"checksum": 1},
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestNewArchive(t *testing.T) {
	a, dir := newTestArchive(t, 3)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o750 {
		t.Errorf("report dir mode %o, want 750", got)
	}
	if a.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", a.Dir(), dir)
	}

	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{file, filepath.Join(file, "below")} {
		_, err := NewArchive(d, 3, nil)
		var fe *fielderr.Error
		if err == nil || !strings.Contains(err.Error(), d) || !errors.As(err, &fe) || fe.Field != "report.Archive.Dir" || strings.Contains(err.Error(), "\n") {
			t.Errorf("NewArchive(%q) error = %v, want one line naming the path, a *fielderr.Error for report.Archive.Dir", d, err)
		}
	}
	if _, err := NewArchive(t.TempDir(), 0, nil); err == nil {
		t.Error("NewArchive with retain 0 succeeded, want an error")
	}
}

func TestWrite(t *testing.T) {
	a, dir := newTestArchive(t, 3)
	r := testReport("leveldb", time.Date(2026, 11, 25, 22, 15, 30, 999, time.FixedZone("X", -5*3600)), 7)
	path, err := a.Write(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "integrity-report-leveldb-20261126T031530Z.json"); path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o640 {
		t.Errorf("report mode %o, want 640", got)
	}
	data := testutil.ReadFile(t, path)
	if !strings.HasPrefix(string(data), "{\n  \"checked\": 7,\n") || !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("report is not pretty JSON with a trailing newline:\n%s", data)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Checked != 7 || back.Failed != 1 || back.Store != "leveldb" {
		t.Errorf("read back %+v", back)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only the report (no temp files)", names)
	}
	wantLatest(t, a, "", r, "Latest")
}

func TestWriteSameSecondUnique(t *testing.T) {
	a, _ := newTestArchive(t, 10)
	at := time.Date(2026, 11, 25, 22, 15, 30, 0, time.UTC)
	var paths []string
	for i := range 3 {
		p, err := a.Write(testReport("leveldb", at.Add(time.Duration(i)*time.Millisecond), int64(10+i)))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(p))
	}
	want := []string{
		"integrity-report-leveldb-20261125T221530Z.json",
		"integrity-report-leveldb-20261125T221530Z-2.json",
		"integrity-report-leveldb-20261125T221530Z-3.json",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	entries, err := a.List()
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range entries {
		listed = append(listed, e.Name)
	}
	slices.Reverse(want)
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("List order, newest first (-want +got):\n%s", diff)
	}
	latest, err := a.Latest("leveldb")
	if err != nil {
		t.Fatal(err)
	}
	if latest.Checked != 12 {
		t.Errorf("Latest is the report with %d checked, want the last written (12)", latest.Checked)
	}
}

func TestRetentionPerStore(t *testing.T) {
	a, dir := newTestArchive(t, 2)
	foreign := []string{
		"notes.txt",
		"integrity-report-leveldb-old.json",
		"integrity-report-leveldb-20200101T000000Z.json.bak",
		"integrity-report-leveldb-20200101T000000Z-1.json",
		".integrity-report-leveldb-20200101T000000Z.json.tmp-123",
	}
	for _, f := range foreign {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with a report's name is not a report.
	if err := os.Mkdir(filepath.Join(dir, "integrity-report-leveldb-20000101T000000Z.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	for day := range 5 {
		if _, err := a.Write(testReport("leveldb", base.Add(time.Duration(day)*24*time.Hour), 5)); err != nil {
			t.Fatal(err)
		}
	}
	for day := range 3 {
		if _, err := a.Write(testReport("postgres", base.Add(time.Duration(day)*24*time.Hour), 5)); err != nil {
			t.Fatal(err)
		}
	}
	want := append([]string{
		"integrity-report-leveldb-20000101T000000Z.json",
		"integrity-report-leveldb-20261123T030000Z.json",
		"integrity-report-leveldb-20261124T030000Z.json",
		"integrity-report-postgres-20261121T030000Z.json",
		"integrity-report-postgres-20261122T030000Z.json",
	}, foreign...)
	slices.Sort(want)
	if diff := cmp.Diff(want, dirNames(t, dir)); diff != "" {
		t.Errorf("directory after retention 2 (-want +got):\n%s", diff)
	}

	// A report whose time sorts oldest (the clock stepped back) is still
	// kept when written; an older one goes instead.
	p, err := a.Write(testReport("postgres", base.Add(-time.Hour), 5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("the report just written was pruned: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "integrity-report-postgres-20261121T030000Z.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the older postgres report was kept beyond the retention: %v", err)
	}
}

func TestWriteRejectsBadStoreNames(t *testing.T) {
	a, dir := newTestArchive(t, 2)
	for _, store := range []string{"", "../x", "a/b", "-x", "x-", "a b", "a.b"} {
		if _, err := a.Write(testReport(store, t0, 1)); err == nil {
			t.Errorf("Write with store %q succeeded, want an error", store)
		}
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("rejected writes left %v", names)
	}
}

func TestLatestNone(t *testing.T) {
	a, _ := newTestArchive(t, 2)
	if _, err := a.Latest(""); !errors.Is(err, ErrNoReport) {
		t.Errorf("Latest on an empty archive: %v, want ErrNoReport", err)
	}
	if _, err := a.Write(testReport("leveldb", t0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Latest("postgres"); !errors.Is(err, ErrNoReport) {
		t.Errorf("Latest(postgres) with only leveldb reports: %v, want ErrNoReport", err)
	}
}

// TestWriteFailureKeepsOldReports makes a write fail for real (an
// unencodable report, then a read-only directory) and checks that the older
// reports are intact and no temp file is left. The file system part needs a
// user that permissions apply to: as root, the test re-runs itself as
// nobody.
func TestWriteFailureKeepsOldReports(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t, "TestWriteFailureKeepsOldReports")
		return
	}
	t.Logf("running as uid %d", os.Geteuid())
	a, dir := newTestArchive(t, 5)
	first := testReport("leveldb", t0, 3)
	if _, err := a.Write(first); err != nil {
		t.Fatal(err)
	}
	before := dirNames(t, dir)

	bad := testReport("leveldb", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), 4)
	if _, err := a.Write(bad); err == nil {
		t.Error("writing a report dated year 10000 succeeded, want an encoding error")
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o750) })
	_, err := a.Write(testReport("leveldb", t0.Add(time.Hour), 5))
	if err == nil {
		t.Fatal("writing into a read-only directory succeeded, want an error")
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || strings.Contains(msg, "\n") {
		t.Errorf("error %q should be one line and name the report directory", msg)
	}
	if diff := cmp.Diff(before, dirNames(t, dir)); diff != "" {
		t.Errorf("directory changed by failed writes (-want +got):\n%s", diff)
	}
	wantLatest(t, a, "leveldb", first, "old report changed")
}

// wantLatest fails t unless the archive's latest report of store (any
// store for "") is want.
func wantLatest(t *testing.T, a *Archive, store string, want *Report, what string) {
	t.Helper()
	got, err := a.Latest(store)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// runAsNobody re-runs one test of this binary as uid/gid 65534 and fails if
// it does not pass there.
func runAsNobody(t *testing.T, test string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir, err := os.MkdirTemp("", "report-test-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "report.test")
	copyFile(t, exe, bin)
	cmd := exec.Command(bin, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Dir = binDir
	cmd.Env = append(os.Environ(), "TMPDIR=/tmp")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s as nobody: %v\n%s", test, err, out)
	}
	t.Logf("re-run as uid 65534:\n%s", out)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestArchiveStampsOrigin: Write stamps the archive's Origin on the file,
// keeps what a report already says, and leaves the caller's report as it
// was.
func TestArchiveStampsOrigin(t *testing.T) {
	a, err := NewArchive(t.TempDir(), 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetOrigin(Origin{Host: "db-host-1", Version: "1.2.3", Canonical: "js"})
	r := &Report{Store: "leveldb", FinishedAt: time.Now(), Canonical: "raw"}
	path, err := a.Write(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.read(filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "db-host-1" || got.Version != "1.2.3" || got.Canonical != "raw" {
		t.Errorf("written report: host %q version %q canonical %q; want db-host-1, 1.2.3, raw", got.Host, got.Version, got.Canonical)
	}
	if r.Host != "" || r.Version != "" {
		t.Errorf("Write changed the caller's report: %+v", r)
	}
}
