package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/report"
)

// newMux routes the exporter's HTTP endpoints. Authentication and TLS come
// from the web config file and cover every route, the control endpoints
// and reports included.
func newMux(cfg *config, reg *prometheus.Registry, runners []*collector.Runner, archive *report.Archive, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(cfg.telemetryPath, promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})))
	if archive != nil {
		h := &report.Handler{Archive: archive, Prefix: "/reports", HomePath: "/", MetricsPath: cfg.telemetryPath, Logger: logger,
			Live: func() []*report.Report {
				var out []*report.Report
				for _, r := range runners {
					if rep := r.CurrentReport(); rep != nil {
						archive.Origin().Stamp(rep)
						out = append(out, rep)
					}
				}
				return out
			}}
		mux.Handle("/reports", h)
		mux.Handle("/reports/", h)
	}
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Ready")
	})
	control := func(name string, act func(*collector.Runner)) {
		mux.HandleFunc("POST /-/"+name, func(w http.ResponseWriter, r *http.Request) {
			store := r.URL.Query().Get("store")
			n := 0
			for _, run := range runners {
				if store == "" || store == run.Name() {
					act(run)
					n++
				}
			}
			if n == 0 {
				http.Error(w, fmt.Sprintf("no store %q", store), http.StatusNotFound)
				return
			}
			logger.Info("control request", "action", name, "store", store, "remote", r.RemoteAddr)
			fmt.Fprintf(w, "%s: %d store(s)\n", name, n)
		})
	}
	control("pause", (*collector.Runner).Pause)
	control("resume", (*collector.Runner).Resume)
	control("run-now", (*collector.Runner).RunNow)

	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        appName,
		Description: "Verifies every sigil record in the app's store, one paced pass a night.",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: cfg.telemetryPath, Text: "Metrics"},
			{Address: "/reports", Text: "Integrity reports"},
			{Address: "/reports/latest.json", Text: "Latest report (JSON)"},
			{Address: "/-/healthy", Text: "Health"},
		},
		ExtraHTML: "<p>Control (POST, optional <code>?store=</code>): <code>/-/pause</code>, <code>/-/resume</code>, <code>/-/run-now</code>.</p>",
	})
	if err != nil {
		logger.Error("cannot build the landing page", "err", err)
	} else {
		mux.Handle("/{$}", landing)
	}
	return mux
}
