package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/report"
)

// maxReportPages is how many /reports requests are served at once; more
// get 503 and Retry-After, so that concurrent page loads cannot exhaust
// memory (each is bounded by the report size bound: see README Reports).
const maxReportPages = 4

// newMux routes the exporter's HTTP endpoints. Authentication and TLS come
// from the web config file and cover every route (exporter-toolkit wraps
// the whole handler), health and control included. Every response carries
// the security headers; a path that is not a route is a 404.
func newMux(cfg *config, reg *prometheus.Registry, runners []*collector.Runner, archive *report.Archive, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(telemetryPattern(cfg.telemetryPath), promhttp.InstrumentMetricHandler(reg, metricsHandler(reg, logger)))
	if archive != nil {
		h := &report.Handler{Archive: archive, Prefix: "/reports", HomePath: "/", MetricsPath: cfg.telemetryPath, Logger: logger,
			Live: func() []report.Live {
				out := make([]report.Live, 0, len(runners))
				for _, r := range runners {
					l := r.Live()
					for _, rep := range []*report.Report{l.Current, l.Last} {
						if rep != nil {
							archive.Origin().Stamp(rep)
						}
					}
					out = append(out, l)
				}
				return out
			}}
		limited := limitConcurrency(h, maxReportPages)
		mux.Handle("/reports", limited)
		mux.Handle("/reports/", limited)
	}
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Ready")
	})
	newControl(cfg.enableLifecycle, runners, logger).register(mux)

	control := "<p>Control (POST, optional <code>?store=</code>): <code>/-/pause</code>, <code>/-/resume</code>, <code>/-/run-now</code>: "
	if cfg.enableLifecycle {
		control += "enabled (<code>--web.enable-lifecycle</code>).</p>"
	} else {
		control += "disabled; start with <code>--web.enable-lifecycle</code> to allow them.</p>"
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        appName,
		Description: "Verifies every sigil record in the app's store, one paced pass a night.",
		Version:     version.Info(),
		Profiling:   "false", // no /debug/pprof is served: no dead links to it
		Links: []web.LandingLinks{
			{Address: cfg.telemetryPath, Text: "Metrics"},
			{Address: "/reports", Text: "Integrity reports"},
			{Address: "/reports/current.json", Text: "Pass under way (JSON)"},
			{Address: "/reports/latest.json", Text: "Latest report (JSON)"},
			{Address: "/-/healthy", Text: "Health"},
		},
		ExtraHTML: control,
	})
	if err != nil {
		logger.Error("cannot build the landing page", "err", err)
	} else {
		mux.Handle("/{$}", landing)
	}
	return securityHeaders(mux)
}

// telemetryPattern is the ServeMux pattern of exactly the telemetry path
// (validated by validateTelemetryPath): a path ending in / would otherwise
// match every path below it.
func telemetryPattern(p string) string {
	if p[len(p)-1] == '/' {
		return p + "{$}"
	}
	return p
}

// metricsHandler serves the registry. A client that goes away mid-scrape
// makes every later write fail; promhttp logs each one, so each request
// gets its own handler whose error log keeps only the first line.
func metricsHandler(reg *prometheus.Registry, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		el := &firstErrorLog{logger: logger, remote: r.RemoteAddr}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorLog:          el,
			ErrorHandling:     promhttp.ContinueOnError,
			EnableOpenMetrics: true,
		}).ServeHTTP(w, r)
	})
}

// firstErrorLog is a promhttp.Logger that logs one line per request.
type firstErrorLog struct {
	logger *slog.Logger
	remote string
	once   sync.Once
}

func (f *firstErrorLog) Println(v ...any) {
	f.once.Do(func() {
		f.logger.Warn("error serving metrics (later errors of this request are not logged)", "remote", f.remote, "err", fmt.Sprint(v...))
	})
}

// securityHeaders sets, on every response, headers that keep a page from
// being framed, sniffed into another type, or running anything but its
// own inline style (the landing page and /reports have no script).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// limitConcurrency serves at most n requests at once; others get 503.
func limitConcurrency(next http.Handler, n int) http.Handler {
	sem := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many report requests at once; try again", http.StatusServiceUnavailable)
		}
	})
}
