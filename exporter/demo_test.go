package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemo: the README's first command builds the demo store, prints the
// check summary and serves metrics and reports until SIGTERM.
func TestDemo(t *testing.T) {
	p := startExporter(t, "demo", "--demo.dir="+t.TempDir())
	p.waitFor(10*time.Second, "the summary and the URLs", func() bool {
		return strings.Contains(p.Out.String(), "/reports")
	})
	out := p.Out.String()
	for _, want := range []string{"Checked 2005 sigils. 5 failures.", "checksum: 1", "signature: 1", "http://" + p.addr + "/metrics"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	s := p.scrape()
	if s[`sigil_integrity_last_status{store="leveldb"}`] != 0 {
		t.Errorf("demo last_status is not 0")
	}
	if code, body := p.get("/reports"); code != 200 || !strings.Contains(body, "bad-checksum-1") {
		t.Errorf("/reports: %d", code)
	}
	if code, _ := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("demo exit %d after SIGTERM", code)
	}
}
