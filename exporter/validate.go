package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/pace"
	"github.com/sigil/sigil-integrity-exporter/internal/fielderr"
)

// Bounds of the flags; documented in the README's flag tables.
const (
	maxWorkers     = 256
	maxPageSize    = 100_000
	maxRetain      = 100_000
	maxMaxFailures = 100_000
)

// validateFlags checks every flag before anything starts, in every
// command, so that a bad value is one clear line and exit 2, never a
// panic or a silently odd behaviour. serve is true for serve and demo,
// whose pacing and web flags matter.
func validateFlags(cfg *config, webFlags *web.FlagConfig) error {
	if err := validateTelemetryPath(cfg.telemetryPath); err != nil {
		return err
	}
	positive := []struct {
		name string
		v    time.Duration
	}{
		{"--scan.pass-duration", cfg.passDuration},
		{"--scan.recheck-interval", cfg.recheckInterval},
		{"--store.leveldb.reopen-interval", cfg.levelDBReopenInterval},
		{"--state.checkpoint-interval", cfg.checkpointEvery},
		{"--store.postgres.statement-timeout", cfg.pgStatementTimeout},
	}
	for _, d := range positive {
		if d.v <= 0 {
			return invalid(d.name, d.v, "must be a positive duration such as 10m")
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"--scan.max-rate", cfg.maxRate}, {"--scan.tranquility", cfg.tranquility}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return invalid(f.name, f.v, "must be a finite number >= 0 (0 = off)")
		}
	}
	for _, f := range []struct {
		name      string
		v, lo, hi int
		hint      string
	}{
		{"--verify.workers", cfg.workers, 0, maxWorkers, " (0 = one per CPU)"},
		{"--store.postgres.page-size", cfg.pgPageSize, 1, maxPageSize, ""},
		{"--report.retain", cfg.reportRetain, 1, maxRetain, ""},
		{"--report.max-failures", cfg.reportMaxFailures, 1, maxMaxFailures, " (the counts stay exact; only the list is capped)"},
	} {
		if f.v < f.lo || f.v > f.hi {
			return invalid(f.name, f.v, fmt.Sprintf("must be between %d and %d%s", f.lo, f.hi, f.hint))
		}
	}
	if cfg.maxRecordBytes <= 0 {
		return invalid("--verify.max-record-bytes", int64(cfg.maxRecordBytes), "must be positive, such as 64MiB")
	}
	if cfg.window != "" {
		if _, err := pace.ParseWindow(cfg.window); err != nil {
			return flagError(err)
		}
	}
	if _, err := collector.ParseShard(cfg.shard); err != nil {
		return flagError(err)
	}
	if cfg.pushGatewayURL != "" {
		u, err := url.Parse(cfg.pushGatewayURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("--push.gateway-url", redactURL(cfg.pushGatewayURL), "not an http(s) URL such as http://pushgateway:9091")
		}
	}
	if webFlags.WebConfigFile != nil && *webFlags.WebConfigFile != "" {
		if err := web.Validate(*webFlags.WebConfigFile); err != nil {
			return invalid("--web.config.file", *webFlags.WebConfigFile, oneLine(err.Error()))
		}
	}
	return nil
}

// invalid is a bad flag value, in the words of internal/fielderr:
// "invalid --flag VALUE: what is wrong and what to do".
func invalid(flag string, value any, msg string) error {
	return errors.New(fielderr.New(flag, value, "%s", msg).Error())
}

// validateTelemetryPath accepts an absolute, clean URL path of plain
// characters that no other route uses.
func validateTelemetryPath(p string) error {
	bad := func(why string) error {
		return invalid("--web.telemetry-path", fmt.Sprintf("%.80s", p), why+"; use a path such as /metrics")
	}
	switch {
	case p == "":
		return bad("is empty")
	case p[0] != '/':
		return bad("must start with /")
	case p == "/":
		return bad("is the landing page")
	case len(p) > 256:
		return bad("is longer than 256 bytes")
	}
	for _, r := range p {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-._~", r)
		if !ok {
			return bad("may hold only letters, digits and / - . _ ~")
		}
	}
	clean := path.Clean(p)
	if clean != strings.TrimSuffix(p, "/") || strings.Contains(p, "//") {
		return bad("is not a clean path (no //, . or .. segments)")
	}
	for _, taken := range []string{"/reports", "/-"} {
		if clean == taken || strings.HasPrefix(clean, taken+"/") {
			return bad("is taken by " + taken)
		}
	}
	return nil
}

// oneLine keeps the first line of a message.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// warnFlags logs what is allowed but unsafe: a DSN in argv, which every
// user can read in /proc/PID/cmdline, and a DSN file readable by others.
func warnFlags(cfg *config, args []string, logger *slog.Logger) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--store.postgres.dsn" || strings.HasPrefix(a, "--store.postgres.dsn=") {
			logger.Warn("--store.postgres.dsn is on the command line, which every user of this machine can read (/proc/PID/cmdline, ps): use DATABASE_URL or --store.postgres.dsn-file")
			break
		}
	}
	if cfg.pgDSNFile != "" {
		if fi, err := os.Stat(cfg.pgDSNFile); err == nil && fi.Mode().Perm()&0o004 != 0 {
			logger.Warn("the --store.postgres.dsn-file is readable by every user: chmod 0400 or 0440 it", "file", cfg.pgDSNFile, "mode", fi.Mode().Perm().String())
		}
	}
}
