import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleDataset } from '../../activities/assembleDataset.js';
import { preprocess } from '../../activities/preprocess.js';
import { trainTrial, type TrainTrialInput } from '../../activities/trainTrial.js';
import type { ActivityContext } from '../../activities/context.js';
import { DATASET_FORMAT, labelsToBuffer, parseManifest, readSplit, sha256, type DatasetManifest } from '../../core/ml/dataset.js';
import { getModelMetadata, GRAPH_PREPROCESSING } from '../../core/ml/modelArtifact.js';
import type { TrialProgress } from '../../core/ml/trialRunner.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { storeLabelledFrames } from '../support/syntheticFrames.js';

/** A retried trial (Temporal hands it the last heartbeat) resumes from the checkpoint of that epoch. */
describe('trainTrial activity', () => {
  let t: TempStores;
  let ctx: ActivityContext;
  let input: TrainTrialInput;

  beforeAll(async () => {
    t = await openTempStores();
    ctx = { stores: t.stores, objectsUrl: t.urls.objectsUrl, mlBackend: 'auto' };
    await storeLabelledFrames(t.stores, 40);
    const env = new MockActivityEnvironment();
    const assembled = (await env.run(assembleDataset(ctx), { workflowId: 'wf', runId: 'r', deployments: ['d'] })) as Awaited<
      ReturnType<ReturnType<typeof assembleDataset>>
    >;
    const dataset = (await env.run(preprocess(ctx), {
      workflowId: 'wf',
      runId: 'r',
      ...assembled,
      width: 16,
      height: 12,
      labelMaxMm: 350,
      testFraction: 0.25,
      seed: 1,
    })) as { manifestKey: string };
    input = {
      workflowId: 'wf',
      runId: 'r',
      modelName: 'm',
      trialIndex: 0,
      manifestKey: dataset.manifestKey,
      architecture: 'compact',
      params: { epochs: 3, batchSize: 8, dropout: 0.1, learningRate: 0.001 },
      seed: 1,
    };
  });
  afterAll(async () => t?.cleanup());

  it('heartbeats every epoch, then resumes a retry from the last checkpoint instead of epoch 0', async () => {
    const first = new MockActivityEnvironment();
    const beats: TrialProgress[] = [];
    first.on('heartbeat', (d: TrialProgress) => d && beats.push(d));
    const fresh = (await first.run(trainTrial(ctx), input)) as Awaited<ReturnType<ReturnType<typeof trainTrial>>>;
    expect(beats.map((b) => b.epoch)).toEqual([1, 2, 3]);
    expect(fresh.resumedFromEpoch).toBe(0);
    // Trained on frames the JPEG graph made (tfjs-node is installed): served from JPEG bytes through the same nodes.
    expect((await getModelMetadata(t.stores.objects, fresh.artifactKey)).preprocessing).toBe(GRAPH_PREPROCESSING);

    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats[beats.length - 1] });
    const resumed = (await retry.run(trainTrial(ctx), { ...input, params: { ...input.params, epochs: 5 } })) as typeof fresh;
    expect(resumed.resumedFromEpoch).toBe(3);
    const trial = await t.stores.registry.getTrial(resumed.trialId);
    expect(trial?.history.loss).toHaveLength(2);
    expect(Number.isFinite(resumed.metrics.test_mae_mm)).toBe(true);
  });

  it('trains on a v1 dataset of a run recorded before the preprocessing cache', async () => {
    const v2 = parseManifest(await t.stores.objects.get(input.manifestKey), input.manifestKey);
    const files = async (which: 'train' | 'test') => {
      const split = await readSplit(t.stores.objects, v2, which);
      const pixelsKey = `runs/old/dataset/${which}-pixels.u8`;
      const labelsKey = `runs/old/dataset/${which}-labels.f32`;
      const pixels = Buffer.from(split.pixels);
      const labels = labelsToBuffer(split.labelsMm);
      await t.stores.objects.put(pixelsKey, pixels);
      await t.stores.objects.put(labelsKey, labels);
      return { count: split.count, pixelsKey, labelsKey, pixelsSha256: sha256(pixels), labelsSha256: sha256(labels) };
    };
    const v1: DatasetManifest = {
      format: DATASET_FORMAT,
      width: v2.width,
      height: v2.height,
      channels: 3,
      labelMaxMm: v2.labelMaxMm,
      seed: v2.seed,
      testFraction: v2.testFraction,
      train: await files('train'),
      test: await files('test'),
      source: v2.source,
    };
    await t.stores.objects.put('runs/old/dataset/manifest.json', Buffer.from(JSON.stringify(v1)));
    const env = new MockActivityEnvironment();
    const trained = (await env.run(trainTrial(ctx), {
      ...input,
      runId: 'old',
      manifestKey: 'runs/old/dataset/manifest.json',
      params: { ...input.params, epochs: 1 },
    })) as Awaited<ReturnType<ReturnType<typeof trainTrial>>>;
    expect(Number.isFinite(trained.metrics.test_mae_mm)).toBe(true);
    // A dataset from before the JPEG graph holds sharp's pixels: the model says nothing, and serves from pixels.
    expect((await getModelMetadata(t.stores.objects, trained.artifactKey)).preprocessing).toBeUndefined();
  });
});
