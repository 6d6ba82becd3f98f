package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/syndtr/goleveldb/leveldb"
	"golang.org/x/crypto/bcrypt"
)

// request sends one request with extra headers and returns the status,
// the response headers and the body.
func (p *proc) request(method, path string, hdr map[string]string, body string) (int, http.Header, string) {
	p.t.Helper()
	req, err := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// vmHWM is a process's peak resident set size in KiB.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	return procStatusKiB(t, strconv.Itoa(pid), "VmHWM")
}

// TestControlLifecycle: without --web.enable-lifecycle every control
// request is refused with 403 and a hint, whatever its method or headers.
// With it, a same-origin POST works and a cross-site one (a plain HTML
// form posting from another site) does not; the pause shows in the
// metrics, is logged with the remote address, and survives a restart
// until a resume; run-now is rate-limited.
func TestControlLifecycle(t *testing.T) {
	t.Parallel()
	a := filledAppDB(t, 20)
	state := t.TempDir()
	args := []string{"serve", "--store.leveldb.path=" + a.path, "--verify.key-file=" + a.keyFile(),
		"--scan.pass-duration=1s", "--report.dir=" + t.TempDir(), "--state.path=" + state}
	form := map[string]string{"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"}

	off := startExporter(t, args...)
	for _, path := range []string{"/-/pause", "/-/resume", "/-/run-now", "/-/pause?store=leveldb"} {
		for _, hdr := range []map[string]string{nil, form, {"Origin": "http://" + off.addr}} {
			code, _, body := off.request("POST", path, hdr, "x=1")
			if code != http.StatusForbidden || !strings.Contains(body, "--web.enable-lifecycle") {
				t.Errorf("without the flag: POST %s %v: %d %q, want 403 naming --web.enable-lifecycle", path, hdr, code, body)
			}
		}
		if code, _, _ := off.request("GET", path, nil, ""); code != http.StatusForbidden {
			t.Errorf("without the flag: GET %s: %d, want 403", path, code)
		}
	}
	s := off.scrape()
	if s["sigil_integrity_lifecycle_enabled"] != 0 || s[`sigil_integrity_paused{store="leveldb"}`] != 0 {
		t.Errorf("without the flag: lifecycle_enabled %v, paused %v; want 0 and 0", s["sigil_integrity_lifecycle_enabled"], s[`sigil_integrity_paused{store="leveldb"}`])
	}
	if _, err := os.Stat(filepath.Join(state, "pause-leveldb.json")); err == nil {
		t.Error("a refused pause left a pause file")
	}
	off.stop(syscall.SIGTERM)

	on := startExporter(t, append(args, "--web.enable-lifecycle")...)
	if on.scrape()["sigil_integrity_lifecycle_enabled"] != 1 {
		t.Error("with the flag: lifecycle_enabled is not 1")
	}
	for _, hdr := range []map[string]string{form, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}} {
		if code, _, _ := on.request("POST", "/-/pause", hdr, "x=1"); code != http.StatusForbidden {
			t.Errorf("cross-site POST /-/pause %v: %d, want 403", hdr, code)
		}
	}
	if on.scrape()[`sigil_integrity_paused{store="leveldb"}`] != 0 {
		t.Fatal("a cross-site request paused the walk")
	}
	if code, _, _ := on.request("GET", "/-/pause", nil, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/pause with the flag: %d, want 405", code)
	}
	code, _, body := on.request("POST", "/-/pause", map[string]string{"Origin": "http://" + on.addr, "Sec-Fetch-Site": "same-origin"}, "")
	if code != 200 {
		t.Fatalf("same-origin POST /-/pause: %d %q", code, body)
	}
	s = on.scrape()
	since := s[`sigil_integrity_paused_since_timestamp_seconds{store="leveldb"}`]
	if s[`sigil_integrity_paused{store="leveldb"}`] != 1 || since < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("after pause: paused %v, paused_since %v", s[`sigil_integrity_paused{store="leveldb"}`], since)
	}
	if !strings.Contains(on.Out.String(), `msg="control request" action=pause`) || !strings.Contains(on.Out.String(), "remote=127.0.0.1:") {
		t.Errorf("the pause is not logged with its remote address:\n%s", grepLines(on.Out.String(), "control"))
	}
	on.stop(syscall.SIGTERM)

	// A restart keeps the pause: the walk does not move.
	again := startExporter(t, append(args, "--web.enable-lifecycle")...)
	s = again.scrape()
	if s[`sigil_integrity_paused{store="leveldb"}`] != 1 || s[`sigil_integrity_paused_since_timestamp_seconds{store="leveldb"}`] != since {
		t.Errorf("after a restart: paused %v since %v, want 1 since %v", s[`sigil_integrity_paused{store="leveldb"}`], s[`sigil_integrity_paused_since_timestamp_seconds{store="leveldb"}`], since)
	}
	before := s[`sigil_integrity_records_verified_total{store="leveldb"}`]
	time.Sleep(1500 * time.Millisecond)
	if after := again.scrape()[`sigil_integrity_records_verified_total{store="leveldb"}`]; after != before {
		t.Errorf("the walk moved while paused across a restart: %v -> %v records", before, after)
	}
	if !strings.Contains(again.Out.String(), "the walk is paused, as it was before the restart") {
		t.Error("the restart does not say the walk is paused")
	}
	if code := again.post("/-/resume"); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	again.waitFor(5*time.Second, "the walk to resume", func() bool {
		s := again.scrape()
		return s[`sigil_integrity_paused{store="leveldb"}`] == 0 && s[`sigil_integrity_records_verified_total{store="leveldb"}`] > before
	})
	if _, err := os.Stat(filepath.Join(state, "pause-leveldb.json")); err == nil {
		t.Error("the pause file is still there after a resume")
	}

	// run-now: a burst of runNowBurst, then 429 with Retry-After.
	for i := 0; i < runNowBurst; i++ {
		if code := again.post("/-/run-now"); code != 200 {
			t.Fatalf("run-now %d: %d", i, code)
		}
	}
	code, hdr, _ := again.request("POST", "/-/run-now", nil, "")
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Errorf("run-now past the burst: %d, Retry-After %q; want 429 with Retry-After", code, hdr.Get("Retry-After"))
	}
}

// TestEvidenceSurvivesPasses: records deleted from the store stay in
// missing, named in the newest report with their first-seen time, through
// many passes (and report pruning down to 2 per store), until they are
// restored; then they are listed as fixed.
func TestEvidenceSurvivesPasses(t *testing.T) {
	t.Parallel()
	a := filledAppDB(t, 30)
	reports := t.TempDir()
	p := startExporter(t, "serve", "--store.leveldb.path="+a.path, "--verify.key-file="+a.keyFile(), "--scan.pass-duration=300ms",
		"--store.leveldb.reopen-interval=100ms", "--report.retain=2", "--report.dir="+reports, "--state.path="+t.TempDir())
	p.waitFor(10*time.Second, "a pass", func() bool {
		return p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`] >= 1
	})
	deleted := []string{"rec-000", "rec-017"}
	db, err := leveldb.OpenFile(a.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range deleted {
		if err := db.Delete([]byte(k), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	p.waitFor(10*time.Second, "missing records", func() bool {
		return p.scrape()[`sigil_integrity_missing_records{store="leveldb"}`] == 2
	})
	start := p.scrape()[`sigil_integrity_passes_completed_total{store="leveldb"}`]
	var firstSeen map[string]string
	for n := 0; n < 8; {
		s := p.scrape()
		if got := s[`sigil_integrity_missing_records{store="leveldb"}`]; got != 2 {
			t.Fatalf("after %v more passes missing_records is %v, want 2", s[`sigil_integrity_passes_completed_total{store="leveldb"}`]-start, got)
		}
		if s[`sigil_integrity_last_status{store="leveldb"}`] != 0 {
			t.Fatal("last_status went back to 1 while records are still missing")
		}
		if done := s[`sigil_integrity_passes_completed_total{store="leveldb"}`] - start; int(done) > n {
			n = int(done)
			_, body := p.get("/reports/latest.json?store=leveldb")
			var rep evidenceJSON
			if err := json.Unmarshal([]byte(body), &rep); err != nil {
				t.Fatalf("latest.json: %v", err)
			}
			seen := map[string]string{}
			for _, f := range rep.Failures {
				if f.Reason == "missing" {
					seen[f.ID] = f.FirstSeen
				}
			}
			if len(seen) != 2 || seen["rec-000"] == "" || seen["rec-017"] == "" {
				t.Fatalf("the newest report names %v as missing, want rec-000 and rec-017 with first_seen", seen)
			}
			if firstSeen == nil {
				firstSeen = seen
			} else if seen["rec-000"] != firstSeen["rec-000"] || seen["rec-017"] != firstSeen["rec-017"] {
				t.Errorf("first_seen moved: %v, was %v", seen, firstSeen)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if files, _ := filepath.Glob(filepath.Join(reports, "integrity-report-leveldb-*.json")); len(files) > 2 {
		t.Errorf("%d reports kept, want at most --report.retain=2", len(files))
	}
	backup := a.records(30)
	a.put(map[string][]byte{"rec-000": backup["rec-000"], "rec-017": backup["rec-017"]}) // restored from backup
	p.waitFor(10*time.Second, "the restored records to clear", func() bool {
		s := p.scrape()
		return s[`sigil_integrity_missing_records{store="leveldb"}`] == 0 && s[`sigil_integrity_last_status{store="leveldb"}`] == 1
	})
	p.waitFor(10*time.Second, "a report listing them fixed", func() bool {
		_, body := p.get("/reports/latest.json?store=leveldb")
		var rep evidenceJSON
		if json.Unmarshal([]byte(body), &rep) != nil {
			return false
		}
		fixed := 0
		for _, f := range rep.Fixed {
			if f.Reason == "missing" && f.FixedAt != "" && f.FirstSeen == firstSeen[f.ID] {
				fixed++
			}
		}
		return fixed == 2 && len(rep.Failures) == 0
	})
}

// TestServerHardening: unknown paths are 404 (no metrics), bad report
// names are a 404 with a short log line, every response has the security
// headers, a request declaring a body it never sends is dropped, and
// with basic auth the health endpoints answer probes that send the
// credentials (and 401 to those that do not).
func TestServerHardening(t *testing.T) {
	t.Parallel()
	a := newAppDB(t)
	a.put(map[string][]byte{"ok-1": a.record("ok-1", `{"a":1}`)})
	p := startExporter(t, "serve", "--store.leveldb.path="+a.path, "--scan.pass-duration=1s", "--report.dir="+t.TempDir(), "--state.path="+t.TempDir())
	p.waitFor(10*time.Second, "a report", func() bool { c, _ := p.get("/reports/latest.json"); return c == 200 })
	for _, path := range []string{"/", "/metrics", "/reports", "/reports/latest.json", "/-/healthy", "/-/ready", "/nope", "/metricsx", "/-/pause"} {
		_, hdr, _ := p.request("GET", path, nil, "")
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "frame-ancestors 'none'"} {
			if !strings.Contains(hdr.Get(k), want) {
				t.Errorf("GET %s: %s is %q, want %q", path, k, hdr.Get(k), want)
			}
		}
	}
	for _, path := range []string{"/nope", "/metrics/x", "/x/metrics", "/metrics.json"} {
		code, _, body := p.request("GET", path, nil, "")
		if code != 404 || strings.Contains(body, "sigil_integrity") {
			t.Errorf("GET %s: %d, metrics in body %v; want 404 without metrics", path, code, strings.Contains(body, "sigil_integrity"))
		}
	}
	logBefore := len(p.Out.String())
	for _, name := range []string{strings.Repeat("a", 100_000), "integrity-report-" + strings.Repeat("x", 100_000) + "-20260101T000000Z.json",
		"integrity-report-" + strings.Repeat("x", 300) + "-20260101T000000Z.json", "integrity-report-" + strings.Repeat("x", 30_000) + "-20260101T000000Z.json"} {
		// Past the 64 KiB header limit the server answers 431 itself.
		code, _, body := p.request("GET", "/reports/"+name, nil, "")
		if (code != 404 && (code != 431 || len(name) <= 64<<10)) || len(body) > 200 {
			t.Errorf("GET /reports/<%d bytes>: %d with %d bytes, want a short 404 (or 431 past 64 KiB)", len(name), code, len(body))
		}
	}
	if grown := len(p.Out.String()) - logBefore; grown > 1000 {
		t.Errorf("bad report names added %d bytes of log", grown)
	}

	// A request that declares a body and never sends it is dropped once
	// the read timeout passes, not held forever.
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /-/pause HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\n", p.addr)
	if err := conn.SetReadDeadline(time.Now().Add(readTimeout + 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.Copy(io.Discard, conn)
	if took := time.Since(start); err != nil || took > readTimeout+5*time.Second {
		t.Errorf("a request with a body never sent was held %v (%v), want it dropped after about %v", took.Round(time.Second), err, readTimeout)
	}

	// Basic auth: probes send the credentials.
	hash, _ := bcrypt.GenerateFromPassword([]byte("probe-pass"), bcrypt.MinCost)
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webCfg, []byte("basic_auth_users:\n  probe: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := startExporterNoHealth(t, "serve", "--store.leveldb.path="+a.path, "--web.config.file="+webCfg, "--report.dir="+t.TempDir(), "--state.path="+t.TempDir())
	for _, path := range []string{"/-/healthy", "/-/ready"} {
		if code, _, _ := auth.request("GET", path, nil, ""); code != 401 {
			t.Errorf("GET %s without credentials: %d, want 401", path, code)
		}
		if code, _, _ := auth.request("GET", path, map[string]string{"Authorization": "Basic cHJvYmU6cHJvYmUtcGFzcw=="}, ""); code != 200 {
			t.Errorf("GET %s with the probe's credentials: %d, want 200", path, code)
		}
	}
}

// failingWriter fails every write, as a connection the client closed.
type failingWriter struct{ h http.Header }

func (f *failingWriter) Header() http.Header       { return f.h }
func (f *failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }
func (f *failingWriter) WriteHeader(int)           {}

// TestAbortedScrapeLogsOnce: a scrape whose client went away (every write
// fails) gives one log line, not one per metric family; the registry has
// many families so that promhttp would log many.
func TestAbortedScrapeLogsOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	for i := 0; i < 30; i++ {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: fmt.Sprintf("family_%d", i), Help: "h"})
		reg.MustRegister(g)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	h := metricsHandler(reg, logger)
	for i := 0; i < 5; i++ {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept", "text/plain")
		h.ServeHTTP(&failingWriter{h: http.Header{}}, req)
	}
	if n := strings.Count(logs.String(), "\n"); n != 5 {
		t.Errorf("5 aborted scrapes logged %d lines, want 5:\n%s", n, logs.String())
	}
}

// TestReportPagesLimited: at most maxReportPages report requests run at
// once; the next gets 503 with Retry-After.
func TestReportPagesLimited(t *testing.T) {
	release := make(chan struct{})
	var wg sync.WaitGroup
	entered := make(chan struct{}, maxReportPages)
	h := limitConcurrency(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}), maxReportPages)
	for i := 0; i < maxReportPages; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/reports", nil))
		}()
		<-entered
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/reports", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("request %d: %d, want 503 with Retry-After", maxReportPages+1, rec.Code)
	}
	close(release)
	wg.Wait()
	rec = httptest.NewRecorder()
	go func() { <-entered }()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/reports", nil))
	if rec.Code != 200 {
		t.Errorf("after the others finished: %d, want 200", rec.Code)
	}
}

// TestRunNowKeepsMaxRate: run-now lifts the deadline's pacing, not the
// hard cap: with --scan.max-rate=20 a forced pass over 200 records still
// reads about 20 a second.
func TestRunNowKeepsMaxRate(t *testing.T) {
	t.Parallel()
	a := filledAppDB(t, 200)
	p := startExporter(t, "serve", "--web.enable-lifecycle", "--store.leveldb.path="+a.path, "--scan.pass-duration=1h", "--scan.max-rate=20",
		"--report.dir="+t.TempDir(), "--state.path="+t.TempDir())
	verified := func() float64 { return p.scrape()[`sigil_integrity_records_verified_total{store="leveldb"}`] }
	p.waitFor(10*time.Second, "the first records", func() bool { return verified() >= 1 })
	if code := p.post("/-/run-now"); code != 200 {
		t.Fatalf("run-now: %d", code)
	}
	before, start := verified(), time.Now()
	time.Sleep(3 * time.Second)
	got := verified() - before
	rate := got / time.Since(start).Seconds()
	t.Logf("after run-now: %v records in %v (%.1f/s) under --scan.max-rate=20", got, time.Since(start).Round(time.Millisecond), rate)
	if got < 20 || rate > 20*1.5+20/3.0 { // the cap, plus its one-second burst
		t.Errorf("run-now read %v records in 3 s: want about 20/s (more than none, not the whole store)", got)
	}
}
