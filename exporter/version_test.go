package main

import (
	"os"
	"strings"
	"testing"

	"github.com/prometheus/common/version"
)

// TestVersionFallback: without linker flags the version comes from Go's
// build information, and is never empty.
func TestVersionFallback(t *testing.T) {
	saved := version.Version
	t.Cleanup(func() { version.Version = saved })
	version.Version = ""
	setVersion()
	if version.Version == "" {
		t.Fatal("version still empty after setVersion")
	}
	version.Version = "1.2.3"
	setVersion()
	if version.Version != "1.2.3" {
		t.Fatalf("setVersion replaced the linker's version with %q", version.Version)
	}
}

// TestReportOrigin: every report says which host and exporter version
// wrote it and in which canonical form checksums were computed; the
// startup log line carries the version.
func TestReportOrigin(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("no host name here: %v", err)
	}
	for _, mode := range []string{"js", "raw"} {
		t.Run(mode, func(t *testing.T) {
			args, _ := committedDB(t)
			reports := t.TempDir()
			code, stdout, stderr := runCLI(t, append(args, "check", "--verify.canonical="+mode, "--report.dir="+reports)...)
			if code != exitFailures {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			r := latestReport(t, reports)
			if r.Host != host || r.Version == "" || r.Version != version.Version || r.Canonical != mode {
				t.Errorf("report host %q version %q canonical %q; want %q, %q, %q", r.Host, r.Version, r.Canonical, host, version.Version, mode)
			}
			if !strings.Contains(stderr, "starting sigil-integrity-exporter") || !strings.Contains(stderr, "version="+version.Version) {
				t.Errorf("no startup log line with the version:\n%s", stderr)
			}
		})
	}
}

// TestBuildInfoVersion: a binary built without linker flags (go build, as
// testutil.Binary builds it) still exports a version in build_info and
// logs it at start.
func TestBuildInfoVersion(t *testing.T) {
	args, _ := committedDB(t)
	p := startExporter(t, append(args, "serve", "--scan.pass-duration=1h")...)
	found := false
	for series := range p.scrape() {
		if strings.HasPrefix(series, "sigil_integrity_exporter_build_info{") {
			found = true
			if strings.Contains(series, `version=""`) || !strings.Contains(series, `version="`) {
				t.Errorf("build_info without a version: %s", series)
			}
		}
	}
	if !found {
		t.Fatal("no sigil_integrity_exporter_build_info series")
	}
	if !strings.Contains(p.Out.String(), `msg="starting sigil-integrity-exporter" command=serve version="(version=`) {
		t.Errorf("no startup log line with the version:\n%s", p.Out.String())
	}
}
