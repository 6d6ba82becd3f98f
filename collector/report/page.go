package report

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html.tmpl
var pageSource string

// Paging of the failure list: PageSize rows by default, at most
// MaxPageSize (?n=), so a page stays a few hundred KB whatever the store.
const (
	PageSize    = 100
	MaxPageSize = 500
	// maxArchiveRows bounds the archive table.
	maxArchiveRows = 100
	// refreshSeconds is the page's auto-refresh period (?refresh=off
	// turns it off).
	refreshSeconds = 60
)

// DefaultRunbookURL is where the page's runbook links point when the
// Handler names no other.
const DefaultRunbookURL = "https://github.com/sigil/sigil-integrity-exporter/blob/main/docs/runbook.md"

// pageTmpl renders the /reports page. html/template escapes every record
// id, key and detail for its context; ids also go through Visible.
var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"utc":     utc,
	"rel":     relTime,
	"visible": Visible,
	"pct":     func(f float64) string { return strconv.FormatFloat(math.Floor(f*1000)/10, 'f', 1, 64) },
	"invis":   HasInvisible,
	"anchor":  runbookAnchor,
	"add": func(n ...int) int {
		s := 0
		for _, v := range n {
			s += v
		}
		return s
	},
}).Parse(pageSource))

// runbookAnchor is the docs/runbook.md section for a failing check.
func runbookAnchor(check string) string {
	if check == "missing" {
		return "sigilintegritymissingrecords"
	}
	return "sigilintegrityfailuresfound"
}

func utc(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// relTime says how far t is from now, rounded for a person: "3h 12m ago",
// "in 40m".
func relTime(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		s = strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = strconv.Itoa(int(d.Hours()/24)) + "d"
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

// pageData is what the page template sees.
type pageData struct {
	Prefix, HomePath, MetricsPath, RunbookURL string
	Now                                       time.Time
	Refresh                                   int    // seconds; 0: off
	RefreshLink                               string // toggles auto-refresh
	Stores                                    []*storeView
	Sel                                       *storeView // the store whose failures are listed
	Check                                     string     // the check filter; "" is all
	Chips                                     []chip
	Rows                                      []Failure
	Page, Pages, PerPage, Total, First        int
	PrevLink, NextLink, CSVLink, KeysLink     string
	Entries                                   []archiveRow
	MoreEntries                               int
	Errors                                    []string
}

// storeView is one store's summary card.
type storeView struct {
	Store       string
	Live        *Live
	State       string // running, paused, store-down, waiting, or (archive only) ok/failures/incomplete
	Badge       string
	Link        string // selects this store's failures
	Open        []Failure
	ByCheck     []checkCount // exact counts of the relevant pass(es)
	Failed      int64        // failures the counts add up to
	Truncated   int64
	Latest      *Report // newest archived report
	LatestFile  string
	Fixed       []FixedFailure
	ProgressPct float64
	LateBy      string
}

// checkCount is one check's failure count.
type checkCount struct {
	Check string
	Count int64
}

// chip is one filter choice.
type chip struct {
	Check  string // "" for all
	Count  int
	Link   string
	Active bool
}

// archiveRow is one archived report in the table.
type archiveRow struct {
	Entry
	Summary *fileSummary // nil when unreadable
}

// servePage renders the HTML page: a summary of every store on top (state,
// progress, ETA, counts, truncation), then one store's open failures, each
// record once, filtered by check and paged, its recently fixed ones, and
// the archive.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &pageData{Prefix: h.Prefix, HomePath: h.HomePath, MetricsPath: h.MetricsPath, RunbookURL: h.runbookURL(), Now: time.Now(), Refresh: refreshSeconds}
	if q.Get("refresh") == "off" {
		d.Refresh = 0
	}
	d.Stores, d.Errors = h.storeViews(q)
	entries, err := h.Archive.List()
	if err != nil {
		h.logger().Error("Could not list reports", "err", err)
		d.Errors = append(d.Errors, "The report directory could not be read; see the exporter's log.")
	}
	h.addArchive(d, entries)
	h.selectFailures(d, q)

	self := url.Values{}
	for _, k := range []string{"store", "check", "page", "n"} {
		if v := q.Get(k); v != "" {
			self.Set(k, v)
		}
	}
	if d.Refresh > 0 {
		self.Set("refresh", "off")
	}
	d.RefreshLink = h.link(self)

	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, d); err != nil {
		h.logger().Error("Could not render the reports page", "err", err)
		http.Error(w, "could not render the reports page; see the exporter's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(buf.Bytes())
}

// link is the page's URL with the query v.
func (h *Handler) link(v url.Values) string {
	if len(v) == 0 {
		return h.Prefix
	}
	return h.Prefix + "?" + v.Encode()
}

// keep copies the page's own query parameters that a link keeps.
func keep(q url.Values, names ...string) url.Values {
	v := url.Values{}
	for _, n := range names {
		if s := q.Get(n); s != "" {
			v.Set(n, s)
		}
	}
	return v
}

// storeViews builds one card per store: every live store, then every
// store that only the archive knows (the cross-store comparison, or a
// report directory shared with `check`), sorted by name.
func (h *Handler) storeViews(q url.Values) ([]*storeView, []string) {
	var views []*storeView
	byName := map[string]*storeView{}
	{
		for _, l := range h.lives() {
			v := &storeView{Store: l.Store, Live: &l, State: l.State, Open: l.Open(), Fixed: l.Fixed, Truncated: l.Truncated()}
			v.ProgressPct = l.Progress * 100
			if l.Late() {
				v.LateBy = relTime(l.Deadline, l.PredictedEnd)[3:] // "in 2h" → "2h"
			}
			counts := map[string]int64{}
			for _, rep := range []*Report{l.Current, l.Last} {
				if rep == nil {
					continue
				}
				for c, n := range rep.FailuresByCheck {
					counts[c] = max(counts[c], n)
				}
			}
			v.ByCheck, v.Failed = sortedCounts(counts)
			views = append(views, v)
			byName[l.Store] = v
		}
	}
	var errs []string
	entries, _ := h.Archive.List()
	for _, e := range entries {
		v := byName[e.Store]
		if v != nil && v.LatestFile != "" {
			continue
		}
		if v == nil {
			v = &storeView{Store: e.Store}
			views = append(views, v)
			byName[e.Store] = v
		}
		rep, err := h.Archive.read(e.Name)
		v.LatestFile = e.Name
		if err != nil {
			h.logger().Error("Could not read report", "file", e.Name, "err", err)
			errs = append(errs, "Report "+e.Name+" could not be read; see the exporter's log.")
			continue
		}
		v.Latest = rep
		if v.Live == nil {
			v.State = rep.Status()
			v.Open = rep.Failures
			v.Fixed = rep.Fixed
			v.Truncated = rep.FailuresTruncated
			v.ByCheck, v.Failed = sortedCounts(rep.FailuresByCheck)
		} else {
			v.Latest.Failures = nil // listed once, as open failures; the card shows counts
		}
	}
	slices.SortFunc(views, func(a, b *storeView) int { return strings.Compare(a.Store, b.Store) })
	for _, v := range views {
		v.Badge = badge(v)
		lv := keep(q, "n", "refresh")
		lv.Set("store", v.Store)
		v.Link = h.link(lv) + "#failures"
	}
	return views, errs
}

func sortedCounts(m map[string]int64) ([]checkCount, int64) {
	var out []checkCount
	var sum int64
	for c, n := range m {
		if n > 0 {
			out = append(out, checkCount{c, n})
			sum += n
		}
	}
	slices.SortFunc(out, func(a, b checkCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Check, b.Check))
	})
	return out, sum
}

func badge(v *storeView) string {
	switch v.State {
	case StateRunning:
		return "running"
	case StatePaused:
		return "paused"
	case StateStoreDown:
		return "store down"
	case StateWaiting:
		return "between passes"
	}
	return v.State
}

// selectFailures picks the store whose failures are listed (?store=, else
// the first with failures), filters them by ?check= and cuts the page.
func (h *Handler) selectFailures(d *pageData, q url.Values) {
	want := q.Get("store")
	for _, v := range d.Stores {
		if v.Store == want || (want == "" && d.Sel == nil && len(v.Open) > 0) {
			d.Sel = v
		}
	}
	if d.Sel == nil && len(d.Stores) > 0 && want == "" {
		d.Sel = d.Stores[0]
	}
	if d.Sel == nil {
		return
	}
	d.Check = q.Get("check")
	counts := map[string]int{}
	var rows []Failure
	for _, f := range d.Sel.Open {
		counts[f.Reason]++
		if d.Check == "" || f.Reason == d.Check {
			rows = append(rows, f)
		}
	}
	base := keep(q, "n", "refresh")
	base.Set("store", d.Sel.Store)
	d.Chips = append(d.Chips, chip{Count: len(d.Sel.Open), Link: h.link(base) + "#failures", Active: d.Check == ""})
	var checks []string
	for c := range counts {
		checks = append(checks, c)
	}
	slices.Sort(checks)
	for _, c := range checks {
		v := keep(base, "store", "n", "refresh")
		v.Set("check", c)
		d.Chips = append(d.Chips, chip{Check: c, Count: counts[c], Link: h.link(v) + "#failures", Active: d.Check == c})
	}

	d.PerPage = PageSize
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n > 0 {
		d.PerPage = min(n, MaxPageSize)
	}
	d.Total = len(rows)
	d.Pages = max(1, (d.Total+d.PerPage-1)/d.PerPage)
	d.Page = 1
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 0 {
		d.Page = min(p, d.Pages)
	}
	start := (d.Page - 1) * d.PerPage
	d.Rows = rows[start:min(start+d.PerPage, d.Total)]
	d.First = start + 1

	pv := keep(q, "store", "check", "n", "refresh")
	pv.Set("store", d.Sel.Store)
	if d.Page > 1 {
		pv.Set("page", strconv.Itoa(d.Page-1))
		d.PrevLink = h.link(pv) + "#failures"
	}
	if d.Page < d.Pages {
		pv.Set("page", strconv.Itoa(d.Page+1))
		d.NextLink = h.link(pv) + "#failures"
	}
	dl := url.Values{"store": {d.Sel.Store}}
	if d.Check != "" {
		dl.Set("check", d.Check)
	}
	d.CSVLink = h.Prefix + "/failures.csv?" + dl.Encode()
	d.KeysLink = h.Prefix + "/keys.txt?" + dl.Encode()
}

// addArchive fills the archive table, newest first, at most
// maxArchiveRows rows, each with its counts.
func (h *Handler) addArchive(d *pageData, entries []Entry) {
	if len(entries) > maxArchiveRows {
		d.MoreEntries = len(entries) - maxArchiveRows
		entries = entries[:maxArchiveRows]
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name)
		d.Entries = append(d.Entries, archiveRow{Entry: e, Summary: h.summary(e)})
	}
	h.pruneSummaries(names)
}
