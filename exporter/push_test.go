package main

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestCheckPushesToPushgateway: the CronJob path. `check
// --push.gateway-url` pushes the pass's metrics to a real Pushgateway,
// where Prometheus would scrape them.
func TestCheckPushesToPushgateway(t *testing.T) {
	pgw := testutil.Tool(t, "the Debian package prometheus-pushgateway", "prometheus-pushgateway")
	addr := testutil.FreeAddr(t)
	gw := testutil.Start(t, "pushgateway", exec.Command(pgw, "--web.listen-address="+addr))
	gw.WaitHTTP(t, "http://"+addr+"/-/ready", 10*time.Second)

	args, m := committedDB(t)
	code, stdout, stderr := runCLI(t, append(args, "check", "--push.gateway-url=http://"+addr,
		"--report.dir="+t.TempDir(), "--state.path="+filepath.Join(t.TempDir(), "s"), "--log.level=error")...)
	if code != exitFailures {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := parseMetrics(t, string(body))
	for series, want := range map[string]float64{
		`sigil_integrity_last_status{instance="",job="sigil_integrity_check",store="leveldb"}`:                         0,
		`sigil_integrity_last_pass_records{instance="",job="sigil_integrity_check",store="leveldb"}`:                   float64(m.TotalRecords),
		`sigil_integrity_last_pass_failures{check="checksum",instance="",job="sigil_integrity_check",store="leveldb"}`: 2,
	} {
		got, ok := s[series]
		if !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if !strings.Contains(string(body), "sigil_integrity_last_pass_completion_timestamp_seconds") {
		t.Error("completion timestamp not pushed")
	}
}
