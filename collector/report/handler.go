package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxNameBytes is the longest file name served; longer is a 404 (file
// systems allow 255 bytes).
const maxNameBytes = 255

// Handler serves an Archive and the walk's live state over HTTP, GET and
// HEAD only:
//
//	<Prefix>                 the HTML page: every store's state and counts, one
//	                         store's open failures (?store=, ?check=, ?page=, ?n=),
//	                         recently fixed ones, the archive
//	<Prefix>/current.json    the live state of every store (?store= for one):
//	                         the pass under way, the last complete pass as it
//	                         stands now, recently fixed failures
//	<Prefix>/latest.json     the newest archived report (?store=); before the
//	                         first one, the pass under way (complete: false)
//	<Prefix>/failures.csv    one store's open failures as CSV (?store=, ?check=)
//	<Prefix>/keys.txt        their store keys, one a line (?store=, ?check=)
//	<Prefix>/<file name>     one archived report, by its exact file name
//
// It sees the full, unstripped request path: mount it at both Prefix and
// Prefix+"/". Anything but an archived report's exact name is a 404, so
// "..", slashes and encoded slashes never reach the file system.
type Handler struct {
	// Archive is the report directory served.
	Archive *Archive
	// Prefix is the path the handler is mounted at, such as "/reports".
	Prefix string
	// HomePath and MetricsPath are linked from the page.
	HomePath, MetricsPath string
	// RunbookURL is the runbook the page links to (its anchors are
	// docs/runbook.md's); empty means DefaultRunbookURL.
	RunbookURL string
	// Live, when set, returns the state of each store's walk.
	Live func() []Live
	// Logger receives errors reading the archive.
	Logger *slog.Logger

	mu        sync.Mutex
	summaries map[string]*fileSummary // by archived file name (files never change)
}

// Handler returns the archive's HTTP views mounted at prefix, linking to
// "/" and "/metrics". Build a Handler directly for other links or for
// the live state.
func (a *Archive) Handler(prefix string) http.Handler {
	return &Handler{
		Archive:     a,
		Prefix:      strings.TrimSuffix(prefix, "/"),
		HomePath:    "/",
		MetricsPath: "/metrics",
		Logger:      a.logger,
	}
}

// ServeHTTP routes a request; see Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: use GET or HEAD", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rest, ok := strings.CutPrefix(r.URL.Path, h.Prefix)
	switch {
	case !ok:
		http.NotFound(w, r)
	case rest == "" || rest == "/":
		h.servePage(w, r)
	case rest == "/latest.json":
		h.serveLatest(w, r)
	case rest == "/current.json":
		h.serveCurrent(w, r)
	case rest == "/failures.csv":
		h.serveDownload(w, r, "csv")
	case rest == "/keys.txt":
		h.serveDownload(w, r, "keys")
	case !strings.HasPrefix(rest, "/"):
		http.NotFound(w, r)
	default:
		h.serveFile(w, r, rest[1:])
	}
}

// lives returns the live states, each with its State filled in.
func (h *Handler) lives() []Live {
	if h.Live == nil {
		return nil
	}
	ls := h.Live()
	for i := range ls {
		ls[i].State = ls[i].StateName()
		if ls[i].Fixed == nil {
			ls[i].Fixed = []FixedFailure{}
		}
	}
	return ls
}

// serveLatest serves the newest report file, of one store if asked. Before
// the first report is archived it serves the pass under way (complete:
// false, header X-Sigil-Report: running), so that a script polling
// latest.json while the first pass's alert fires gets the failures found
// so far rather than a 404.
func (h *Handler) serveLatest(w http.ResponseWriter, r *http.Request) {
	store := r.URL.Query().Get("store")
	e, err := h.Archive.latestEntry(store)
	if errors.Is(err, ErrNoReport) {
		for _, l := range h.lives() {
			if l.Current != nil && (store == "" || l.Store == store) {
				w.Header().Set("X-Sigil-Report", "running")
				h.writeJSON(w, r, http.StatusOK, l.Current)
				return
			}
		}
		h.writeJSON(w, r, http.StatusNotFound, map[string]string{"error": err.Error() + "; no pass is under way either (see " + h.Prefix + "/current.json)"})
		return
	}
	if err != nil {
		h.logger().Error("Could not list reports", "err", err)
		http.Error(w, "could not list reports; see the exporter's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	h.sendFile(w, r, e.Name)
}

// serveCurrent serves the live state of every store, or of ?store=.
func (h *Handler) serveCurrent(w http.ResponseWriter, r *http.Request) {
	store := r.URL.Query().Get("store")
	out := struct {
		GeneratedAt time.Time `json:"generated_at"`
		Stores      []Live    `json:"stores"`
	}{GeneratedAt: time.Now().UTC(), Stores: []Live{}}
	for _, l := range h.lives() {
		if store == "" || l.Store == store {
			out.Stores = append(out.Stores, l)
		}
	}
	if store != "" && len(out.Stores) == 0 {
		h.writeJSON(w, r, http.StatusNotFound, map[string]string{"error": "no live store " + store})
		return
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		h.logger().Error("Could not encode JSON", "err", err)
		http.Error(w, "could not encode the response; see the exporter's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b.Bytes())
	}
}

// serveFile serves one archived report by exact name. The request path must
// be the name itself, unencoded: any escape (%2F, %2e ...) is a 404.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	if len(name) > maxNameBytes {
		http.NotFound(w, r) // before the pattern: no work, no log line, for a huge name
		return
	}
	if _, ok := parseName(name); !ok || (r.URL.RawPath != "" && r.URL.RawPath != r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	h.sendFile(w, r, name)
}

// sendFile writes an archived report as JSON. name must be a parsed name.
func (h *Handler) sendFile(w http.ResponseWriter, r *http.Request, name string) {
	f, err := os.OpenInRoot(h.Archive.dir, name)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENAMETOOLONG) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		h.logger().Error("Could not open report", "file", name, "err", err)
		http.Error(w, "could not open report; see the exporter's log", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *Handler) runbookURL() string {
	if h.RunbookURL == "" {
		return DefaultRunbookURL
	}
	return h.RunbookURL
}
