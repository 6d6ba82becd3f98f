package main

import (
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
)

// config holds every flag outside exporter-toolkit's and promslog's.
// Nothing below package main reads flags or the environment.
type config struct {
	levelDBPath           string
	levelDBPrefix         string
	levelDBReopenInterval time.Duration

	pgDSN              string
	pgDSNFile          string
	pgTable            string
	pgKeyColumn        string
	pgRecordColumn     string
	pgPageSize         int
	pgStatementTimeout time.Duration

	keyFiles       []string
	schemaFile     string
	schemaFormat   string
	canonical      string
	requiredFields []string
	sigAlgorithm   string
	sigEncoding    string
	sigPayload     string
	maxRecordBytes units.Base2Bytes
	workers        int

	passDuration    time.Duration
	maxRate         float64
	tranquility     float64
	window          string
	recheckInterval time.Duration
	shard           string

	reportDir         string
	reportRetain      int
	reportMaxFailures int
	statePath         string
	checkpointEvery   time.Duration

	telemetryPath   string
	enableLifecycle bool

	pushGatewayURL string
	pushJob        string
	pushInstance   string
}

func (c *config) register(app *kingpin.Application) {
	app.Flag("store.leveldb.path", "LevelDB directory of the app's store (opened read-only, always).").Envar("SIGIL_DB_PATH").PlaceHolder("DIR").StringVar(&c.levelDBPath)
	app.Flag("store.leveldb.prefix", "Key prefix of the records; a classic-level sublevel named sigils is !sigils!. Empty: the whole database.").Default("").StringVar(&c.levelDBPrefix)
	app.Flag("store.leveldb.reopen-interval", "Reopen the LevelDB (read-only) this often to see the app's new data.").Default("10m").DurationVar(&c.levelDBReopenInterval)

	app.Flag("store.postgres.dsn", "PostgreSQL connection string (prefer --store.postgres.dsn-file or the env var: argv is visible to every user).").Envar("DATABASE_URL").PlaceHolder("DSN").StringVar(&c.pgDSN)
	app.Flag("store.postgres.dsn-file", "File holding the PostgreSQL connection string.").PlaceHolder("FILE").StringVar(&c.pgDSNFile)
	app.Flag("store.postgres.table", "Table of records, optionally schema-qualified (app.sigils).").Default("sigils").StringVar(&c.pgTable)
	app.Flag("store.postgres.key-column", "Key column of the table.").Default("id").StringVar(&c.pgKeyColumn)
	app.Flag("store.postgres.record-column", "Column holding the whole record document; empty: the record is the whole row as JSON.").Default("").StringVar(&c.pgRecordColumn)
	app.Flag("store.postgres.page-size", "Rows per keyset page.").Default("500").IntVar(&c.pgPageSize)
	app.Flag("store.postgres.statement-timeout", "Statement timeout of every query.").Default("30s").DurationVar(&c.pgStatementTimeout)

	app.Flag("verify.key-file", "File holding one HMAC key; repeat for rotation, current key first. Without it the signature check is off.").PlaceHolder("FILE").StringsVar(&c.keyFiles)
	app.Flag("verify.schema-file", "JSON Schema every record must satisfy. Without it the schema check is off.").PlaceHolder("FILE").StringVar(&c.schemaFile)
	app.Flag("verify.schema-format", "What the schema's format keywords do: assert (check date-time, email, uuid, ...; an unknown format is a startup error) or annotate (never checked).").Default("assert").EnumVar(&c.schemaFormat, "assert", "annotate")
	app.Flag("verify.canonical", "Canonical form of data for checksums and signatures: js (what Node computes), raw (stored bytes), jcs (RFC 8785).").Default("js").EnumVar(&c.canonical, "js", "raw", "jcs")
	app.Flag("verify.required-field", "A field every record must have, non-empty; repeat for more.").Default("id", "signature").StringsVar(&c.requiredFields)
	app.Flag("verify.signature-algorithm", "HMAC hash: sha256 or sha512.").Default("sha256").EnumVar(&c.sigAlgorithm, "sha256", "sha512")
	app.Flag("verify.signature-encoding", "Encoding of the stored signature: hex or base64.").Default("hex").EnumVar(&c.sigEncoding, "hex", "base64")
	app.Flag("verify.signature-payload", "What the HMAC covers: data (the canonical data bytes) or checksum (the checksum string).").Default("data").EnumVar(&c.sigPayload, "data", "checksum")
	app.Flag("verify.max-record-bytes", "Records larger than this fail the decode check unread (bounds memory).").Default("64MiB").BytesVar(&c.maxRecordBytes)
	app.Flag("verify.workers", "Goroutines verifying records; 0: one per CPU.").Default("0").IntVar(&c.workers)

	app.Flag("scan.pass-duration", "Target length of one pass in serve mode.").Default("24h").DurationVar(&c.passDuration)
	app.Flag("scan.max-rate", "Hard cap on records read per second; 0: none.").Default("0").Float64Var(&c.maxRate)
	app.Flag("scan.tranquility", "Idle at least this many times the time spent reading (0: off; 1: at most half the time busy).").Default("0").Float64Var(&c.tranquility)
	app.Flag("scan.window", "Daily time window HH:MM-HH:MM in local time (TZ), or with a UTC suffix (\"01:00-05:00 UTC\"); may cross midnight. Passes run and must end inside it.").Default("").StringVar(&c.window)
	app.Flag("scan.recheck-interval", "Re-read known failures this often, so a restored record clears its alert before the next pass.").Default("10m").DurationVar(&c.recheckInterval)
	app.Flag("scan.shard", "Walk only shard i of N of the key space (i/N, 0-based), for stores one process cannot walk in a night. PostgreSQL alone: each shard reads only its range of the index order (about 1/N of the table); LevelDB, or both stores: a hash split (each replica reads everything, verifies its share).").Default("").StringVar(&c.shard)

	app.Flag("report.dir", "Directory of the archived reports.").Default("./reports").StringVar(&c.reportDir)
	app.Flag("report.retain", "Reports kept per store; older ones are pruned.").Default("30").IntVar(&c.reportRetain)
	app.Flag("report.max-failures", "Failures listed in one report; the counts stay exact.").Default("1000").IntVar(&c.reportMaxFailures)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&c.telemetryPath)
	app.Flag("web.enable-lifecycle", "Allow POST /-/pause, /-/resume and /-/run-now (off: they answer 403). Anyone who reaches the port, or passes the web config's basic auth, can then control the walk.").Default("false").BoolVar(&c.enableLifecycle)
	app.Flag("state.path", "Directory where the walk's progress is kept, so a restart resumes mid-pass.").Default("./state").StringVar(&c.statePath)
	app.Flag("state.checkpoint-interval", "How often progress is saved during a pass (and always at shutdown).").Default("5s").DurationVar(&c.checkpointEvery)
}

func (c *config) registerCheck(cmd *kingpin.CmdClause) {
	cmd.Flag("push.gateway-url", "Push the pass's metrics to this Pushgateway after the check.").PlaceHolder("URL").StringVar(&c.pushGatewayURL)
	cmd.Flag("push.job", "Job name used when pushing.").Default("sigil_integrity_check").StringVar(&c.pushJob)
	cmd.Flag("push.instance", "The instance label of the pushed group (grouping key job/instance/store/shard); default: the host name. Give a CronJob a stable name: its pods' host names change every run.").PlaceHolder("NAME").StringVar(&c.pushInstance)
}
