package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/canonical"
	"github.com/sigil/sigil-integrity-exporter/store"
	"github.com/sigil/sigil-integrity-exporter/store/leveldb"
	"github.com/sigil/sigil-integrity-exporter/store/postgres"
)

// target is one configured store and how its keys print in reports.
type target struct {
	store    store.Store
	prefix   string // prepended to keys in reports
	identity string // which database: see collector.RunnerConfig.Identity
	ranged   bool   // the store reads only its shard's key range itself
}

// buildVerifier loads key files and the schema and builds the verifier.
// Every error is one line that names the file and what to do.
func buildVerifier(cfg *config, logger *slog.Logger) (*collector.Verifier, error) {
	mode, err := canonical.ParseMode(cfg.canonical)
	if err != nil {
		return nil, err
	}
	keys, warnings, err := collector.LoadSigningKeys(cfg.keyFiles)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	if len(keys) == 0 {
		logger.Info("no --verify.key-file given: the signature check is off")
	}
	var schema *collector.Schema
	if cfg.schemaFile != "" {
		format, err := collector.ParseSchemaFormat(cfg.schemaFormat)
		if err != nil {
			return nil, err
		}
		if schema, err = collector.LoadSchema(cfg.schemaFile, format); err != nil {
			return nil, err
		}
	}
	return collector.NewVerifier(collector.VerifierConfig{
		Canonical:      mode,
		RequiredFields: cfg.requiredFields,
		Keys:           keys,
		Signature: collector.SignatureConfig{
			Algorithm: cfg.sigAlgorithm,
			Encoding:  cfg.sigEncoding,
			Payload:   cfg.sigPayload,
		},
		Schema:         schema,
		MaxRecordBytes: int(cfg.maxRecordBytes),
	})
}

// errNoStore says what to do when no store is configured.
var errNoStore = errors.New("no store configured: give --store.leveldb.path (or SIGIL_DB_PATH) and/or --store.postgres.dsn (or DATABASE_URL, or --store.postgres.dsn-file)")

// openStores opens every configured store. With lazy (serve), a store
// that is unreachable now is opened later by the walk, which retries with
// back-off and shows it as down meanwhile; a store that does not exist is
// always an error. On error the ones opened are closed again.
func openStores(ctx context.Context, cfg *config, logger *slog.Logger, lazy bool) ([]target, error) {
	var targets []target
	closeAll := func() {
		for _, t := range targets {
			t.store.Close()
		}
	}
	add := func(name string, open func(context.Context) (store.Store, error), t target) error {
		s, err := open(ctx)
		if err != nil && lazy && errors.Is(err, store.ErrUnavailable) {
			logger.Warn("store unreachable at start; the walk will retry", "store", name, "err", err)
			s, err = &lazyStore{name: name, open: open}, nil
		}
		if err != nil {
			return err
		}
		t.store = s
		targets = append(targets, t)
		return nil
	}
	if cfg.levelDBPath != "" {
		open := func(context.Context) (store.Store, error) {
			return leveldb.Open(cfg.levelDBPath, leveldb.Options{
				Prefix: []byte(cfg.levelDBPrefix),
				Logger: logger.With("store", "leveldb"),
			})
		}
		abs, _ := filepath.Abs(cfg.levelDBPath)
		if err := add("leveldb", open, target{prefix: cfg.levelDBPrefix, identity: fmt.Sprintf("leveldb %s prefix %q", abs, cfg.levelDBPrefix)}); err != nil {
			return nil, err
		}
	}
	dsn, err := postgresDSN(cfg)
	if err != nil {
		closeAll()
		return nil, err
	}
	// --scan.shard: PostgreSQL reads only its shard's range of the walk
	// order, unless a LevelDB store is compared with it: both then keep
	// the hash split, so that the two stores' shards hold the same keys.
	shard, err := collector.ParseShard(cfg.shard)
	if err != nil {
		closeAll()
		return nil, err
	}
	ranged := !shard.All() && cfg.levelDBPath == ""
	if dsn != "" {
		open := func(ctx context.Context) (store.Store, error) {
			s, err := postgres.Open(ctx, postgres.Options{
				DSN:              dsn,
				Table:            cfg.pgTable,
				KeyColumn:        cfg.pgKeyColumn,
				RecordColumn:     cfg.pgRecordColumn,
				PageSize:         cfg.pgPageSize,
				StatementTimeout: cfg.pgStatementTimeout,
				Logger:           logger.With("store", "postgres"),
			}.Sharded(ranged, shard.Index, shard.Count))
			if err != nil {
				return nil, err
			}
			logger.Info(s.Describe(), "store", "postgres")
			for _, w := range s.Warnings() {
				logger.Warn(w, "store", "postgres")
			}
			return s, nil
		}
		if err := add("postgres", open, target{identity: postgresIdentity(cfg, dsn), ranged: ranged}); err != nil {
			closeAll()
			return nil, err
		}
	}
	if len(targets) == 0 {
		return nil, errNoStore
	}
	return targets, nil
}

// postgresDSN returns the DSN from the file, the flag or the environment.
func postgresDSN(cfg *config) (string, error) {
	if cfg.pgDSNFile == "" {
		return strings.TrimSpace(cfg.pgDSN), nil
	}
	b, err := os.ReadFile(cfg.pgDSNFile)
	if err != nil {
		return "", fmt.Errorf("--store.postgres.dsn-file %q: %w", cfg.pgDSNFile, errors.Unwrap(err))
	}
	dsn := strings.TrimSpace(string(b))
	if dsn == "" {
		return "", fmt.Errorf("--store.postgres.dsn-file %q is empty: it must hold a connection string", cfg.pgDSNFile)
	}
	return dsn, nil
}

// postgresIdentity names the database and table, without user or password.
func postgresIdentity(cfg *config, dsn string) string {
	id := fmt.Sprintf("table %s key %s record %q", cfg.pgTable, cfg.pgKeyColumn, cfg.pgRecordColumn)
	pc, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "postgres " + id
	}
	return fmt.Sprintf("postgres %s:%d/%s %s", pc.Host, pc.Port, pc.Database, id)
}
