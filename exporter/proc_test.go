package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// proc is a running exporter.
type proc struct {
	*testutil.Proc
	t    *testing.T
	addr string
}

// startExporter runs the binary with args plus a free listen address, in
// a temporary working directory, and waits until it answers /-/healthy.
func startExporter(t *testing.T, args ...string) *proc {
	t.Helper()
	p := launchExporter(t, args...)
	p.WaitHTTP(t, "http://"+p.addr+"/-/healthy", 10*time.Second)
	return p
}

// launchExporter starts the binary with args plus a free listen address,
// in a temporary working directory, and does not wait.
func launchExporter(t *testing.T, args ...string) *proc {
	t.Helper()
	addr := testutil.FreeAddr(t)
	cmd := exec.Command(testutil.Binary(t), append(args, "--web.listen-address="+addr)...)
	cmd.Dir = t.TempDir()
	return &proc{Proc: testutil.Start(t, "exporter", cmd), t: t, addr: addr}
}

// waitFor polls cond until it holds or the timeout passes.
func (p *proc) waitFor(timeout time.Duration, what string, cond func() bool) {
	p.t.Helper()
	testutil.Eventually(p.t, timeout, what, []*testutil.Proc{p.Proc}, cond)
}

// stop sends a signal and returns the exit code and how long exit took.
func (p *proc) stop(sig syscall.Signal) (int, time.Duration) {
	p.t.Helper()
	return p.Stop(p.t, sig, 15*time.Second)
}

func (p *proc) get(path string) (int, string) {
	p.t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *proc) post(path string) int {
	p.t.Helper()
	resp, err := http.Post("http://"+p.addr+path, "text/plain", nil)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// scrape returns every sample of the exporter's /metrics by its series
// text, e.g. `sigil_integrity_last_status{store="leveldb"}`.
func (p *proc) scrape() map[string]float64 {
	p.t.Helper()
	_, body := p.get("/metrics")
	return parseMetrics(p.t, body)
}

func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bufio.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		addSamples(out, name, f.Metric)
	}
	return out
}

// addSamples adds each metric's value to out under its series text, e.g.
// `sigil_integrity_up{store="leveldb"}`, labels in name order.
func addSamples(out map[string]float64, name string, metrics []*dto.Metric) {
	for _, m := range metrics {
		var labels []string
		for _, l := range m.Label {
			labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
		}
		sort.Strings(labels)
		key := name
		if len(labels) > 0 {
			key += "{" + strings.Join(labels, ",") + "}"
		}
		switch {
		case m.Gauge != nil:
			out[key] = m.Gauge.GetValue()
		case m.Counter != nil:
			out[key] = m.Counter.GetValue()
		case m.Untyped != nil:
			out[key] = m.Untyped.GetValue()
		}
	}
}
