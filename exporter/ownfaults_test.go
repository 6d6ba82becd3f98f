package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// ownFaultServe serves a clean 200-record database served with 1 s passes and
// checkpoints every 100 ms.
func ownFaultServe(t *testing.T, state, reports string) *proc {
	t.Helper()
	a := filledAppDB(t, 200)
	p := startExporter(t, "serve", "--store.leveldb.path="+a.path, "--verify.key-file="+a.keyFile(), "--scan.pass-duration=1s",
		"--state.checkpoint-interval=100ms", "--state.path="+state, "--report.dir="+reports)
	p.waitFor(10*time.Second, "a first pass", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 1
	})
	return p
}

// checkOwnFaults waits for three more passes after fault(), then checks
// that the walk and the scrape went on, the error counters rose, and the
// log said so once; then heal() and checks that writing resumes.
func checkOwnFaults(t *testing.T, p *proc, state, reports string, fault, heal func()) {
	t.Helper()
	passes := p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`]
	fault()
	p.waitFor(15*time.Second, "three passes after the fault", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= passes+3
	})
	s := p.scrape()
	stateErrs, reportErrs := s[`sigil_integrity_state_write_errors_total{store="leveldb"}`], s[`sigil_integrity_report_write_errors_total{store="leveldb"}`]
	if stateErrs < 3 || reportErrs < 3 {
		t.Errorf("state_write_errors_total %v, report_write_errors_total %v; want each >= 3 after three passes", stateErrs, reportErrs)
	}
	if got := s[`sigil_integrity_last_pass_records{store="leveldb"}`]; got != 200 {
		t.Errorf("last_pass_records %v, want 200: the walk must go on", got)
	}
	if got, _ := failureGauges(s); got != 0 || s[`sigil_integrity_last_status{store="leveldb"}`] != 1 {
		t.Errorf("own faults became record failures: %v, last_status %v", got, s[`sigil_integrity_last_status{store="leveldb"}`])
	}
	logs := p.Out.String()
	if n := strings.Count(logs, "cannot save progress"); n != 1 {
		t.Errorf("%d log lines say progress cannot be saved after %v failed checkpoints, want 1", n, stateErrs)
	}
	if n := strings.Count(logs, "cannot write the report"); n < 1 || float64(n) > reportErrs {
		t.Errorf("%d log lines say a report cannot be written for %v failed reports, want one per report", n, reportErrs)
	}
	heal()
	p.waitFor(10*time.Second, "progress saved and a report written again", func() bool {
		files, _ := filepath.Glob(filepath.Join(reports, "integrity-report-leveldb-*.json"))
		_, err := os.Stat(filepath.Join(state, "progress-leveldb.json"))
		return strings.Contains(p.Out.String(), "progress is saved again") && len(files) > 0 && err == nil
	})
}

// TestServeStateAndReportDirGone: the --state.path and --report.dir
// directories are replaced by plain files while serving (permission bits do
// not stop root, so this stands in for an unwritable directory).
func TestServeStateAndReportDirGone(t *testing.T) {
	base := t.TempDir()
	state, reports := filepath.Join(base, "state"), filepath.Join(base, "reports")
	p := ownFaultServe(t, state, reports)
	replace := func(dir string) {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, []byte("not a directory"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	restore := func(dir string) {
		os.Remove(dir)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	checkOwnFaults(t, p, state, reports,
		func() { replace(state); replace(reports) },
		func() { restore(state); restore(reports) })
}

// TestServeDiskFull: --state.path and --report.dir on a 64 KiB tmpfs that
// fills up while serving: real ENOSPC. Needs root (mount); skipped
// otherwise, and fails under CI=true when the mount is refused.
func TestServeDiskFull(t *testing.T) {
	testutil.Long(t, "a tmpfs mount and the exporter's binary")
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k"); err != nil {
		testutil.Unavailable(t, fmt.Sprintf("mount a 64 KiB tmpfs: %v (needs root or CAP_SYS_ADMIN)", err))
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	state, reports := filepath.Join(mnt, "state"), filepath.Join(mnt, "reports")
	p := ownFaultServe(t, state, reports)
	filler := filepath.Join(mnt, "filler")
	checkOwnFaults(t, p, state, reports,
		func() {
			f, err := os.Create(filler)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			chunk := make([]byte, 512)
			for {
				if _, err := f.Write(chunk); err != nil {
					if !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("filling the tmpfs: %v", err)
					}
					return
				}
			}
		},
		func() {
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
		})
}

// seedState runs one clean `check` into state and returns the progress
// file's path; the database is a clean appDB of 50 records.
func seedState(t *testing.T) (a *appDB, state string, args []string) {
	t.Helper()
	a = filledAppDB(t, 50)
	state = t.TempDir()
	args = []string{"--store.leveldb.path=" + a.path, "--verify.key-file=" + a.keyFile(), "--state.path=" + state}
	if code, stdout, stderr := runCLI(t, append(args, "check", "--report.dir="+t.TempDir(), "--log.level=error")...); code != exitOK {
		t.Fatalf("seeding check: exit %d\n%s%s", code, stdout, stderr)
	}
	return a, state, args
}

// TestServeDamagedProgressFile: a progress file that is torn, garbage or
// inconsistent is detected at start: one log line, the file set aside as
// .damaged, and a fresh pass that completes and counts every record, while
// the exporter keeps serving (no crash loop).
func TestServeDamagedProgressFile(t *testing.T) {
	cases := map[string]func(good []byte) []byte{
		"garbage": func([]byte) []byte { return []byte("\x00\xff\x13garbage\x00 not json at all") },
		"torn":    func(good []byte) []byte { return good[:len(good)/2] },
		"empty":   func([]byte) []byte { return nil },
		"inconsistent": func([]byte) []byte {
			return []byte(`{"version":1,"store":"leveldb","current":{"started":"2024-01-01T00:00:00Z","checked":-5}}`)
		},
		"foreign": func([]byte) []byte { return []byte(`{"version":99,"store":"postgres"}`) },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			_, state, args := seedState(t)
			progress := filepath.Join(state, "progress-leveldb.json")
			good := testutil.ReadFile(t, progress)
			if err := os.WriteFile(progress, damage(good), 0o640); err != nil {
				t.Fatal(err)
			}
			p := startExporter(t, append(args, "serve", "--scan.pass-duration=1s", "--report.dir="+t.TempDir())...)
			p.waitFor(10*time.Second, "a fresh pass to complete", func() bool {
				return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 1
			})
			s := p.scrape()
			if got := s[`sigil_integrity_last_pass_records{store="leveldb"}`]; got != 50 {
				t.Errorf("the fresh pass counted %v records, want 50", got)
			}
			if got, _ := failureGauges(s); got != 0 {
				t.Errorf("failures after a damaged progress file: %v", got)
			}
			if n := strings.Count(grepLines(p.Out.String(), "level=WARN"), "progress file is damaged; starting a new pass"); n != 1 {
				t.Errorf("%d log lines about the damaged progress file, want 1:\n%s", n, p.Out.String())
			}
			if _, err := os.Stat(progress + ".damaged"); err != nil {
				t.Errorf("the damaged file was not set aside: %v", err)
			}
			p.waitFor(5*time.Second, "a new, valid progress file", func() bool {
				b, err := os.ReadFile(progress)
				var v map[string]any
				return err == nil && json.Unmarshal(b, &v) == nil && v["last"] != nil
			})
		})
	}
}

// TestDamagedKeyList: the last pass's key list (the missing check's
// reference) with one flipped byte must not invent a missing record: the
// damage is detected and said in a log line, and a clean database still
// checks clean (exit 0).
func TestDamagedKeyList(t *testing.T) {
	_, state, args := seedState(t)
	list := filepath.Join(state, "keys-leveldb.last")
	b := testutil.ReadFile(t, list)
	i := bytes.Index(b, []byte("rec-025"))
	if i < 0 {
		t.Fatalf("key list %s does not hold rec-025", list)
	}
	testutil.FlipBytes(t, list, int64(i+5), 1) // rec-025 becomes rec-0?5
	reports := t.TempDir()
	code, stdout, stderr := runCLI(t, append(args, "check", "--report.dir="+reports, "--log.level=warn")...)
	if code != exitOK {
		t.Errorf("a clean database after a damaged key list: exit %d, want 0 (a damaged key list must not report records missing)\nstdout: %s", code, stdout)
	}
	if !strings.Contains(stderr, "key list") {
		t.Errorf("no log line about the damaged key list:\n%s", stderr)
	}
}
