import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assembleDataset } from '../../activities/assembleDataset.js';
import { describeDataset, preprocess, type PreprocessInput } from '../../activities/preprocess.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import type { ActivityContext } from '../../activities/context.js';
import {
  DATASET_FORMAT,
  labelsToBuffer,
  readSplit,
  readSplits,
  seededPermutation,
  splitFromBuffers,
  type DatasetManifest,
  type DatasetManifestV2,
} from '../../core/ml/dataset.js';
import { readRecordRows } from '../../core/ml/datasetRecords.js';
import { PREPROCESSING_VERSION } from '../../core/ml/imagePixels.js';
import { PreprocessedFrames } from '../../core/ml/preprocessedFrames.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';

const zeros = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;

describe('seeded permutation', () => {
  it('is a deterministic permutation per seed', () => {
    const a = seededPermutation(100, 7);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(seededPermutation(100, 7)).toEqual(a);
    expect(seededPermutation(100, 8)).not.toEqual(a);
  });
});

describe('dataset splits', () => {
  it('reject pixel and label files that do not agree', () => {
    expect(() => splitFromBuffers(Buffer.alloc(10), Buffer.alloc(8), 6)).toThrow(/inconsistent/);
  });
});

describe('assembleDataset + preprocess activities', () => {
  let t: TempStores;
  const env = new MockActivityEnvironment();
  const run = <A, R>(activity: (input: A) => Promise<R>, input: A) => env.run(activity, input) as Promise<R>;
  const labels = [0, 40, 120, 250, 349, 420, 80, 160, 200, 300];

  beforeEach(async () => {
    t = await openTempStores();
    const records = [];
    for (const [i, mm] of labels.entries()) {
      // Each frame's colour encodes its label, so the test can check pixels and labels stayed paired.
      const grey = i * 20;
      const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: grey, g: grey, b: grey } } })
        .jpeg({ quality: 100 })
        .toBuffer();
      const imageKey = `features/d1/${i}.jpg`;
      await t.stores.objects.put(imageKey, jpeg);
      records.push({
        time: 1000 + i,
        deployment: 'd1',
        client: 'c',
        modelName: null,
        modelVersion: null,
        prediction: null,
        sensorValue: mm,
        error: null,
        latencyMs: 1,
        imageKey,
        characteristics: zeros,
      });
    }
    records.push({ ...records[0], time: 2000, sensorValue: null, imageKey: 'features/d1/unlabelled.jpg' });
    records.push({ ...records[0], time: 2001, sensorValue: 10, imageKey: 'features/d1/missing.jpg' });
    await t.stores.measurements.write(records);
  });
  afterEach(async () => t.cleanup());

  it('skips unlabelled records and missing images, clips labels, splits with the seed and keeps pixels with their labels', async () => {
    const ctx = { stores: t.stores, objectsUrl: t.urls.objectsUrl, mlBackend: 'cpu' as const };
    const assembled = await run(assembleDataset(ctx), { workflowId: 'wf', runId: 'r1', deployments: ['d1'] });
    expect(assembled.recordCount).toBe(11);
    expect(assembled.perDeployment).toEqual({ d1: 11 });

    const input = { workflowId: 'wf', runId: 'r1', ...assembled, width: 8, height: 6, labelMaxMm: 350, testFraction: 0.2, seed: 3 };
    const result = await run(preprocess(ctx), input);
    expect(result).toMatchObject({ trainCount: 7, testCount: 3, skipped: { image_missing: 1 }, recordCount: 11, deployments: ['d1'] });

    const manifest = JSON.parse((await t.stores.objects.get(result.manifestKey)).toString()) as DatasetManifestV2;
    const frameBytes = 8 * 6 * 3;
    const train = await readSplit(t.stores.objects, manifest, 'train');
    const test = await readSplit(t.stores.objects, manifest, 'test');
    const all = [...train.labelsMm, ...test.labelsMm].sort((a, b) => a - b);
    expect(all).toEqual([0, 40, 80, 120, 160, 200, 250, 300, 349, 350]);
    for (const split of [train, test]) {
      for (let i = 0; i < split.count; i++) {
        const grey = split.pixels[i * frameBytes];
        const original = labels.findIndex((mm, k) => Math.abs(k * 20 - grey) <= 2);
        expect(Math.min(labels[original], 350)).toBe(split.labelsMm[i]);
      }
    }

    // Both splits at once: the same frames, and a pack holding frames of both is fetched once.
    const fetched: string[] = [];
    const counting = {
      ...t.stores.objects,
      get: (key: string) => (fetched.push(key), t.stores.objects.get(key)),
    } as typeof t.stores.objects;
    const both = await readSplits(counting, manifest, ['train', 'test']);
    expect(both.train).toEqual(train);
    expect(both.test).toEqual(test);
    const packKeys = [...new Set([...manifest.train.packs, ...manifest.test.packs].map((p) => p.key))];
    expect(fetched.filter((key) => packKeys.includes(key)).sort()).toEqual(packKeys.sort());

    const again = await run(preprocess(ctx), { ...input, runId: 'r2' });
    const manifest2 = JSON.parse((await t.stores.objects.get(again.manifestKey)).toString()) as DatasetManifestV2;
    expect(manifest2.test.labelsSha256).toBe(manifest.test.labelsSha256);
    expect(manifest2.train.packs).toEqual(manifest.train.packs);

    const described = await run(describeDataset(ctx), { manifestKey: result.manifestKey });
    expect(described).toMatchObject({ manifestSha256: result.manifestSha256, width: 8, height: 6, trainCount: 7 });
  });

  it('fails clearly when the deployments have no labelled records', async () => {
    const ctx = { stores: t.stores, objectsUrl: t.urls.objectsUrl, mlBackend: 'cpu' as const };
    await expect(run(assembleDataset(ctx), { workflowId: 'wf', runId: 'r', deployments: ['nothing-here'] })).rejects.toThrow(
      /no labelled records/,
    );
  });
});

describe('incremental preprocessing', () => {
  let t: TempStores;
  const env = new MockActivityEnvironment();
  const run = <A, R>(activity: (input: A) => Promise<R>, input: A) => env.run(activity, input) as Promise<R>;
  /** Image fetches, to count the frames a run decodes independently of its own counters. */
  let imageGets: number;
  let ctx: ActivityContext;
  const size = { width: 8, height: 6, labelMaxMm: 350, testFraction: 0.2, seed: 3 };

  const grey = (i: number) => (i * 7) % 250;
  async function addFrames(from: number, n: number) {
    const records = [];
    for (let i = from; i < from + n; i++) {
      const jpeg = await sharp({ create: { width: 16, height: 12, channels: 3, background: { r: grey(i), g: grey(i), b: grey(i) } } })
        .jpeg({ quality: 100 })
        .toBuffer();
      const imageKey = `features/d1/${i}.jpg`;
      await t.stores.objects.put(imageKey, jpeg);
      records.push({ ...recordAt(i), imageKey, sensorValue: grey(i) });
    }
    await t.stores.measurements.write(records);
  }
  const recordAt = (i: number) => ({
    time: 10_000 + i * 1000,
    deployment: 'd1',
    client: 'c',
    modelName: null,
    modelVersion: null,
    prediction: null,
    error: null,
    latencyMs: 1,
    characteristics: zeros,
  });
  async function retrain(runId: string, extra: Partial<PreprocessInput> = {}) {
    const assembled = await run(assembleDataset(ctx), { workflowId: 'wf', runId, deployments: ['d1'] });
    const result = await run(preprocess(ctx), { workflowId: 'wf', runId, ...assembled, ...size, ...extra });
    const manifest = JSON.parse((await t.stores.objects.get(result.manifestKey)).toString()) as DatasetManifestV2;
    const keysOf = async (which: 'train' | 'test') =>
      JSON.parse((await t.stores.objects.get(manifest[which].imageKeysKey)).toString()) as string[];
    return { assembled, result, manifest, train: await keysOf('train'), test: await keysOf('test') };
  }
  /** Every split frame's pixels carry its label (grey level = label), so a wrong or shifted frame shows. */
  async function expectFramesMatchLabels(manifest: DatasetManifestV2) {
    for (const which of ['train', 'test'] as const) {
      const split = await readSplit(t.stores.objects, manifest, which);
      for (let i = 0; i < split.count; i++) expect(Math.abs(split.pixels[i * 8 * 6 * 3] - split.labelsMm[i])).toBeLessThanOrEqual(2);
    }
  }

  beforeEach(async () => {
    t = await openTempStores();
    imageGets = 0;
    const objects = t.stores.objects;
    const counted = Object.create(objects) as typeof objects;
    counted.get = (key: string) => {
      if (key.startsWith('features/')) imageGets++;
      return objects.get(key);
    };
    ctx = { stores: { ...t.stores, objects: counted }, objectsUrl: t.urls.objectsUrl, mlBackend: 'cpu' as const };
    await addFrames(0, 50);
  });
  afterEach(async () => t.cleanup());

  it('decodes only the new frames of a retrain, queries only the new records, and keeps every frame in its split', async () => {
    const first = await retrain('r1');
    expect(first.result.frames).toEqual({ selected: 50, cached: 0, decoded: 50, recomputed: {} });
    expect(imageGets).toBe(50);
    await expectFramesMatchLabels(first.manifest);

    await addFrames(50, 5);
    imageGets = 0;
    const second = await retrain('r2');
    expect(second.assembled).toMatchObject({ recordCount: 55, newRecords: 5 });
    expect(second.result.frames).toEqual({ selected: 55, cached: 50, decoded: 5, recomputed: {} });
    expect(imageGets).toBe(5);
    expect(second.result.trainCount + second.result.testCount).toBe(55);
    expect(first.test.every((k) => second.test.includes(k))).toBe(true);
    expect(first.train.every((k) => second.train.includes(k))).toBe(true);
    await expectFramesMatchLabels(second.manifest);
  });

  it('keeps the records characteristics apart, for the reference profile only', async () => {
    const { assembled } = await retrain('r1');
    const withThem = await readRecordRows(t.stores.objects, assembled.datasetKey, { characteristics: true });
    expect(withThem.rows).toHaveLength(50);
    expect(withThem.rows.every((r) => JSON.stringify(r.characteristics) === JSON.stringify(zeros))).toBe(true);
    const without = await readRecordRows(t.stores.objects, assembled.datasetKey);
    expect(without.rows.map((r) => r.characteristics)).toEqual(Array(50).fill({}));
    expect(without.bytesRead).toBeLessThan(withThem.bytesRead / 2);
  });

  it('decodes again, and counts, the frames of a corrupt pack; the dataset never holds its bytes', async () => {
    const first = await retrain('r1');
    const packKey = first.manifest.train.packs[0].key;
    const bytes = await t.stores.objects.get(packKey);
    bytes[0] ^= 0xff;
    await t.stores.objects.put(packKey, bytes);
    imageGets = 0;
    const second = await retrain('r2');
    expect(second.result.frames).toMatchObject({ cached: 0, decoded: 50, recomputed: { pack_corrupt: 50 } });
    expect(imageGets).toBe(50);
    // The frames decoded again make the same pack again: content-addressed, it replaces the corrupt bytes.
    await expectFramesMatchLabels(second.manifest);
    // The corrupt pack left the index: the next retrain finds the frames in the new pack.
    expect((await retrain('r3')).result.frames).toMatchObject({ cached: 50, decoded: 0 });
    // A trial reading a pack that went bad afterwards refuses it.
    await t.stores.objects.put(second.manifest.test.packs[0].key, bytes);
    await expect(readSplit(t.stores.objects, second.manifest, 'test')).rejects.toThrow(/does not match its sha256/);
  });

  it('skips and counts a frame whose image is missing, cached or not', async () => {
    await t.stores.objects.delete('features/d1/3.jpg');
    const first = await retrain('r1');
    expect(first.result.skipped).toEqual({ image_missing: 1 });
    expect(first.result.frames).toMatchObject({ selected: 50, decoded: 49 });
    expect([...first.train, ...first.test]).not.toContain('features/d1/3.jpg');
    const second = await retrain('r2');
    expect(second.result.skipped).toEqual({ image_missing: 1 });
    expect(second.result.frames).toMatchObject({ cached: 49, decoded: 0 });
  });

  it('keeps what the dataset policy selects, from the cache', async () => {
    await retrain('r1');
    imageGets = 0;
    const last = await retrain('r2', { datasetPolicy: { kind: 'last', perDeployment: 10 } });
    expect(last.result.frames).toEqual({ selected: 10, cached: 10, decoded: 0, recomputed: {} });
    expect([...last.train, ...last.test].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `features/d1/${40 + i}.jpg`).sort());
    expect(last.manifest.policy).toEqual({ kind: 'last', perDeployment: 10 });
    expect(imageGets).toBe(0);
  });

  it('starts the records over from the measurement store when a stored segment is corrupt or gone', async () => {
    const first = await retrain('r1');
    const list = JSON.parse((await t.stores.objects.get(first.assembled.datasetKey)).toString()) as { segments: { key: string }[] };
    const segment = list.segments[0].key;
    await t.stores.objects.put(segment, Buffer.from('[]'));
    const assembled = await run(assembleDataset(ctx), { workflowId: 'wf', runId: 'r2', deployments: ['d1'] });
    expect(assembled.newRecords).toBe(0);
    await expect(run(preprocess(ctx), { workflowId: 'wf', runId: 'r2', ...assembled, ...size })).rejects.toThrow(
      /does not match its sha256/,
    );
    const again = await retrain('r3');
    expect(again.assembled).toMatchObject({ recordCount: 50, newRecords: 50 });
    expect(again.result.frames).toMatchObject({ cached: 50, decoded: 0 });

    await t.stores.objects.delete(JSON.parse((await t.stores.objects.get(again.assembled.datasetKey)).toString()).segments[0].key);
    expect((await retrain('r4')).assembled).toMatchObject({ recordCount: 50, newRecords: 50 });
  });

  it('finds nothing of another preprocessing version, and deletes nothing of it', async () => {
    const first = await retrain('r1');
    const current = new PreprocessedFrames(t.stores.objects, { width: 8, height: 6 }, PREPROCESSING_VERSION);
    const bumped = new PreprocessedFrames(t.stores.objects, { width: 8, height: 6 }, PREPROCESSING_VERSION + 1);
    expect((await current.locate(await current.packs())).locations.size).toBe(50);
    expect(await bumped.packs()).toEqual([]);
    await bumped.addToIndex([await bumped.writePack([{ imageKey: 'features/d1/0.jpg', pixels: new Uint8Array(8 * 6 * 3) }])]);
    expect((await current.locate(await current.packs())).locations.size).toBe(50);
    expect(await t.stores.objects.exists(first.manifest.train.packs[0].key)).toBe(true);
  });
});

describe('the preprocessing cache', () => {
  it('keeps packs of different frames apart when their pixels are the same', async () => {
    const t = await openTempStores();
    const cache = new PreprocessedFrames(t.stores.objects, { width: 2, height: 2 }, PREPROCESSING_VERSION);
    const dark = new Uint8Array(12);
    const a = await cache.writePack([{ imageKey: 'features/d/a.jpg', pixels: dark }]);
    const b = await cache.writePack([{ imageKey: 'features/d/b.jpg', pixels: dark }]);
    await cache.addToIndex([a, b]);
    const { locations, unreadable } = await cache.locate(await cache.packs());
    expect(unreadable).toEqual([]);
    expect([...locations.keys()].sort()).toEqual(['features/d/a.jpg', 'features/d/b.jpg']);
    await t.cleanup();
  });
});

describe('a v1 dataset (runs before the preprocessing cache)', () => {
  it('still reads its splits', async () => {
    const t = await openTempStores();
    const pixels = Buffer.from(Uint8Array.from({ length: 2 * 12 }, (_, i) => i));
    const labels = labelsToBuffer(Float32Array.from([10, 20]));
    await t.stores.objects.put('runs/old/train-pixels.u8', pixels);
    await t.stores.objects.put('runs/old/train-labels.f32', labels);
    const files = {
      count: 2,
      pixelsKey: 'runs/old/train-pixels.u8',
      labelsKey: 'runs/old/train-labels.f32',
      pixelsSha256: '',
      labelsSha256: '',
    };
    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      width: 2,
      height: 2,
      channels: 3,
      labelMaxMm: 350,
      seed: 1,
      testFraction: 0.5,
      train: files,
      test: files,
      source: { datasetKey: 'runs/old/records.json', datasetSha256: '', deployments: ['d'], recordCount: 2 },
    };
    const split = await readSplit(t.stores.objects, manifest, 'test');
    expect(Array.from(split.labelsMm)).toEqual([10, 20]);
    expect(Buffer.from(split.pixels)).toEqual(pixels);
    await t.cleanup();
  });
});
