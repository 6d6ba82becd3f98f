// Package alerts holds the Prometheus alerting rules, their promtool unit
// tests and an example Alertmanager configuration for
// sigil-integrity-exporter. It has no Go API: its tests check the shipped
// files with the real promtool and amtool, compare the Kubernetes
// PrometheusRule with the rules file, and check that every metric name used
// by the rules and the Grafana dashboard is a documented one. Nothing
// imports it; its tests import only internal/testutil of this module (and
// goleveldb, to write the app's store in the end-to-end test).
//
// Regenerate deploy/kubernetes/prometheusrule.yaml from the rules file with:
//
//	go test ./alerts -run TestPrometheusRuleMatchesRulesFile -update
package alerts
