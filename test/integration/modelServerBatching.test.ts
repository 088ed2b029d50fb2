import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelServer } from '../../serving/modelServer.js';
import type { Deployment } from '../../core/stores/registry.js';
import { registerUntrainedVersion } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

/** Frames predicted at the same time share one call of the model (run as one TensorFlow graph), and each still gets its own answer. */
describe('model server micro-batching', () => {
  let t: TempStores;
  /** Batches of 4 run only when full: 12 frames at once are 3 calls whatever the machine's speed. */
  let models: ModelServer;
  let oneByOne: ModelServer;
  let padded: ModelServer;
  let deployment: Deployment;
  let frames: Buffer[];
  const loaded: { path: string }[] = [];

  beforeAll(async () => {
    t = await openTempStores();
    const options = { registry: t.stores.registry, objects: t.stores.objects, latestTtlMs: 60_000 };
    const log = { info: (obj: unknown) => loaded.push(obj as { path: string }), warn: () => undefined };
    models = new ModelServer({ ...options, batch: { maxItems: 4, windowMs: 60_000 }, log });
    oneByOne = new ModelServer({ ...options, batch: { maxItems: 1, windowMs: 0 }, graph: false });
    padded = new ModelServer({ ...options, batch: { maxItems: 5, windowMs: 60_000 } });
    deployment = await t.stores.registry.createDeployment({
      id: 'fleet',
      modelName: 'distance',
      modelVersion: 'latest',
      strategy: 'direct',
    });
    await registerUntrainedVersion(t.stores, 'distance', 'run-1');
    frames = await Promise.all(Array.from({ length: 12 }, (_, i) => syntheticFrame(20 + i * 25)));
  });
  afterAll(async () => {
    models?.dispose();
    oneByOne?.dispose();
    padded?.dispose();
    await t?.cleanup();
  });

  const predict = async (image: Buffer, server = models) => {
    const lease = (await server.acquire(deployment))!;
    try {
      return await lease.predictMm(image);
    } finally {
      lease.release();
    }
  };

  it('answers frames predicted together, by the graph, as the layers model does one by one, in fewer calls', async () => {
    const alone: number[] = [];
    for (const frame of frames) alone.push(await predict(frame, oneByOne));
    expect(new Set(alone.map((mm) => mm.toFixed(3))).size).toBeGreaterThan(1);

    const together = await Promise.all(frames.map((frame) => predict(frame)));
    together.forEach((mm, i) => expect(mm).toBeCloseTo(alone[i], 4));
    expect(models.batchCounters()).toEqual({ batches: 3, frames: 12, largest: 4 });
    expect(loaded).toMatchObject([{ path: 'graph' }]);
    expect(oneByOne.batchCounters()).toEqual({ batches: 12, frames: 12, largest: 1 });

    // Batches of 5 run padded to 6 (batchShapes) with blank frames: the blanks change no answer.
    const fives = await Promise.all(frames.slice(0, 10).map((frame) => predict(frame, padded)));
    fives.forEach((mm, i) => expect(mm).toBeCloseTo(alone[i], 4));
    expect(padded.batchCounters()).toEqual({ batches: 2, frames: 10, largest: 5 });
  });

  it('fails a frame that cannot be decoded alone, never its batch mates', async () => {
    const broken = Buffer.concat([frames[0].subarray(0, 200), Buffer.alloc(300, 7)]);
    // One batch of 4: the broken frame is in the same call of the inference thread as the others.
    const before = models.batchCounters().batches;
    const answers = await Promise.allSettled([frames[1], broken, frames[2], frames[3]].map((frame) => predict(frame)));
    expect(models.batchCounters().batches).toBe(before + 1);
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((answers[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'invalid_image' });
  });
});
