package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/common/version"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/report"
)

// runCheck runs one full pass over every configured store at full speed,
// writes the reports and prints the summary. Exit: 0 no failures, 1
// failures, 2 could not run.
func runCheck(ctx context.Context, cfg *config, logger *slog.Logger, stdout, stderr io.Writer) int {
	f, code := setup(ctx, cfg, logger, stderr, false)
	if f == nil {
		return code
	}
	defer f.close()

	var checked, failed int64
	byCheck := map[string]int64{}
	var reports []*report.Report
	for _, r := range f.runners {
		rep, err := r.RunPass(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return fatalf(stderr, "interrupted")
			}
			return fatalf(stderr, "store %s: %v", r.Name(), err)
		}
		reports = append(reports, rep)
	}
	if f.cross != nil {
		rep, err := f.cross.Compare(ctx)
		if err != nil {
			return fatalf(stderr, "%v", err)
		}
		if rep != nil {
			reports = append(reports, rep)
		}
	}
	for _, rep := range reports {
		if rep.Store != collector.CrossStore { // the comparison re-counts the stores' records
			checked += rep.Checked
		}
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
		what := "checked"
		if rep.Store == collector.CrossStore {
			what = "compared"
		}
		fmt.Fprintf(stdout, "%s: %s %d, failed %d\n", rep.Store, what, rep.Checked, rep.Failed)
	}
	if cfg.reportDir != "" {
		fmt.Fprintf(stdout, "Reports in %s\n", cfg.reportDir)
	}
	if cfg.pushGatewayURL != "" {
		if err := pushMetrics(ctx, cfg, f.sources()); err != nil {
			logger.Error("cannot push metrics to the Pushgateway", "url", redactURL(cfg.pushGatewayURL), "err", err)
			return exitError
		}
	}
	if failed > 0 {
		return exitFailures
	}
	return exitOK
}

// fleet is every configured store's runner, and the cross-store
// comparison when two stores are configured.
type fleet struct {
	runners []*collector.Runner
	cross   *collector.Cross
	archive *report.Archive
	close   func()
}

func (f *fleet) sources() []collector.StatusSource {
	var out []collector.StatusSource
	for _, r := range f.runners {
		out = append(out, r)
	}
	if f.cross != nil {
		out = append(out, f.cross)
	}
	return out
}

// setup builds the verifier, opens the stores, the archive and one runner a
// store. paced runners get a pacer. On failure it prints one line and
// returns a nil fleet and the exit code.
func setup(ctx context.Context, cfg *config, logger *slog.Logger, stderr io.Writer, paced bool) (*fleet, int) {
	verifier, err := buildVerifier(cfg, logger)
	if err != nil {
		return nil, fatalf(stderr, "%v", err)
	}
	if err := report.ValidateMaxFailures(cfg.reportMaxFailures); err != nil {
		return nil, fatalf(stderr, "%v", err)
	}
	targets, err := openStores(ctx, cfg, logger, paced)
	if err != nil {
		return nil, fatalf(stderr, "%v", err)
	}
	f := &fleet{close: func() {
		for _, t := range targets {
			t.store.Close()
		}
	}}
	fail := func(err error) (*fleet, int) {
		f.close()
		return nil, fatalf(stderr, "%v", err)
	}
	if f.archive, err = report.NewArchive(cfg.reportDir, cfg.reportRetain, logger); err != nil {
		return fail(err)
	}
	f.archive.SetOrigin(report.Origin{Host: hostname(logger), Version: version.Version, Canonical: cfg.canonical})
	shard, err := collector.ParseShard(cfg.shard)
	if err != nil {
		return fail(err)
	}
	for _, t := range targets {
		split := shard
		if t.ranged {
			split = collector.Shard{} // the store reads only its range
		}
		rc := collector.RunnerConfig{
			Shard:              split,
			Store:              t.store,
			Identity:           t.identity + " shard " + shard.String(),
			KeyPrefix:          t.prefix,
			Verifier:           verifier,
			Workers:            cfg.workers,
			Archive:            f.archive,
			MaxFailures:        cfg.reportMaxFailures,
			StateDir:           cfg.statePath,
			CheckpointInterval: cfg.checkpointEvery,
			ReopenInterval:     cfg.levelDBReopenInterval,
			Logger:             logger.With("store", t.store.Name()),
		}
		if paced {
			if rc.Pacer, err = newPacer(cfg); err != nil {
				return fail(err)
			}
			rc.MaxRate, rc.Tranquility = cfg.maxRate, cfg.tranquility
			rc.OnPassComplete = func(ctx context.Context) {
				if f.cross == nil {
					return
				}
				if _, err := f.cross.Compare(ctx); err != nil {
					logger.Error("cross-store comparison failed", "err", err)
				}
			}
		} else {
			rc.Fresh = true // check: a full pass from the start, never a resume
		}
		r, err := collector.NewRunner(rc)
		if err != nil {
			return fail(err)
		}
		f.runners = append(f.runners, r)
	}
	if len(f.runners) == 2 {
		f.cross = &collector.Cross{A: f.runners[0], B: f.runners[1], Archive: f.archive,
			MaxFailures: cfg.reportMaxFailures, Logger: logger.With("store", collector.CrossStore)}
	}
	return f, exitOK
}
