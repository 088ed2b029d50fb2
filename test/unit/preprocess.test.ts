import { MockActivityEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assembleDataset } from '../../activities/assembleDataset.js';
import { describeDataset, preprocess } from '../../activities/preprocess.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { seededPermutation, splitFromBuffers, type DatasetManifest } from '../../core/ml/dataset.js';
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
    expect(result).toMatchObject({ trainCount: 8, testCount: 2, skipped: { image_missing: 1 }, recordCount: 11, deployments: ['d1'] });

    const manifest = JSON.parse((await t.stores.objects.get(result.manifestKey)).toString()) as DatasetManifest;
    const frameBytes = 8 * 6 * 3;
    const train = splitFromBuffers(
      await t.stores.objects.get(manifest.train.pixelsKey),
      await t.stores.objects.get(manifest.train.labelsKey),
      frameBytes,
    );
    const test = splitFromBuffers(
      await t.stores.objects.get(manifest.test.pixelsKey),
      await t.stores.objects.get(manifest.test.labelsKey),
      frameBytes,
    );
    const all = [...train.labelsMm, ...test.labelsMm].sort((a, b) => a - b);
    expect(all).toEqual([0, 40, 80, 120, 160, 200, 250, 300, 349, 350]);
    for (const split of [train, test]) {
      for (let i = 0; i < split.count; i++) {
        const grey = split.pixels[i * frameBytes];
        const original = labels.findIndex((mm, k) => Math.abs(k * 20 - grey) <= 2);
        expect(Math.min(labels[original], 350)).toBe(split.labelsMm[i]);
      }
    }

    const again = await run(preprocess(ctx), { ...input, runId: 'r2' });
    const manifest2 = JSON.parse((await t.stores.objects.get(again.manifestKey)).toString()) as DatasetManifest;
    expect(manifest2.test.labelsSha256).toBe(manifest.test.labelsSha256);
    expect(manifest2.train.pixelsSha256).toBe(manifest.train.pixelsSha256);

    const described = await run(describeDataset(ctx), { manifestKey: result.manifestKey });
    expect(described).toMatchObject({ manifestSha256: result.manifestSha256, width: 8, height: 6, trainCount: 8 });
  });

  it('fails clearly when the deployments have no labelled records', async () => {
    const ctx = { stores: t.stores, objectsUrl: t.urls.objectsUrl, mlBackend: 'cpu' as const };
    await expect(run(assembleDataset(ctx), { workflowId: 'wf', runId: 'r', deployments: ['nothing-here'] })).rejects.toThrow(
      /no labelled records/,
    );
  });
});
