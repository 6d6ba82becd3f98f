package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// browser starts a headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := testutil.Tool(t, "the Debian package chromium", "chromium", "chromium-browser")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil { // starts the browser; no timeout on this first call
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Odd ids planted next to the Node-written records: a right-to-left
// override, a zero-width space, and one longer than the id bound.
var oddIDs = []string{"aaa-rtl-\u202egnp.exe", "aaa-zw-\u200bsigil", "aaa-long-" + strings.Repeat("x", 300)}

// damagedStore writes a LevelDB with real Node (make-leveldb.js) and then
// damages it as a failing disk would: one byte of every valid record's
// data changed, so its checksum no longer matches, plus the odd ids. It
// returns the store flags and how many records now fail.
func damagedStore(t *testing.T, count int) ([]string, string, string) {
	t.Helper()
	db, m := testutil.NodeLevelDB(t, count)
	d, err := leveldb.OpenFile(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	planted := map[string]bool{}
	for _, f := range m.Failures {
		planted[m.Prefix+f.Key] = true
	}
	damaged := 0
	var restoreKey, good string
	it := d.NewIterator(util.BytesPrefix([]byte(m.Prefix)), nil)
	batch := new(leveldb.Batch)
	for it.Next() {
		k, v := string(it.Key()), it.Value()
		field := []byte(`"description":"`)
		i := bytes.Index(v, field)
		if planted[k] || i < 0 {
			continue
		}
		bad := bytes.Clone(v)
		i += len(field)
		bad[i] ^= 0x01 // a flipped bit, still printable ASCII
		if restoreKey == "" {
			restoreKey, good = k, string(v)
		}
		batch.Put([]byte(k), bad)
		damaged++
	}
	it.Release()
	for _, id := range oddIDs {
		batch.Put([]byte(m.Prefix+id), []byte(fmt.Sprintf(`{"id":%q,"signature":"00","data":{}}`, id)))
	}
	if err := d.Write(batch, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if damaged < 3000 {
		t.Fatalf("damaged only %d records; want at least 3000", damaged)
	}
	args := []string{"--store.leveldb.path=" + db, "--store.leveldb.prefix=" + m.Prefix}
	for _, k := range m.Keys {
		args = append(args, "--verify.key-file="+filepath.Join(repo, k))
	}
	t.Logf("store: %d records damaged, %d planted by make-leveldb.js, %d odd ids", damaged, len(m.Failures), len(oddIDs))
	return args, restoreKey, good
}

// liveJSON is the part of /reports/current.json the test reads.
type liveJSON struct {
	Stores []struct {
		Store   string `json:"store"`
		State   string `json:"state"`
		Current *struct {
			Checked int64 `json:"checked"`
		} `json:"current"`
		Last *struct {
			Failed            int64 `json:"failed"`
			FailuresTruncated int64 `json:"failures_truncated"`
		} `json:"last"`
		Fixed []struct {
			Key     string    `json:"key"`
			FixedAt time.Time `json:"fixed_at"`
		} `json:"fixed"`
	} `json:"stores"`
}

func getJSON(t *testing.T, url string, v any) http.Header {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%.300s", url, err, body)
	}
	return resp.Header
}

// screenshotDir is where the screenshots go: $SCREENSHOT_DIR, or the
// test's temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// pageFacts is what the DOM check measures in the browser.
type pageFacts struct {
	InnerWidth, ScrollWidth    int
	State, BadgeText           string
	HasProgress                bool
	Rows, UniqueRows           int
	Pager                      string
	NoticeTop, TableTop        float64
	MultiLineShortIDs          []string
	RawInvisible               bool
	EscapedRTL, EscapedZW      bool
	FixedRows                  int
	Texts                      string
	Links                      []string
	ChecksumLink               string
	IncompleteBadge, HasFirstT bool
}

const factsJS = `(() => {
  const q = s => document.querySelector(s), qa = s => Array.from(document.querySelectorAll(s));
  const badge = q('[data-state]');
  const ids = qa('table.failures td.id');
  const lines = el => { const r = document.createRange(); r.selectNodeContents(el); return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; };
  const notice = q('.notice'), table = q('table.failures');
  const body = document.body.innerText;
  return {
    InnerWidth: window.innerWidth,
    ScrollWidth: document.documentElement.scrollWidth,
    State: badge ? badge.dataset.state : '',
    BadgeText: badge ? badge.innerText : '',
    HasProgress: !!q('.bar[role=progressbar]'),
    Rows: ids.length,
    UniqueRows: new Set(ids.map(e => e.innerText)).size,
    Pager: q('.pager') ? q('.pager').innerText : '',
    NoticeTop: notice ? notice.getBoundingClientRect().top : -1,
    TableTop: table ? table.getBoundingClientRect().top : -1,
    MultiLineShortIDs: ids.filter(e => e.innerText.length <= 24 && !e.querySelector('.esc') && lines(e) > 1).map(e => e.innerText),
    RawInvisible: /[\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]/.test(document.body.textContent),
    EscapedRTL: body.includes('aaa-rtl-<U+202E>gnp.exe'),
    EscapedZW: body.includes('aaa-zw-<U+200B>sigil'),
    FixedRows: qa('tr.fixed-row').length,
    Texts: body.slice(0, 4000),
    Links: qa('a[href]').map(a => a.getAttribute('href')),
    ChecksumLink: (qa('#failures a.chip').find(a => a.innerText.startsWith('checksum')) || {href: ''}).href,
    IncompleteBadge: qa('.badge').some(b => /incomplete/i.test(b.innerText)),
    HasFirstT: qa('table.failures td[data-label="First seen"]').some(e => /UTC/.test(e.innerText)),
  };
})()`

// look loads url at a width, takes a screenshot of the top of the page
// and of the failure list, and returns the DOM facts.
func look(ctx context.Context, t *testing.T, url string, width, height int, mobile bool, shot string) pageFacts {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	emulate := chromedp.EmulateViewport(int64(width), int64(height))
	if mobile {
		emulate = chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	fail := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browse %s at %dpx: %v", url, width, err)
		}
	}
	fail(chromedp.Do(ctx, emulate, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))))
	facts, err := chromedp.Run(ctx, chromedp.Evaluate[pageFacts](factsJS))
	fail(err)
	top, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	fail(err)
	var list []byte
	if facts.TableTop >= 0 {
		fail(chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS("#failures"))))
		list, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		fail(err)
	}
	var fixed []byte
	if facts.FixedRows > 0 {
		fail(chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS("#fixed"))))
		fixed, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		fail(err)
	}
	dir := screenshotDir(t)
	for name, b := range map[string][]byte{shot + "-top.png": top, shot + "-failures.png": list, shot + "-fixed.png": fixed} {
		if b == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s: %dpx wide, screenshots %s/%s-{top,failures}.png", url, width, dir, shot)
	return facts
}

// TestReportsPageInBrowser loads the /reports page of a real exporter in
// headless Chromium, at desktop width and at a phone's 390 px, on a
// Node-written store with more than 3,000 failing records: first while the
// first pass runs, then after it completed and one record was restored.
func TestReportsPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and walks 3,000 records")
	}
	ctx := browser(t)
	store, restoreKey, good := damagedStore(t, 3000)
	dir := t.TempDir()
	p := startExporter(t, append([]string{"serve", "--scan.pass-duration=1h", "--scan.recheck-interval=1s",
		"--store.leveldb.reopen-interval=1s", "--web.enable-lifecycle", "--log.level=warn",
		"--report.dir=" + filepath.Join(dir, "reports"), "--state.path=" + filepath.Join(dir, "state")}, store...)...)
	base := "http://" + p.addr

	// The first pass is under way, paced to an hour: a healthy running
	// pass, and latest.json serves it rather than a 404.
	p.waitFor(20*time.Second, "the first pass to start", func() bool {
		var l liveJSON
		getJSON(t, base+"/reports/current.json", &l)
		return len(l.Stores) == 1 && l.Stores[0].Current != nil && l.Stores[0].Current.Checked > 0
	})
	var running struct {
		Complete bool  `json:"complete"`
		Checked  int64 `json:"checked"`
	}
	if h := getJSON(t, base+"/reports/latest.json", &running); running.Complete || h.Get("X-Sigil-Report") != "running" {
		t.Errorf("latest.json during the first pass: complete %v, X-Sigil-Report %q; want the running pass", running.Complete, h.Get("X-Sigil-Report"))
	}
	f := look(ctx, t, base+"/reports", 1280, 900, false, "running-desktop")
	if f.State != "running" || f.IncompleteBadge || !f.HasProgress || !strings.Contains(f.Texts, "Expected to end") {
		t.Errorf("running pass: state %q badge %q, incomplete badge %v, progress bar %v; page:\n%s", f.State, f.BadgeText, f.IncompleteBadge, f.HasProgress, f.Texts)
	}

	// The landing page links only what is served (no pprof).
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	landing, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var hrefs []string
	for _, m := range hrefPattern.FindAllStringSubmatch(string(landing), -1) {
		hrefs = append(hrefs, m[1])
	}
	checkLinks(t, base, hrefs, 3)

	// Pause shows as such.
	post := func(path string) {
		resp, err := http.Post(base+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	post("/-/pause")
	if f := look(ctx, t, base+"/reports", 1280, 900, false, "paused-desktop"); f.State != "paused" || !strings.Contains(f.Texts, "Paused") {
		t.Errorf("paused walk: state %q; page:\n%s", f.State, f.Texts)
	}

	// Run the rest of the pass now; it completes with all its failures.
	post("/-/run-now")
	p.waitFor(90*time.Second, "the first pass to complete", func() bool {
		var l liveJSON
		getJSON(t, base+"/reports/current.json", &l)
		return l.Stores[0].Last != nil
	})
	// Restore one damaged record from "backup": the re-check marks it fixed.
	d, err := leveldb.OpenFile(store[0][len("--store.leveldb.path="):], nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put([]byte(restoreKey), []byte(good), nil); err != nil {
		t.Fatal(err)
	}
	d.Close()
	var l liveJSON
	p.waitFor(30*time.Second, "the re-check to find the restored record", func() bool {
		l = liveJSON{}
		getJSON(t, base+"/reports/current.json", &l)
		return len(l.Stores[0].Fixed) > 0
	})
	last := l.Stores[0].Last
	if last.Failed < 3000 || last.FailuresTruncated == 0 {
		t.Fatalf("last pass: %d failed, %d truncated; want over 3000 failures and a capped list", last.Failed, last.FailuresTruncated)
	}
	t.Logf("last pass: %d failing records, %d not listed", last.Failed, last.FailuresTruncated)

	// Page weight: bounded by the page size, whatever the store holds.
	for _, q := range []string{"", "?n=500"} {
		start := time.Now()
		resp, err := http.Get(base + "/reports" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("GET /reports%s: %d bytes in %s", q, len(body), time.Since(start).Round(time.Millisecond))
		if len(body) > 1<<20 {
			t.Errorf("GET /reports%s is %d bytes: the page is not bounded", q, len(body))
		}
	}

	for _, c := range []struct {
		name          string
		width, height int
		mobile        bool
	}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
		t.Run(c.name, func(t *testing.T) {
			f := look(ctx, t, base+"/reports", c.width, c.height, c.mobile, "failures-"+c.name)
			if f.ScrollWidth > f.InnerWidth {
				t.Errorf("the page scrolls sideways: %dpx wide in a %dpx viewport", f.ScrollWidth, f.InnerWidth)
			}
			if f.Rows != 100 || f.UniqueRows != 100 {
				t.Errorf("%d rows (%d distinct ids) on page 1, want 100 distinct", f.Rows, f.UniqueRows)
			}
			// 1,000 listed (--report.max-failures), one of them since fixed.
			if !strings.Contains(f.Pager, "1–100 of 999") || !strings.Contains(f.Pager, "page 1 of 10") {
				t.Errorf("pager %q", f.Pager)
			}
			if f.NoticeTop < 0 || f.TableTop < 0 || f.NoticeTop > f.TableTop {
				t.Errorf("truncation notice at %v, failure list at %v: the notice must be above", f.NoticeTop, f.TableTop)
			}
			if len(f.MultiLineShortIDs) > 0 {
				t.Errorf("short ids broken over lines: %q", f.MultiLineShortIDs)
			}
			if f.RawInvisible || !f.EscapedRTL || !f.EscapedZW {
				t.Errorf("invisible characters: raw on the page %v, U+202E escaped %v, U+200B escaped %v", f.RawInvisible, f.EscapedRTL, f.EscapedZW)
			}
			if f.FixedRows != 1 || !f.HasFirstT {
				t.Errorf("%d fixed rows (want 1), first-seen times shown %v", f.FixedRows, f.HasFirstT)
			}
			if f.State != "waiting" || f.IncompleteBadge {
				t.Errorf("between passes: state %q, incomplete badge %v", f.State, f.IncompleteBadge)
			}
			checkLinks(t, base, f.Links, 8)
			if c.mobile {
				return
			}
			// Filter by check through the page's own link.
			ff := look(ctx, t, f.ChecksumLink, c.width, c.height, c.mobile, "filtered-"+c.name)
			if ff.Rows == 0 || strings.Contains(ff.Texts, "signature") && !strings.Contains(ff.Pager, "(checksum)") {
				t.Errorf("checksum filter: %d rows, pager %q", ff.Rows, ff.Pager)
			}
		})
	}
}

var hrefPattern = regexp.MustCompile(`href="([^"]+)"`)

// checkLinks fetches every same-origin link of the page: none may be a
// dead end (no pprof or other link to a page the exporter does not serve).
func checkLinks(t *testing.T, base string, links []string, atLeast int) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range links {
		if !strings.HasPrefix(l, "/") || seen[l] {
			continue
		}
		seen[l] = true
		resp, err := http.Get(base + l)
		if err != nil {
			t.Errorf("link %s: %v", l, err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("link %s: HTTP %d", l, resp.StatusCode)
		}
	}
	if len(seen) < atLeast {
		t.Errorf("only %d same-origin links checked", len(seen))
	}
}
