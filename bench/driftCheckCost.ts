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
import { checkDrift } from '../core/drift/driftCheck.js';
import { DEFAULT_MONITOR_CONFIG } from '../core/drift/monitorConfig.js';
import type { ReferenceProfile } from '../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../core/features/fields.js';
import { createRng } from '../core/random.js';
import { InfluxMeasurements } from '../core/stores/influx/influxMeasurements.js';
import { deleteInfluxPoints } from './influxCleanup.js';
import type { InferenceRecord, MeasurementStore } from '../core/stores/measurements.js';
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
    const insertBatch = db.transaction((batch: InferenceRecord[]) => {
      for (const r of batch) insert.run(inferenceRowOf(r));
    });
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
