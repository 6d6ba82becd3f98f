package alerts

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// End-to-end settings. The exporter walks 218 Node-written records
// with a 10s pass but --scan.max-rate=15, so every pass is predicted to end
// about 4s late: the honest cause of the SigilIntegrityPassBehindSchedule
// warning this test expects at Slack (its expression is relative, 2% of
// the pass length; only its `for:` is shortened).
const (
	e2eRecords      = 200
	e2ePass         = "10s"
	e2eMaxRate      = "15"
	e2eRecheck      = "2s"
	e2eReopen       = "1s"
	e2eCheckpoint   = "1s"
	e2eCorruptID    = "sigil-0000100"
	e2eCritical     = "SigilIntegrityFailuresFound"
	e2eWarning      = "SigilIntegrityPassBehindSchedule"
	e2eStore        = "leveldb"
	e2eRateInterval = "5s"
)

// TestEndToEnd runs the exporter on a Node-written LevelDB, the real
// Prometheus with the shipped rules (`for:` shortened, see
// shortenedRules) and the real Alertmanager with the shipped routing, its
// PagerDuty and Slack URLs pointed at a loopback server. It corrupts one
// record and restores it, and measures the time to the PagerDuty trigger
// and to its resolve. docs/alerting.md ("How fast") quotes its log.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test (about a minute) skipped with -short")
	}
	promBin := testutil.Tool(t, "the Debian package prometheus", "prometheus")
	amBin := testutil.Tool(t, "the Debian package prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
	db := nodeStore(t, e2eRecords)
	bin := testutil.Binary(t)
	dir := t.TempDir()

	storeArgs := []string{"--store.leveldb.path=" + db.path, "--store.leveldb.prefix=" + db.prefix}
	for _, k := range e2eKeyFiles {
		storeArgs = append(storeArgs, "--verify.key-file="+testutil.Path(t, k))
	}
	check := exec.Command(bin, append([]string{"check", "--report.dir=" + filepath.Join(dir, "check-reports"),
		"--state.path=" + filepath.Join(dir, "check-state")}, storeArgs...)...)
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("the store must start clean: exporter check: %v\n%s", err, out)
	}

	rcv := startReceivers(t)
	amAddr := testutil.FreeAddr(t)
	am := startProcess(t, "alertmanager", dir, amAddr, "/-/ready", amBin,
		"--config.file="+alertmanagerConfig(t, dir, rcv.URL), "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")

	expAddr := testutil.FreeAddr(t)
	exp := startProcess(t, "exporter", dir, expAddr, "/-/healthy", bin, append([]string{"serve",
		"--web.listen-address=" + expAddr, "--scan.pass-duration=" + e2ePass, "--scan.max-rate=" + e2eMaxRate,
		"--scan.recheck-interval=" + e2eRecheck, "--store.leveldb.reopen-interval=" + e2eReopen,
		"--state.checkpoint-interval=" + e2eCheckpoint, "--state.path=" + filepath.Join(dir, "state"),
		"--report.dir=" + filepath.Join(dir, "reports")}, storeArgs...)...)

	rules, forDurations := shortenedRules(t, dir)
	promAddr := testutil.FreeAddr(t)
	prom := startProcess(t, "prometheus", dir, promAddr, "/-/ready", promBin,
		"--config.file="+prometheusConfig(t, dir, expAddr, amAddr, rules), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr)
	procs := []*testutil.Proc{am, exp, prom}

	// A complete clean pass, scraped, before the damage.
	testutil.Eventually(t, 60*time.Second, "Prometheus to scrape a complete pass", procs, func() bool {
		n, err := promQuery(promAddr, `sigil_integrity_passes_completed_total{job="`+e2eJob+`"} >= 1`)
		return err == nil && n == 1
	})
	if n, err := promQuery(promAddr, `sum(sigil_integrity_last_pass_failures) + sum(sigil_integrity_current_pass_failures)`+
		` + sum(sigil_integrity_missing_records) == 0`); err != nil || n != 1 {
		t.Fatalf("the store is not clean before the corruption (err %v)", err)
	}

	// The app's record is damaged.
	good := db.corrupt(e2eCorruptID)
	corruptedAt := time.Now()
	var seen, firing time.Time // exporter gauge up, Prometheus alert firing
	trigger := waitPD(t, rcv, procs, corruptedAt, "trigger", "", func() {
		if seen.IsZero() {
			if n, _ := promQuery(promAddr, `sum(sigil_integrity_current_pass_failures{check="checksum"}) > 0`); n > 0 {
				seen = time.Now()
			}
		}
		if firing.IsZero() {
			if a, _ := firingAlerts(promAddr); a[e2eCritical] {
				firing = time.Now()
			}
		}
	})
	if trigger.RoutingKey != e2eRoutingKey || trigger.Payload.Severity != "critical" {
		t.Errorf("PagerDuty trigger: routing_key %q severity %q, want the key file's and critical", trigger.RoutingKey, trigger.Payload.Severity)
	}
	toTrigger := trigger.at.Sub(corruptedAt)

	checkDashboard(t, promAddr, expAddr, procs)

	// The warning at Slack, routed by severity.
	testutil.Eventually(t, 90*time.Second, "the "+e2eWarning+" warning at the fake Slack", procs, func() bool {
		_, slack, _ := rcv.snapshot()
		for _, m := range slack {
			if s, a, st := m.parts(); s == "FIRING" && a == e2eWarning && st == e2eStore {
				return m.Channel == "#sigil-integrity" && strings.Contains(m.Attachments[0].Text, "--scan.max-rate")
			}
		}
		return false
	})

	// Restore from backup: the re-check clears the gauges, the page resolves.
	db.restore(e2eCorruptID, good)
	restoredAt := time.Now()
	resolve := waitPD(t, rcv, procs, restoredAt, "resolve", trigger.DedupKey, nil)
	toResolve := resolve.at.Sub(restoredAt)

	// Settle: no new page for the restored record (no flapping).
	time.Sleep(4 * time.Second)
	if e, ok := rcv.firstPD(resolve.at, func(e pdEvent) bool { return e.alertname() == e2eCritical }); ok {
		t.Errorf("a %s %s arrived %s after the resolve: the alert flaps", e2eCritical, e.EventAction, e.at.Sub(resolve.at))
	}
	checkRouting(t, rcv)
	checkExportedNames(t, expAddr)

	t.Logf("settings: scrape_interval 1s, evaluation_interval 1s, --scan.pass-duration=%s, --scan.max-rate=%s (%d records), "+
		"--scan.recheck-interval=%s, --store.leveldb.reopen-interval=%s, for: %s %s / %s %s, group_wait %s, group_interval %s",
		e2ePass, e2eMaxRate, e2eRecords, e2eRecheck, e2eReopen, e2eCritical, forDurations[e2eCritical], e2eWarning, forDurations[e2eWarning],
		e2eGroupWait, e2eGroupInterval)
	t.Logf("corruption → PagerDuty trigger: %s (seen in Prometheus after %s, alert firing after %s)",
		toTrigger.Round(10*time.Millisecond), since(seen, corruptedAt), since(firing, corruptedAt))
	t.Logf("restore → PagerDuty resolve: %s", toResolve.Round(10*time.Millisecond))
}

func since(t, from time.Time) string {
	if t.IsZero() {
		return "(not observed)"
	}
	return t.Sub(from).Round(10 * time.Millisecond).String()
}

// waitPD waits for the first PagerDuty event of action for the critical
// alert on store leveldb after since (with dedupKey, when given), calling
// poll meanwhile.
func waitPD(t *testing.T, rcv *receivers, procs []*testutil.Proc, since time.Time, action, dedupKey string, poll func()) pdEvent {
	t.Helper()
	var got pdEvent
	testutil.Eventually(t, 90*time.Second, "a PagerDuty "+action+" for "+e2eCritical, procs, func() bool {
		if poll != nil {
			poll()
		}
		var ok bool
		got, ok = rcv.firstPD(since, func(e pdEvent) bool {
			return e.EventAction == action && e.alertname() == e2eCritical &&
				e.Payload.CustomDetails["store"] == e2eStore && (dedupKey == "" || e.DedupKey == dedupKey)
		})
		return ok
	})
	return got
}

// checkRouting: critical alerts went to PagerDuty only, warnings to Slack
// only, every request was well-formed, and no other alert fired.
func checkRouting(t *testing.T, rcv *receivers) {
	t.Helper()
	pd, slack, errs := rcv.snapshot()
	for _, e := range errs {
		t.Errorf("fake receiver: %s", e)
	}
	for _, e := range pd {
		if e.alertname() != e2eCritical {
			t.Errorf("unexpected PagerDuty %s for %q (summary %q)", e.EventAction, e.alertname(), e.Payload.Summary)
		}
	}
	for _, m := range slack {
		if _, a, _ := m.parts(); a != e2eWarning {
			t.Errorf("unexpected Slack message %q", m.Attachments)
		}
	}
}

// checkDashboard runs every query of the dashboard, its variables
// substituted as Grafana would, against Prometheus until each has returned
// data at least once.
func checkDashboard(t *testing.T, promAddr, expAddr string, procs []*testutil.Proc) {
	t.Helper()
	inst := regexp.QuoteMeta(expAddr)
	vars := strings.NewReplacer(
		"$__rate_interval", e2eRateInterval, "$__interval", "1s", "$__range", "1m",
		"$job", regexp.QuoteMeta(e2eJob), "$instance", strings.ReplaceAll(inst, `\`, `\\`), "$store", e2eStore)
	pending := map[string]string{}
	for _, q := range dashboardQueries(t, dashboardFile) {
		if m := labelValues.FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		expr := vars.Replace(q)
		if strings.Contains(expr, "$") {
			t.Fatalf("dashboard query has an unknown variable: %s", q)
		}
		pending[expr] = q
	}
	last := map[string]string{}
	deadline := time.Now().Add(60 * time.Second)
	for len(pending) > 0 && time.Now().Before(deadline) {
		for expr := range pending {
			n, err := promQuery(promAddr, expr)
			switch {
			case err != nil:
				last[expr] = err.Error()
			case n > 0:
				delete(pending, expr)
			default:
				last[expr] = "empty result"
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for expr, q := range pending {
		t.Errorf("dashboard query returned no data within 60s (%s):\n  %s\n  as run: %s", last[expr], q, expr)
	}
}

// checkExportedNames: every metric name the rules and the dashboard use is
// in the exporter's real /metrics.
func checkExportedNames(t *testing.T, addr string) {
	t.Helper()
	code, body, err := testutil.HTTPGet("http://" + addr + "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("scrape the exporter: HTTP %d, %v", code, err)
	}
	exported := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			exported[f[2]] = true
		}
	}
	used := usedMetricNames(t)
	var names []string
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !exported[n] {
			t.Errorf("%s (used by %v) is not in the exporter's /metrics", n, used[n])
		}
	}
}
