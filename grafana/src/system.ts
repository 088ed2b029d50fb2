import { BigValueColorMode, BigValueGraphMode, BigValueTextMode, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import type { RetrainOutcome } from '../../core/stores/registry.js';
import { INFLUXDB, REGISTRY } from './datasources.js';
import { assignIds } from './panelIds.js';
import { InfluxQLQueryBuilder, RegistrySqlQueryBuilder } from './queries.js';
import { DEFAULT_TRAINING } from '../../core/training/trainingConfig.js';

export const SYSTEM_DASHBOARD_UID = 'mlops-system';

/** Every outcome gets a column, so a new one in the registry fails type checking until it is shown. */
const OUTCOME_TITLES = {
  pending: 'waiting for Temporal',
  started: 'runs started',
  joined: 'joined a running run',
  duplicate: 'repeated alerts',
  ignored: 'ignored',
} as const satisfies Record<RetrainOutcome, string>;

/**
 * The registry keeps times as ISO-8601 strings (UTC, milliseconds), which compare correctly as text against
 * Grafana's `${__from:date:iso}`; Grafana's `$__timeFilter` macro would need a DATETIME column.
 */
const createdInTimeRange = "created_at >= '${__from:date:iso}' AND created_at < '${__to:date:iso}'";

function timeseries(title: string, unit: string) {
  return new TimeseriesPanelBuilder().title(title).datasource(INFLUXDB).unit(unit).height(8);
}

function frameRate() {
  return timeseries('Frames per second by deployment (POST /predict)', 'reqps')
    .withTarget(
      new InfluxQLQueryBuilder(
        'SELECT count("latency_ms") / 60 FROM "inference" WHERE $timeFilter GROUP BY time(1m), "deployment" fill(0)',
      ).alias('$tag_deployment'),
    )
    .span(12);
}

function latency() {
  return timeseries('Prediction latency', 'ms')
    .withTarget(
      new InfluxQLQueryBuilder(
        'SELECT percentile("latency_ms", 50) AS "p50", percentile("latency_ms", 95) AS "p95", max("latency_ms") AS "max" FROM "inference" WHERE $timeFilter GROUP BY time($__interval) fill(none)',
      ).alias('$col'),
    )
    .span(12);
}

function analysisGauge(field: 'queue_depth' | 'spooled', title: string) {
  return timeseries(title, 'none')
    .withTarget(
      new InfluxQLQueryBuilder(
        `SELECT max("${field}") FROM "api_analysis" WHERE $timeFilter GROUP BY time($__interval), "instance" fill(none)`,
      ).alias('$tag_instance'),
    )
    .span(8);
}

function analysisThroughput() {
  return timeseries('Records written and failed per minute', 'none')
    .withTarget(
      new InfluxQLQueryBuilder(
        'SELECT non_negative_derivative(max("written"), 1m) AS "written", non_negative_derivative(max("failed"), 1m) AS "failed" FROM "api_analysis" WHERE $timeFilter GROUP BY time(1m), "instance" fill(none)',
      ).alias('$tag_instance $col'),
    )
    .span(8);
}

function analysisBytes() {
  return timeseries('Frame bytes held: analysis queue in memory and spool on disk', 'bytes')
    .withTarget(
      new InfluxQLQueryBuilder(
        'SELECT max("queue_bytes") AS "queue (memory)", max("spool_bytes") AS "spool (disk)" FROM "api_analysis" WHERE $timeFilter GROUP BY time($__interval), "instance" fill(none)',
      ).alias('$tag_instance $col'),
    )
    .span(12);
}

function refusals() {
  return timeseries('Frames refused with 503 per minute (in-flight budget or spool full)', 'none')
    .withTarget(
      new InfluxQLQueryBuilder(
        'SELECT non_negative_derivative(max("refused"), 1m) AS "refused" FROM "api_analysis" WHERE $timeFilter GROUP BY time(1m), "instance" fill(none)',
      ).alias('$tag_instance'),
    )
    .span(12);
}

function retrainOutcomes() {
  const counts = Object.entries(OUTCOME_TITLES).map(
    ([outcome, title]) => `COUNT(CASE WHEN outcome = '${outcome}' THEN 1 END) AS \`${title}\``,
  );
  return new StatPanelBuilder()
    .title('Retrain requests in the time range')
    .description('Alerts and manual requests; a repeated alert (same fingerprint and start) never starts a second run.')
    .datasource(REGISTRY)
    .withTarget(new RegistrySqlQueryBuilder(`SELECT ${counts.join(', ')} FROM retrain_requests WHERE ${createdInTimeRange}`))
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .textMode(BigValueTextMode.ValueAndName)
    .colorMode(BigValueColorMode.None)
    .graphMode(BigValueGraphMode.None)
    .noValue('0')
    .height(8)
    .span(8);
}

function retrainRequests() {
  const query = [
    'SELECT created_at AS requested, model_name AS model, `trigger`, outcome, workflow_id AS workflow, run_id AS run',
    `FROM retrain_requests WHERE ${createdInTimeRange} ORDER BY id DESC LIMIT 200`,
  ].join(' ');
  return new TablePanelBuilder()
    .title('Retrain requests and the workflow runs they started or joined')
    .datasource(REGISTRY)
    .withTarget(new RegistrySqlQueryBuilder(query))
    .height(8)
    .span(16);
}

function modelVersions() {
  const metric = DEFAULT_TRAINING.selectionMetric;
  const query = [
    `SELECT model_name AS model, version, architecture, JSON_EXTRACT(metrics, '$.${metric}') AS ${metric},`,
    'record_count AS records, workflow_id AS workflow, run_id AS run, created_at AS registered',
    'FROM model_versions ORDER BY created_at DESC LIMIT 100',
  ].join(' ');
  return new TablePanelBuilder()
    .title('Registered model versions')
    .description(`Every version with the workflow run that trained it and its ${metric} on that run's test split.`)
    .datasource(REGISTRY)
    .withTarget(new RegistrySqlQueryBuilder(query))
    .height(8)
    .span(24);
}

/** Health of the loop: request rate and latency, the analysis queue and spool, training runs and versions. */
export function systemDashboard(): Dashboard {
  const builder = new DashboardBuilder('System')
    .uid(SYSTEM_DASHBOARD_UID)
    .description('API, analysis pipeline and training. Generated by grafana/src/system.ts; edit that, not this dashboard.')
    .tags(['mlops', 'generated'])
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .withRow(new RowBuilder('Inference API'))
    .withPanel(frameRate())
    .withPanel(latency())
    .withRow(new RowBuilder('Frame analysis (queue, disk spool, store writes)'))
    .withPanel(analysisGauge('queue_depth', 'Frames waiting for analysis'))
    .withPanel(analysisGauge('spooled', 'Records in the disk spool'))
    .withPanel(analysisThroughput())
    .withPanel(analysisBytes())
    .withPanel(refusals())
    .withRow(new RowBuilder('Training: retrain requests, workflow runs, model versions'))
    .withPanel(retrainOutcomes())
    .withPanel(retrainRequests())
    .withPanel(modelVersions());
  return assignIds(builder.build());
}
