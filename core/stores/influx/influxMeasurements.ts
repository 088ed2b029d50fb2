import { createHash } from 'node:crypto';
import { InfluxDB, Point } from '@influxdata/influxdb-client';
import type { DriftWindow } from '../../drift/driftCheck.js';
import type { DriftCheckRecord } from '../../drift/driftReport.js';
import { DRIFT_CHECK_MEASUREMENT, driftCheckFields } from '../../drift/driftSeries.js';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../features/fields.js';
import {
  assertBucketWindow,
  seriesPointOf,
  type BucketWindow,
  type DeploymentActivity,
  type SeriesPoint,
  type StoredFrame,
  assertRolloutEvidenceQuery,
  rolloutPairsOf,
  type RolloutEvidence,
  type RolloutEvidenceQuery,
  DRIFT_WINDOW_COLUMNS,
  driftWindowOf,
  type DriftWindowQuery,
  type DriftSummaryQuery,
  type DriftSummaryRow,
  assertDriftSummaryRow,
  assertNumericField,
  binValues,
  characteristicsOf,
  deploymentStatsOf,
  numberOrNull,
  type AnalysisStats,
  type DatasetRow,
  type DeploymentStats,
  type HistogramBin,
  type HistogramBins,
  type InferenceRecord,
  type MeasurementStore,
  type NumericField,
  type TimeRange,
  type WindowMean,
  assertSensorWindowQuery,
  SENSOR_WINDOW_COLUMNS,
  sensorWindowOf,
  type InvalidReading,
  type SensorWindowQuery,
} from '../measurements.js';
import type { SensorWindow } from '../../sensors/sensorHealth.js';
import { parseInfluxUrl } from './influxLocation.js';
import { InfluxqlClient, type InfluxSeries } from './influxqlClient.js';

const INFERENCE = 'inference';
/** Points a dataset query reads at once. */
const DATASET_PAGE_POINTS = 50_000;
const ANALYSIS = 'api_analysis';
const DRIFT_SUMMARY = 'drift_summary';
/** InfluxDB keeps a string field up to 64 KB: a summary's text goes in parts this long (JSON is ASCII). */
const SUMMARY_PART_CHARS = 32_000;

/**
 * A point's identity in InfluxDB is measurement + tags + timestamp, so a record written twice
 * (a spool replay after an outage) overwrites itself instead of counting twice. The nanoseconds
 * below the record's millisecond come from its image key, so two frames in the same millisecond
 * stay two points.
 */
function timestampNs(record: InferenceRecord): string {
  const subMs = createHash('sha1').update(record.imageKey).digest().readUInt32BE(0) % 1_000_000;
  return (BigInt(record.time) * 1_000_000n + BigInt(subMs)).toString();
}

function pointOf(record: InferenceRecord): Point {
  const p = new Point(INFERENCE)
    .tag('deployment', record.deployment)
    .tag('client', record.client)
    .floatField('latency_ms', record.latencyMs)
    .stringField('image_key', record.imageKey)
    .timestamp(timestampNs(record));
  if (record.modelName !== null) p.tag('model', record.modelName);
  if (record.modelVersion !== null) p.tag('model_version', String(record.modelVersion));
  if (record.prediction !== null) p.floatField('prediction', record.prediction);
  if (record.sensorValue !== null) p.floatField('sensor_value', record.sensorValue);
  if (record.error !== null) p.floatField('error', record.error);
  const { characteristics } = record;
  if (characteristics) for (const field of IMAGE_CHARACTERISTIC_FIELDS) p.floatField(field, characteristics[field]);
  // A field, not a tag: it varies frame by frame and is only filtered on by a rollout's evidence query.
  if (record.shadow) p.intField('shadow_model_version', record.shadow.modelVersion);
  if (record.shadow?.prediction != null) p.floatField('shadow_prediction', record.shadow.prediction);
  if (record.shadow?.error != null) p.floatField('shadow_error', record.shadow.error);
  if (record.sensorStatus) p.stringField('sensor_status', record.sensorStatus);
  return p;
}

/** Time bounds inlined as integer literals (never user text); everything else goes through bound parameters. */
function timeClause(range?: TimeRange): string {
  const parts: string[] = [];
  for (const [op, value] of [
    ['>=', range?.since],
    ['<', range?.until],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value)) throw new Error(`time bound must be integer epoch ms, got ${value}`);
    parts.push(`time ${op} ${value}ms`);
  }
  return parts.map((p) => ` AND ${p}`).join('');
}

const rowsOf = (series: InfluxSeries[]) => series.flatMap((s) => s.rows);

/** `"deployment" = $d0 OR ...` with its bound parameters. */
function deploymentsClause(deployments: string[]) {
  return {
    which: `(${deployments.map((_, i) => `"deployment" = $d${i}`).join(' OR ')})`,
    params: Object.fromEntries(deployments.map((d, i) => [`d${i}`, d])),
  };
}

/** ` AND ("client" = $o0 OR ...)`: the only rovers a query reads (none given: every rover). */
function onlyClause(clients?: string[]): string {
  if (!clients) return '';
  if (clients.length === 0) return ' AND "client" = \'\' AND "client" != \'\'';
  return ` AND (${clients.map((_, i) => `"client" = $o${i}`).join(' OR ')})`;
}

const onlyParams = (clients?: string[]) => Object.fromEntries((clients ?? []).map((c, i) => [`o${i}`, c]));

/** ` AND "client" != $x0 ...` with its bound parameters: the rovers a query leaves out. */
function excludeClause(clients: string[] = []) {
  return {
    without: clients.map((_, i) => ` AND "client" != $x${i}`).join(''),
    params: Object.fromEntries(clients.map((c, i) => [`x${i}`, c])),
  };
}

/** Measurements in InfluxDB: writes through the official client (batched, retried), reads in InfluxQL. */
export class InfluxMeasurements implements MeasurementStore {
  private constructor(
    private readonly send: (points: Point[]) => Promise<void>,
    private readonly influxql: InfluxqlClient,
    private readonly datasetPagePoints: number,
  ) {}

  /** `datasetPagePoints`: points a dataset query reads at once (tests make it small to read in many pages). */
  static async open(url: string, options: { datasetPagePoints?: number } = {}): Promise<InfluxMeasurements> {
    const where = parseInfluxUrl(url);
    const influx = new InfluxDB({ url: where.url, token: where.token, timeout: 30_000 });
    /*
     * A write API of its own for each write: the client's shared buffer sends a full batch by itself and
     * `flush()` awaits only what is left, so a caller (the spool) could be told its records are stored while
     * they are in flight or failing. No retries here: a failed write rejects, and the caller keeps the frames.
     */
    const send = async (points: Point[]) => {
      const writer = influx.getWriteApi(where.org, where.bucket, 'ns', {
        batchSize: points.length + 1,
        flushInterval: 0,
        maxRetries: 0,
        gzipThreshold: 64 * 1024,
      });
      writer.writePoints(points);
      await writer.close();
    };
    const store = new InfluxMeasurements(send, new InfluxqlClient(where), options.datasetPagePoints ?? DATASET_PAGE_POINTS);
    // Fails fast on a wrong address, user or database instead of on the first frame.
    await store.influxql.query(`SELECT count("latency_ms") FROM "${INFERENCE}" WHERE time >= now() - 1m`);
    return store;
  }

  /** Resolves once InfluxDB has the records; a rejection leaves them to the caller (the API spools them). */
  async write(records: InferenceRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.send(records.map(pointOf));
  }

  async writeAnalysisStats(stats: AnalysisStats): Promise<void> {
    await this.send([
      new Point(ANALYSIS)
        .tag('instance', stats.instance)
        .intField('queue_depth', stats.queueDepth)
        .intField('queue_bytes', stats.queueBytes)
        .intField('spooled', stats.spooled)
        .intField('spool_bytes', stats.spoolBytes)
        .intField('written', stats.written)
        .intField('failed', stats.failed)
        .intField('refused', stats.refused)
        .timestamp(`${BigInt(stats.time) * 1_000_000n}`),
    ]);
  }

  async datasetRows(deployments: string[], range?: TimeRange): Promise<DatasetRow[]> {
    if (deployments.length === 0) return [];
    const params = Object.fromEntries(deployments.map((d, i) => [`d${i}`, d]));
    const which = deployments.map((_, i) => `"deployment" = $d${i}`).join(' OR ');
    const columns = ['sensor_value', 'sensor_status', 'image_key', 'deployment', 'client', ...IMAGE_CHARACTERISTIC_FIELDS]
      .map((f) => `"${f}"`)
      .join(', ');
    // In pages by time: one query over a long history outlasts the client's timeout. A page ends inside a
    // millisecond that may hold more points; the next starts at that millisecond and skips the keys it has.
    const rows: DatasetRow[] = [];
    let since = range?.since;
    let atCursor = new Set<string>();
    let pageSize = this.datasetPagePoints;
    for (;;) {
      const page = rowsOf(
        await this.influxql.query(
          `SELECT ${columns} FROM "${INFERENCE}" WHERE (${which})${timeClause({ since, until: range?.until })} ORDER BY time ASC LIMIT ${pageSize}`,
          params,
        ),
      );
      for (const r of page) {
        if (r.sensor_value == null || r.sensor_status != null || atCursor.has(String(r.image_key))) continue;
        rows.push({
          time: Number(r.time),
          deployment: String(r.deployment),
          client: String(r.client),
          imageKey: String(r.image_key),
          sensorValue: Number(r.sensor_value),
          characteristics: characteristicsOf(r),
        });
      }
      if (page.length < pageSize) break;
      const last = Number(page[page.length - 1].time);
      // A whole page in one millisecond: ask for more at once (the keys read so far are skipped).
      if (last === since) pageSize *= 2;
      else atCursor = new Set();
      since = last;
      for (const r of page) if (Number(r.time) === last) atCursor.add(String(r.image_key));
    }
    return rows.sort((a, b) => a.time - b.time);
  }

  async deploymentStats(deployment: string, range?: TimeRange): Promise<DeploymentStats> {
    const where = `WHERE "deployment" = $deployment${timeClause(range)}`;
    const [agg] = rowsOf(
      await this.influxql.query(
        `SELECT count("latency_ms") AS n, count("sensor_value") AS labelled, min("sensor_value") AS sensor_min, max("sensor_value") AS sensor_max, ` +
          `min("prediction") AS prediction_min, max("prediction") AS prediction_max, mean("error") AS mean_error, max("error") AS max_error ` +
          `FROM "${INFERENCE}" ${where}`,
        { deployment },
      ),
    );
    const [last] = rowsOf(
      await this.influxql.query(
        `SELECT "latency_ms", "model", "model_version" FROM "${INFERENCE}" ${where} AND "model" != '' ORDER BY time DESC LIMIT 1`,
        {
          deployment,
        },
      ),
    );
    return deploymentStatsOf(deployment, agg, last && { name: last.model, version: last.model_version });
  }

  async histogram(deployment: string, field: NumericField, bins: HistogramBins, range?: TimeRange): Promise<HistogramBin[]> {
    assertNumericField(field);
    const series = await this.influxql.query(`SELECT "${field}" FROM "${INFERENCE}" WHERE "deployment" = $deployment${timeClause(range)}`, {
      deployment,
    });
    return binValues(
      rowsOf(series)
        .map((r) => r[field])
        .filter((v) => v != null)
        .map(Number),
      bins,
    );
  }

  async windowedMeans(deployment: string, field: NumericField, windowMs: number, range?: TimeRange): Promise<WindowMean[]> {
    assertNumericField(field);
    if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new Error(`window must be a positive integer of ms, got ${windowMs}`);
    // GROUP BY time() needs both bounds: InfluxQL would otherwise start at 1970 and stop at now().
    const bounds = { since: range?.since, until: range?.until };
    if (bounds.since === undefined || bounds.until === undefined) {
      const [first] = rowsOf(
        await this.influxql.query(`SELECT first("latency_ms") FROM "${INFERENCE}" WHERE "deployment" = $deployment${timeClause(range)}`, {
          deployment,
        }),
      );
      const [last] = rowsOf(
        await this.influxql.query(`SELECT last("latency_ms") FROM "${INFERENCE}" WHERE "deployment" = $deployment${timeClause(range)}`, {
          deployment,
        }),
      );
      if (!first || !last) return [];
      bounds.since ??= Number(first.time);
      bounds.until ??= Number(last.time) + 1;
    }
    const series = await this.influxql.query(
      `SELECT mean("${field}") AS mean, count("${field}") AS n FROM "${INFERENCE}" WHERE "deployment" = $deployment${timeClause(bounds)} ` +
        `GROUP BY time(${windowMs}ms) fill(none)`,
      { deployment },
    );
    return rowsOf(series).map((r) => ({ time: Number(r.time), mean: numberOrNull(r.mean), count: Number(r.n) }));
  }

  async driftWindow(query: DriftWindowQuery): Promise<DriftWindow> {
    if (!Number.isSafeInteger(query.maxFrames) || query.maxFrames < 1)
      throw new Error(`maxFrames must be a positive integer, got ${query.maxFrames}`);
    const columns = DRIFT_WINDOW_COLUMNS.filter((c) => c !== 'time').map((c) => `"${c}"`);
    const { without, params } = excludeClause(query.excludeClients);
    const series = await this.influxql.query(
      `SELECT ${columns.join(', ')} FROM "${INFERENCE}" WHERE "deployment" = $deployment AND "model" = $model AND "model_version" = $version` +
        `${without}${onlyClause(query.onlyClients)}${timeClause({ since: query.since, until: query.until === undefined ? undefined : query.until + 1 })}` +
        ` ORDER BY time DESC LIMIT ${query.maxFrames}`,
      {
        ...params,
        ...onlyParams(query.onlyClients),
        deployment: query.deployment,
        model: query.modelName,
        version: String(query.modelVersion),
      },
    );
    return driftWindowOf(rowsOf(series));
  }

  async writeDriftSummaries(rows: DriftSummaryRow[]): Promise<void> {
    rows.forEach(assertDriftSummaryRow);
    if (rows.length === 0) return;
    const points = rows.map((r) => {
      const point = new Point(DRIFT_SUMMARY)
        .tag('deployment', r.deployment)
        .tag('model', r.modelName)
        .tag('model_version', String(r.modelVersion))
        .tag('writer', r.writer)
        .intField('frames', r.frames)
        .intField('first_time', r.firstTime)
        .intField('last_time', r.lastTime)
        .timestamp(`${BigInt(r.minute) * 1_000_000n}`);
      const parts = Math.max(1, Math.ceil(r.summary.length / SUMMARY_PART_CHARS));
      point.intField('summary_parts', parts);
      for (let i = 0; i < parts; i++)
        point.stringField(`summary_${i}`, r.summary.slice(i * SUMMARY_PART_CHARS, (i + 1) * SUMMARY_PART_CHARS));
      return point;
    });
    await this.send(points);
  }

  async driftSummaries(query: DriftSummaryQuery): Promise<DriftSummaryRow[]> {
    if (!Number.isSafeInteger(query.since)) throw new Error(`since must be integer epoch ms, got ${query.since}`);
    // A row's minute holds its frames, so rows with frames since `since` start no earlier than since's minute.
    const fromMinute = Math.floor(query.since / 60_000) * 60_000;
    const series = await this.influxql.query(
      `SELECT * FROM "${DRIFT_SUMMARY}" WHERE "deployment" = $deployment AND "model" = $model AND "model_version" = $version` +
        ` AND "last_time" >= ${query.since}${timeClause({ since: fromMinute })} ORDER BY time DESC`,
      { deployment: query.deployment, model: query.modelName, version: String(query.modelVersion) },
    );
    const rows = rowsOf(series).map((r) => {
      const parts = Number(r.summary_parts ?? 1);
      return {
        deployment: query.deployment,
        modelName: query.modelName,
        modelVersion: query.modelVersion,
        minute: Number(r.time),
        writer: String(r.writer),
        frames: Number(r.frames),
        firstTime: Number(r.first_time),
        lastTime: Number(r.last_time),
        summary: Array.from({ length: parts }, (_, i) => String(r[`summary_${i}`] ?? '')).join(''),
      };
    });
    return rows.sort((a, b) => b.minute - a.minute || (a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0));
  }

  async writeDriftCheck(check: DriftCheckRecord): Promise<void> {
    const point = new Point(DRIFT_CHECK_MEASUREMENT)
      .tag('deployment', check.deployment)
      .tag('model', check.modelName)
      .tag('verdict', check.verdict)
      .stringField('report', JSON.stringify(check))
      .timestamp(`${BigInt(check.time) * 1_000_000n}`);
    if (check.modelVersion !== null) point.tag('model_version', String(check.modelVersion));
    for (const [field, value] of Object.entries(driftCheckFields(check))) point.floatField(field, value);
    await this.send([point]);
  }

  async driftChecks(deployment: string, options: { since?: number; limit?: number } = {}): Promise<DriftCheckRecord[]> {
    const limit = options.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
    const series = await this.influxql.query(
      `SELECT "report" FROM "${DRIFT_CHECK_MEASUREMENT}" WHERE "deployment" = $deployment${timeClause({ since: options.since })} ` +
        `ORDER BY time DESC LIMIT ${limit}`,
      { deployment },
    );
    return rowsOf(series).map((r) => JSON.parse(String(r.report)) as DriftCheckRecord);
  }

  async rolloutEvidence(query: RolloutEvidenceQuery): Promise<RolloutEvidence> {
    assertRolloutEvidenceQuery(query);
    const excluded = excludeClause(query.excludeClients);
    const ofRollout = `"deployment" = $deployment AND "model" = $model${excluded.without}${timeClause({ since: query.since })}`;
    const params = {
      ...excluded.params,
      deployment: query.deployment,
      model: query.modelName,
      current: String(query.currentVersion),
      candidate: String(query.candidateVersion),
      currentShadow: query.currentVersion,
      candidateShadow: query.candidateVersion,
    };
    const perVersion = await this.influxql.query(
      `SELECT count("latency_ms") AS frames, count("sensor_value") AS labelled FROM "${INFERENCE}" ` +
        `WHERE ${ofRollout} AND ("model_version" = $current OR "model_version" = $candidate) GROUP BY "model_version"`,
      params,
    );
    const count = (column: string, version?: string) =>
      perVersion
        .filter((s) => version === undefined || s.tags?.model_version === version)
        .flatMap((s) => s.rows)
        .reduce((sum, row) => sum + Number(row[column] ?? 0), 0);
    // InfluxQL has no IS NOT NULL; a comparison with a field a point lacks is false, so `"f" = "f"` keeps the points that have f.
    const paired = await this.influxql.query(
      `SELECT "model_version", "error", "shadow_error", "sensor_value" FROM "${INFERENCE}" WHERE ${ofRollout} ` +
        `AND (("model_version" = $current AND "shadow_model_version" = $candidateShadow) ` +
        `OR ("model_version" = $candidate AND "shadow_model_version" = $currentShadow)) ` +
        `AND "sensor_value" = "sensor_value" AND "error" = "error" AND "shadow_error" = "shadow_error" ORDER BY time DESC LIMIT ${query.maxPairs}`,
      params,
    );
    return {
      frames: count('frames'),
      answeredByCandidate: count('frames', params.candidate),
      labelled: count('labelled'),
      pairs: rolloutPairsOf(
        rowsOf(paired).map((r) => ({
          answeredBy: Number(r.model_version),
          error: Number(r.error),
          shadowError: Number(r.shadow_error),
          reading: Number(r.sensor_value),
        })),
        query.currentVersion,
      ),
    };
  }

  /** One query grouped by time and deployment; the offset aligns InfluxQL's buckets (counted from the epoch) to `since`. */
  private async buckets(deployments: string[], window: BucketWindow): Promise<Map<string, SeriesPoint[]>> {
    assertBucketWindow(window);
    const { since, until, stepMs } = window;
    const { which, params } = deploymentsClause(deployments);
    const series = await this.influxql.query(
      `SELECT count("latency_ms") AS frames, count("error") AS errors, mean("error") AS mean_error, mean("prediction") AS mean_prediction, ` +
        `mean("sensor_value") AS mean_sensor FROM "${INFERENCE}" WHERE ${which}${timeClause({ since, until })} ` +
        `GROUP BY time(${stepMs}ms, ${since % stepMs}ms), "deployment" fill(none)`,
      params,
    );
    const byDeployment = new Map<string, SeriesPoint[]>(deployments.map((d) => [d, []]));
    for (const s of series) {
      const points = byDeployment.get(s.tags?.deployment ?? '');
      for (const row of s.rows) if (Number(row.frames) > 0) points?.push(seriesPointOf(Number(row.time), row));
    }
    for (const points of byDeployment.values()) points.sort((a, b) => a.time - b.time);
    return byDeployment;
  }

  async series(deployment: string, window: BucketWindow): Promise<SeriesPoint[]> {
    return (await this.buckets([deployment], window)).get(deployment) ?? [];
  }

  async fleetActivity(deployments: string[], window: BucketWindow): Promise<Map<string, DeploymentActivity>> {
    if (deployments.length === 0) return new Map();
    const { which, params } = deploymentsClause(deployments);
    const [buckets, lastFrames, lastChecks] = await Promise.all([
      this.buckets(deployments, window),
      this.influxql.query(`SELECT last("latency_ms") FROM "${INFERENCE}" WHERE ${which} GROUP BY "deployment"`, params),
      this.influxql.query(`SELECT last("report") AS report FROM "${DRIFT_CHECK_MEASUREMENT}" WHERE ${which} GROUP BY "deployment"`, params),
    ]);
    const newest = (series: InfluxSeries[]) => new Map(series.map((s) => [s.tags?.deployment ?? '', s.rows[0]]));
    const [lastFrame, lastCheck] = [newest(lastFrames), newest(lastChecks)];
    return new Map(
      deployments.map((d) => {
        const frame = lastFrame.get(d);
        const check = lastCheck.get(d)?.report;
        const drift = check == null ? null : (JSON.parse(String(check)) as DriftCheckRecord);
        const activity: DeploymentActivity = {
          points: buckets.get(d) ?? [],
          lastFrameAt: frame ? Number(frame.time) : null,
          lastDrift: drift && { time: drift.time, verdict: drift.verdict },
        };
        return [d, activity];
      }),
    );
  }

  async recentFrames(deployment: string, page: { limit: number; before?: number }): Promise<StoredFrame[]> {
    if (!Number.isSafeInteger(page.limit) || page.limit < 1) throw new Error(`limit must be a positive integer, got ${page.limit}`);
    const series = await this.influxql.query(
      `SELECT "client", "model", "model_version", "prediction", "sensor_value", "error", "latency_ms", "image_key", "sensor_status" FROM "${INFERENCE}" ` +
        `WHERE "deployment" = $deployment${timeClause({ until: page.before })} ORDER BY time DESC LIMIT ${page.limit}`,
      { deployment },
    );
    return rowsOf(series).map((r) => ({
      time: Number(r.time),
      client: String(r.client),
      modelName: r.model == null || r.model === '' ? null : String(r.model),
      modelVersion: r.model_version == null || r.model_version === '' ? null : Number(r.model_version),
      prediction: numberOrNull(r.prediction),
      sensorValue: numberOrNull(r.sensor_value),
      error: numberOrNull(r.error),
      latencyMs: Number(r.latency_ms),
      imageKey: String(r.image_key),
      sensorStatus: r.sensor_status == null ? null : (String(r.sensor_status) as InvalidReading),
    }));
  }

  async sensorWindow(query: SensorWindowQuery): Promise<SensorWindow> {
    assertSensorWindowQuery(query);
    const columns = SENSOR_WINDOW_COLUMNS.filter((c) => c !== 'time' && c !== 'client' && c !== 'model_version').map((c) => `"${c}"`);
    // Tags selected as columns come back on every row; the time and the tags are what a frame needs besides its fields.
    const series = await this.influxql.query(
      `SELECT "latency_ms", "client", "model_version", ${columns.join(', ')} FROM "${INFERENCE}" WHERE "deployment" = $deployment` +
        `${timeClause({ since: query.since })} ORDER BY time DESC LIMIT ${query.maxFrames}`,
      { deployment: query.deployment },
    );
    return sensorWindowOf(query.deployment, rowsOf(series));
  }

  async close(): Promise<void> {
    // Every write has its own writer, closed when the write ends: nothing is left to flush.
  }
}
