package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/report"
)

// runCheck runs one full pass over every configured store at full speed,
// writes the reports and prints the summary. Exit: 0 no failures, 1
// failures, 2 could not run.
func runCheck(ctx context.Context, cfg *config, logger *slog.Logger, stdout, stderr io.Writer) int {
	runners, closeStores, code := setup(ctx, cfg, logger, stderr, false)
	if runners == nil {
		return code
	}
	defer closeStores()

	var checked, failed int64
	byCheck := map[string]int64{}
	var reports []*report.Report
	for _, r := range runners {
		rep, err := r.RunPass(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return fatalf(stderr, "interrupted")
			}
			return fatalf(stderr, "store %s: %v", r.Name(), err)
		}
		reports = append(reports, rep)
		checked += rep.Checked
		failed += rep.Failed
		for c, n := range rep.FailuresByCheck {
			byCheck[c] += n
		}
	}
	fmt.Fprintf(stdout, "Checked %d sigils. %d failures.\n", checked, failed)
	for _, c := range collector.Checks {
		if n := byCheck[c]; n > 0 {
			fmt.Fprintf(stdout, "  %s: %d\n", c, n)
		}
	}
	for _, rep := range reports {
		fmt.Fprintf(stdout, "%s: checked %d, failed %d\n", rep.Store, rep.Checked, rep.Failed)
	}
	if cfg.reportDir != "" {
		fmt.Fprintf(stdout, "Reports in %s\n", cfg.reportDir)
	}
	if cfg.pushGatewayURL != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collector.NewMetrics(runners...))
		if err := push.New(cfg.pushGatewayURL, cfg.pushJob).Gatherer(reg).PushContext(ctx); err != nil {
			logger.Error("cannot push metrics to the Pushgateway", "url", redactURL(cfg.pushGatewayURL), "err", err)
			return exitError
		}
	}
	if failed > 0 {
		return exitFailures
	}
	return exitOK
}

// setup builds the verifier, opens the stores, the archive and one runner a
// store. paced runners get a pacer. On failure it prints one line and
// returns nil runners and the exit code.
func setup(ctx context.Context, cfg *config, logger *slog.Logger, stderr io.Writer, paced bool) ([]*collector.Runner, func(), int) {
	verifier, err := buildVerifier(cfg, logger)
	if err != nil {
		return nil, nil, fatalf(stderr, "%v", err)
	}
	if err := report.ValidateMaxFailures(cfg.reportMaxFailures); err != nil {
		return nil, nil, fatalf(stderr, "%v", err)
	}
	targets, err := openStores(ctx, cfg, logger)
	if err != nil {
		return nil, nil, fatalf(stderr, "%v", err)
	}
	closeStores := func() {
		for _, t := range targets {
			t.store.Close()
		}
	}
	archive, err := report.NewArchive(cfg.reportDir, cfg.reportRetain, logger)
	if err != nil {
		closeStores()
		return nil, nil, fatalf(stderr, "%v", err)
	}
	var runners []*collector.Runner
	for _, t := range targets {
		rc := collector.RunnerConfig{
			Store:              t.store,
			Identity:           t.identity,
			KeyPrefix:          t.prefix,
			Verifier:           verifier,
			Workers:            cfg.workers,
			Archive:            archive,
			MaxFailures:        cfg.reportMaxFailures,
			StateDir:           cfg.statePath,
			CheckpointInterval: cfg.checkpointEvery,
			ReopenInterval:     cfg.levelDBReopenInterval,
			Logger:             logger.With("store", t.store.Name()),
		}
		if paced {
			if rc.Pacer, err = newPacer(cfg); err != nil {
				closeStores()
				return nil, nil, fatalf(stderr, "%v", err)
			}
		} else {
			rc.Fresh = true // check: a full pass from the start, never a resume
		}
		r, err := collector.NewRunner(rc)
		if err != nil {
			closeStores()
			return nil, nil, fatalf(stderr, "%v", err)
		}
		runners = append(runners, r)
	}
	return runners, closeStores, exitOK
}
