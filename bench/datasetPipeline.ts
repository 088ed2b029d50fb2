/**
 * What a retrain's data steps cost as the measurement store grows: assembleDataset and preprocess, run as activities
 * on synthetic labelled records and small JPEGs, for a first retrain (empty preprocessing cache, no earlier records
 * list) and a second one after 10 % more records arrived. Embedded (SQLite + folder) and, with the production URLs,
 * InfluxDB + S3. Above `allUpTo` records the dataset keeps a reservoir sample per deployment, and only the frames the
 * policy selects in either retrain get a JPEG (storing a million JPEGs would measure the disk, not the pipeline).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { assembleDataset, type AssembleDatasetResult } from '../activities/assembleDataset.js';
import type { ActivityContext } from '../activities/context.js';
import { preprocess, type PreprocessResult } from '../activities/preprocess.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../core/features/fields.js';
import { selectRows, type DatasetPolicy } from '../core/ml/datasetPolicy.js';
import { mapLimit } from '../core/mapLimit.js';
import { openMeasurements, openObjects, type Stores } from '../core/stores/index.js';
import type { InferenceRecord, MeasurementStore } from '../core/stores/measurements.js';
import type { ObjectStore } from '../core/stores/objects.js';
import { deleteInfluxPoints } from './influxCleanup.js';
import { duration, markdownTable } from './markdownTable.js';

export interface DatasetPipelinePlan {
  /** Records in the measurement store at the second retrain; the first sees 1 - newFraction of them. */
  records: number[];
  newFraction: number;
  /** Up to this many records the dataset keeps all of them; above, a reservoir of `sample` records in all. */
  allUpTo: number;
  sample: number;
  deployments: number;
  input: { width: number; height: number };
  embedded: boolean;
  production?: { measurementsUrl: string; objectsUrl: string };
}

export interface PipelineRun {
  store: string;
  records: number;
  policy: string;
  retrain: 'first' | 'second';
  newRecords: number;
  assembleSeconds: number;
  preprocessSeconds: number;
  selected: number;
  decoded: number;
  cached: number;
  bytesRead: number;
  bytesWritten: number;
}

const zeros = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;
const JPEG_POOL = 32;
const WRITE_BATCH = 5000;

/** 160x120 JPEGs of a gradient with noise (the edge simulator's frame size); records cycle through them. */
async function jpegPool(): Promise<Buffer[]> {
  const pool: Buffer[] = [];
  for (let i = 0; i < JPEG_POOL; i++) {
    const raw = Buffer.alloc(160 * 120 * 3);
    let s = i * 2654435761;
    for (let p = 0; p < raw.length; p++) {
      s = (s * 1103515245 + 12345) >>> 0;
      raw[p] = (i * 7 + ((p % 480) >>> 2) + (s >>> 26)) & 0xff;
    }
    pool.push(
      await sharp(raw, { raw: { width: 160, height: 120, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer(),
    );
  }
  return pool;
}

function recordsOf(tag: string, from: number, count: number, deployments: number, t0: number): InferenceRecord[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const deployment = `${tag}-d${i % deployments}`;
    return {
      time: t0 + i * 100,
      deployment,
      client: `bench-${tag}`,
      modelName: null,
      modelVersion: null,
      prediction: null,
      sensorValue: (i * 37) % 350,
      error: null,
      latencyMs: 1,
      imageKey: `features/${deployment}/${i}.jpg`,
      characteristics: zeros,
    };
  });
}

interface Target {
  store: string;
  measurements: MeasurementStore;
  objects: ObjectStore;
  objectsUrl: string;
  cleanup(tag: string, t0: number): Promise<void>;
}

async function embeddedTarget(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-dataset-'));
  const objectsUrl = `file:${path.join(dir, 'objects')}`;
  const measurements = await openMeasurements(`sqlite:${path.join(dir, 'measurements.db')}`);
  const objects = await openObjects(objectsUrl);
  return {
    store: 'embedded (SQLite + folder)',
    measurements,
    objects,
    objectsUrl,
    async cleanup() {
      await measurements.close();
      await objects.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function productionTarget(urls: { measurementsUrl: string; objectsUrl: string }): Promise<Target> {
  // A bucket of the benchmark's own: the preprocessing cache's index is per bucket, and the bucket is emptied afterwards.
  const objectsUrl = urls.objectsUrl.replace(/\/[^/?]+(\?|$)/, '/mlops-bench-dataset$1');
  const measurements = await openMeasurements(urls.measurementsUrl);
  const objects = await openObjects(objectsUrl);
  return {
    store: 'production (InfluxDB + S3)',
    measurements,
    objects,
    objectsUrl,
    async cleanup(tag, t0) {
      await deleteInfluxPoints(urls.measurementsUrl, { start: t0 - 60_000, stop: Date.now() + 60_000 }, `client="bench-${tag}"`);
      const keys = await objects.list('');
      await mapLimit(keys, 32, (key) => objects.delete(key));
      await measurements.close();
      await objects.close();
    },
  };
}

export async function benchmarkDatasetPipeline(plan: DatasetPipelinePlan, log: (line: string) => void): Promise<PipelineRun[]> {
  const pool = await jpegPool();
  const runs: PipelineRun[] = [];
  const targets = [
    ...(plan.embedded ? [() => embeddedTarget()] : []),
    ...(plan.production ? [() => productionTarget(plan.production!)] : []),
  ];
  for (const open of targets) {
    for (const total of plan.records) {
      const target = await open();
      const tag = `bds${Date.now().toString(36)}`;
      const t0 = Date.now() - total * 100 - 3600_000;
      try {
        runs.push(...(await measureSize(plan, target, pool, total, tag, t0, log)));
      } finally {
        log(`dataset pipeline: cleaning up ${target.store}`);
        await target.cleanup(tag, t0);
      }
    }
  }
  return runs;
}

async function measureSize(
  plan: DatasetPipelinePlan,
  target: Target,
  pool: Buffer[],
  total: number,
  tag: string,
  t0: number,
  log: (line: string) => void,
): Promise<PipelineRun[]> {
  const firstCount = Math.round(total * (1 - plan.newFraction));
  const all = recordsOf(tag, 0, total, plan.deployments, t0);
  const deployments = Array.from({ length: plan.deployments }, (_, d) => `${tag}-d${d}`);
  const policy: DatasetPolicy =
    total <= plan.allUpTo ? { kind: 'all' } : { kind: 'reservoir', perDeployment: Math.ceil(plan.sample / plan.deployments), seed: 1 };
  const asRows = (records: InferenceRecord[]) =>
    records.map((r) => ({
      time: r.time,
      deployment: r.deployment,
      imageKey: r.imageKey,
      sensorValue: r.sensorValue!,
      characteristics: {},
    }));
  const needsImage = new Set(
    [...selectRows(asRows(all.slice(0, firstCount)), policy), ...selectRows(asRows(all), policy)].map((r) => r.imageKey),
  );
  const stores = { measurements: target.measurements, objects: target.objects } as Stores;
  const ctx: ActivityContext = { stores, objectsUrl: target.objectsUrl, mlBackend: 'cpu' };
  const env = new MockActivityEnvironment();
  const write = async (records: InferenceRecord[]) => {
    const started = performance.now();
    for (let i = 0; i < records.length; i += WRITE_BATCH) await target.measurements.write(records.slice(i, i + WRITE_BATCH));
    const images = records.filter((r) => needsImage.has(r.imageKey));
    await mapLimit(images, 16, (r, i) => target.objects.put(r.imageKey, pool[i % pool.length], 'image/jpeg'));
    log(
      `dataset pipeline: ${target.store}: wrote ${records.length} records, ${images.length} JPEGs (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  };
  const retrain = async (retrain: 'first' | 'second'): Promise<PipelineRun> => {
    const runId = `${tag}-${retrain}`;
    const a0 = performance.now();
    const assembled = (await env.run(assembleDataset(ctx), { workflowId: 'bench', runId, deployments })) as AssembleDatasetResult;
    const a1 = performance.now();
    const input = {
      workflowId: 'bench',
      runId,
      ...assembled,
      ...plan.input,
      labelMaxMm: 350,
      testFraction: 0.2,
      seed: 1,
      datasetPolicy: policy,
    };
    const result = (await env.run(preprocess(ctx), input)) as PreprocessResult;
    const a2 = performance.now();
    const run: PipelineRun = {
      store: target.store,
      records: assembled.recordCount,
      policy: policy.kind === 'all' ? 'all' : `reservoir ${policy.perDeployment}/deployment`,
      retrain,
      newRecords: assembled.newRecords ?? assembled.recordCount,
      assembleSeconds: (a1 - a0) / 1000,
      preprocessSeconds: (a2 - a1) / 1000,
      selected: result.frames?.selected ?? 0,
      decoded: result.frames?.decoded ?? 0,
      cached: result.frames?.cached ?? 0,
      bytesRead: result.bytes?.read ?? 0,
      bytesWritten: result.bytes?.written ?? 0,
    };
    log(`dataset pipeline: ${JSON.stringify(run)}`);
    return run;
  };
  await write(all.slice(0, firstCount));
  const first = await retrain('first');
  await write(all.slice(firstCount));
  const second = await retrain('second');
  return [first, second];
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function datasetPipelineTable(runs: PipelineRun[]): string {
  return markdownTable(
    [
      'store',
      'records',
      'policy',
      'retrain',
      'new records',
      'assemble',
      'preprocess',
      'selected',
      'decoded',
      'from cache',
      'read',
      'written',
    ],
    runs.map((r) => [
      r.store,
      String(r.records),
      r.policy,
      r.retrain === 'first' ? 'first (cold cache)' : `second (${r.newRecords} new)`,
      String(r.newRecords),
      duration(r.assembleSeconds),
      duration(r.preprocessSeconds),
      String(r.selected),
      String(r.decoded),
      String(r.cached),
      mb(r.bytesRead),
      mb(r.bytesWritten),
    ]),
  );
}
