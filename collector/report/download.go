package report

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveDownload writes one store's open failures (those the page lists,
// ?check= filtered) as CSV or as a list of store keys.
func (h *Handler) serveDownload(w http.ResponseWriter, r *http.Request, kind string) {
	q := r.URL.Query()
	store, check := q.Get("store"), q.Get("check")
	views, _ := h.storeViews(q)
	var sel *storeView
	for _, v := range views {
		if v.Store == store {
			sel = v
		}
	}
	if sel == nil {
		http.Error(w, "no store "+strconv.Quote(store)+": give ?store= (see the reports page)", http.StatusNotFound)
		return
	}
	var rows []Failure
	for _, f := range sel.Open {
		if check == "" || f.Reason == check {
			rows = append(rows, f)
		}
	}
	var b bytes.Buffer
	name := "sigil-failures-" + store
	if check != "" {
		name += "-" + check
	}
	switch kind {
	case "csv":
		recs := [][]string{{"store", "id", "reason", "key", "key_sha256", "first_seen", "detail"}}
		for _, f := range rows {
			first := ""
			if !f.FirstSeen.IsZero() {
				first = f.FirstSeen.UTC().Format(time.RFC3339)
			}
			recs = append(recs, []string{csvCell(store), csvCell(f.ID), f.Reason, csvCell(f.Key), f.KeySHA256, first, csvCell(f.Detail)})
		}
		if err := csv.NewWriter(&b).WriteAll(recs); err != nil {
			h.logger().Error("Could not write the failures CSV", "err", err)
			http.Error(w, "could not write the CSV; see the exporter's log", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		name += ".csv"
	default:
		// One key a line, as restore scripts read them. A key that holds a
		// line break is written Go-quoted; a truncated key (only its
		// SHA-256 is known) is left out: see the CSV.
		for _, f := range rows {
			if f.KeySHA256 != "" {
				continue
			}
			k := f.Key
			if strings.ContainsAny(k, "\r\n") {
				k = strconv.Quote(k)
			}
			b.WriteString(k)
			b.WriteByte('\n')
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		name += "-keys.txt"
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method != http.MethodHead {
		w.Write(b.Bytes())
	}
}

// csvCell keeps a spreadsheet from reading a cell as a formula: a value
// starting with = + - @ or a tab/CR gets a leading apostrophe.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
