package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// TestCheckPushesToPushgateway: the CronJob path. `check
// --push.gateway-url` pushes the pass's metrics to a real Pushgateway,
// where Prometheus would scrape them, grouped by instance, store and shard.
func TestCheckPushesToPushgateway(t *testing.T) {
	pgw := testutil.Tool(t, "the Debian package prometheus-pushgateway", "prometheus-pushgateway")
	addr := testutil.FreeAddr(t)
	gw := testutil.Start(t, "pushgateway", exec.Command(pgw, "--web.listen-address="+addr))
	gw.WaitHTTP(t, "http://"+addr+"/-/ready", 10*time.Second)

	args, m := committedDB(t)
	check := func(extra ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, append(append(args, "check", "--push.gateway-url=http://"+addr,
			"--report.dir="+t.TempDir(), "--state.path="+filepath.Join(t.TempDir(), "s"), "--log.level=error"), extra...)...)
		if code != exitFailures && code != exitOK {
			t.Fatalf("check %v: exit %d\n%s%s", extra, code, stdout, stderr)
		}
	}
	scrape := func() (map[string]float64, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return parseMetrics(t, string(body)), string(body)
	}

	// Two hosts check the same store, and one host checks it in two shards:
	// every push is its own group (job, instance, store, shard), none
	// replaces another.
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	check() // the default instance: the host name
	check("--push.instance=node-b")
	check("--push.instance=node-c", "--scan.shard=0/2")
	check("--push.instance=node-c", "--scan.shard=1/2")
	s, body := scrape()
	series := func(inst, shard, name, extra string) string {
		return name + `{` + extra + `instance="` + inst + `",job="sigil_integrity_check",shard="` + shard + `",store="leveldb"}`
	}
	for _, inst := range []string{host, "node-b"} {
		for name, want := range map[string]float64{
			"sigil_integrity_last_status":       0,
			"sigil_integrity_last_pass_records": float64(m.Total),
		} {
			if got, ok := s[series(inst, "all", name, "")]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", series(inst, "all", name, ""), got, ok, want)
			}
		}
		if got := s[series(inst, "all", "sigil_integrity_last_pass_failures", `check="checksum",`)]; got != 2 {
			t.Errorf("%s = %v, want 2", series(inst, "all", "sigil_integrity_last_pass_failures", `check="checksum",`), got)
		}
	}
	a, okA := s[series("node-c", "0/2", "sigil_integrity_last_pass_records", "")]
	b, okB := s[series("node-c", "1/2", "sigil_integrity_last_pass_records", "")]
	if !okA || !okB || a+b != float64(m.Total) || a == 0 || b == 0 {
		t.Errorf("the two shards' groups hold %v (present %v) and %v (present %v) records, want both present, adding up to %d",
			a, okA, b, okB, m.Total)
	}
	if strings.Contains(body, `instance=""`) {
		t.Errorf("a pushed series has an empty instance:\n%s", body)
	}
	if !strings.Contains(body, "sigil_integrity_last_pass_completion_timestamp_seconds") {
		t.Error("completion timestamp not pushed")
	}
}
