/**
 * What each store takes per second of what every frame writes, the capacity plan's store inputs (docs/CAPACITY.md):
 * the frame's record in the measurement store (SQLite embedded, InfluxDB production) in the API's record batches,
 * its JPEG in the object store (a folder, S3), and, for frames sent with an `Idempotency-Key` (every rover agent's),
 * the key's claim and settlement in the registry (SQLite, MySQL). Each against the real server of
 * scripts/services/up.sh, from one process with a fixed number of writes in flight (as replicas would keep them);
 * the numbers are what one such writer gets from one server on this machine, not the server's ceiling.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../core/features/fields.js';
import { createRng } from '../core/random.js';
import { openMeasurements, openObjects, openRegistry } from '../core/stores/index.js';
import type { InferenceRecord } from '../core/stores/measurements.js';
import { withFreshMysqlDatabase } from '../test/support/freshMysqlDatabase.js';
import { fixed } from './markdownTable.js';

export interface StoreWritePlan {
  /** Inference records per measurement store. */
  records: number;
  /** Records per write(): the API's record batch (ingest/frameAnalysis.ts RECORD_BATCH). */
  recordBatch: number;
  /** Keyed frames (claim + settle) per registry. */
  claims: number;
  /** JPEGs per object store. */
  objects: number;
  /** Writes in flight at once. */
  concurrency: number;
  urls: { registry?: string; measurements?: string; objects?: string };
}

export interface StoreWriteResult {
  store: string;
  what: string;
  items: number;
  concurrency: number;
  seconds: number;
  perSecond: number;
  /** Bytes of one item as sent (a record's line protocol is not stored as is; a JPEG is). */
  itemBytes?: number;
}

const FRAMES_DIR = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'frames');

/** Runs `count` jobs with `concurrency` in flight; resolves with the seconds it took. */
async function timed(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await job(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

function templates(): ImageCharacteristics[] {
  const byFile = JSON.parse(fs.readFileSync(path.join(FRAMES_DIR, 'characteristics.json'), 'utf8')) as Record<string, ImageCharacteristics>;
  return Object.values(byFile);
}

function jpegs(): Buffer[] {
  return fs
    .readdirSync(FRAMES_DIR)
    .filter((f) => f.endsWith('.jpg'))
    .map((f) => fs.readFileSync(path.join(FRAMES_DIR, f)));
}

function recordsOf(count: number, runId: string): InferenceRecord[] {
  const rng = createRng(count);
  const frames = templates();
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const characteristics = { ...frames[i % frames.length] };
    for (const field of IMAGE_CHARACTERISTIC_FIELDS) characteristics[field] *= 1 + rng.gaussian(0, 0.01);
    const sensorValue = 100 + rng.next() * 250;
    const prediction = sensorValue + rng.gaussian(0, 7);
    return {
      time: now - count + i,
      deployment: `bench-writes-${runId}-${i % 32}`,
      client: `rover-${i % 256}`,
      modelName: 'bench-writes',
      modelVersion: 1,
      prediction,
      sensorValue,
      error: Math.abs(prediction - sensorValue),
      latencyMs: 5 + rng.next() * 10,
      imageKey: `features/bench-writes-${runId}/${i}.jpg`,
      characteristics,
    };
  });
}

async function measurementWrites(url: string, store: string, plan: StoreWritePlan): Promise<StoreWriteResult> {
  const measurements = await openMeasurements(url);
  try {
    const records = recordsOf(plan.records, randomUUID().slice(0, 8));
    const batches = Math.ceil(records.length / plan.recordBatch);
    const seconds = await timed(batches, plan.concurrency, (b) =>
      measurements.write(records.slice(b * plan.recordBatch, (b + 1) * plan.recordBatch)),
    );
    return {
      store,
      what: `inference records, ${plan.recordBatch} a write`,
      items: records.length,
      concurrency: plan.concurrency,
      seconds,
      perSecond: records.length / seconds,
    };
  } finally {
    await measurements.close();
  }
}

async function objectWrites(url: string, store: string, plan: StoreWritePlan): Promise<StoreWriteResult> {
  const objects = await openObjects(url);
  try {
    const images = jpegs();
    const runId = randomUUID().slice(0, 8);
    const seconds = await timed(plan.objects, plan.concurrency, (i) =>
      objects.put(`features/bench-writes-${runId}/${i}.jpg`, images[i % images.length], 'image/jpeg'),
    );
    const itemBytes = images.reduce((n, b) => n + b.length, 0) / images.length;
    return {
      store,
      what: 'frame JPEGs (160x120)',
      items: plan.objects,
      concurrency: plan.concurrency,
      seconds,
      perSecond: plan.objects / seconds,
      itemBytes,
    };
  } finally {
    await objects.close();
  }
}

/** A keyed frame's registry writes, as control/idempotentFrames.ts makes them: the claim, then the settlement with the answer. */
async function claimWrites(url: string, store: string, plan: StoreWritePlan): Promise<StoreWriteResult> {
  const registry = await openRegistry(url);
  try {
    const runId = randomUUID().slice(0, 8);
    const body = { prediction: 187.4, model_name: 'bench-writes', model_version: 1, request_id: randomUUID() };
    const seconds = await timed(plan.claims, plan.concurrency, async (i) => {
      const holder = randomUUID();
      const client = `rover-${i % 256}`;
      const key = `${runId}-${i}`;
      const now = Date.now();
      await registry.claimIdempotencyKey(
        { client, key, requestId: randomUUID(), frameTime: now, fingerprint: key, holder },
        { staleBefore: now - 60_000, expiredBefore: new Date(now - 86_400_000).toISOString() },
      );
      await registry.settleIdempotencyKey(client, key, holder, { status: 200, body });
    });
    return {
      store,
      what: 'idempotency keys (claim + settle)',
      items: plan.claims,
      concurrency: plan.concurrency,
      seconds,
      perSecond: plan.claims / seconds,
    };
  } finally {
    await registry.close();
  }
}

export async function benchmarkStoreWrites(plan: StoreWritePlan, log: (line: string) => void): Promise<StoreWriteResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-writes-'));
  const results: StoreWriteResult[] = [];
  const run = async (what: string, measure: () => Promise<StoreWriteResult>) => {
    log(`store writes: ${what}`);
    const result = await measure();
    log(`store writes: ${what}: ${fixed(result.perSecond, 0)}/s`);
    results.push(result);
  };
  try {
    await run('SQLite measurements', () => measurementWrites(`sqlite:${path.join(dir, 'measurements.db')}`, 'SQLite (embedded)', plan));
    if (plan.urls.measurements) await run('InfluxDB', () => measurementWrites(plan.urls.measurements!, 'InfluxDB 2.8', plan));
    await run('folder objects', () => objectWrites(`file:${path.join(dir, 'objects')}`, 'folder (embedded)', plan));
    if (plan.urls.objects) await run('S3', () => objectWrites(plan.urls.objects!, 'S3 (Versity gateway, posix)', plan));
    await run('SQLite registry', () => claimWrites(`sqlite:${path.join(dir, 'registry.db')}`, 'SQLite (embedded)', plan));
    if (plan.urls.registry)
      await run('MySQL registry', () => withFreshMysqlDatabase(plan.urls.registry!, (url) => claimWrites(url, 'MariaDB', plan)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

export function storeWritesTable(results: StoreWriteResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.store} | ${r.what} | ${r.items.toLocaleString('en')} | ${r.concurrency} | ${fixed(r.seconds, 1)} s | ${fixed(r.perSecond, 0)} | ${r.itemBytes ? `${fixed(r.itemBytes / 1024, 1)} KiB` : ''} |`,
  );
  return [
    '| store | writes | items | in flight | time | per second | item size |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
