package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/sigil/sigil-integrity-exporter/collector/metrics"
	"github.com/sigil/sigil-integrity-exporter/collector/pace"
)

// newPacer builds a pacer from the scan flags.
func newPacer(cfg *config) (*pace.Pacer, error) {
	var window *pace.Window
	if cfg.window != "" {
		w, err := pace.ParseWindow(cfg.window)
		if err != nil {
			return nil, err
		}
		window = w
	}
	return pace.New(pace.Config{
		PassDuration: cfg.passDuration,
		MaxRate:      cfg.maxRate,
		Tranquility:  cfg.tranquility,
		Window:       window,
	})
}

// runServe walks the stores forever and serves metrics, reports and the
// control endpoints until SIGTERM/SIGINT, then checkpoints and exits 0.
func runServe(ctx context.Context, cfg *config, webFlags *web.FlagConfig, logger *slog.Logger, stderr io.Writer) int {
	f, code := setup(ctx, cfg, logger, stderr, true)
	if f == nil {
		return code
	}
	defer f.close()
	return serveFleet(ctx, cfg, f, webFlags, logger, stderr, nil)
}

// readTimeout bounds reading one request, headers and body: the exporter
// takes no large body, and a client that declares one and never sends it
// is dropped.
const readTimeout = 10 * time.Second

// serveFleet starts the walks and the web server. started, when set, is
// called once the server listens (demo).
func serveFleet(ctx context.Context, cfg *config, f *fleet, webFlags *web.FlagConfig, logger *slog.Logger, stderr io.Writer, started func()) int {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		metrics.New(f.sources()...),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("sigil_integrity_exporter"),
	)
	mux := newMux(cfg, reg, f.runners, f.archive, logger)

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       readTimeout, // a declared body that never comes
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	lifecycle := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sigil_integrity_lifecycle_enabled",
		Help: "1 when --web.enable-lifecycle allows POST /-/pause, /-/resume and /-/run-now over HTTP, 0 when they answer 403.",
	})
	if cfg.enableLifecycle {
		lifecycle.Set(1)
		logger.Warn("--web.enable-lifecycle: POST /-/pause, /-/resume and /-/run-now are allowed to anyone who reaches the port (or passes the web config's basic auth)")
	}
	reg.MustRegister(lifecycle)
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- web.ListenAndServe(srv, webFlags, logger)
	}()

	walkCtx, stopWalks := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, r := range f.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Serve(walkCtx, cfg.recheckInterval)
		}()
	}
	if started != nil {
		started()
	}
	code := exitOK
	select {
	case <-ctx.Done():
		logger.Info("shutting down: saving progress")
	case err := <-srvErr:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			code = fatalf(stderr, "web server: %v", err)
		}
	}
	stopWalks()
	wg.Wait()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx) // the listeners close either way; the exit code is the walk's
	return code
}

// redactURL drops the user info (a password) from a URL for a log line.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
