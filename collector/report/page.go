package report

import (
	"bytes"
	"cmp"
	_ "embed"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"
)

//go:embed page.html.tmpl
var pageSource string

// pageTmpl renders the /reports page. html/template escapes every record
// id, key and detail for its context.
var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"ago": func(t time.Time) string {
		return time.Since(t).Round(time.Minute).String()
	},
}).Parse(pageSource))

// pageData is what the page template sees.
type pageData struct {
	Prefix, HomePath, MetricsPath string
	Now                           time.Time
	Live, Latest                  []reportView
	Entries                       []Entry
	Error                         string
}

// reportView is one report as the page shows it.
type reportView struct {
	*Report
	Prefix   string // the handler's mount path, for links
	File     string // archived file name; empty for a live snapshot
	Status   string
	Duration string
	ByCheck  []checkCount
	Shown    int
}

// checkCount is one row of the failures-by-check table.
type checkCount struct {
	Check string
	Count int64
}

func newReportView(r *Report, prefix, file string) reportView {
	v := reportView{Report: r, Prefix: prefix, File: file, Status: r.Status(), Shown: len(r.Failures)}
	if !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() {
		v.Duration = r.FinishedAt.Sub(r.StartedAt).Round(time.Second).String()
	}
	for c, n := range r.FailuresByCheck {
		v.ByCheck = append(v.ByCheck, checkCount{c, n})
	}
	slices.SortFunc(v.ByCheck, func(a, b checkCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Check, b.Check))
	})
	return v
}

// servePage renders the HTML page: passes in progress, the latest report
// of each store, then every archived report.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Prefix: h.Prefix, HomePath: h.HomePath, MetricsPath: h.MetricsPath, Now: time.Now()}
	if h.Live != nil {
		for _, rep := range h.Live() {
			if rep != nil {
				d.Live = append(d.Live, newReportView(rep, h.Prefix, ""))
			}
		}
	}
	entries, err := h.Archive.List()
	if err != nil {
		h.logger().Error("Could not list reports", "err", err)
		d.Error = "The report directory could not be read; see the exporter's log."
	}
	d.Entries = entries
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Store] {
			continue
		}
		seen[e.Store] = true
		rep, err := h.Archive.read(e.Name)
		if err != nil {
			h.logger().Error("Could not read report", "file", e.Name, "err", err)
			d.Error = "Report " + e.Name + " could not be read; see the exporter's log."
			continue
		}
		d.Latest = append(d.Latest, newReportView(rep, h.Prefix, e.Name))
	}
	slices.SortFunc(d.Latest, func(a, b reportView) int { return strings.Compare(a.Store, b.Store) })

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
