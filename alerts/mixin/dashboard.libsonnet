// The Grafana dashboard. Plain jsonnet (no grafonnet): the helpers below
// build the few panel kinds it uses. Its datasource is a template
// variable, so the same JSON works through the Import dialog, file
// provisioning, the Helm chart's sidecar, grafana-operator and Terraform.
{
  local c = $._config,
  local ds = { type: 'prometheus', uid: '${datasource}' },
  local sel = 'job=~"$job", instance=~"$instance", store=~"$store"',
  // q fills %(sel)s in a query with the variables' selector.
  local q(expr) = expr % { sel: sel },

  local target(expr, legend, refId, instant) = {
    datasource: ds,
    expr: q(expr),
    legendFormat: legend,
    refId: refId,
    range: !instant,
    instant: instant,
  },
  local targets(list, instant) = [
    target(t[0], t[1], std.char(std.codepoint('A') + i), instant)
    for i in std.range(0, std.length(list) - 1)
    for t in [list[i]]
  ],
  local steps(list) = { mode: 'absolute', steps: [{ color: s[0], value: s[1] } for s in list] },

  local base(type, title, description, pos) = {
    type: type,
    title: title,
    description: description,
    datasource: ds,
    gridPos: { h: pos[0], w: pos[1], x: pos[2], y: pos[3] },
  },

  local stat(title, description, pos, list, unit='short', thresholds=[['blue', null]], mappings=[], extra={}) =
    base('stat', title, description, pos) {
      targets: targets(list, true),
      fieldConfig: {
        defaults: { unit: unit, mappings: mappings, thresholds: steps(thresholds), color: { mode: 'thresholds' } } + extra,
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
        graphMode: 'none',
        textMode: 'value_and_name',
        justifyMode: 'auto',
        orientation: 'auto',
      },
    },

  local bargauge(title, description, pos, list) =
    base('bargauge', title, description, pos) {
      targets: targets(list, true),
      fieldConfig: {
        defaults: { unit: 'short', mappings: [], thresholds: steps([['green', null], ['red', 1]]), color: { mode: 'thresholds' }, min: 0 },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        displayMode: 'basic',
        orientation: 'horizontal',
        showUnfilled: true,
        minVizHeight: 10,
        minVizWidth: 0,
        valueMode: 'color',
      },
    },

  local timeseries(title, description, pos, list, unit='short', extra={ min: 0 }) =
    base('timeseries', title, description, pos) {
      targets: targets(list, false),
      fieldConfig: {
        defaults: { unit: unit, mappings: [], thresholds: steps([['green', null]]), color: { mode: 'palette-classic' } } + extra,
        overrides: [],
      },
      options: {
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
        tooltip: { mode: 'multi', sort: 'none' },
      },
    },

  local row(title, y) = { type: 'row', title: title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y }, panels: [] },

  // One link per series, to that series' own exporter: it works whatever
  // number of instances is selected.
  local reportLinks = { links: [{ title: 'Reports of ${__field.labels.instance}', url: c.reportsURL, targetBlank: true }] },

  local variable(name, query) = {
    type: 'query',
    name: name,
    label: name,
    datasource: ds,
    query: { query: query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    definition: query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: {},
    options: [],
    sort: 1,
    hide: 0,
    regex: '',
  },

  local panels = [
    row('Status', 0),
    stat('Last status', "sigil_integrity_last_status: 1 = no failure in the last complete pass nor the current one; 0 = failures. Click a value for that exporter's reports.", [5, 6, 0, 1],
         [['sigil_integrity_last_status{%(sel)s}', '{{store}} ({{instance}})']],
         thresholds=[['red', null], ['green', 1]],
         mappings=[{ type: 'value', options: { '0': { text: 'FAILURES', color: 'red', index: 0 }, '1': { text: 'OK', color: 'green', index: 1 } } }],
         extra=reportLinks),
    stat('Failures (current / last pass)', 'Records failing any check, in the current pass and in the last complete pass, less those a re-check found fixed.', [5, 6, 6, 1],
         [['sum by (instance, store) (sigil_integrity_current_pass_failures{%(sel)s})', '{{store}} ({{instance}}) current'],
          ['sum by (instance, store) (sigil_integrity_last_pass_failures{%(sel)s})', '{{store}} ({{instance}}) last']],
         thresholds=[['green', null], ['red', 1]], extra=reportLinks),
    stat('Time since last complete pass', 'Now minus sigil_integrity_last_pass_completion_timestamp_seconds. Empty: no pass completed yet. Whether that is late depends on the pass deadline: see "Overdue by".', [5, 6, 12, 1],
         [['time() - (sigil_integrity_last_pass_completion_timestamp_seconds{%(sel)s} > 0)', '{{store}} ({{instance}})']], unit='s'),
    stat('Store up', 'sigil_integrity_up: whether the store could be opened or queried at the last attempt.', [5, 6, 18, 1],
         [['sigil_integrity_up{%(sel)s}', '{{store}} ({{instance}})']],
         thresholds=[['red', null], ['green', 1]],
         mappings=[{ type: 'value', options: { '0': { text: 'DOWN', color: 'red', index: 0 }, '1': { text: 'UP', color: 'green', index: 1 } } }]),
    stat('Pass progress', "Share of the current pass done (estimated from the last pass's record count).", [5, 6, 0, 6],
         [['sigil_integrity_pass_progress_ratio{%(sel)s}', '{{store}} ({{instance}})']], unit='percentunit', extra={ min: 0, max: 1 }),
    stat('Predicted end vs deadline', 'Predicted end of the current pass minus its deadline: negative (green) is on time, positive (red) is late (SigilIntegrityPassBehindSchedule).', [5, 6, 6, 6],
         [['sigil_integrity_pass_predicted_end_timestamp_seconds{%(sel)s} - sigil_integrity_pass_deadline_timestamp_seconds{%(sel)s}', '{{store}} ({{instance}})']],
         unit='s', thresholds=[['green', null], ['red', 1]]),
    stat('Overdue by', 'How long the pass under way has run past its own deadline (start + --scan.pass-duration, or the scan window end). Empty or negative: on time. SigilIntegrityPassOverdue fires after a grace of %g of the pass length (at least %ds).' % [c.passOverdueGraceRatio, c.passOverdueMinGraceSeconds], [5, 6, 12, 6],
         [['time() - (sigil_integrity_pass_deadline_timestamp_seconds{%(sel)s} > 0)', '{{store}} ({{instance}})']],
         unit='s', thresholds=[['green', null], ['yellow', 0], ['red', c.passOverdueMinGraceSeconds]]),
    stat('Deadline', 'When the current pass must end.', [5, 6, 18, 6],
         [['sigil_integrity_pass_deadline_timestamp_seconds{%(sel)s} * 1000', '{{store}} ({{instance}})']], unit='dateTimeFromNow'),

    row('Failures', 11),
    bargauge('Failures by check, current pass', "sigil_integrity_current_pass_failures per check. The report names the records: see the exporter's /reports.", [9, 8, 0, 12],
             [['sum by (instance, store, check) (sigil_integrity_current_pass_failures{%(sel)s})', '{{store}} {{check}} ({{instance}})']]),
    bargauge('Failures by check, last complete pass', 'sigil_integrity_last_pass_failures per check, less those a re-check has since found fixed.', [9, 8, 8, 12],
             [['sum by (instance, store, check) (sigil_integrity_last_pass_failures{%(sel)s})', '{{store}} {{check}} ({{instance}})']]),
    timeseries('Failures over time', 'Failing records per check (current and last pass) and missing records.', [9, 8, 16, 12],
               [['sum by (instance, store, check) (sigil_integrity_current_pass_failures{%(sel)s}) > 0', '{{store}} {{check}} (current, {{instance}})'],
                ['sum by (instance, store, check) (sigil_integrity_last_pass_failures{%(sel)s}) > 0', '{{store}} {{check}} (last, {{instance}})'],
                ['sum by (instance, store) (sigil_integrity_missing_records{%(sel)s})', '{{store}} missing ({{instance}})']]),

    row('Pass', 21),
    timeseries('Pass progress', 'sigil_integrity_pass_progress_ratio: one ramp from 0 to 1 per pass.', [8, 8, 0, 22],
               [['sigil_integrity_pass_progress_ratio{%(sel)s}', '{{store}} ({{instance}})']], unit='percentunit', extra={ min: 0, max: 1 }),
    timeseries('Time left: deadline vs predicted', 'Seconds until the deadline and until the predicted end of the current pass. The predicted line above the deadline line means the pass is late.', [8, 8, 8, 22],
               [['sigil_integrity_pass_deadline_timestamp_seconds{%(sel)s} - time()', '{{store}} ({{instance}}) until deadline'],
                ['sigil_integrity_pass_predicted_end_timestamp_seconds{%(sel)s} - time()', '{{store}} ({{instance}}) until predicted end']], unit='s', extra={}),
    timeseries('Verification rate', 'Records verified per second (passes and re-checks), against the rate the pacer allows.', [8, 8, 16, 22],
               [['sum by (instance, store) (rate(sigil_integrity_records_verified_total{%(sel)s}[$__rate_interval]))', '{{store}} ({{instance}}) verified/s'],
                ['sigil_integrity_pacing_rate_records_per_second{%(sel)s}', '{{store}} ({{instance}}) pacing limit']], unit='reqps'),
    timeseries('Records per pass', 'Records checked by the last complete pass and so far in the current one. A sharp drop fires SigilIntegrityRecordCountDropped.', [8, 8, 0, 30],
               [['sigil_integrity_last_pass_records{%(sel)s}', '{{store}} ({{instance}}) last pass'],
                ['sigil_integrity_current_pass_records{%(sel)s}', '{{store}} ({{instance}}) current pass']]),
    timeseries('Walk activity', 'Seconds since the walk last verified a record, while it should be running (scan_active = 1). Over %d seconds fires SigilIntegrityScanStalled.' % c.stalledSeconds, [8, 8, 8, 30],
               [['(time() - sigil_integrity_last_progress_timestamp_seconds{%(sel)s}) and sigil_integrity_scan_active{%(sel)s} == 1', '{{store}} ({{instance}}) since last progress'],
                ['sigil_integrity_scan_active{%(sel)s}', '{{store}} ({{instance}}) active']], unit='s'),
    stat('Last pass', 'Duration of the last complete pass.', [8, 4, 16, 30],
         [['sigil_integrity_last_pass_duration_seconds{%(sel)s}', '{{store}} ({{instance}})']], unit='s'),
    stat('Passes in 24h', 'Complete passes in the last 24 hours (one a night is the promise).', [8, 4, 20, 30],
         [['sum by (instance, store) (increase(sigil_integrity_passes_completed_total{%(sel)s}[24h]))', '{{store}} ({{instance}})']],
         thresholds=[['red', null], ['green', 0.5]]),

    row('Store health', 38),
    timeseries('Store up', 'sigil_integrity_up: 0 for %s fires SigilIntegrityStoreDown.' % c.alerts.StoreDown['for'], [7, 8, 0, 39],
               [['sigil_integrity_up{%(sel)s}', '{{store}} ({{instance}})']], extra={ min: 0, max: 1 }),
    timeseries('Read errors', 'Errors reading the store per interval: failed opens/queries and unreadable records.', [7, 8, 8, 39],
               [['sum by (instance, store) (increase(sigil_integrity_read_errors_total{%(sel)s}[$__rate_interval]))', '{{store}} ({{instance}})']]),
    timeseries('Report and state write errors', 'Reports and progress checkpoints that could not be written (disk full, permissions).', [7, 8, 16, 39],
               [['sum by (instance, store) (increase(sigil_integrity_report_write_errors_total{%(sel)s}[$__rate_interval]))', '{{store}} ({{instance}}) report'],
                ['sum by (instance, store) (increase(sigil_integrity_state_write_errors_total{%(sel)s}[$__rate_interval]))', '{{store}} ({{instance}}) state']]),

    row('Signing keys', 46),
    bargauge('Records per signing key, last pass', 'Records each signing key verified in the last complete pass (key 0 is the current key).', [7, 8, 0, 47],
             [['sum by (instance, store, key) (sigil_integrity_last_pass_key_records{%(sel)s})', '{{store}} key {{key}} ({{instance}})']]),
    timeseries('Key rotation progress, current pass', 'Share of the records checked so far in the current pass that each key verified.', [7, 10, 8, 47],
               [['sum by (job, instance, store, key) (sigil_integrity_current_pass_key_records{%(sel)s}) / on (job, instance, store) group_left () sum by (job, instance, store) (sigil_integrity_current_pass_records{%(sel)s})', '{{store}} key {{key}} ({{instance}})']],
               unit='percentunit', extra={ min: 0, max: 1 }),
    base('table', 'Exporter build', 'sigil_integrity_exporter_build_info.', [7, 6, 18, 47]) {
      targets: [target('sigil_integrity_exporter_build_info{job=~"$job", instance=~"$instance"}', '{{version}}', 'A', true) { format: 'table' }],
      fieldConfig: { defaults: { unit: 'short', mappings: [], thresholds: steps([['green', null]]), color: { mode: 'palette-classic' } }, overrides: [] },
      options: { showHeader: true },
    },
  ],

  grafanaDashboards+:: {
    'sigil-integrity.json': {
      description: "sigil-integrity-exporter: nightly verification of the Sigil app's records (LevelDB / PostgreSQL).",
      editable: true,
      fiscalYearStartMonth: 0,
      graphTooltip: 1,
      id: null,
      uid: c.dashboardUID,
      title: c.dashboardTitle,
      tags: c.dashboardTags,
      refresh: c.dashboardRefresh,
      schemaVersion: 39,
      version: 1,
      time: { from: c.dashboardTimeFrom, to: 'now' },
      timepicker: {},
      timezone: '',
      weekStart: '',
      links: [{
        title: 'Runbook',
        type: 'link',
        url: std.split(c.runbookURLBase, '#')[0],
        targetBlank: true,
        icon: 'doc',
        tooltip: 'What each SigilIntegrity alert means and what to do',
        asDropdown: false,
        includeVars: false,
        keepTime: false,
        tags: [],
      }],
      annotations: {
        list: [
          {
            builtIn: 1,
            datasource: { type: 'grafana', uid: '-- Grafana --' },
            enable: true,
            hide: true,
            iconColor: 'rgba(0, 211, 255, 1)',
            name: 'Annotations & Alerts',
            type: 'dashboard',
          },
          {
            // One mark where a pass ended: its completion time changed.
            datasource: ds,
            enable: true,
            hide: false,
            iconColor: 'green',
            name: 'Pass ends',
            expr: q('changes(sigil_integrity_last_pass_completion_timestamp_seconds{%(sel)s}[2m]) > 0'),
            step: '1m',
            titleFormat: 'Pass ended: {{store}}',
            textFormat: '{{instance}}',
            tagKeys: 'store,instance',
            useValueForTime: false,
          },
        ],
      },
      templating: {
        list: [
          {
            type: 'datasource',
            name: 'datasource',
            label: 'Data source',
            query: 'prometheus',
            current: { text: c.datasourceDefault, value: c.datasourceDefault },
            options: [],
            refresh: 1,
            regex: '',
            hide: 0,
            includeAll: false,
            multi: false,
          },
          variable('job', 'label_values(sigil_integrity_last_status, job)'),
          variable('instance', 'label_values(sigil_integrity_last_status{job=~"$job"}, instance)'),
          variable('store', 'label_values(sigil_integrity_last_status{job=~"$job", instance=~"$instance"}, store)'),
        ],
      },
      panels: [panels[i] { id: i + 1 } for i in std.range(0, std.length(panels) - 1)],
    },
  },
}
