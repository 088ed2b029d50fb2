import type { Knex } from 'knex';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../features/fields.js';
import type { DriftWindow } from '../../drift/driftCheck.js';
import type { DriftCheckRecord } from '../../drift/driftReport.js';
import type {
  AnalysisStats,
  BucketWindow,
  DeploymentActivity,
  SeriesPoint,
  StoredFrame,
  DriftWindowQuery,
  DriftSummaryQuery,
  DriftSummaryRow,
  DatasetRow,
  DeploymentStats,
  HistogramBin,
  HistogramBins,
  InferenceRecord,
  MeasurementStore,
  NumericField,
  RolloutEvidence,
  RolloutEvidenceQuery,
  SensorWindowQuery,
  TimeRange,
  WindowMean,
} from '../measurements.js';
import {
  assertBucketWindow,
  assertDriftSummaryRow,
  seriesPointOf,
  assertNumericField,
  assertRolloutEvidenceQuery,
  binValues,
  characteristicsOf,
  deploymentStatsOf,
  DRIFT_WINDOW_COLUMNS,
  driftWindowOfColumns,
  numberOrNull,
  rolloutPairsOf,
  type DriftWindowColumn,
  assertSensorWindowQuery,
  SENSOR_WINDOW_COLUMNS,
  sensorWindowOf,
  type InvalidReading,
} from '../measurements.js';
import type { SensorWindow } from '../../sensors/sensorHealth.js';
import { knexFromUrl } from './knexFromUrl.js';
import { migrateToLatest, type MigrateOptions, type Migration } from './migrations.js';

const TABLE = 'inference';
const STATS_TABLE = 'api_analysis';
const DRIFT_TABLE = 'drift_check';
const SUMMARY_TABLE = 'drift_summary';

const migrations: Migration[] = [
  {
    name: '0001_inference',
    async up(knex: Knex) {
      await knex.schema.createTable(TABLE, (t) => {
        t.increments('id');
        t.bigInteger('time').notNullable();
        t.string('deployment', 64).notNullable();
        t.string('client', 64).notNullable();
        t.string('model_name', 128).nullable();
        t.integer('model_version').nullable();
        t.double('prediction').nullable();
        t.double('sensor_value').nullable();
        t.double('error').nullable();
        t.double('latency_ms').notNullable();
        t.string('image_key', 512).notNullable();
        for (const field of IMAGE_CHARACTERISTIC_FIELDS) t.double(field).nullable();
        t.index(['deployment', 'time']);
      });
    },
    async down(knex: Knex) {
      await knex.schema.dropTableIfExists(TABLE);
    },
  },
  {
    name: '0002_api_analysis',
    async up(knex: Knex) {
      await knex.schema.createTable(STATS_TABLE, (t) => {
        t.bigInteger('time').notNullable();
        t.string('instance', 128).notNullable();
        t.integer('queue_depth').notNullable();
        t.integer('spooled').notNullable();
        t.bigInteger('written').notNullable();
        t.bigInteger('failed').notNullable();
        t.primary(['instance', 'time']);
      });
    },
    async down(knex: Knex) {
      await knex.schema.dropTableIfExists(STATS_TABLE);
    },
  },
  {
    // Every frame has its own image key, so a record replayed from the spool is recognised and stored once.
    name: '0003_unique_image_key',
    async up(knex: Knex) {
      await knex.schema.alterTable(TABLE, (t) => t.unique(['image_key']));
    },
    async down(knex: Knex) {
      await knex.schema.alterTable(TABLE, (t) => t.dropUnique(['image_key']));
    },
  },
  {
    name: '0004_api_analysis_bytes',
    async up(knex: Knex) {
      await knex.schema.alterTable(STATS_TABLE, (t) => {
        t.bigInteger('queue_bytes').notNullable().defaultTo(0);
        t.bigInteger('spool_bytes').notNullable().defaultTo(0);
        t.bigInteger('refused').notNullable().defaultTo(0);
      });
    },
    async down(knex: Knex) {
      await knex.schema.alterTable(STATS_TABLE, (t) => t.dropColumns('queue_bytes', 'spool_bytes', 'refused'));
    },
  },
  {
    // The drift monitor's checks: the verdict as columns to filter on, the report with its evidence as JSON.
    name: '0005_drift_check',
    async up(knex: Knex) {
      await knex.schema.createTable(DRIFT_TABLE, (t) => {
        t.increments('id');
        t.bigInteger('time').notNullable();
        t.string('deployment', 64).notNullable();
        t.string('model_name', 128).notNullable();
        t.integer('model_version').nullable();
        t.string('verdict', 32).notNullable();
        t.text('report', 'mediumtext').notNullable();
        t.index(['deployment', 'time']);
      });
      // A drift window reads one version's newest frames of one deployment.
      await knex.schema.alterTable(TABLE, (t) => t.index(['deployment', 'model_name', 'model_version', 'time']));
    },
    async down(knex: Knex) {
      await knex.schema.dropTableIfExists(DRIFT_TABLE);
      await knex.schema.alterTable(TABLE, (t) => t.dropIndex(['deployment', 'model_name', 'model_version', 'time']));
    },
  },
  {
    // During a rollout the version that did not answer the rover predicts the frame too: its answer sits beside the served one.
    name: '0006_shadow_prediction',
    async up(knex: Knex) {
      await knex.schema.alterTable(TABLE, (t) => {
        t.integer('shadow_model_version').nullable();
        t.double('shadow_prediction').nullable();
        t.double('shadow_error').nullable();
      });
    },
    async down(knex: Knex) {
      await knex.schema.alterTable(TABLE, (t) => t.dropColumns('shadow_model_version', 'shadow_prediction', 'shadow_error'));
    },
  },
  {
    // A laser reading the sensor cannot have given as a distance is kept as sent, marked; the sensor check reads by rover.
    name: '0007_sensor_status',
    async up(knex: Knex) {
      await knex.schema.alterTable(TABLE, (t) => {
        t.string('sensor_status', 16).nullable();
        t.index(['deployment', 'client', 'time']);
      });
    },
    async down(knex: Knex) {
      await knex.schema.alterTable(TABLE, (t) => {
        t.dropIndex(['deployment', 'client', 'time']);
        t.dropColumn('sensor_status');
      });
    },
  },
  {
    // Per-minute counts of each version's frames over its reference grid, one row per writer: what a drift check merges.
    name: '0008_drift_summary',
    async up(knex: Knex) {
      await knex.schema.createTable(SUMMARY_TABLE, (t) => {
        t.string('deployment', 64).notNullable();
        t.string('model_name', 128).notNullable();
        t.integer('model_version').notNullable();
        t.bigInteger('minute').notNullable();
        t.string('writer', 64).notNullable();
        t.integer('frames').notNullable();
        t.bigInteger('first_time').notNullable();
        t.bigInteger('last_time').notNullable();
        t.text('summary', 'mediumtext').notNullable();
        t.primary(['deployment', 'model_name', 'model_version', 'minute', 'writer']);
      });
    },
    async down(knex: Knex) {
      await knex.schema.dropTableIfExists(SUMMARY_TABLE);
    },
  },
];

/** The `inference` row of a record: one column per tag, field and image characteristic. */
export function inferenceRowOf(r: InferenceRecord) {
  return {
    time: r.time,
    deployment: r.deployment,
    client: r.client,
    model_name: r.modelName,
    model_version: r.modelVersion,
    prediction: r.prediction,
    sensor_value: r.sensorValue,
    error: r.error,
    latency_ms: r.latencyMs,
    image_key: r.imageKey,
    shadow_model_version: r.shadow?.modelVersion ?? null,
    shadow_prediction: r.shadow?.prediction ?? null,
    shadow_error: r.shadow?.error ?? null,
    sensor_status: r.sensorStatus ?? null,
    ...r.characteristics,
  };
}

/** Measurements in one SQL table: the embedded stand-in for InfluxDB. */
export class SqlMeasurements implements MeasurementStore {
  private constructor(private readonly db: Knex) {}

  static async open(url: string, options: MigrateOptions = {}): Promise<SqlMeasurements> {
    const db = knexFromUrl(url);
    await migrateToLatest(db, 'measurement_migrations', migrations, options);
    return new SqlMeasurements(db);
  }

  private inRange(q: Knex.QueryBuilder, deployment: string, range?: TimeRange) {
    q.where({ deployment });
    if (range?.since !== undefined) q.where('time', '>=', range.since);
    if (range?.until !== undefined) q.where('time', '<', range.until);
    return q;
  }

  async write(records: InferenceRecord[]): Promise<void> {
    if (records.length === 0) return;
    const rows = records.map(inferenceRowOf);
    for (let i = 0; i < rows.length; i += 200) {
      await this.db(TABLE)
        .insert(rows.slice(i, i + 200))
        .onConflict('image_key')
        .ignore();
    }
  }

  async writeAnalysisStats(stats: AnalysisStats): Promise<void> {
    await this.db(STATS_TABLE)
      .insert({
        time: stats.time,
        instance: stats.instance,
        queue_depth: stats.queueDepth,
        queue_bytes: stats.queueBytes,
        spooled: stats.spooled,
        spool_bytes: stats.spoolBytes,
        written: stats.written,
        failed: stats.failed,
        refused: stats.refused,
      })
      .onConflict(['instance', 'time'])
      .merge();
  }

  async datasetRows(deployments: string[], range?: TimeRange): Promise<DatasetRow[]> {
    if (deployments.length === 0) return [];
    const q = this.db(TABLE)
      .select('time', 'deployment', 'client', 'image_key', 'sensor_value', ...IMAGE_CHARACTERISTIC_FIELDS)
      .whereIn('deployment', deployments)
      .whereNotNull('sensor_value')
      .whereNull('sensor_status');
    if (range?.since !== undefined) q.where('time', '>=', range.since);
    if (range?.until !== undefined) q.where('time', '<', range.until);
    const rows = await q.orderBy([{ column: 'time' }, { column: 'id' }]);
    return rows.map((r) => ({
      time: Number(r.time),
      deployment: r.deployment,
      client: r.client,
      imageKey: r.image_key,
      sensorValue: Number(r.sensor_value),
      characteristics: characteristicsOf(r),
    }));
  }

  async deploymentStats(deployment: string, range?: TimeRange): Promise<DeploymentStats> {
    const agg = await this.inRange(this.db(TABLE), deployment, range)
      .select(
        this.db.raw('count(*) as n'),
        this.db.raw('count(sensor_value) as labelled'),
        this.db.raw('min(sensor_value) as sensor_min'),
        this.db.raw('max(sensor_value) as sensor_max'),
        this.db.raw('min(prediction) as prediction_min'),
        this.db.raw('max(prediction) as prediction_max'),
        this.db.raw('avg(error) as mean_error'),
        this.db.raw('max(error) as max_error'),
      )
      .first();
    const last = await this.inRange(this.db(TABLE), deployment, range)
      .whereNotNull('model_name')
      .orderBy('time', 'desc')
      .select('model_name', 'model_version')
      .first();
    return deploymentStatsOf(deployment, agg, last && { name: last.model_name, version: last.model_version });
  }

  async histogram(deployment: string, field: NumericField, bins: HistogramBins, range?: TimeRange): Promise<HistogramBin[]> {
    assertNumericField(field);
    const values = await this.inRange(this.db(TABLE), deployment, range).whereNotNull(field).pluck(field);
    return binValues(values.map(Number), bins);
  }

  async windowedMeans(deployment: string, field: NumericField, windowMs: number, range?: TimeRange): Promise<WindowMean[]> {
    assertNumericField(field);
    const rows = await this.inRange(this.db(TABLE), deployment, range)
      .select(
        this.db.raw('(time - (time % ?)) as bucket', [windowMs]),
        this.db.raw(`avg(??) as mean`, [field]),
        this.db.raw('count(??) as n', [field]),
      )
      .groupBy('bucket')
      .orderBy('bucket');
    return rows.map((r: any) => ({ time: Number(r.bucket), mean: numberOrNull(r.mean), count: Number(r.n) }));
  }

  /**
   * The window comes back as one row holding each column as a JSON array: better-sqlite3 builds a JS object
   * per row, which for the default window (38,400 rows of 25 columns) took three times as long as this.
   */
  async driftWindow(query: DriftWindowQuery): Promise<DriftWindow> {
    const newest = this.db(TABLE)
      .select(...DRIFT_WINDOW_COLUMNS)
      .where({ deployment: query.deployment, model_name: query.modelName, model_version: query.modelVersion })
      .where('time', '>=', query.since)
      .where('time', '<=', query.until ?? Number.MAX_SAFE_INTEGER)
      .whereNotIn('client', query.excludeClients ?? [])
      .orderBy('time', 'desc')
      .limit(query.maxFrames);
    if (query.onlyClients) newest.whereIn('client', query.onlyClients);
    const row = await this.db
      .from(newest.as('newest'))
      .select(DRIFT_WINDOW_COLUMNS.map((column) => this.db.raw('json_group_array(??) as ??', [column, column])))
      .first();
    const columns = {} as Record<DriftWindowColumn, unknown[]>;
    for (const column of DRIFT_WINDOW_COLUMNS) columns[column] = JSON.parse(row[column]) as unknown[];
    return driftWindowOfColumns(columns);
  }

  async writeDriftSummaries(rows: DriftSummaryRow[]): Promise<void> {
    rows.forEach(assertDriftSummaryRow);
    for (let i = 0; i < rows.length; i += 50) {
      await this.db(SUMMARY_TABLE)
        .insert(
          rows.slice(i, i + 50).map((r) => ({
            deployment: r.deployment,
            model_name: r.modelName,
            model_version: r.modelVersion,
            minute: r.minute,
            writer: r.writer,
            frames: r.frames,
            first_time: r.firstTime,
            last_time: r.lastTime,
            summary: r.summary,
          })),
        )
        .onConflict(['deployment', 'model_name', 'model_version', 'minute', 'writer'])
        .merge(['frames', 'first_time', 'last_time', 'summary']);
    }
  }

  async driftSummaries(query: DriftSummaryQuery): Promise<DriftSummaryRow[]> {
    const rows = await this.db(SUMMARY_TABLE)
      .where({ deployment: query.deployment, model_name: query.modelName, model_version: query.modelVersion })
      .where('last_time', '>=', query.since)
      .orderBy([
        { column: 'minute', order: 'desc' },
        { column: 'writer', order: 'asc' },
      ]);
    return rows.map((r) => ({
      deployment: r.deployment,
      modelName: r.model_name,
      modelVersion: Number(r.model_version),
      minute: Number(r.minute),
      writer: r.writer,
      frames: Number(r.frames),
      firstTime: Number(r.first_time),
      lastTime: Number(r.last_time),
      summary: r.summary,
    }));
  }

  async writeDriftCheck(check: DriftCheckRecord): Promise<void> {
    await this.db(DRIFT_TABLE).insert({
      time: check.time,
      deployment: check.deployment,
      model_name: check.modelName,
      model_version: check.modelVersion,
      verdict: check.verdict,
      report: JSON.stringify(check),
    });
  }

  async driftChecks(deployment: string, options: { since?: number; limit?: number } = {}): Promise<DriftCheckRecord[]> {
    const q = this.db(DRIFT_TABLE).select('report').where({ deployment });
    if (options.since !== undefined) q.where('time', '>=', options.since);
    const rows = await q
      .orderBy([
        { column: 'time', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(options.limit ?? 100);
    return rows.map((r) => JSON.parse(r.report) as DriftCheckRecord);
  }

  async rolloutEvidence(query: RolloutEvidenceQuery): Promise<RolloutEvidence> {
    assertRolloutEvidenceQuery(query);
    const { currentVersion: current, candidateVersion: candidate } = query;
    const ofRollout = () =>
      this.db(TABLE)
        .where({ deployment: query.deployment, model_name: query.modelName })
        .where('time', '>=', query.since)
        .whereNotIn('client', query.excludeClients ?? []);
    const counts = await ofRollout()
      .whereIn('model_version', [current, candidate])
      .select(
        this.db.raw('count(*) as frames'),
        this.db.raw('count(case when model_version = ? then 1 end) as by_candidate', [candidate]),
        this.db.raw('count(sensor_value) as labelled'),
      )
      .first();
    const rows = await ofRollout()
      .where((q) =>
        q
          .where({ model_version: current, shadow_model_version: candidate })
          .orWhere({ model_version: candidate, shadow_model_version: current }),
      )
      .whereNotNull('sensor_value')
      .whereNotNull('error')
      .whereNotNull('shadow_error')
      .select('model_version', 'error', 'shadow_error', 'sensor_value')
      .orderBy([
        { column: 'time', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(query.maxPairs);
    return {
      frames: Number(counts?.frames ?? 0),
      answeredByCandidate: Number(counts?.by_candidate ?? 0),
      labelled: Number(counts?.labelled ?? 0),
      pairs: rolloutPairsOf(
        rows.map((r) => ({
          answeredBy: Number(r.model_version),
          error: Number(r.error),
          shadowError: Number(r.shadow_error),
          reading: Number(r.sensor_value),
        })),
        current,
      ),
    };
  }

  /** One grouped query: the bucket is (time - since) rounded down to the step, per deployment, over the (deployment, time) index. */
  private async buckets(deployments: string[], window: BucketWindow): Promise<Map<string, SeriesPoint[]>> {
    assertBucketWindow(window);
    const { since, until, stepMs } = window;
    const rows = await this.db(TABLE)
      .select(
        'deployment',
        this.db.raw('(time - ?) - ((time - ?) % ?) as bucket', [since, since, stepMs]),
        this.db.raw('count(*) as frames'),
        this.db.raw('count(error) as errors'),
        this.db.raw('avg(error) as mean_error'),
        this.db.raw('avg(prediction) as mean_prediction'),
        this.db.raw('avg(sensor_value) as mean_sensor'),
      )
      .whereIn('deployment', deployments)
      .where('time', '>=', since)
      .where('time', '<', until)
      .groupBy('deployment', 'bucket')
      .orderBy([{ column: 'deployment' }, { column: 'bucket' }]);
    const byDeployment = new Map<string, SeriesPoint[]>(deployments.map((d) => [d, []]));
    for (const row of rows) byDeployment.get(row.deployment)?.push(seriesPointOf(since + Number(row.bucket), row));
    return byDeployment;
  }

  async series(deployment: string, window: BucketWindow): Promise<SeriesPoint[]> {
    return (await this.buckets([deployment], window)).get(deployment) ?? [];
  }

  async fleetActivity(deployments: string[], window: BucketWindow): Promise<Map<string, DeploymentActivity>> {
    if (deployments.length === 0) return new Map();
    const [buckets, lastFrames, lastChecks] = await Promise.all([
      this.buckets(deployments, window),
      this.db(TABLE).select('deployment', this.db.raw('max(time) as last')).whereIn('deployment', deployments).groupBy('deployment'),
      this.db
        .select('c.deployment', 'c.time', 'c.verdict', 'c.id')
        .from(`${DRIFT_TABLE} as c`)
        .join(
          this.db(DRIFT_TABLE)
            .select('deployment', this.db.raw('max(time) as newest'))
            .whereIn('deployment', deployments)
            .groupBy('deployment')
            .as('n'),
          (j) => j.on('c.deployment', 'n.deployment').andOn('c.time', 'n.newest'),
        )
        .orderBy('c.id'),
    ]);
    const lastFrameAt = new Map(lastFrames.map((r: any) => [r.deployment as string, Number(r.last)]));
    // Two checks in the same millisecond: the one written last.
    const lastDrift = new Map(lastChecks.map((r: any) => [r.deployment as string, { time: Number(r.time), verdict: r.verdict }]));
    return new Map(
      deployments.map((d) => [
        d,
        { points: buckets.get(d) ?? [], lastFrameAt: lastFrameAt.get(d) ?? null, lastDrift: lastDrift.get(d) ?? null },
      ]),
    );
  }

  async recentFrames(deployment: string, page: { limit: number; before?: number }): Promise<StoredFrame[]> {
    const q = this.db(TABLE)
      .select(
        'time',
        'client',
        'model_name',
        'model_version',
        'prediction',
        'sensor_value',
        'error',
        'latency_ms',
        'image_key',
        'sensor_status',
      )
      .where({ deployment });
    if (page.before !== undefined) q.where('time', '<', page.before);
    const rows = await q
      .orderBy([
        { column: 'time', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(page.limit);
    return rows.map((r) => ({
      time: Number(r.time),
      client: r.client,
      modelName: r.model_name,
      modelVersion: numberOrNull(r.model_version),
      prediction: numberOrNull(r.prediction),
      sensorValue: numberOrNull(r.sensor_value),
      error: numberOrNull(r.error),
      latencyMs: Number(r.latency_ms),
      imageKey: r.image_key,
      sensorStatus: (r.sensor_status ?? null) as InvalidReading | null,
    }));
  }

  async sensorWindow(query: SensorWindowQuery): Promise<SensorWindow> {
    assertSensorWindowQuery(query);
    const rows = await this.db(TABLE)
      .select(...SENSOR_WINDOW_COLUMNS)
      .where({ deployment: query.deployment })
      .where('time', '>=', query.since)
      .orderBy([
        { column: 'time', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(query.maxFrames);
    return sensorWindowOf(query.deployment, rows);
  }

  async close() {
    await this.db.destroy();
  }
}
