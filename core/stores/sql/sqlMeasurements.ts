import type { Knex } from 'knex';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../features/fields.js';
import type {
  DatasetRow,
  DeploymentStats,
  HistogramBin,
  InferenceRecord,
  MeasurementStore,
  NumericField,
  TimeRange,
  WindowMean,
} from '../measurements.js';
import { NUMERIC_FIELDS } from '../measurements.js';
import { knexFromUrl } from './knexFromUrl.js';
import { migrationSourceOf, type Migration } from './migrations.js';

const TABLE = 'inference';
const ALLOWED_FIELDS = new Set<string>([...NUMERIC_FIELDS, ...IMAGE_CHARACTERISTIC_FIELDS]);

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
];

function assertField(field: string): void {
  if (!ALLOWED_FIELDS.has(field)) throw new Error(`unknown measurement field "${field}"`);
}

const num = (v: unknown): number | null => (v == null ? null : Number(v));

/** Measurements in one SQL table: the embedded stand-in for InfluxDB. */
export class SqlMeasurements implements MeasurementStore {
  private constructor(private readonly db: Knex) {}

  static async open(url: string): Promise<SqlMeasurements> {
    const db = knexFromUrl(url);
    await db.migrate.latest({
      tableName: 'measurement_migrations',
      migrationSource: migrationSourceOf(migrations),
    });
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
    const rows = records.map((r) => ({
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
      ...r.characteristics,
    }));
    await this.db.batchInsert(TABLE, rows, 200);
  }

  async datasetRows(deployments: string[], range?: TimeRange): Promise<DatasetRow[]> {
    if (deployments.length === 0) return [];
    const q = this.db(TABLE).select('time', 'deployment', 'image_key', 'sensor_value').whereIn('deployment', deployments).whereNotNull('sensor_value');
    if (range?.since !== undefined) q.where('time', '>=', range.since);
    if (range?.until !== undefined) q.where('time', '<', range.until);
    const rows = await q.orderBy([{ column: 'time' }, { column: 'id' }]);
    return rows.map((r) => ({ time: Number(r.time), deployment: r.deployment, imageKey: r.image_key, sensorValue: Number(r.sensor_value) }));
  }

  async deploymentStats(deployment: string, range?: TimeRange): Promise<DeploymentStats> {
    const agg = await this.inRange(this.db(TABLE), deployment, range)
      .select(
        this.db.raw('count(*) as count'),
        this.db.raw('count(sensor_value) as labelled'),
        this.db.raw('min(sensor_value) as sensor_min'),
        this.db.raw('max(sensor_value) as sensor_max'),
        this.db.raw('min(prediction) as prediction_min'),
        this.db.raw('max(prediction) as prediction_max'),
        this.db.raw('avg(error) as mean_error'),
        this.db.raw('max(error) as max_error'),
      )
      .first();
    const last = await this.inRange(this.db(TABLE), deployment, range).whereNotNull('model_name').orderBy('time', 'desc').select('model_name', 'model_version').first();
    return {
      deployment,
      count: Number(agg?.count ?? 0),
      labelledCount: Number(agg?.labelled ?? 0),
      sensorMin: num(agg?.sensor_min),
      sensorMax: num(agg?.sensor_max),
      predictionMin: num(agg?.prediction_min),
      predictionMax: num(agg?.prediction_max),
      meanError: num(agg?.mean_error),
      maxError: num(agg?.max_error),
      modelName: last?.model_name ?? null,
      modelVersion: num(last?.model_version),
    };
  }

  async histogram(deployment: string, field: NumericField, bins: { min: number; max: number; count: number }, range?: TimeRange): Promise<HistogramBin[]> {
    assertField(field);
    const width = (bins.max - bins.min) / bins.count;
    const values = await this.inRange(this.db(TABLE), deployment, range).whereNotNull(field).pluck(field);
    const counts = new Array<number>(bins.count).fill(0);
    for (const raw of values) {
      const v = Number(raw);
      if (v < bins.min || v > bins.max) continue;
      counts[Math.min(bins.count - 1, Math.floor((v - bins.min) / width))]++;
    }
    return counts.map((count, i) => ({ lower: bins.min + i * width, upper: bins.min + (i + 1) * width, count }));
  }

  async windowedMeans(deployment: string, field: NumericField, windowMs: number, range?: TimeRange): Promise<WindowMean[]> {
    assertField(field);
    const rows = await this.inRange(this.db(TABLE), deployment, range)
      .select(this.db.raw('(time - (time % ?)) as bucket', [windowMs]), this.db.raw(`avg(??) as mean`, [field]), this.db.raw('count(??) as n', [field]))
      .groupBy('bucket')
      .orderBy('bucket');
    return rows.map((r: any) => ({ time: Number(r.bucket), mean: num(r.mean), count: Number(r.n) }));
  }

  async close() {
    await this.db.destroy();
  }
}
