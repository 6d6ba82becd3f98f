// The sigil-integrity monitoring mixin: Prometheus alerts and a Grafana
// dashboard from one set of settings (config.libsonnet). `go run
// ./alerts/gen` writes the files the repository ships from it.
(import 'config.libsonnet') +
(import 'alerts.libsonnet') +
(import 'dashboard.libsonnet')
