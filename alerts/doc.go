// Package alerts holds the Prometheus alerting rules, their promtool unit
// tests and an example Alertmanager configuration for
// sigil-integrity-exporter. It has no Go API. The rules, the Kubernetes
// PrometheusRule, the Grafana dashboard and its ConfigMap are generated
// from the monitoring mixin in alerts/mixin:
//
//	go run ./alerts/gen   (or make generate)
//
// Its tests regenerate them and compare byte for byte, check the shipped
// files with the real promtool and amtool, check that every metric name
// used by the rules and the dashboard is a documented one, and run the
// whole alert path end to end with a real Prometheus and Alertmanager.
// Nothing imports it; its tests import only internal/testutil of this
// module (and goleveldb, to write the app's store in the end-to-end test).
package alerts
