package report

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

const (
	hostileScript = `<script>alert(1)</script>`
	hostileAttr   = `"><img src=x onerror=alert(1)>`
)

// handlerFixture is an archive with a leveldb report (hostile ids, more
// failures than the cap), an older leveldb report, a postgres report, a
// foreign file inside, and a report-named secret outside the directory.
type handlerFixture struct {
	a                       *Archive
	dir                     string
	newLevel, oldLevel, pg  string // file names
	outsideName, outsideDir string
}

func newHandlerFixture(t *testing.T) handlerFixture {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "reports")
	a, err := NewArchive(dir, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	write := func(r *Report) string {
		t.Helper()
		p, err := a.Write(r)
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Base(p)
	}
	f := handlerFixture{a: a, dir: dir, outsideDir: parent}
	f.oldLevel = write(testReport("leveldb", at.Add(-24*time.Hour), 100))

	// 2019 records, 13 failing: two listed (the cap), 11 checksum
	// failures past the cap counted but not listed.
	f.newLevel = write(&Report{
		Checked: 2019, OK: 2006, Failed: 13,
		Failures: []Failure{
			{ID: hostileScript, Reason: "signature", Key: "!sigils!" + hostileScript, Detail: "no key verifies " + hostileAttr},
			{ID: hostileAttr, Reason: "key", Key: hostileAttr, Detail: hostileScript},
		},
		Store:             "leveldb",
		StartedAt:         at.Add(-20 * time.Minute),
		FinishedAt:        at,
		Complete:          true,
		FailuresByCheck:   map[string]int64{"signature": 1, "key": 1, "checksum": 11},
		FailuresTruncated: 11,
	})

	f.pg = write(&Report{Store: "postgres", StartedAt: at.Add(-time.Hour), FinishedAt: at.Add(-time.Minute), Complete: true})

	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("private"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.outsideName = "integrity-report-leveldb-20261125T040000Z.json"
	if err := os.WriteFile(filepath.Join(parent, f.outsideName), []byte(`{"secret": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f handlerFixture) file(t *testing.T, name string) string {
	t.Helper()
	data := testutil.ReadFile(t, filepath.Join(f.dir, name))
	return string(data)
}

func TestHandlerRoutes(t *testing.T) {
	f := newHandlerFixture(t)
	h := f.a.Handler("/reports")
	tests := []struct {
		method, target string
		status         int
		ctype          string
		body           string // exact body when set
	}{
		{"GET", "/reports", 200, "text/html; charset=utf-8", ""},
		{"GET", "/reports/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/reports/latest.json", 200, "application/json", f.file(t, f.newLevel)},
		{"GET", "/reports/latest.json?store=leveldb", 200, "application/json", f.file(t, f.newLevel)},
		{"GET", "/reports/latest.json?store=postgres", 200, "application/json", f.file(t, f.pg)},
		{"GET", "/reports/latest.json?store=cross", 404, "", ""},
		{"GET", "/reports/latest.json?store=../notes.txt", 404, "", ""},
		{"GET", "/reports/" + f.oldLevel, 200, "application/json", f.file(t, f.oldLevel)},
		{"GET", "/reports/" + f.pg, 200, "application/json", f.file(t, f.pg)},
		{"GET", "/reports/integrity-report-leveldb-20991231T000000Z.json", 404, "", ""},
		{"GET", "/reports/notes.txt", 404, "", ""},
		{"GET", "/reports/" + f.oldLevel + "/", 404, "", ""},
		{"GET", "/reports/../" + f.outsideName, 404, "", ""},
		{"GET", "/reports/..%2f" + f.outsideName, 404, "", ""},
		{"GET", "/reports/..%2F" + f.outsideName, 404, "", ""},
		{"GET", "/reports/%2e%2e/" + f.outsideName, 404, "", ""},
		{"GET", "/reports/%2e%2e%2f" + f.outsideName, 404, "", ""},
		{"GET", "/reports/..%5c" + f.outsideName, 404, "", ""},
		{"GET", "/reports/x/../" + f.oldLevel, 404, "", ""},
		{"GET", "/reports/%2F" + f.oldLevel, 404, "", ""},
		{"GET", "/reports/%69" + f.oldLevel[1:], 404, "", ""},
		{"GET", "/reports" + f.oldLevel, 404, "", ""},
		{"GET", "/other/" + f.oldLevel, 404, "", ""},
		{"HEAD", "/reports", 200, "text/html; charset=utf-8", ""},
		{"HEAD", "/reports/" + f.pg, 200, "application/json", ""},
		{"POST", "/reports", 405, "", ""},
		{"PUT", "/reports/" + f.pg, 405, "", ""},
		{"DELETE", "/reports/" + f.pg, 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %q", res.StatusCode, tt.status, body)
			}
			if tt.ctype != "" && res.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tt.ctype)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body differs from the archived file:\n%s", body)
			}
			if tt.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD returned a %d-byte body", len(body))
			}
			if tt.status == 405 && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("405 without Allow: GET, HEAD (got %q)", res.Header.Get("Allow"))
			}
			if tt.status != 200 && (strings.Contains(string(body), "secret") || strings.Contains(string(body), "private")) {
				t.Errorf("a rejected request leaked a file: %q", body)
			}
		})
	}
}

// TestHandlerOverHTTP mounts the handler on a ServeMux as the exporter does
// and sends raw, uncleaned request lines over a real connection.
func TestHandlerOverHTTP(t *testing.T) {
	f := newHandlerFixture(t)
	mux := http.NewServeMux()
	h := f.a.Handler("/reports/") // a trailing slash is tolerated
	mux.Handle("/reports", h)
	mux.Handle("/reports/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	raw := func(t *testing.T, method, target string) (int, string) {
		t.Helper()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", method, target)
		res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for _, target := range []string{
		"/reports/../" + f.outsideName,
		"/reports/..%2f" + f.outsideName,
		"/reports/%2e%2e%2f" + f.outsideName,
		"/reports/./../" + f.outsideName,
		"/reports//" + f.outsideName,
	} {
		status, body := raw(t, "GET", target)
		if status == 200 || strings.Contains(body, "secret") {
			t.Errorf("GET %s: status %d, body %q: must not serve a file", target, status, body)
		}
	}
	if status, body := raw(t, "GET", "/reports/"+f.pg); status != 200 || body != f.file(t, f.pg) {
		t.Errorf("GET an archived report over HTTP: %d %q", status, body)
	}
	if status, body := raw(t, "GET", "/reports"); status != 200 || !strings.Contains(body, "<h1>Sigil integrity reports</h1>") {
		t.Errorf("GET /reports over HTTP: %d %q", status, body)
	}
}

func TestPageContentAndEscaping(t *testing.T) {
	f := newHandlerFixture(t)
	h := &Handler{Archive: f.a, Prefix: "/reports", HomePath: "/", MetricsPath: "/custom-metrics"}
	page := get(t, h, "/reports?store=leveldb&refresh=off")

	for _, bad := range []string{hostileScript, hostileAttr, "<img", "<script>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains the unescaped %q", bad)
		}
	}
	for _, want := range []string{
		`&lt;script&gt;alert(1)&lt;/script&gt;`,       // the hostile id, escaped
		`&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`, // the attribute breaker, escaped
		`href="/"`, `href="/custom-metrics"`, // links back
		`href="/reports/latest.json"`, `href="/reports/current.json"`,
		`href="/reports/` + f.newLevel + `"`, // the latest report's JSON
		`href="/reports/` + f.oldLevel + `"`, // the older one, in the archive
		`<li class="chip">checksum: 11</li>`, // failures by check, exact
		`<strong>11 more failures are counted but not listed</strong>`,
		`<td data-label="Failed" class="num">13</td>`, // the archive's failed count per report
		`href="` + DefaultRunbookURL + `#sigilintegrityfailuresfound"`,
		`href="` + DefaultRunbookURL + `#restore-a-record-from-backup"`,
		`<div class="card s-failures has-failures" id="store-leveldb">`,
		`<div class="card s-ok" id="store-postgres">`,
		`href="/reports/failures.csv?store=leveldb"`, `href="/reports/keys.txt?store=leveldb"`,
		`Auto-refresh off`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `<link`) || strings.Contains(page, `<script`) || strings.Contains(page, `src="http`) {
		t.Error("page loads external assets or scripts; it must be self-contained")
	}
	if strings.Contains(page, "pprof") {
		t.Error("page links pprof, which the exporter does not serve")
	}
	// The summary, truncation notice included, comes before the list.
	if i, j := strings.Index(page, "more failures are counted but not listed"), strings.Index(page, `<table class="stack failures">`); i < 0 || j < 0 || i > j {
		t.Errorf("truncation notice at %d, failure list at %d: the notice must be on top", i, j)
	}
	// Stores are shown in a stable order: leveldb before postgres.
	if i, j := strings.Index(page, `id="store-leveldb"`), strings.Index(page, `id="store-postgres"`); i < 0 || j < 0 || i > j {
		t.Errorf("store sections out of order: leveldb at %d, postgres at %d", i, j)
	}
	if !strings.Contains(get(t, h, "/reports"), `<meta http-equiv="refresh" content="60">`) {
		t.Error("the page does not refresh itself")
	}
}

// get serves one GET and returns the body, failing on a non-200.
func get(t *testing.T, h http.Handler, target string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d\n%s", target, rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

func TestPageEmptyArchive(t *testing.T) {
	a, _ := newTestArchive(t, 3)
	rec := httptest.NewRecorder()
	a.Handler("/reports").ServeHTTP(rec, httptest.NewRequest("GET", "/reports", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "No report archived yet") {
		t.Errorf("empty archive page: %d\n%s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	a.Handler("/reports").ServeHTTP(rec, httptest.NewRequest("GET", "/reports/latest.json", nil))
	if rec.Code != 404 {
		t.Errorf("latest.json on an empty archive: %d, want 404", rec.Code)
	}
}

// TestPageUnreadableReport checks that one undecodable report file does not
// take the page down: it is named in a notice and the rest is shown.
func TestPageUnreadableReport(t *testing.T) {
	a, dir := newTestArchive(t, 3)
	if _, err := a.Write(testReport("postgres", t0, 4)); err != nil {
		t.Fatal(err)
	}
	broken := "integrity-report-leveldb-20261125T220000Z.json"
	if err := os.WriteFile(filepath.Join(dir, broken), []byte("{not json"), 0o640); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Handler("/reports").ServeHTTP(rec, httptest.NewRequest("GET", "/reports", nil))
	page := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(page, "Report "+broken+" could not be read") || !strings.Contains(page, "<h3>postgres") {
		t.Errorf("page with a broken report: %d\n%s", rec.Code, page)
	}
}
