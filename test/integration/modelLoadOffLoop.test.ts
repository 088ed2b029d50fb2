import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend, type Tf } from '../../core/ml/backend.js';
import { putModel, serializeModel } from '../../core/ml/modelArtifact.js';
import type { Deployment, ModelVersion } from '../../core/stores/registry.js';
import { ModelServer, ModelUnavailableError } from '../../serving/modelServer.js';
import { InferenceEngine } from '../../serving/inferenceEngine.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { watchLongestStall } from '../support/longestStall.js';

/**
 * Model loads and predictions run in the inference thread: the API's thread runs no TensorFlow kernel for them, and its
 * event loop keeps turning while the thesis CNN deserializes, compiles and warms (issue 26, item 3).
 */
describe('model loads off the event loop', () => {
  let t: TempStores;
  let tf: Tf;
  let engine: InferenceEngine;
  let frames: Buffer[];

  /** Registers an untrained thesis CNN at 100x75 (the largest model the project trains) as run `runId`. */
  async function registerThesisVersion(runId: string): Promise<ModelVersion> {
    const { name } = await loadBackend('auto');
    const meta = { architecture: 'thesis-inception', width: 100, height: 75, labelMaxMm: 350, backend: name };
    const model = buildModel(tf, meta.architecture, { width: meta.width, height: meta.height, dropout: 0.1, learningRate: 0.001 });
    const serialized = await serializeModel(tf, model, meta);
    model.dispose();
    const prefix = `runs/test/${runId}/model`;
    await putModel(t.stores.objects, prefix, serialized);
    const shared = { workflowId: 'test', runId, modelName: 'distance', params: {}, metrics: {} };
    await t.stores.registry.saveTrial({
      ...shared,
      id: `${runId}-t0`,
      history: {},
      artifactKey: prefix,
      artifactSha256: serialized.sha256,
      datasetKey: 'k',
    });
    return t.stores.registry.registerModelVersion({
      ...shared,
      artifactKey: prefix,
      artifactSha256: serialized.sha256,
      architecture: meta.architecture,
      trialId: `${runId}-t0`,
      datasetKey: 'k',
      datasetSha256: 'x'.repeat(64),
      sourceDeployments: ['d'],
      recordCount: 1,
      comparison: null,
    });
  }

  const pinned = (version: number) => ({ id: 'd', modelName: 'distance', modelVersion: version, strategy: 'direct' }) as Deployment;

  beforeAll(async () => {
    t = await openTempStores();
    ({ tf } = await loadBackend('auto'));
    engine = new InferenceEngine();
    // The thread's own start (loading TensorFlow) happens once, when the API starts: not what a load costs.
    await engine.backend();
    frames = await Promise.all([60, 180, 300].map((mm) => syntheticFrame(mm, 160, 120)));
  });
  afterAll(async () => {
    await engine?.close();
    await t?.cleanup();
  });

  it('loads and predicts without a TensorFlow kernel on this thread, and without stalling its event loop', async () => {
    const version = await registerThesisVersion('run-1');
    const models = new ModelServer({ registry: t.stores.registry, objects: t.stores.objects, engine });
    const stall = watchLongestStall();
    const started = performance.now();
    let loadedAfter = 0;
    const profile = await tf.profile(async () => {
      const lease = (await models.acquire(pinned(version.version)))!;
      loadedAfter = performance.now() - started;
      try {
        const mm = await Promise.all(frames.map((frame) => lease.predictMm(frame)));
        mm.forEach((v) => expect(v).toBeGreaterThanOrEqual(0));
      } finally {
        lease.release();
      }
      return [];
    });
    const longest = stall.stop();
    console.log(
      `thesis CNN 100x75: loaded in ${loadedAfter.toFixed(0)} ms; longest event-loop stall during the load and 3 predictions: ${longest.toFixed(0)} ms`,
    );
    expect(profile.kernelNames).toEqual([]);
    expect(profile.newTensors).toBe(0);
    // Generous on a busy machine: the same load on this thread stalled it 0.2-0.7 s (bench/modelLoadPause.ts).
    expect(longest).toBeLessThan(1000);
    models.dispose();
  });

  it('fails a request of a version whose thread died with 503 model_unavailable, and loads it again for the next', async () => {
    const version = await registerThesisVersion('run-2');
    const models = new ModelServer({ registry: t.stores.registry, objects: t.stores.objects, engine });
    const held = (await models.acquire(pinned(version.version)))!;
    const before = await held.predictMm(frames[0]);
    await engine.restart();
    await expect(held.predictMm(frames[0])).rejects.toBeInstanceOf(ModelUnavailableError);
    held.release();
    expect(models.loadedVersions()).toEqual([]);
    const lease = (await models.acquire(pinned(version.version)))!;
    try {
      expect(await lease.predictMm(frames[0])).toBeCloseTo(before, 4);
    } finally {
      lease.release();
    }
    models.dispose();
  });
});
