package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// liveFixture is one store's walk: a last complete pass with failures a
// and b, a pass under way that has found b again and c, and a fixed d.
func liveFixture(mod func(*Live)) func() []Live {
	now := time.Now().UTC()
	fa := Failure{ID: "rec-a", Reason: "checksum", Key: "!s!rec-a", FirstSeen: now.Add(-48 * time.Hour)}
	fb := Failure{ID: "rec-b", Reason: "signature", Key: "!s!rec-b", FirstSeen: now.Add(-30 * time.Hour)}
	fc := Failure{ID: "=cmd|' /C calc'!A0", Reason: "checksum", Key: "!s!=cmd", FirstSeen: now.Add(-time.Minute)}
	return func() []Live {
		l := Live{
			Store: "leveldb", Up: true, Progress: 0.42, Expected: 1000, Rate: 12,
			Deadline: now.Add(10 * time.Hour), PredictedEnd: now.Add(8 * time.Hour),
			Current: &Report{Store: "leveldb", Checked: 420, Failed: 2, Failures: []Failure{fb, fc},
				FailuresByCheck: map[string]int64{"signature": 1, "checksum": 1}, StartedAt: now.Add(-6 * time.Hour), FinishedAt: now},
			Last: &Report{Store: "leveldb", Checked: 990, Failed: 2, Failures: []Failure{fa, fb}, Complete: true,
				FailuresByCheck: map[string]int64{"signature": 1, "checksum": 1}, StartedAt: now.Add(-30 * time.Hour), FinishedAt: now.Add(-7 * time.Hour)},
			Fixed: []FixedFailure{{Failure: Failure{ID: "rec-d", Reason: "checksum", Key: "!s!rec-d", FirstSeen: now.Add(-50 * time.Hour)}, FixedAt: now.Add(-20 * time.Minute)}},
		}
		if mod != nil {
			mod(&l)
		}
		return []Live{l}
	}
}

// TestPageLiveStates: each state shows its badge; a healthy running pass
// never shows "incomplete"; each record is listed once.
func TestPageLiveStates(t *testing.T) {
	a, _ := newTestArchive(t, 3)
	cases := []struct {
		name, state, want string
		mod               func(*Live)
	}{
		{"running", StateRunning, "Pass under way since", nil},
		{"healthy running", StateRunning, "0 failing so far", func(l *Live) {
			l.Current.Failures, l.Current.Failed, l.Current.FailuresByCheck = nil, 0, nil
			l.Last = nil
		}},
		{"paused", StatePaused, "nothing is verified until <code>POST /-/resume</code>", func(l *Live) {
			l.Paused, l.PausedSince = true, time.Now().Add(-3*time.Hour)
		}},
		{"store down", StateStoreDown, "<strong>Store down:</strong>", func(l *Live) { l.Up = false }},
		{"between passes", StateWaiting, "No pass under way; the next starts", func(l *Live) {
			l.Current, l.NextPass = nil, time.Now().Add(5*time.Hour)
		}},
		{"behind schedule", StateRunning, "<strong>Behind schedule</strong>", func(l *Live) { l.PredictedEnd = l.Deadline.Add(time.Hour) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &Handler{Archive: a, Prefix: "/reports", Live: liveFixture(c.mod)}
			page := get(t, h, "/reports")
			if !strings.Contains(page, `data-state="`+c.state+`"`) || !strings.Contains(page, c.want) {
				t.Errorf("state %s: page lacks the badge or %q:\n%s", c.state, c.want, page)
			}
			if strings.Contains(strings.ToLower(page), ">incomplete<") {
				t.Errorf("a live walk wears an INCOMPLETE badge")
			}
		})
	}
	h := &Handler{Archive: a, Prefix: "/reports", Live: liveFixture(nil)}
	page := get(t, h, "/reports")
	for id, n := range map[string]int{"rec-a": 1, "rec-b": 1, "=cmd|&#39; /C calc&#39;!A0": 1} {
		if got := strings.Count(page, `<td data-label="ID" class="id">`+id+`</td>`); got != n {
			t.Errorf("%s listed %d times, want %d", id, got, n)
		}
	}
	for _, want := range []string{`<tr class="fixed-row"><td data-label="ID" class="id">rec-d</td>`, `<strong>42.0 %</strong>`,
		`aria-valuenow="42.0"`, "420 records checked of about 1000", "Expected to end "} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestPageFilterAndPaging: ?check= filters, ?page= and ?n= page, and ?n=
// is bounded, so no request renders an unbounded page.
func TestPageFilterAndPaging(t *testing.T) {
	a, _ := newTestArchive(t, 3)
	many := func(l *Live) {
		l.Last = nil
		l.Current.Failures = nil
		for i := 0; i < 1200; i++ {
			c := []string{"checksum", "signature", "decode"}[i%3]
			l.Current.Failures = append(l.Current.Failures, Failure{ID: fmt.Sprintf("r%04d", i), Reason: c, Key: fmt.Sprintf("k%04d", i)})
		}
	}
	h := &Handler{Archive: a, Prefix: "/reports", Live: liveFixture(many)}
	rows := func(page string) int { return strings.Count(page, `<tr class="failure`) }
	cases := []struct {
		query      string
		rows       int
		pager, has string
	}{
		{"", PageSize, "1–100 of 1200, page 1 of 12", "r0000"},
		{"?page=2", PageSize, "101–200 of 1200, page 2 of 12", "r0100"},
		{"?page=99", PageSize, "1101–1200 of 1200, page 12 of 12", "r1199"},
		{"?check=decode", PageSize, "1–100 of 400 (decode), page 1 of 4", "r0002"},
		{"?check=decode&page=4&n=50", 50, "151–200 of 400 (decode), page 4 of 8", "r0599"},
		{"?n=100000", MaxPageSize, "1–500 of 1200, page 1 of 3", "r0499"},
		{"?n=-3&page=x", PageSize, "1–100 of 1200, page 1 of 12", "r0099"},
	}
	for _, c := range cases {
		page := get(t, h, "/reports"+c.query)
		if got := rows(page); got != c.rows || !strings.Contains(page, c.pager) || !strings.Contains(page, ">"+c.has+"<") {
			t.Errorf("%q: %d rows, want %d; pager %q and row %s expected", c.query, got, c.rows, c.pager, c.has)
		}
		if strings.Contains(c.query, "decode") && (strings.Contains(page, ">r0000<") || strings.Contains(page, ">r0001<")) {
			t.Errorf("%q lists records of other checks", c.query)
		}
	}
	if page := get(t, h, "/reports?page=2&check=decode"); !strings.Contains(page, `href="/reports?check=decode&amp;page=3&amp;store=leveldb#failures" rel="next"`) ||
		!strings.Contains(page, `rel="prev"`) {
		t.Errorf("paging links do not keep the filter")
	}
}

func TestLatestAndCurrentJSON(t *testing.T) {
	a, _ := newTestArchive(t, 3)
	h := &Handler{Archive: a, Prefix: "/reports", Live: liveFixture(nil)}

	// Before the first report: latest.json is the pass under way.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/reports/latest.json", nil))
	var r Report
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &r) != nil || r.Complete || r.Checked != 420 || rec.Header().Get("X-Sigil-Report") != "running" {
		t.Errorf("latest.json during the first pass: %d %s", rec.Code, rec.Body.String())
	}
	// Nothing at all: a JSON 404 that says why.
	empty := &Handler{Archive: a, Prefix: "/reports", Live: func() []Live { return nil }}
	rec = httptest.NewRecorder()
	empty.ServeHTTP(rec, httptest.NewRequest("GET", "/reports/latest.json", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"error"`) || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("latest.json with nothing: %d %q", rec.Code, rec.Body.String())
	}
	// Once a report is archived, it is the latest.
	if _, err := a.Write(testReport("leveldb", time.Now(), 7)); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/reports/latest.json", nil))
	if json.Unmarshal(rec.Body.Bytes(), &r) != nil || !r.Complete || r.Checked != 7 {
		t.Errorf("latest.json after a report: %s", rec.Body.String())
	}

	var cur struct {
		Stores []struct {
			Store, State string
			Progress     float64
			Current      *Report
			Last         *Report
			Fixed        []FixedFailure
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/reports/current.json?store=leveldb", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &cur); err != nil || len(cur.Stores) != 1 {
		t.Fatalf("current.json: %v %s", err, rec.Body.String())
	}
	s := cur.Stores[0]
	if s.State != StateRunning || s.Progress != 0.42 || s.Current == nil || s.Last == nil || len(s.Fixed) != 1 || s.Fixed[0].FixedAt.IsZero() {
		t.Errorf("current.json: %+v", s)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/reports/current.json?store=nope", nil))
	if rec.Code != 404 {
		t.Errorf("current.json for an unknown store: %d", rec.Code)
	}
}

func TestDownloads(t *testing.T) {
	a, _ := newTestArchive(t, 3)
	h := &Handler{Archive: a, Prefix: "/reports", Live: liveFixture(func(l *Live) {
		l.Current.Failures = append(l.Current.Failures, Failure{ID: "nl", Reason: "key", Key: "line\nbreak"},
			Failure{ID: "long", Reason: "key", Key: "cut…", KeySHA256: "ab"})
	})}
	body := get(t, h, "/reports/failures.csv?store=leveldb")
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+5 || strings.Join(recs[0], ",") != "store,id,reason,key,key_sha256,first_seen,detail" {
		t.Fatalf("CSV: %q", recs)
	}
	if recs[2][1] != "'=cmd|' /C calc'!A0" || recs[2][3] != "!s!=cmd" {
		t.Errorf("a formula-like id is not neutralised: %q", recs[2])
	}
	if recs[1][5] == "" {
		t.Errorf("first_seen missing: %q", recs[1])
	}
	keys := get(t, h, "/reports/keys.txt?store=leveldb&check=key")
	if keys != "\"line\\nbreak\"\n" {
		t.Errorf("keys.txt for check=key: %q", keys)
	}
	if all := get(t, h, "/reports/keys.txt?store=leveldb"); strings.Count(all, "\n") != 4 || !strings.HasPrefix(all, "!s!rec-b\n!s!=cmd\n") {
		t.Errorf("keys.txt: %q", all)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/reports/keys.txt?store=nope", nil))
	if rec.Code != 404 {
		t.Errorf("keys.txt for an unknown store: %d", rec.Code)
	}
}

func TestVisible(t *testing.T) {
	cases := map[string]string{
		"plain-id":                   "plain-id",
		"<b>":                        "&lt;b&gt;",
		"evil\u202egnp.exe":          `evil<span class="esc" title="invisible character U+202E">&lt;U+202E&gt;</span>gnp.exe`,
		"a\u200bb":                   `a<span class="esc" title="invisible character U+200B">&lt;U+200B&gt;</span>b`,
		"x\xffy":                     `x<span class="esc" title="a byte that is not UTF-8">&lt;0xFF&gt;</span>y`,
		"tab\there":                  `tab<span class="esc" title="invisible character U+0009">&lt;U+0009&gt;</span>here`,
		"nbsp\u00a0":                 `nbsp<span class="esc" title="invisible character U+00A0">&lt;U+00A0&gt;</span>`,
		"café ünïcode 漢字 with space": "café ünïcode 漢字 with space",
	}
	for in, want := range cases {
		if got := string(Visible(in)); got != want {
			t.Errorf("Visible(%q) = %q, want %q", in, got, want)
		}
	}
	if Escaped("a\u2066b\ufeff") != "a<U+2066>b<U+FEFF>" {
		t.Errorf("Escaped: %q", Escaped("a\u2066b\ufeff"))
	}
}
