/**
 * What one drift check costs against a full measurement store: the window read (the store's
 * `driftWindow`, as activities/checkDeploymentDrift.ts asks for it) and `checkDrift` on it, with
 * the default monitor config, on the embedded store (SQLite) and the production one (InfluxDB).
 * The stored frames are synthetic: characteristics of rendered frames with a little jitter, so a
 * million rows are written in minutes, not rendered for hours.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { checkDrift, checkDriftOfSummary } from '../core/drift/driftCheck.js';
import { summaryWindow } from '../core/drift/summaryWindow.js';
import { referenceProfileOf } from '../core/drift/referenceProfile.js';
import { sha256 } from '../core/ml/dataset.js';
import type { ObjectStore } from '../core/stores/objects.js';
import type { ModelVersion } from '../core/stores/registry.js';
import { simulateDeployment } from '../edge/simulatedFleet.js';
import { DriftSummaries } from '../ingest/driftSummaries.js';
import { duration, markdownTable } from './markdownTable.js';
import { DEFAULT_MONITOR_CONFIG } from '../core/drift/monitorConfig.js';
import type { ReferenceProfile } from '../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../core/features/fields.js';
import { createRng } from '../core/random.js';
import { InfluxMeasurements } from '../core/stores/influx/influxMeasurements.js';
import { deleteInfluxPoints } from './influxCleanup.js';
import type { DriftSummaryRow, InferenceRecord, MeasurementStore } from '../core/stores/measurements.js';
import { inferenceRowOf, SqlMeasurements } from '../core/stores/sql/sqlMeasurements.js';

/** A frame the synthetic rows copy: its characteristics, laser reading and the model's answer. */
export interface TemplateFrame {
  characteristics: ImageCharacteristics;
  sensorMm: number | null;
  predictionMm: number;
}

export interface CheckCost {
  store: 'SQLite (embedded)' | 'InfluxDB (production)';
  storedFrames: number;
  /** Frames of the checked deployment and version (the rest belong to other deployments). */
  deploymentFrames: number;
  windowFrames: number;
  writeSeconds: number;
  /** Each repetition's read and check, ms; the first one is cold. */
  readMs: number[];
  checkMs: number[];
  /** Bytes after the first check (window and report still held) minus before its read, after a collection. */
  rssDelta: number;
  /** V8 heap plus array buffers (the window's columns are Float64Arrays). */
  heapDelta: number;
  verdict: string;
}

export interface CostPlan {
  storedFrames: number[];
  repetitions: number;
  /** The production measurement store's URL (InfluxDB), or undefined to measure the embedded store only. */
  influxUrl?: string;
}

const MODEL = 'bench-drift';
const FRAMES_PER_SECOND = 32 * 4;
/**
 * Records per write(): below InfluxMeasurements' client batch size (5,000), whose write() resolves before an
 * automatically sent batch is stored (the client's flush() sends only what is still buffered).
 */
const INSERT_BATCH = 4_000;

/** global.gc without --expose-gc on the command line (tsx starts node). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * The stored frames: the checked deployment gets `window x 2` frames at 32 rovers x 4 frames/s
 * (the newest half inside the 5-minute window), or half the store when smaller; the rest belong to
 * 31 other deployments of the same model over the two hours before. Yields batches, oldest first.
 */
function* syntheticRecords(total: number, deployment: string, runId: string, now: number, templates: TemplateFrame[], seed: number) {
  const rng = createRng(seed);
  const window = DEFAULT_MONITOR_CONFIG.windowMaxFrames;
  const own = Math.min(2 * window, Math.floor(total / 2));
  const others = total - own;
  const jitter = (value: number) => value * (1 + rng.gaussian(0, 0.01));
  const record = (i: number, time: number, which: string, mine: boolean): InferenceRecord => {
    const template = templates[i % templates.length];
    const characteristics = { ...template.characteristics };
    for (const field of IMAGE_CHARACTERISTIC_FIELDS) characteristics[field] = jitter(characteristics[field]);
    const sensorValue = template.sensorMm === null ? null : jitter(template.sensorMm);
    const prediction = jitter(template.predictionMm);
    return {
      time,
      deployment: which,
      client: `rover-${i % 32}`,
      modelName: MODEL,
      modelVersion: mine ? 1 : 1 + (i % 3),
      prediction,
      sensorValue,
      error: sensorValue === null ? null : Math.abs(prediction - sensorValue),
      latencyMs: 5 + rng.next() * 10,
      imageKey: `bench/${runId}/${which}/${i}.jpg`,
      characteristics,
    };
  };
  const batch: InferenceRecord[] = [];
  const twoHoursMs = 2 * 3600_000;
  for (let i = 0; i < others; i++) {
    const time = now - twoHoursMs + Math.floor((i / others) * twoHoursMs);
    batch.push(record(i, time, `${deployment}-other-${i % 31}`, false));
    if (batch.length === INSERT_BATCH) yield batch.splice(0);
  }
  for (let i = 0; i < own; i++) {
    // Oldest first, the newest frame 1 ms before the check.
    const time = now - 1 - Math.floor(((own - 1 - i) / FRAMES_PER_SECOND) * 1000);
    batch.push(record(i, time, deployment, true));
    if (batch.length === INSERT_BATCH) yield batch.splice(0);
  }
  if (batch.length) yield batch;
  return own;
}

/**
 * SQLite filled straight through better-sqlite3, in one transaction per batch: the store's write() commits every
 * 200 rows (about 2.5 min for a million here). The rows are inferenceRowOf's, as SqlMeasurements.write writes them.
 */
function fillSqlite(file: string, total: number, deployment: string, runId: string, now: number, templates: TemplateFrame[]) {
  const started = performance.now();
  const db = new Database(file);
  try {
    const insertBatch = sqliteInserter(db);
    const records = syntheticRecords(total, deployment, runId, now, templates, total);
    let next = records.next();
    while (!next.done) {
      insertBatch(next.value);
      next = records.next();
    }
    return { deploymentFrames: next.value, writeSeconds: (performance.now() - started) / 1000 };
  } finally {
    db.close();
  }
}

async function fill(store: MeasurementStore, total: number, deployment: string, runId: string, now: number, templates: TemplateFrame[]) {
  const started = performance.now();
  const records = syntheticRecords(total, deployment, runId, now, templates, total);
  let next = records.next();
  while (!next.done) {
    await store.write(next.value);
    next = records.next();
  }
  return { deploymentFrames: next.value, writeSeconds: (performance.now() - started) / 1000 };
}

async function measure(
  store: MeasurementStore,
  deployment: string,
  now: number,
  profile: ReferenceProfile,
  repetitions: number,
): Promise<Pick<CheckCost, 'readMs' | 'checkMs' | 'rssDelta' | 'heapDelta' | 'windowFrames' | 'verdict'>> {
  const gc = collector();
  const config = DEFAULT_MONITOR_CONFIG;
  const readMs: number[] = [];
  const checkMs: number[] = [];
  let memory = { rssDelta: 0, heapDelta: 0 };
  let windowFrames = 0;
  let verdict = '';
  for (let r = 0; r < repetitions; r++) {
    gc();
    // V8 returns pages to the system shortly after a collection: let RSS settle before the baseline.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = process.memoryUsage();
    const t0 = performance.now();
    const window = await store.driftWindow({
      deployment,
      modelName: MODEL,
      modelVersion: 1,
      since: now - config.windowMinutes * 60_000,
      maxFrames: config.windowMaxFrames,
    });
    const t1 = performance.now();
    const report = checkDrift(profile, window, config);
    const t2 = performance.now();
    const after = process.memoryUsage();
    if (r === 0)
      memory = {
        rssDelta: after.rss - before.rss,
        heapDelta: after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers),
      };
    readMs.push(t1 - t0);
    checkMs.push(t2 - t1);
    windowFrames = window.frames;
    verdict = report.verdict;
  }
  return { readMs, checkMs, windowFrames, verdict, ...memory };
}

export async function benchmarkCheckCost(
  plan: CostPlan,
  templates: TemplateFrame[],
  profile: ReferenceProfile,
  log: (line: string) => void,
): Promise<CheckCost[]> {
  const results: CheckCost[] = [];
  const runId = `${process.pid}-${Date.now()}`;
  for (const storedFrames of plan.storedFrames) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-drift-'));
    try {
      const file = path.join(dir, 'measurements.sqlite');
      const store = await SqlMeasurements.open(`sqlite:${file}`);
      try {
        const now = Date.now();
        const deployment = `bench-drift-${storedFrames}`;
        log(`drift check cost: writing ${storedFrames} frames to SQLite`);
        const filled = fillSqlite(file, storedFrames, deployment, runId, now, templates);
        log(`drift check cost: SQLite holds ${storedFrames} frames (${filled.writeSeconds.toFixed(1)} s); checking`);
        const measured = await measure(store, deployment, now, profile, plan.repetitions);
        results.push({ store: 'SQLite (embedded)', storedFrames, ...filled, ...measured });
      } finally {
        await store.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!plan.influxUrl) return results;
  for (const storedFrames of plan.storedFrames) {
    const store = await InfluxMeasurements.open(plan.influxUrl);
    const now = Date.now();
    const deployment = `bench-drift-${runId}-${storedFrames}`;
    try {
      log(`drift check cost: writing ${storedFrames} frames to InfluxDB`);
      const filled = await fill(store, storedFrames, deployment, runId, now, templates);
      log(`drift check cost: InfluxDB holds ${storedFrames} more frames (${filled.writeSeconds.toFixed(1)} s); checking`);
      const measured = await measure(store, deployment, now, profile, plan.repetitions);
      results.push({ store: 'InfluxDB (production)', storedFrames, ...filled, ...measured });
    } finally {
      await store.close();
      await deleteInfluxPoints(plan.influxUrl, { start: now - 3 * 3600_000, stop: now + 60_000 }, `model="${MODEL}"`);
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// Before and after the per-minute summaries: the raw window read and checked, against the window's summary rows
// merged and checked (activities/checkDeploymentDrift.ts now does the latter).

export interface SummaryCostPlan {
  /** Window sizes: the checked deployment holds exactly this many frames within the last 4.5 minutes. */
  windows: number[];
  repetitions: number;
  /** Deployments checked once each on summaries (the fleet case), at the first window size. */
  deployments: number;
  /** API processes counting the frames (each writes its own row of every minute). */
  writers: number;
  /** Larger windows are measured on summaries only (the raw read of a million frames takes minutes). */
  rawMaxFrames: number;
  /** Which stores: 'sqlite', 'influxdb' (InfluxDB only with influxUrl). */
  stores: string[];
  influxUrl?: string;
}

export interface SummaryCost {
  store: CheckCost['store'];
  windowFrames: number;
  fillSeconds: number;
  /** Counting every frame into its minute's summary (ingest/driftSummaries.ts add), µs per frame. */
  countMicros: number;
  /** Summary rows of the window and their stored text, bytes. */
  rows: number;
  rowBytes: number;
  before: { readMs: number[]; checkMs: number[]; verdict: string; frames: number };
  after: { readMs: number[]; checkMs: number[]; verdict: string; frames: number };
}

export interface FleetCost {
  store: CheckCost['store'];
  deployments: number;
  windowFrames: number;
  /** Every deployment checked once on summaries, one after the other. */
  seconds: number;
  perCheckMs: number;
}

const SUMMARY_MODEL = 'bench-drift-summary';
const WINDOW_SECONDS = 270;

/** Simulated frames (edge/simulatedFleet.ts: floor characteristics plus noise, no rendering) and a profile of another run. */
export function simulatedTemplates(): { templates: TemplateFrame[]; profile: ReferenceProfile } {
  const rovers = Array.from({ length: 8 }, (_, i) => ({ client: `rover-${i}` }));
  // The simulated floors set some characteristics; the others get values of their own so every field is stored and checked.
  const rng = createRng(5);
  const complete = (features: Partial<ImageCharacteristics>) =>
    Object.fromEntries(
      IMAGE_CHARACTERISTIC_FIELDS.map((f, i) => [f, features[f] ?? (i + 1) * 10 + rng.gaussian(0, 2)]),
    ) as ImageCharacteristics;
  const toTemplate = (f: ReturnType<typeof simulateDeployment>[number]): TemplateFrame => ({
    characteristics: complete(f.features),
    sensorMm: f.sensorValue,
    predictionMm: f.prediction ?? 0,
  });
  const learned = simulateDeployment({ rovers, frames: 600, seed: 2 }).filter((f) => f.sensorValue !== null && f.prediction !== null);
  const profile = referenceProfileOf({
    modelName: SUMMARY_MODEL,
    version: 1,
    source: { manifestKey: 'bench', workflowId: 'bench', runId: 'bench' },
    rows: learned.map((f) => ({ sensorValue: f.sensorValue!, characteristics: complete(f.features) })),
    labelMaxMm: 350,
    testErrorsMm: learned.slice(0, 1000).map((f) => Math.abs(f.prediction! - f.sensorValue!)),
  });
  return { templates: simulateDeployment({ rovers, frames: 400, seed: 3 }).map(toTemplate), profile };
}

/** The window's frames, oldest first, in batches: `count` frames at an even rate over the last 4.5 minutes. */
function* windowRecords(count: number, deployment: string, runId: string, now: number, templates: TemplateFrame[]) {
  const rng = createRng(count);
  const jitter = (value: number) => value * (1 + rng.gaussian(0, 0.01));
  const batch: InferenceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const template = templates[i % templates.length];
    const characteristics = { ...template.characteristics };
    for (const field of IMAGE_CHARACTERISTIC_FIELDS) characteristics[field] = jitter(characteristics[field]);
    const sensorValue = template.sensorMm === null ? null : jitter(template.sensorMm);
    const prediction = jitter(template.predictionMm);
    batch.push({
      time: now - 1 - Math.floor(((count - 1 - i) / count) * WINDOW_SECONDS * 1000),
      deployment,
      client: `rover-${i % 1000}`,
      modelName: SUMMARY_MODEL,
      modelVersion: 1,
      prediction,
      sensorValue,
      error: sensorValue === null ? null : Math.abs(prediction - sensorValue),
      latencyMs: 5,
      imageKey: `bench/${runId}/${deployment}/${i}.jpg`,
      characteristics,
    });
    if (batch.length === INSERT_BATCH) yield batch.splice(0);
  }
  if (batch.length) yield batch;
}

/** DriftSummaries with the profile served from memory (no registry or object store in the way), rows kept for copying. */
function summaryWriters(profile: ReferenceProfile, store: MeasurementStore, count: number) {
  const bytes = Buffer.from(JSON.stringify(profile));
  const reference = { key: 'bench/profile.json', sha256: sha256(bytes) };
  const written: DriftSummaryRow[] = [];
  const measurements = {
    writeDriftSummaries: async (rows: DriftSummaryRow[]) => {
      written.push(...rows);
      await store.writeDriftSummaries(rows);
    },
  };
  const writers = Array.from(
    { length: count },
    (_, i) =>
      new DriftSummaries({
        registry: { getModelVersion: async () => ({ referenceProfile: reference }) as ModelVersion },
        objects: { get: async () => bytes } as unknown as ObjectStore,
        measurements,
        flushIntervalMs: 3_600_000,
        writer: `bench-api-${i}`,
        log: { warn: (obj, msg) => console.warn(msg, obj) },
      }),
  );
  return { writers, written };
}

async function fillWithSummaries(
  store: MeasurementStore,
  sqliteFile: string | undefined,
  plan: { frames: number; deployment: string; runId: string; now: number; writers: number },
  templates: TemplateFrame[],
  profile: ReferenceProfile,
) {
  const { writers, written } = summaryWriters(profile, store, plan.writers);
  const db = sqliteFile ? new Database(sqliteFile) : undefined;
  const insertBatch = db ? sqliteInserter(db) : undefined;
  let countMs = 0;
  const started = performance.now();
  try {
    let b = 0;
    for (const batch of windowRecords(plan.frames, plan.deployment, plan.runId, plan.now, templates)) {
      if (insertBatch) insertBatch(batch);
      else await store.write(batch);
      const t0 = performance.now();
      // The frames of a batch go to the APIs in turn, as a load balancer spreads them.
      await writers[b++ % writers.length].add(batch);
      countMs += performance.now() - t0;
    }
    for (const writer of writers) await writer.close();
  } finally {
    db?.close();
  }
  return { fillSeconds: (performance.now() - started) / 1000, countMicros: (countMs * 1000) / plan.frames, written };
}

function sqliteInserter(db: Database.Database) {
  const columns = [
    'time',
    'deployment',
    'client',
    'model_name',
    'model_version',
    'prediction',
    'sensor_value',
    'error',
    'latency_ms',
    'image_key',
    ...IMAGE_CHARACTERISTIC_FIELDS,
  ];
  const insert = db.prepare(`INSERT INTO inference (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
  return db.transaction((batch: InferenceRecord[]) => {
    for (const r of batch) insert.run(inferenceRowOf(r));
  });
}

async function measureBeforeAfter(
  store: MeasurementStore,
  deployment: string,
  now: number,
  profile: ReferenceProfile,
  windowFrames: number,
  repetitions: number,
  raw: boolean,
) {
  const config = { ...DEFAULT_MONITOR_CONFIG, windowMaxFrames: windowFrames };
  const query = {
    deployment,
    modelName: SUMMARY_MODEL,
    modelVersion: 1,
    since: now - config.windowMinutes * 60_000,
    maxFrames: windowFrames,
  };
  const before = { readMs: [] as number[], checkMs: [] as number[], verdict: '', frames: 0 };
  const after = { readMs: [] as number[], checkMs: [] as number[], verdict: '', frames: 0 };
  for (let r = 0; r < repetitions; r++) {
    let t0 = performance.now();
    const summary = await summaryWindow(store, profile, query);
    let t1 = performance.now();
    const summaryReport = checkDriftOfSummary(profile, summary, config);
    after.checkMs.push(performance.now() - t1);
    after.readMs.push(t1 - t0);
    [after.verdict, after.frames] = [summaryReport.verdict, summaryReport.windowFrames];
    if (!raw) continue;
    t0 = performance.now();
    const window = await store.driftWindow(query);
    t1 = performance.now();
    const rawReport = checkDrift(profile, window, config);
    before.checkMs.push(performance.now() - t1);
    before.readMs.push(t1 - t0);
    [before.verdict, before.frames] = [rawReport.verdict, rawReport.windowFrames];
  }
  return { before, after };
}

/** The first window's summary rows copied to `count` deployments, each then checked once on summaries. */
async function measureFleet(
  store: MeasurementStore,
  rows: DriftSummaryRow[],
  prefix: string,
  count: number,
  now: number,
  profile: ReferenceProfile,
) {
  const config = DEFAULT_MONITOR_CONFIG;
  const names = Array.from({ length: count }, (_, i) => `${prefix}-fleet-${i}`);
  for (let i = 0; i < count; i += 20)
    await store.writeDriftSummaries(names.slice(i, i + 20).flatMap((deployment) => rows.map((r) => ({ ...r, deployment }))));
  const started = performance.now();
  for (const deployment of names) {
    const summary = await summaryWindow(store, profile, {
      deployment,
      modelName: SUMMARY_MODEL,
      modelVersion: 1,
      since: now - config.windowMinutes * 60_000,
      maxFrames: config.windowMaxFrames,
    });
    checkDriftOfSummary(profile, summary, config);
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, perCheckMs: (seconds * 1000) / count };
}

export async function benchmarkSummaryCost(
  plan: SummaryCostPlan,
  log: (line: string) => void,
): Promise<{ windows: SummaryCost[]; fleet: FleetCost[] }> {
  const { templates, profile } = simulatedTemplates();
  const windows: SummaryCost[] = [];
  const fleet: FleetCost[] = [];
  const runId = `${process.pid}-${Date.now()}`;
  const stores: {
    name: CheckCost['store'];
    open: () => Promise<{ store: MeasurementStore; file?: string; done: (now: number) => Promise<void> }>;
  }[] = [
    {
      name: 'SQLite (embedded)',
      open: async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-summary-'));
        const file = path.join(dir, 'measurements.sqlite');
        const store = await SqlMeasurements.open(`sqlite:${file}`);
        return { store, file, done: async () => fs.rmSync(dir, { recursive: true, force: true }) };
      },
    },
  ];
  if (plan.influxUrl) {
    const url = plan.influxUrl;
    stores.push({
      name: 'InfluxDB (production)',
      open: async () => ({
        store: await InfluxMeasurements.open(url),
        done: async (now) => {
          for (const measurement of ['inference', 'drift_summary'])
            await deleteInfluxPoints(url, { start: now - 3600_000, stop: now + 60_000 }, `model="${SUMMARY_MODEL}"`, measurement);
        },
      }),
    });
  }
  for (const { name, open } of stores.filter((s) => plan.stores.some((wanted) => s.name.toLowerCase().startsWith(wanted)))) {
    for (const [w, frames] of plan.windows.entries()) {
      const { store, file, done } = await open();
      const now = Date.now();
      const deployment = `bench-summary-${runId}-${frames}`;
      try {
        log(`drift summaries: ${name}: writing ${frames} frames and counting them (${plan.writers} writers)`);
        const filled = await fillWithSummaries(store, file, { frames, deployment, runId, now, writers: plan.writers }, templates, profile);
        // A row is rewritten at each flush: the last one written of each minute and writer is what the store holds.
        const rows = [...new Map(filled.written.map((r) => [`${r.minute}/${r.writer}`, r])).values()];
        log(`drift summaries: ${name}: ${frames} frames in ${filled.fillSeconds.toFixed(1)} s, ${rows.length} summary rows; checking`);
        const measured = await measureBeforeAfter(store, deployment, now, profile, frames, plan.repetitions, frames <= plan.rawMaxFrames);
        const row: SummaryCost = {
          store: name,
          windowFrames: frames,
          fillSeconds: filled.fillSeconds,
          countMicros: filled.countMicros,
          rows: rows.length,
          rowBytes: rows.reduce((n, r) => n + r.summary.length, 0),
          ...measured,
        };
        windows.push(row);
        log(`drift summaries: measured ${JSON.stringify(row)}`);
        if (w === 0 && plan.deployments > 0) {
          log(`drift summaries: ${name}: ${plan.deployments} deployments checked once`);
          const found = await measureFleet(store, rows, deployment, plan.deployments, now, profile);
          fleet.push({ store: name, deployments: plan.deployments, windowFrames: frames, ...found });
          log(`drift summaries: measured ${JSON.stringify(fleet[fleet.length - 1])}`);
        }
      } finally {
        await store.close();
        await done(now);
      }
    }
  }
  return { windows, fleet };
}

const medianOf = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (values: number[]) => (values.length ? `${Math.round(values[0])} / ${Math.round(medianOf(values))} ms` : 'not measured');

export function summaryCostTables(result: { windows: SummaryCost[]; fleet: FleetCost[] }) {
  const windows = markdownTable(
    [
      'store',
      'window',
      'summary rows (text)',
      'counting at ingest',
      'before: read (cold / median)',
      'before: check',
      'after: read + merge (cold / median)',
      'after: check',
      'before / after (median total)',
      'verdicts',
    ],
    result.windows.map((c) => {
      const beforeTotal = medianOf(c.before.readMs.map((r, i) => r + c.before.checkMs[i]));
      const afterTotal = medianOf(c.after.readMs.map((r, i) => r + c.after.checkMs[i]));
      return [
        c.store,
        c.windowFrames.toLocaleString('en-US'),
        `${c.rows} (${(c.rowBytes / 1024).toFixed(0)} KiB)`,
        `${c.countMicros.toFixed(1)} µs/frame`,
        ms(c.before.readMs),
        c.before.checkMs.length ? `${Math.round(medianOf(c.before.checkMs))} ms` : '-',
        ms(c.after.readMs),
        `${Math.round(medianOf(c.after.checkMs))} ms`,
        c.before.readMs.length
          ? `${Math.round(beforeTotal)} / ${Math.round(afterTotal)} ms (x${(beforeTotal / afterTotal).toFixed(0)})`
          : `- / ${Math.round(afterTotal)} ms`,
        `${c.before.verdict || '-'} (${c.before.frames.toLocaleString('en-US')}) / ${c.after.verdict} (${c.after.frames.toLocaleString('en-US')})`,
      ];
    }),
  );
  const fleet = markdownTable(
    [
      'store',
      'deployments checked once',
      'window each',
      'after: all checks',
      'after: per check',
      'before (raw, from the window row above)',
    ],
    result.fleet.map((f) => {
      const raw = result.windows.find((c) => c.store === f.store && c.windowFrames === f.windowFrames)!;
      const perRaw = medianOf(raw.before.readMs.map((r, i) => r + raw.before.checkMs[i]));
      return [
        f.store,
        f.deployments.toLocaleString('en-US'),
        f.windowFrames.toLocaleString('en-US'),
        duration(f.seconds),
        `${f.perCheckMs.toFixed(1)} ms`,
        `about ${duration((perRaw * f.deployments) / 1000)} (${f.deployments} x ${Math.round(perRaw)} ms, extrapolated)`,
      ];
    }),
  );
  return { windows, fleet };
}

/** `npx tsx bench/driftCheckCost.ts`: BENCH_SUMMARY_WINDOWS (38400,1000000), BENCH_SUMMARY_REPETITIONS (3), BENCH_SUMMARY_DEPLOYMENTS (1000), BENCH_SUMMARY_WRITERS (2); InfluxDB too with PRODUCTION_MEASUREMENTS_URL. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const env = process.env;
  const plan: SummaryCostPlan = {
    windows: (env.BENCH_SUMMARY_WINDOWS ?? '38400,1000000').split(',').map(Number),
    repetitions: Number(env.BENCH_SUMMARY_REPETITIONS ?? 3),
    deployments: Number(env.BENCH_SUMMARY_DEPLOYMENTS ?? 1000),
    writers: Number(env.BENCH_SUMMARY_WRITERS ?? 2),
    stores: (env.BENCH_SUMMARY_STORES ?? 'sqlite,influxdb').split(','),
    rawMaxFrames: Number(env.BENCH_SUMMARY_RAW_MAX ?? Infinity),
    influxUrl: env.PRODUCTION_MEASUREMENTS_URL,
  };
  const result = await benchmarkSummaryCost(plan, (line) => console.error(`[${new Date().toISOString()}] ${line}`));
  const tables = summaryCostTables(result);
  console.log(JSON.stringify(result));
  console.log(`\n${tables.windows}\n\n${tables.fleet}\n`);
}
