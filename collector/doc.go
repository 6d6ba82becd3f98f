// Package collector is the walk engine: it paces the walk over a store,
// verifies each record with collector/verify, keeps its progress, and
// exposes what it found as Prometheus metrics and reports. It knows
// nothing about LevelDB or SQL: records come through the store.Store
// interface.
//
// It owns the ordered parallel walk (walk.go), the runner and its passes
// (runner.go, pass.go, schedule.go, live.go, status.go), the state
// directory (state.go alone: progress, pause, key-list rotation; the key
// lists' format in keylist.go, keysort.go), re-checks and missing records
// (recheck.go, afterwalk.go), evidence across passes, pause, the pass
// loop (serve.go), shards and the cross-store comparison (cross.go); each
// runner's and the comparison's exported Status is what the Prometheus
// collector, collector/metrics, reads. Per-record verification is in
// collector/verify, the canonical bytes in collector/canonical, pacing in
// collector/pace, the report type and archive in collector/report.
//
// It must not import goleveldb, pgx or database/sql, store/leveldb or
// store/postgres, nor exporter/ (.golangci.yml's depguard rules enforce
// it), nor collector/metrics, which imports it.
package collector
