import { AxisPlacement, LineInterpolation, VisibilityMode } from '@grafana/grafana-foundation-sdk/common';
import { FieldColorBuilder, FieldColorModeId, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  DRIFT_CHECK_MEASUREMENT,
  DRIFT_VERDICT_FIELDS,
  FEATURE_STATISTICS,
  featureStatisticField,
  type DRIFT_CHECK_TAGS,
  type DRIFT_STATISTIC_FIELDS,
  type FeatureStatistic,
} from '../../core/drift/driftSeries.js';
import { DRIFT_MONITOR_ALERT } from '../../core/drift/monitorAlert.js';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../core/features/fields.js';
import { INFLUXDB } from './datasources.js';
import { InfluxQLQueryBuilder } from './queries.js';

/*
 * The drift monitor's checks (the `drift_check` series, core/drift/driftSeries.ts): one point per check of one
 * deployment against its serving version's reference profile. Field names come from driftSeries.ts only.
 */

export const DRIFT_VERDICTS_TITLE = 'Drift monitor: verdicts per check';

type StatisticField = (typeof DRIFT_STATISTIC_FIELDS)[number];
type VerdictField = (typeof DRIFT_VERDICT_FIELDS)[keyof typeof DRIFT_VERDICT_FIELDS];
type CheckTag = (typeof DRIFT_CHECK_TAGS)[number];

/** One aggregate column: `mean("field") AS "name"`. */
const column = (aggregate: 'mean' | 'max', field: string, name: string) => `${aggregate}("${field}") AS "${name}"`;

/** Columns of the chosen deployments' checks, per time bucket and tag. */
function checksQuery(columns: string[], groupBy: CheckTag[], deploymentVariable: string) {
  const tags = groupBy.map((tag) => `"${tag}"`).join(', ');
  return new InfluxQLQueryBuilder(
    `SELECT ${columns.join(', ')} FROM "${DRIFT_CHECK_MEASUREMENT}" WHERE "deployment" =~ /^$${deploymentVariable}$/ AND $timeFilter GROUP BY time($__interval), ${tags} fill(none)`,
  ).alias(`${groupBy.map((tag) => (tag === 'model_version' ? `v$tag_${tag}` : `$tag_${tag}`)).join(' ')} $col`);
}

function checksPanel(title: string) {
  return new TimeseriesPanelBuilder()
    .title(title)
    .datasource(INFLUXDB)
    .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.PaletteClassic))
    .showPoints(VisibilityMode.Always)
    .pointSize(4)
    .height(8)
    .span(12);
}

const VERDICT_NAMES = {
  drift: 'drift',
  covariate: 'covariate',
  label: 'label',
  performance: 'performance',
  insufficient: 'insufficient data',
  sensorFault: 'sensor fault',
} as const satisfies Record<keyof typeof DRIFT_VERDICT_FIELDS, string>;

function verdictsPanel(deploymentVariable: string) {
  const columns = (Object.entries(DRIFT_VERDICT_FIELDS) as [keyof typeof DRIFT_VERDICT_FIELDS, VerdictField][]).map(([verdict, field]) =>
    column('max', field, VERDICT_NAMES[verdict]),
  );
  return checksPanel(DRIFT_VERDICTS_TITLE)
    .description(
      '1 when a check in the bucket found it: drift is a check that asks for a retrain (performance or label drift, or covariate ' +
        'drift the laser cannot judge); covariate drift alone while the labelled error holds is harmless-drift, which shows as ' +
        'covariate drift with drift at 0; insufficient data is too few frames ' +
        `in the check's window to decide. The alert ${DRIFT_MONITOR_ALERT.alertName} fires per deployment, model and serving version ` +
        `when the last check of the last ${DRIFT_MONITOR_ALERT.windowMinutes} minutes found drift.`,
    )
    .withTarget(checksQuery(columns, ['deployment', 'model_version'], deploymentVariable))
    .lineInterpolation(LineInterpolation.StepAfter)
    .min(0)
    .max(1)
    .decimals(0)
    .span(24);
}

function statisticsPanel(title: string, fields: { field: StatisticField; name: string }[], deploymentVariable: string) {
  return checksPanel(title).withTarget(
    checksQuery(
      fields.map(({ field, name }) => column('mean', field, name)),
      ['deployment'],
      deploymentVariable,
    ),
  );
}

/** Overrides that move a second quantity, of another unit, to the right axis. */
const onRightAxis = (unit: string) => [
  { id: 'custom.axisPlacement', value: AxisPlacement.Right },
  { id: 'unit', value: unit },
];

const STATISTIC_TITLES = {
  ks: 'Kolmogorov-Smirnov distance per image characteristic',
  p: 'p-value per image characteristic (Benjamini-Hochberg adjusted)',
  wd: 'Wasserstein distance per image characteristic (in reference standard deviations)',
  psi: 'Population stability index per image characteristic',
} as const satisfies Record<FeatureStatistic, string>;

function featureStatisticPanel(statistic: FeatureStatistic, deploymentVariable: string) {
  const columns = IMAGE_CHARACTERISTIC_FIELDS.map((feature) => column('mean', featureStatisticField(statistic, feature), feature));
  return checksPanel(STATISTIC_TITLES[statistic])
    .description(
      "Each check compares the window of the deployment with the serving version's reference profile, one series per characteristic.",
    )
    .withTarget(checksQuery(columns, ['deployment'], deploymentVariable));
}

/** The monitor's verdicts and the statistics behind them, in one open row. */
export function driftMonitorRow(deploymentVariable: string) {
  return {
    row: new RowBuilder(`Drift monitor: checks against the serving version's reference (${DRIFT_CHECK_MEASUREMENT})`),
    panels: [
      verdictsPanel(deploymentVariable),
      statisticsPanel(
        'Frames in the check window',
        [
          { field: 'window_frames', name: 'frames' },
          { field: 'suspect_rovers', name: 'suspect rovers left out' },
        ],
        deploymentVariable,
      )
        .decimals(0)
        .overrideByRegexp('/suspect rovers left out$/', onRightAxis('none'))
        .span(8),
      statisticsPanel(
        'Covariate drift: share and number of drifted characteristics',
        [
          { field: 'drifted_share', name: 'drifted share' },
          { field: 'drifted_features', name: 'drifted features' },
        ],
        deploymentVariable,
      )
        .unit('percentunit')
        .overrideByRegexp('/drifted features$/', onRightAxis('none'))
        .span(8),
      statisticsPanel(
        'p-values of the label and performance tests',
        [
          { field: 'label_p', name: 'label KS p' },
          { field: 'performance_p', name: 'performance Mann-Whitney p' },
        ],
        deploymentVariable,
      )
        .description(
          'Label: two-sample KS of the laser readings against the reference labels. Performance: live errors larger than the test errors.',
        )
        .min(0)
        .max(1)
        .span(8),
      statisticsPanel(
        'Performance: live and reference mean error, and their ratio',
        [
          { field: 'live_mean_error', name: 'live mean error' },
          { field: 'reference_mean_error', name: 'reference mean error' },
          { field: 'error_ratio', name: 'error ratio' },
        ],
        deploymentVariable,
      )
        .unit('lengthmm')
        .overrideByRegexp('/error ratio$/', onRightAxis('none')),
      statisticsPanel(
        'Label shift: readings out of the reference range, and KS distance',
        [
          { field: 'label_out_of_range_share', name: 'out of range share' },
          { field: 'label_ks', name: 'KS distance' },
        ],
        deploymentVariable,
      )
        .min(0)
        .max(1),
    ],
  };
}

/** One panel per statistic, one series per image characteristic: in a collapsed row (22 series each). */
export function featureStatisticsRow(deploymentVariable: string) {
  const row = new RowBuilder('Drift monitor: statistics per image characteristic').collapsed(true);
  for (const statistic of FEATURE_STATISTICS) row.withPanel(featureStatisticPanel(statistic, deploymentVariable));
  return row;
}
