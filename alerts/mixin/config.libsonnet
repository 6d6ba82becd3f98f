// Settings of the sigil-integrity mixin. Override any of them in your own
// jsonnet, the way every monitoring mixin is configured:
//
//   local sigil = (import 'mixin.libsonnet') + {
//     _config+:: {
//       exporterSelector: 'job="sigil"',
//       selector: 'job=~"sigil|sigil_integrity_check"',
//       alerts+:: { PassBehindSchedule+: { severity: 'info' } },
//     },
//   };
//   { 'rules.yml': std.manifestYamlDoc(sigil.prometheusAlerts) }
//
// or, without writing jsonnet, edit the defaults below and run
// `go run ./alerts/gen` (docs/alerting.md, "Changing the rules").
{
  _config+:: {
    // The scrape job of the continuous exporter. Under prometheus-operator
    // it is the Service's name. It must not match the Sigil app's own job:
    // an app outage must not page as "exporter down".
    exporterSelector: 'job="sigil-integrity-exporter"',
    // The job the one-shot `check` pushes under (--push.job), kept by the
    // Pushgateway scrape's honor_labels.
    checkSelector: 'job="sigil_integrity_check"',
    // Every series of the exporter, continuous and one-shot.
    selector: 'job=~"sigil-integrity-exporter|sigil_integrity_check"',

    // Where each alert's runbook_url points: this base + the lower-cased
    // alert name, an anchor of docs/runbook.md.
    runbookURLBase: 'https://github.com/sigil/sigil-integrity-exporter/blob/main/docs/runbook.md#',

    // A pass under way is overdue once it has run past its own deadline
    // (sigil_integrity_pass_deadline_timestamp_seconds, from
    // --scan.pass-duration or the scan window) by this share of its length,
    // and at least passOverdueMinGraceSeconds: 2.4h for a 24h pass.
    passOverdueGraceRatio: 0.1,
    passOverdueMinGraceSeconds: 3600,
    // The one-shot `check` has no deadline of its own: its pushed
    // completion time is overdue after this (a nightly CronJob + 2h).
    checkOverdueSeconds: 26 * 3600,
    // Warn when the pass is predicted to end after its deadline by more
    // than this share of the pass length (about 29 minutes for 24h).
    behindScheduleRatio: 0.02,
    // An active walk with no verified record for this long is stalled.
    stalledSeconds: 30 * 60,
    // A complete pass with fewer records than this share of the pass a
    // day earlier.
    recordCountDropRatio: 0.9,

    // Per alert: severity (critical pages, warning goes to chat, info
    // stays in Alertmanager's UI, in the example Alertmanager config) and
    // `for`.
    alerts:: {
      FailuresFound: { severity: 'critical', 'for': '1m' },
      MissingRecords: { severity: 'critical', 'for': '1m' },
      PassOverdue: { severity: 'critical', 'for': '5m' },
      PassBehindSchedule: { severity: 'warning', 'for': '30m' },
      StoreDown: { severity: 'critical', 'for': '15m' },
      ScanStalled: { severity: 'warning', 'for': '5m' },
      Paused: { severity: 'warning', 'for': '2h' },
      // info: shown in Alertmanager and Grafana, sent nowhere by the
      // example Alertmanager config.
      LifecycleEnabled: { severity: 'info', 'for': '1h' },
      ExporterDown: { severity: 'critical', 'for': '15m' },
      ExporterAbsent: { severity: 'critical', 'for': '15m' },
      RecordCountDropped: { severity: 'warning', 'for': '10m' },
      ReportWriteFailed: { severity: 'warning', 'for': '0s' },
      StateWriteFailed: { severity: 'warning', 'for': '30m' },
    },

    // Labels of the PrometheusRule (and, by hand, of the ServiceMonitor in
    // deploy/kubernetes): kube-prometheus-stack selects both by
    // release=<Helm release name>; this is the name its README installs
    // it under. Check yours with `helm list -A`.
    kubernetesLabels: { release: 'kube-prometheus-stack' },
    // Labels of the dashboard's ConfigMap: what the Grafana sidecar of
    // kube-prometheus-stack (and of the Grafana Helm chart) looks for by
    // default.
    grafanaDashboardLabels: { grafana_dashboard: '1' },

    // Dashboard.
    dashboardUID: 'sigil-integrity',
    dashboardTitle: 'Sigil integrity',
    dashboardTags: ['sigil', 'integrity', 'prometheus'],
    dashboardRefresh: '1m',
    dashboardTimeFrom: 'now-2d',
    // The datasource variable's default (a datasource name or uid); the
    // variable lists every Prometheus datasource.
    datasourceDefault: 'Prometheus',
    // The link to an exporter's /reports page, per series: Grafana fills
    // ${__field.labels.instance} from the series the link is on, so it
    // works with any number of instances selected. Point it at your
    // ingress if Grafana's users cannot reach the exporter directly.
    reportsURL: 'http://${__field.labels.instance}/reports',
  },
}
