// The Prometheus alerting rules. Every metric name used here is listed in
// docs/METRICS.md; every alert has a section in docs/runbook.md.
{
  local c = $._config,
  local alert(name, expr, summary, description) = {
    alert: 'SigilIntegrity' + name,
    expr: expr % c,
    [if c.alerts[name]['for'] != '0s' then 'for']: c.alerts[name]['for'],
    labels: { severity: c.alerts[name].severity },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: c.runbookURLBase + std.asciiLower('SigilIntegrity' + name),
    },
  },

  prometheusAlerts+:: {
    groups+: [{
      name: 'sigil-integrity',
      rules: [
        // Corruption: the highest of the current pass and the last complete
        // pass, so it fires as soon as the walk finds a failure (not at pass
        // end) and resolves once re-checks find every failing record restored.
        alert('FailuresFound', |||
          max without (pass) (
              label_replace(sum without (check) (sigil_integrity_current_pass_failures{%(selector)s, check!="missing"}), "pass", "current", "", "")
            or
              label_replace(sum without (check) (sigil_integrity_last_pass_failures{%(selector)s, check!="missing"}), "pass", "last", "", "")
          ) > 0
        |||,
              'Sigil records failed integrity verification.',
              "{{ $value }} records in store {{ $labels.store }} ({{ $labels.instance }}) failed verification (corrupt, unreadable, bad checksum or signature). See the exporter's /reports for the records and the failing check."),

        // Missing data: records that vanished since the last complete pass, or
        // (store="cross") records present in one store and absent from the other.
        alert('MissingRecords', |||
          max without (pass) (
              label_replace(sum without (check) (sigil_integrity_current_pass_failures{%(selector)s, check="missing"}), "pass", "current", "", "")
            or
              label_replace(sum without (check) (sigil_integrity_last_pass_failures{%(selector)s, check="missing"}), "pass", "last", "", "")
            or
              label_replace(sigil_integrity_missing_records{%(selector)s}, "pass", "vanished", "", "")
          ) > 0
        |||,
              'Sigil records are missing.',
              "{{ $value }} records are missing from store {{ $labels.store }} ({{ $labels.instance }}): present in the previous complete pass (or in the other store) and absent now. See the exporter's /reports for their ids."),

        // The promise: every record checked every night. The pass under way
        // has run past its own deadline (start + --scan.pass-duration, or
        // the window's end) by more than the grace; or the one-shot check
        // has pushed no complete pass for checkOverdueSeconds.
        alert('PassOverdue', |||
          (
              time() - (sigil_integrity_pass_deadline_timestamp_seconds{%(selector)s} > 0)
            >
              clamp_min(
                %(passOverdueGraceRatio)g * (
                    sigil_integrity_pass_deadline_timestamp_seconds{%(selector)s}
                  - sigil_integrity_pass_start_timestamp_seconds{%(selector)s}
                ),
                %(passOverdueMinGraceSeconds)d
              )
          )
          or
          (
            time() - (sigil_integrity_last_pass_completion_timestamp_seconds{%(checkSelector)s} > 0) > %(checkOverdueSeconds)d
          )
        |||,
              'A sigil integrity pass is overdue.',
              'The verification pass over store {{ $labels.store }} ({{ $labels.instance }}) is {{ $value | humanizeDuration }} past its deadline (for the one-shot check: since its last complete pass): records are going unverified.'),

        // Early warning, before the pass is overdue: at the pace the limits
        // allow, the pass ends later than its deadline by more than a share
        // of the pass length.
        alert('PassBehindSchedule', |||
          (
              sigil_integrity_pass_predicted_end_timestamp_seconds{%(selector)s}
            - sigil_integrity_pass_deadline_timestamp_seconds{%(selector)s}
          )
          >
          %(behindScheduleRatio)g * (
              sigil_integrity_pass_deadline_timestamp_seconds{%(selector)s}
            - sigil_integrity_pass_start_timestamp_seconds{%(selector)s}
          )
        |||,
              'The sigil integrity pass will miss its deadline.',
              'The current pass over store {{ $labels.store }} ({{ $labels.instance }}) is predicted to end {{ $value | humanizeDuration }} after its deadline. Check --scan.max-rate, --scan.tranquility and --scan.window against the record count.'),

        // Nothing is verified while the store cannot be reached. Critical:
        // the example Alertmanager config lets it inhibit the overdue,
        // behind and stalled alerts of the same store.
        alert('StoreDown', 'sigil_integrity_up{%(selector)s} == 0',
              'The sigil integrity exporter cannot reach its store.',
              'Store {{ $labels.store }} ({{ $labels.instance }}) could not be opened or queried for %s; no record is being verified.' % c.alerts.StoreDown['for']),

        // The walk should be moving (not paused, inside its window) but has
        // not verified a record for stalledSeconds.
        alert('ScanStalled', |||
          (time() - sigil_integrity_last_progress_timestamp_seconds{%(selector)s} > %(stalledSeconds)d)
          and
          sigil_integrity_scan_active{%(selector)s} == 1
        |||,
              'The sigil integrity walk is stalled.',
              'The walk over store {{ $labels.store }} ({{ $labels.instance }}) should be running but has not verified a record for {{ $value | humanizeDuration }}.'),

        // Someone paused the walk (POST /-/pause) and it stayed paused: no
        // record is verified until /-/resume.
        alert('Paused', 'sigil_integrity_paused{%(selector)s} == 1',
              'The sigil integrity walk has been paused for a long time.',
              'The walk over store {{ $labels.store }} ({{ $labels.instance }}) has been paused for more than %s; no record is being verified until POST /-/resume.' % c.alerts.Paused['for']),

        // The control endpoints (pause, resume, run-now) answer anyone who
        // reaches the port: --web.enable-lifecycle is on. A notice, for
        // exporters where nobody meant to turn it on.
        alert('LifecycleEnabled', 'sigil_integrity_lifecycle_enabled{%(exporterSelector)s} == 1',
              'The sigil integrity exporter accepts pause, resume and run-now over HTTP.',
              'The exporter {{ $labels.instance }} runs with --web.enable-lifecycle: anyone who reaches its port (or passes its basic auth) can pause the walk. Turn it off unless you use it.'),

        alert('ExporterDown', 'up{%(exporterSelector)s} == 0',
              'The sigil integrity exporter is down.',
              'Prometheus could not scrape {{ $labels.instance }} (job {{ $labels.job }}) for %s; records are not being verified.' % c.alerts.ExporterDown['for']),

        // No exporter reports at all: removed, never deployed, or a scrape
        // config that no longer matches the selector.
        alert('ExporterAbsent', 'absent(sigil_integrity_last_status{%(selector)s})',
              'No sigil integrity exporter reports to Prometheus.',
              'No series sigil_integrity_last_status{%(selector)s} has been scraped for %(for)s: the exporter is gone or the scrape configuration does not match it.' % (c { 'for': c.alerts.ExporterAbsent['for'] })),

        // The last complete pass checked fewer records than the one a day
        // before. Fires for about a day after the drop.
        alert('RecordCountDropped', |||
          sigil_integrity_last_pass_records{%(selector)s}
            / (sigil_integrity_last_pass_records{%(selector)s} offset 1d)
          < %(recordCountDropRatio)g
        |||,
              'The number of sigil records dropped sharply.',
              'The last complete pass over store {{ $labels.store }} ({{ $labels.instance }}) checked {{ $value | humanizePercentage }} of the records checked a day earlier.'),

        // A pass's report could not be archived (disk full, permissions).
        alert('ReportWriteFailed', 'increase(sigil_integrity_report_write_errors_total{%(selector)s}[1h]) > 0',
              'A sigil integrity report could not be written.',
              'The exporter {{ $labels.instance }} had {{ $value | printf "%.0f" }} report write errors for store {{ $labels.store }} in the last hour; check --report.dir (space, permissions).'),

        // Progress checkpoints keep failing: a restart would lose progress.
        alert('StateWriteFailed', 'increase(sigil_integrity_state_write_errors_total{%(selector)s}[15m]) > 0',
              'The sigil integrity exporter cannot save its progress.',
              'The exporter {{ $labels.instance }} has been failing to checkpoint the walk over store {{ $labels.store }} for %s; check --state.path (space, permissions). A restart would start the pass over.' % c.alerts.StateWriteFailed['for']),
      ],
    }],
  },
}
