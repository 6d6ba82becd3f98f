package report

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// maxNameBytes is the longest file name served; longer is a 404 (file
// systems allow 255 bytes).
const maxNameBytes = 255

// Handler serves an Archive over HTTP, GET and HEAD only:
//
//	<Prefix>                the HTML page: latest report per store, then the archive
//	<Prefix>/latest.json    the newest report (?store=leveldb for one store's)
//	<Prefix>/<file name>    one archived report, by its exact file name
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
	// Live, when set, returns snapshots of passes in progress, shown
	// above the archived reports.
	Live func() []*Report
	// Logger receives errors reading the archive.
	Logger *slog.Logger
}

// Handler returns the archive's HTTP views mounted at prefix, linking to
// "/" and "/metrics". Build a Handler directly for other links or for
// live snapshots.
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
	case !strings.HasPrefix(rest, "/"):
		http.NotFound(w, r)
	default:
		h.serveFile(w, r, rest[1:])
	}
}

// serveLatest serves the newest report file, of one store if asked.
func (h *Handler) serveLatest(w http.ResponseWriter, r *http.Request) {
	store := r.URL.Query().Get("store")
	e, err := h.Archive.latestEntry(store)
	if errors.Is(err, ErrNoReport) {
		http.Error(w, err.Error(), http.StatusNotFound)
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
