import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  ReduceDataOptionsBuilder,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { PanelBuilder as HistogramPanelBuilder } from '@grafana/grafana-foundation-sdk/histogram';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField } from '../../core/features/fields.js';
import type { NumericField } from '../../core/stores/measurements.js';
import { INFLUXDB } from './datasources.js';
import { assignIds } from './panelIds.js';
import { InfluxQLQueryBuilder } from './queries.js';

export const COMPARE_DEPLOYMENTS_UID = 'mlops-compare-deployments';

type CharacteristicKind = 'colour' | 'texture';

/** Every image characteristic must be placed here, so a new one in core/features/fields.ts fails type checking until it is. */
const CHARACTERISTIC_KIND = {
  brightness_mean: 'colour',
  brightness_std: 'colour',
  r_mean: 'colour',
  r_std: 'colour',
  g_mean: 'colour',
  g_std: 'colour',
  b_mean: 'colour',
  b_std: 'colour',
  lab_l: 'colour',
  lab_a: 'colour',
  lab_b: 'colour',
  hsv_h: 'colour',
  hsv_s: 'colour',
  hsv_v: 'colour',
  edge_count: 'texture',
  glcm_contrast: 'texture',
  glcm_dissimilarity: 'texture',
  glcm_homogeneity: 'texture',
  glcm_asm: 'texture',
  glcm_energy: 'texture',
  glcm_correlation: 'texture',
  keypoint_count: 'texture',
} as const satisfies Record<ImageCharacteristicField, CharacteristicKind>;

const characteristicsOf = (kind: CharacteristicKind) => IMAGE_CHARACTERISTIC_FIELDS.filter((f) => CHARACTERISTIC_KIND[f] === kind);

const DISTANCE_FIELDS: { field: NumericField; title: string }[] = [
  { field: 'sensor_value', title: 'Sensor value (laser reference)' },
  { field: 'prediction', title: 'Prediction' },
  { field: 'error', title: 'Error |prediction - sensor|' },
];

/** The two sides of the comparison: a dashboard variable each, left and right. */
const SIDES = [
  { variable: 'deployment_a', label: 'Deployment A' },
  { variable: 'deployment_b', label: 'Deployment B' },
] as const;

const ofDeployment = (variable: string) => `"deployment" = '$${variable}' AND $timeFilter`;

function deploymentVariable(name: string, label: string) {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(INFLUXDB)
    .query('SHOW TAG VALUES FROM "inference" WITH KEY = "deployment"')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
}

/**
 * A histogram reads a uniform random sample of the time range's values (InfluxQL's `sample()`), never every raw
 * point: a fleet sends millions a day. Thousands of values draw the distribution's shape; the stats panels count
 * and average every point on the server.
 */
export const HISTOGRAM_SAMPLE_SIZE = 5000;

function histogram(field: NumericField, title: string, variable: string, inMillimetres = false): Builder<Panel> {
  const panel = new HistogramPanelBuilder()
    .title(`${title} · $${variable}`)
    .description(`A random sample of up to ${HISTOGRAM_SAMPLE_SIZE} values in the time range.`)
    .datasource(INFLUXDB)
    .withTarget(
      new InfluxQLQueryBuilder(
        `SELECT sample("${field}", ${HISTOGRAM_SAMPLE_SIZE}) AS "${field}" FROM "inference" WHERE ${ofDeployment(variable)}`,
      ).alias(field),
    )
    .height(7)
    .span(12)
    .fillOpacity(60);
  return inMillimetres ? panel.unit('lengthmm').bucketSize(10).bucketOffset(0) : panel;
}

function summaryStats(variable: string): Builder<Panel> {
  const query = [
    'SELECT count("latency_ms") AS "frames", count("sensor_value") AS "labelled",',
    'min("sensor_value") AS "sensor min", max("sensor_value") AS "sensor max",',
    'min("prediction") AS "prediction min", max("prediction") AS "prediction max",',
    'mean("error") AS "mean error", max("error") AS "max error"',
    `FROM "inference" WHERE ${ofDeployment(variable)}`,
  ].join(' ');
  return new StatPanelBuilder()
    .title(`Frames, ranges and error · $${variable}`)
    .datasource(INFLUXDB)
    .withTarget(new InfluxQLQueryBuilder(query).asTable())
    .unit('lengthmm')
    .decimals(1)
    .overrideByRegexp('/^(frames|labelled)$/', [
      { id: 'unit', value: 'none' },
      { id: 'decimals', value: 0 },
    ])
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .textMode(BigValueTextMode.ValueAndName)
    .colorMode(BigValueColorMode.None)
    .graphMode(BigValueGraphMode.None)
    .orientation(VizOrientation.Horizontal)
    .height(6)
    .span(12);
}

function modelsThatAnswered(variable: string): Builder<Panel> {
  const query = `SELECT count("latency_ms") AS "frames", mean("error") AS "mean error", max("error") AS "max error" FROM "inference" WHERE ${ofDeployment(variable)} GROUP BY "model", "model_version"`;
  return new TablePanelBuilder()
    .title(`Models that answered · $${variable}`)
    .description('Frames per model version in the time range; frames answered 503 before the first version have no model.')
    .datasource(INFLUXDB)
    .withTarget(new InfluxQLQueryBuilder(query).asTable())
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
    .height(5)
    .span(12);
}

/**
 * During a rollout each frame is predicted by both versions: the one that answered the rover (`error`) and the
 * other in shadow (`shadow_error`). `shadow_model_version` is a field, which InfluxQL cannot group by, so the
 * shadow error is grouped by the version that answered: on the frames one version answered, it is the other's.
 */
function rolloutErrors(variable: string): Builder<Panel> {
  const byAnsweringVersion = (field: string) =>
    `SELECT mean("${field}") FROM "inference" WHERE ${ofDeployment(variable)} GROUP BY time($__interval), "model_version" fill(none)`;
  return new TimeseriesPanelBuilder()
    .title(`Rollout: answering vs shadow version's error · $${variable}`)
    .description(
      'Mean laser error of the version that answered the rover, and of the other version in shadow on the same frames. During a shadow rollout one version answers every frame, so the two lines compare the current version with the candidate.',
    )
    .datasource(INFLUXDB)
    .withTarget(new InfluxQLQueryBuilder(byAnsweringVersion('error')).alias('answered by v$tag_model_version'))
    .withTarget(new InfluxQLQueryBuilder(byAnsweringVersion('shadow_error')).alias('shadow on the frames v$tag_model_version answered'))
    .unit('lengthmm')
    .decimals(1)
    .height(8)
    .span(12);
}

function characteristicMeans(kind: CharacteristicKind, variable: string): Builder<Panel> {
  const means = characteristicsOf(kind).map((f) => `mean("${f}") AS "${f}"`);
  return new StatPanelBuilder()
    .title(`Mean ${kind}s · $${variable}`)
    .datasource(INFLUXDB)
    .withTarget(new InfluxQLQueryBuilder(`SELECT ${means.join(', ')} FROM "inference" WHERE ${ofDeployment(variable)}`).asTable())
    .decimals(2)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .textMode(BigValueTextMode.ValueAndName)
    .colorMode(BigValueColorMode.None)
    .graphMode(BigValueGraphMode.None)
    .height(6)
    .span(12);
}

function characteristicsRow(kind: CharacteristicKind): RowBuilder {
  const row = new RowBuilder(kind === 'colour' ? 'Colours: means and histograms' : 'Textures: means and histograms').collapsed(true);
  for (const side of SIDES) row.withPanel(characteristicMeans(kind, side.variable));
  for (const field of characteristicsOf(kind)) {
    for (const side of SIDES) row.withPanel(histogram(field, field, side.variable));
  }
  return row;
}

/** The thesis's comparison of two deployments side by side (docs/EXPERIMENT.md): deployment A on the left, B on the right. */
export function compareDeploymentsDashboard(): Dashboard {
  const builder = new DashboardBuilder('Compare deployments')
    .uid(COMPARE_DEPLOYMENTS_UID)
    .description('Two deployments side by side. Generated by grafana/src/compareDeployments.ts; edit that, not this dashboard.')
    .tags(['mlops', 'generated'])
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m');
  for (const side of SIDES) builder.withVariable(deploymentVariable(side.variable, side.label));

  builder.withRow(new RowBuilder('Frames, model and error'));
  for (const side of SIDES) builder.withPanel(summaryStats(side.variable));
  for (const side of SIDES) builder.withPanel(modelsThatAnswered(side.variable));

  builder.withRow(new RowBuilder('Sensor, prediction and error (mm)'));
  for (const { field, title } of DISTANCE_FIELDS) {
    for (const side of SIDES) builder.withPanel(histogram(field, title, side.variable, true));
  }

  builder.withRow(new RowBuilder('Rollout: the two versions on the same frames (mm)'));
  for (const side of SIDES) builder.withPanel(rolloutErrors(side.variable));

  builder.withRow(characteristicsRow('colour'));
  builder.withRow(characteristicsRow('texture'));
  return assignIds(builder.build());
}
