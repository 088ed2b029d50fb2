import type { DriftWindow } from '../drift/driftCheck.js';
import type { DriftCheckRecord } from '../drift/driftReport.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField, type ImageCharacteristics } from '../features/fields.js';
import type { SensorFrame, SensorWindow } from '../sensors/sensorHealth.js';

/** One `inference` record per frame: tags, fields and the image's object key. */
export interface InferenceRecord {
  /** Epoch milliseconds. */
  time: number;
  deployment: string;
  client: string;
  modelName: string | null;
  modelVersion: number | null;
  prediction: number | null;
  sensorValue: number | null;
  error: number | null;
  latencyMs: number;
  imageKey: string;
  /** Null: the analysis could not decode the image (the frame and its record are stored all the same). */
  characteristics: ImageCharacteristics | null;
  /** During a rollout: the other version's prediction on this frame (the one that did not answer the rover). */
  shadow?: ShadowPrediction | null;
  /**
   * A laser reading the sensor cannot have given as a distance (core/sensors/laserSpec.ts): stored as sent, with no
   * error, and never a label. Absent or null: a valid reading, or none.
   */
  sensorStatus?: InvalidReading | null;
}

/** How a reading is invalid (core/sensors/laserSpec.ts readingStatus). */
export type InvalidReading = 'out-of-range' | 'error-code';

export interface ShadowPrediction {
  /** A version of the record's model. */
  modelVersion: number;
  /** Null: the shadow version could not predict (failed to load, overloaded). */
  prediction: number | null;
  /** |prediction - sensorValue|, null without a laser reading or a prediction. */
  error: number | null;
}

export interface DatasetRow {
  time: number;
  deployment: string;
  /** The rover that sent the frame (rows of datasets assembled before it was kept lack it). */
  client?: string;
  imageKey: string;
  sensorValue: number;
  /** The frame's image characteristics: with the labels, the reference profile of a version trained on these rows. */
  characteristics: Partial<ImageCharacteristics>;
}

/** The characteristics of a stored row that hold a number (a row written before a field existed lacks it). */
export function characteristicsOf(row: Record<string, unknown>): Partial<ImageCharacteristics> {
  const found: Partial<ImageCharacteristics> = {};
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) if (row[field] != null) found[field] = Number(row[field]);
  return found;
}

export interface DeploymentStats {
  deployment: string;
  count: number;
  labelledCount: number;
  sensorMin: number | null;
  sensorMax: number | null;
  predictionMin: number | null;
  predictionMax: number | null;
  meanError: number | null;
  maxError: number | null;
  modelName: string | null;
  modelVersion: number | null;
}

export type NumericField = 'prediction' | 'sensor_value' | 'error' | 'latency_ms' | ImageCharacteristicField;

export interface HistogramBin {
  lower: number;
  upper: number;
  count: number;
}

export interface WindowMean {
  /** Start of the window, epoch ms. */
  time: number;
  mean: number | null;
  count: number;
}

export interface TimeRange {
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
}

/** One sample of an API process's analysis pipeline (measurement `api_analysis`), for the system dashboard. */
export interface AnalysisStats {
  /** Epoch milliseconds. */
  time: number;
  /** Which API process (host and pid). */
  instance: string;
  /** Frames held in memory for analysis. */
  queueDepth: number;
  /** Image bytes held in memory for analysis. */
  queueBytes: number;
  /** Frames in the write-ahead spool on disk whose object and record are not stored yet. */
  spooled: number;
  /** Bytes of the spool on disk. */
  spoolBytes: number;
  /** Records written since the process started. */
  written: number;
  /** Analyses that failed since the process started. */
  failed: number;
  /** Frames refused with 503 since the process started (in-flight budget or spool full). */
  refused: number;
}

export interface MeasurementStore {
  write(records: InferenceRecord[]): Promise<void>;
  writeAnalysisStats(stats: AnalysisStats): Promise<void>;
  /** Labelled records of the given deployments, oldest first (the training dataset's rows); invalid readings are no labels. */
  datasetRows(deployments: string[], range?: TimeRange): Promise<DatasetRow[]>;
  deploymentStats(deployment: string, range?: TimeRange): Promise<DeploymentStats>;
  histogram(deployment: string, field: NumericField, bins: HistogramBins, range?: TimeRange): Promise<HistogramBin[]>;
  windowedMeans(deployment: string, field: NumericField, windowMs: number, range?: TimeRange): Promise<WindowMean[]>;
  /** The newest frames one version answered on one deployment: the raw drift window (a suspect rover's frames, benchmarks). */
  driftWindow(query: DriftWindowQuery): Promise<DriftWindow>;
  /** Writes each row, replacing the row of the same deployment, model, version, minute and writer. */
  writeDriftSummaries(rows: DriftSummaryRow[]): Promise<void>;
  /** One version's summary rows on one deployment whose newest frame is at or after `since`, newest minute first. */
  driftSummaries(query: DriftSummaryQuery): Promise<DriftSummaryRow[]>;
  writeDriftCheck(check: DriftCheckRecord): Promise<void>;
  /** A deployment's drift checks, newest first. */
  driftChecks(deployment: string, options?: { since?: number; limit?: number }): Promise<DriftCheckRecord[]>;
  /** A rollout's evidence on one deployment since a time: how many frames each version answered, and both versions' laser errors on the frames both predicted. */
  rolloutEvidence(query: RolloutEvidenceQuery): Promise<RolloutEvidence>;
  /** The fleet page's numbers of several deployments at once: each one's frames per bucket, its newest frame and drift check. */
  fleetActivity(deployments: string[], window: BucketWindow): Promise<Map<string, DeploymentActivity>>;
  /** A deployment's frames per bucket of `window.stepMs`, oldest first; buckets without frames are left out. */
  series(deployment: string, window: BucketWindow): Promise<SeriesPoint[]>;
  /** A deployment's frames newest first, before a time (exclusive). */
  recentFrames(deployment: string, page: { limit: number; before?: number }): Promise<StoredFrame[]>;
  /** A deployment's newest frames since a time, oldest first, every reading as sent: the sensor health check's window. */
  sensorWindow(query: SensorWindowQuery): Promise<SensorWindow>;
  close(): Promise<void>;
}

/** Buckets of `stepMs` from `since` (inclusive) to `until` (exclusive), all epoch ms: bucket k starts at since + k * stepMs. */
export interface BucketWindow {
  since: number;
  until: number;
  stepMs: number;
}

/** One bucket of a deployment's frames. */
export interface SeriesPoint {
  /** Start of the bucket, epoch ms. */
  time: number;
  frames: number;
  /** Frames with a laser error (a reading and a prediction). */
  errors: number;
  meanError: number | null;
  meanPrediction: number | null;
  meanSensor: number | null;
}

export interface DeploymentActivity {
  /** Buckets holding frames, oldest first. */
  points: SeriesPoint[];
  /** Epoch ms of its newest frame ever (not only in the window); null: none. */
  lastFrameAt: number | null;
  lastDrift: { time: number; verdict: DriftCheckRecord['verdict'] } | null;
}

/** A stored frame as the deployment page lists it. */
export type StoredFrame = Pick<
  InferenceRecord,
  'time' | 'client' | 'modelName' | 'modelVersion' | 'prediction' | 'sensorValue' | 'error' | 'latencyMs' | 'imageKey'
> & { sensorStatus: InvalidReading | null };

/** Refuses a window no store can bucket: integer bounds, a positive integer step, at most `maxBuckets` buckets. */
export function assertBucketWindow(window: BucketWindow, maxBuckets = 10_000): void {
  const { since, until, stepMs } = window;
  if (!Number.isSafeInteger(since) || !Number.isSafeInteger(until) || until <= since)
    throw new Error(`a window needs integer epoch ms bounds with until > since, got ${since}..${until}`);
  if (!Number.isSafeInteger(stepMs) || stepMs < 1) throw new Error(`stepMs must be a positive integer, got ${stepMs}`);
  if (Math.ceil((until - since) / stepMs) > maxBuckets) throw new Error(`more than ${maxBuckets} buckets of ${stepMs} ms`);
}

/** A bucket from the aggregate columns both query languages give it (frames, errors, mean_error, mean_prediction, mean_sensor). */
export function seriesPointOf(time: number, row: Record<string, unknown>): SeriesPoint {
  return {
    time,
    frames: Number(row.frames ?? 0),
    errors: Number(row.errors ?? 0),
    meanError: numberOrNull(row.mean_error),
    meanPrediction: numberOrNull(row.mean_prediction),
    meanSensor: numberOrNull(row.mean_sensor),
  };
}

/** Every bucket of a window in order, the missing ones empty (a chart shows a gap, a count shows 0). */
export function everyBucket(points: SeriesPoint[], window: BucketWindow): SeriesPoint[] {
  const byTime = new Map(points.map((p) => [p.time, p]));
  const all: SeriesPoint[] = [];
  for (let time = window.since; time < window.until; time += window.stepMs)
    all.push(byTime.get(time) ?? { time, frames: 0, errors: 0, meanError: null, meanPrediction: null, meanSensor: null });
  return all;
}

/** Frames and mean laser error over several buckets (the mean weighted by each bucket's errors). */
export function summaryOf(points: SeriesPoint[]): { frames: number; meanError: number | null } {
  let [frames, errors, errorSum] = [0, 0, 0];
  for (const p of points) {
    frames += p.frames;
    if (p.meanError !== null && p.errors > 0) [errors, errorSum] = [errors + p.errors, errorSum + p.meanError * p.errors];
  }
  return { frames, meanError: errors > 0 ? errorSum / errors : null };
}

export interface RolloutEvidenceQuery {
  deployment: string;
  modelName: string;
  currentVersion: number;
  candidateVersion: number;
  /** Epoch ms, inclusive. */
  since: number;
  /** At most this many pairs, the newest. */
  maxPairs: number;
  /** Rovers whose frames are left out (suspect lasers). */
  excludeClients?: string[];
}

export interface RolloutEvidence {
  /** Frames of the deployment in the period answered by the current or the candidate version. */
  frames: number;
  /** Of those, the frames the candidate answered. */
  answeredByCandidate: number;
  /** Of `frames`, those with a laser reading. */
  labelled: number;
  /** Paired laser errors (mm): index i of the arrays is one frame that both versions predicted, and its laser reading (mm). */
  pairs: { current: Float64Array; candidate: Float64Array; readings: Float64Array };
}

/** Refuses a query no store can answer: two different versions and a positive whole number of pairs. */
export function assertRolloutEvidenceQuery(query: RolloutEvidenceQuery): void {
  if (!Number.isSafeInteger(query.maxPairs) || query.maxPairs < 1)
    throw new Error(`maxPairs must be a positive integer, got ${query.maxPairs}`);
  if (!Number.isSafeInteger(query.since)) throw new Error(`since must be integer epoch ms, got ${query.since}`);
  if (query.currentVersion === query.candidateVersion)
    throw new Error(`a rollout compares two versions, got version ${query.currentVersion} twice`);
}

/** Pairs from rows holding each frame's answering version, its error, its shadow's error and its laser reading, in any order. */
export function rolloutPairsOf(
  rows: { answeredBy: number; error: number; shadowError: number; reading: number }[],
  currentVersion: number,
): RolloutEvidence['pairs'] {
  const current = new Float64Array(rows.length);
  const candidate = new Float64Array(rows.length);
  const readings = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    const currentAnswered = row.answeredBy === currentVersion;
    current[i] = currentAnswered ? row.error : row.shadowError;
    candidate[i] = currentAnswered ? row.shadowError : row.error;
    readings[i] = row.reading;
  });
  return { current, candidate, readings };
}

export interface DriftWindowQuery {
  deployment: string;
  modelName: string;
  modelVersion: number;
  /** Epoch ms, inclusive. */
  since: number;
  /** Epoch ms, inclusive; absent: up to now. */
  until?: number;
  /** At most this many frames, the newest. */
  maxFrames: number;
  /** Rovers whose frames are left out (suspect lasers). */
  excludeClients?: string[];
  /** Only these rovers' frames (a suspect rover's, to take out of the window's summaries). */
  onlyClients?: string[];
}

/**
 * One writer's counts of one minute of one version's frames on one deployment (core/drift/windowSummary.ts): a drift
 * check merges the rows of its window. A writer (one API process) rewrites its row of a minute as the minute fills.
 */
export interface DriftSummaryRow {
  deployment: string;
  modelName: string;
  modelVersion: number;
  /** Start of the minute, epoch ms. */
  minute: number;
  writer: string;
  frames: number;
  /** Epoch ms of the row's oldest and newest frame. */
  firstTime: number;
  lastTime: number;
  /** The counts as core/drift/windowSummary.ts encodeSummary writes them; the store keeps the text as it is. */
  summary: string;
}

export interface DriftSummaryQuery {
  deployment: string;
  modelName: string;
  modelVersion: number;
  /** Epoch ms: rows whose newest frame is at or after it. */
  since: number;
}

/** Refuses rows no store can key: integer times, a minute on a minute boundary, a writer. */
export function assertDriftSummaryRow(row: DriftSummaryRow): void {
  if (!Number.isSafeInteger(row.minute) || row.minute % 60_000 !== 0)
    throw new Error(`minute must be epoch ms on a minute, got ${row.minute}`);
  if (!Number.isSafeInteger(row.firstTime) || !Number.isSafeInteger(row.lastTime))
    throw new Error(`firstTime and lastTime must be integer epoch ms, got ${row.firstTime}..${row.lastTime}`);
  if (!row.writer) throw new Error('a drift summary row needs a writer');
  if (!Number.isSafeInteger(row.modelVersion)) throw new Error(`modelVersion must be an integer, got ${row.modelVersion}`);
}

/** Columns a drift window reads of each frame (`sensor_status`: an invalid reading is no label). */
export const DRIFT_WINDOW_COLUMNS = ['time', 'sensor_value', 'error', 'sensor_status', ...IMAGE_CHARACTERISTIC_FIELDS] as const;

export type DriftWindowColumn = (typeof DRIFT_WINDOW_COLUMNS)[number];

/** A drift window from stored rows (any order) holding the DRIFT_WINDOW_COLUMNS. */
export function driftWindowOf(rows: Record<string, unknown>[]): DriftWindow {
  const columns = {} as Record<DriftWindowColumn, unknown[]>;
  for (const column of DRIFT_WINDOW_COLUMNS) columns[column] = rows.map((row) => row[column]);
  return driftWindowOfColumns(columns);
}

/** A drift window from the DRIFT_WINDOW_COLUMNS as one array each, every array holding the same frames in the same order. */
export function driftWindowOfColumns(columns: Record<DriftWindowColumn, ArrayLike<unknown>>): DriftWindow {
  const features: DriftWindow['features'] = {};
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) features[field] = finiteValues(columns[field]);
  const times = columns.time;
  let [windowStart, windowEnd] = [Infinity, -Infinity];
  for (let i = 0; i < times.length; i++) {
    const time = Number(times[i]);
    if (time < windowStart) windowStart = time;
    if (time > windowEnd) windowEnd = time;
  }
  return {
    frames: times.length,
    windowStart: times.length ? windowStart : null,
    windowEnd: times.length ? windowEnd : null,
    features,
    labels: finiteValues(Array.from(columns.sensor_value, (v, i) => (columns.sensor_status[i] == null ? v : null))),
    errors: finiteValues(columns.error),
  };
}

/** The finite values of one column, nulls left out. */
function finiteValues(column: ArrayLike<unknown>): Float64Array {
  const values = new Float64Array(column.length);
  let n = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (v == null) continue;
    const x = Number(v);
    if (Number.isFinite(x)) values[n++] = x;
  }
  return values.subarray(0, n);
}

export const NUMERIC_FIELDS: readonly string[] = ['prediction', 'sensor_value', 'error', 'latency_ms'];
const QUERYABLE_FIELDS = new Set<string>([...NUMERIC_FIELDS, ...IMAGE_CHARACTERISTIC_FIELDS]);

/** Field names reach queries as identifiers, so only known ones pass. */
export function assertNumericField(field: string): asserts field is NumericField {
  if (!QUERYABLE_FIELDS.has(field)) throw new Error(`unknown measurement field "${field}"`);
}

/** Bins of a histogram: `min`/`max` left out span the values themselves (every field has its own scale). */
export interface HistogramBins {
  min?: number;
  max?: number;
  count: number;
}

/** Counts values into equal-width bins over [min, max]; values outside are left out, max falls in the last bin. */
export function binValues(values: number[], spec: HistogramBins): HistogramBin[] {
  let [lowest, highest] = [Infinity, -Infinity];
  for (const v of values) [lowest, highest] = [Math.min(lowest, v), Math.max(highest, v)];
  const min = spec.min ?? (values.length ? lowest : 0);
  const dataMax = spec.max ?? (values.length ? highest : min + 1);
  const bins = { min, max: dataMax > min ? dataMax : min + 1, count: spec.count };
  const width = (bins.max - bins.min) / bins.count;
  const counts = new Array<number>(bins.count).fill(0);
  for (const v of values) {
    if (v < bins.min || v > bins.max) continue;
    counts[Math.min(bins.count - 1, Math.floor((v - bins.min) / width))]++;
  }
  return counts.map((count, i) => ({ lower: bins.min + i * width, upper: bins.min + (i + 1) * width, count }));
}

/** Column names both query languages give the aggregates of `deploymentStats`. */
export interface StatsRow {
  n?: unknown;
  labelled?: unknown;
  sensor_min?: unknown;
  sensor_max?: unknown;
  prediction_min?: unknown;
  prediction_max?: unknown;
  mean_error?: unknown;
  max_error?: unknown;
}

export const numberOrNull = (v: unknown): number | null => (v == null ? null : Number(v));

/** A deployment's stats from its aggregate row and the model of its newest answered frame. */
export function deploymentStatsOf(
  deployment: string,
  agg: StatsRow | undefined,
  model: { name: unknown; version: unknown } | undefined,
): DeploymentStats {
  return {
    deployment,
    count: Number(agg?.n ?? 0),
    labelledCount: Number(agg?.labelled ?? 0),
    sensorMin: numberOrNull(agg?.sensor_min),
    sensorMax: numberOrNull(agg?.sensor_max),
    predictionMin: numberOrNull(agg?.prediction_min),
    predictionMax: numberOrNull(agg?.prediction_max),
    meanError: numberOrNull(agg?.mean_error),
    maxError: numberOrNull(agg?.max_error),
    modelName: model?.name == null ? null : String(model.name),
    modelVersion: numberOrNull(model?.version),
  };
}

export interface SensorWindowQuery {
  deployment: string;
  /** Epoch ms, inclusive. */
  since: number;
  /** At most this many frames, the newest. */
  maxFrames: number;
}

/** Columns a sensor window reads of each frame. */
export const SENSOR_WINDOW_COLUMNS = [
  'time',
  'client',
  'model_version',
  'sensor_value',
  'prediction',
  ...IMAGE_CHARACTERISTIC_FIELDS,
] as const;

/** Refuses a window no store can read: integer epoch ms and a positive whole number of frames. */
export function assertSensorWindowQuery(query: SensorWindowQuery): void {
  if (!Number.isSafeInteger(query.maxFrames) || query.maxFrames < 1)
    throw new Error(`maxFrames must be a positive integer, got ${query.maxFrames}`);
  if (!Number.isSafeInteger(query.since)) throw new Error(`since must be integer epoch ms, got ${query.since}`);
}

/** A sensor window from stored rows (any order) holding the SENSOR_WINDOW_COLUMNS: its frames oldest first. */
export function sensorWindowOf(deployment: string, rows: Record<string, unknown>[]): SensorWindow {
  const frames: SensorFrame[] = rows.map((r) => ({
    time: Number(r.time),
    client: String(r.client),
    modelVersion: r.model_version == null || r.model_version === '' ? null : Number(r.model_version),
    sensorValue: numberOrNull(r.sensor_value),
    prediction: numberOrNull(r.prediction),
    features: characteristicsOf(r),
  }));
  return { deployment, frames: frames.sort((a, b) => a.time - b.time) };
}
