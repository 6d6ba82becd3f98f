package main

import (
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
