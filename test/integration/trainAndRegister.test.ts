import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import type { DatasetManifestV2 } from '../../core/ml/dataset.js';
import { isTestFrame } from '../../core/ml/datasetPolicy.js';
import { retrainRequestedSignal, type TrainAndRegisterRequest } from '../../workflows/trainAndRegister/contract.js';
import type { TrialSummary } from '../../core/training/sweep.js';
import { trainingCapacity } from '../../core/ml/trainingCapacity.js';
import { createWorkers } from '../../workers/createWorkers.js';
import { TrainAndRegister } from '../../workflows/trainAndRegister/workflow.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { eventually } from '../support/eventually.js';
import { SwitchableObjects } from '../support/switchableObjects.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { startTemporal } from '../support/temporalEnv.js';
import { DEFAULT_TRAINING } from '../../core/training/trainingConfig.js';
import { TASK_QUEUES } from '../../workflows/shared.js';

const zeroCharacteristics = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;

async function seedDeployment(t: TempStores, deployment: string, frames: number, unlabelledEvery = 0) {
  const records: InferenceRecord[] = [];
  for (let i = 0; i < frames; i++) {
    const distance = (i * 37) % 300;
    const imageKey = `features/${deployment}/${randomUUID()}.jpg`;
    await t.stores.objects.put(imageKey, await syntheticFrame(distance));
    const labelled = !(unlabelledEvery && i % unlabelledEvery === 0);
    records.push({
      time: Date.now() + i,
      deployment,
      client: 'rover-1',
      modelName: null,
      modelVersion: null,
      prediction: null,
      sensorValue: labelled ? distance : null,
      error: null,
      latencyMs: 1,
      imageKey,
      characteristics: zeroCharacteristics,
    });
  }
  await t.stores.measurements.write(records);
  return records.filter((r) => r.sensorValue !== null).length;
}

describe('TrainAndRegister on a real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let t: TempStores;
  let workers: Worker[];
  let running: Promise<unknown>;
  let labelled = 0;
  let objects: SwitchableObjects;

  const request = (overrides: Partial<TrainAndRegisterRequest> = {}): TrainAndRegisterRequest => ({
    modelName: 'distance',
    deployments: ['phase-a', 'phase-b'],
    trigger: { kind: 'manual', by: 'test' },
    width: 20,
    height: 15,
    sweep: { epochs: [4], batchSizes: [16, 32], dropouts: [0.1] },
    parallelism: 2,
    ...overrides,
  });

  beforeAll(async () => {
    [env, t] = await Promise.all([startTemporal(), openTempStores()]);
    labelled = (await seedDeployment(t, 'phase-a', 60, 10)) + (await seedDeployment(t, 'phase-b', 40));
    objects = new SwitchableObjects(t.stores.objects);
    workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: 'default',
      context: { stores: { ...t.stores, objects }, objectsUrl: t.urls.objectsUrl, mlBackend: 'auto' },
      capacity: trainingCapacity({ sweepParallelism: 2 }),
    });
    running = Promise.all(workers.map((w) => w.run()));
  });

  afterAll(async () => {
    workers?.forEach((w) => w.shutdown());
    await running?.catch(() => {});
    await env?.teardown();
    await t?.cleanup();
  });

  it('assembles, preprocesses, sweeps, selects and registers v1 with its lineage', async () => {
    const workflowId = `train-${randomUUID()}`;
    const result = await env.client.workflow.execute(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId,
      args: [request()],
    });

    expect(result.dataset.recordCount).toBe(labelled);
    expect(result.dataset.trainCount + result.dataset.testCount).toBe(labelled);
    // The test split is exactly the frames whose key hashes below the test fraction (stable across retrains).
    const manifest = JSON.parse((await t.stores.objects.get(result.dataset.manifestKey)).toString()) as DatasetManifestV2;
    const keysOf = async (key: string) => JSON.parse((await t.stores.objects.get(key)).toString()) as string[];
    const { seed, testFraction } = DEFAULT_TRAINING;
    expect((await keysOf(manifest.test.imageKeysKey)).every((k) => isTestFrame(k, seed, testFraction))).toBe(true);
    expect((await keysOf(manifest.train.imageKeysKey)).some((k) => isTestFrame(k, seed, testFraction))).toBe(false);
    expect(result.trials).toHaveLength(2);
    const maes = result.trials.map((tr) => tr.metrics.test_mae_mm);
    expect(result.selection.best.metrics.test_mae_mm).toBe(Math.min(...maes));
    expect(result.registration).toMatchObject({ registered: true, version: 1, comparison: null });

    const version = await t.stores.registry.getModelVersion('distance', 1);
    expect(version).toMatchObject({
      trialId: result.selection.best.trialId,
      workflowId,
      datasetKey: result.dataset.manifestKey,
      sourceDeployments: ['phase-a', 'phase-b'],
      recordCount: labelled,
    });
    // The version's reference profile: every characteristic, the labels and the test errors, linked from the registry.
    expect(version?.referenceProfile?.key).toBe(result.referenceProfile?.key);
    const profile = JSON.parse((await t.stores.objects.get(version!.referenceProfile!.key)).toString('utf8'));
    expect(profile).toMatchObject({
      format: 'mlops-reference-profile/v1',
      modelName: 'distance',
      version: 1,
      frames: labelled,
      missingFeatures: [],
    });
    expect(Object.keys(profile.features)).toHaveLength(22);
    expect(profile.testErrors.n).toBe(result.dataset.testCount);
    expect(profile.testErrors.mean).toBeCloseTo(result.selection.best.metrics.test_mae_mm, 3);
    expect(profile.labels).toMatchObject({ n: labelled, min: 0, labelMaxMm: 350 });
    expect(profile.labels.max).toBeLessThan(300);
    const trials = await t.stores.registry.listTrials({ workflowId });
    expect(trials.map((tr) => tr.id).sort()).toEqual(result.trials.map((tr) => tr.trialId).sort());
    // Slices of the test split, stored with each trial and the version: by distance band (the stop band too) and by deployment.
    for (const metrics of [version!.metrics, ...trials.map((tr) => tr.metrics)]) {
      const frames = (keys: string[]) => keys.reduce((n, k) => n + metrics[`test_frames_${k}`], 0);
      expect(frames(['0_20', '20_100', '100_350', 'over_350'])).toBe(result.dataset.testCount);
      expect(frames(['at_phase-a', 'at_phase-b'])).toBe(result.dataset.testCount);
      expect(metrics.test_frames_stop).toBe(frames(['0_20', '20_100']));
      expect(metrics['test_mae_mm_at_phase-a']).toBeGreaterThan(0);
    }
    expect(trials[0].history.loss).toHaveLength(4);
  });

  it('reruns only the experiment step on the identical dataset and compares with the current version', async () => {
    const v1 = (await t.stores.registry.getModelVersion('distance', 1))!;
    const result = await env.client.workflow.execute(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `rerun-${randomUUID()}`,
      args: [
        request({
          reuseDataset: { manifestKey: v1.datasetKey },
          sweep: { epochs: [8], batchSizes: [16], dropouts: [0.2] },
          registerPolicy: 'always',
        }),
      ],
    });
    expect(result.dataset.manifestKey).toBe(v1.datasetKey);
    expect(result.dataset.manifestSha256).toBe(v1.datasetSha256);
    expect(result.trials).toHaveLength(1);
    expect(result.registration).toMatchObject({ registered: true, version: 2 });
    if (!result.registration.registered) throw new Error('unreachable');
    expect(result.registration.comparison?.previousVersion).toBe(1);
    expect(result.registration.comparison?.metrics.test_mae_mm).toBeGreaterThan(0);
    // Both versions measured on the same stop-band frames of the test split.
    const stopBand = result.registration.comparison?.stopBand;
    expect(stopBand?.pairs).toBeGreaterThan(0);
    expect(stopBand?.pairs).toBe(result.registration.comparison?.metrics.test_frames_stop);
  });

  it('registers a model with another input size without comparing it against a version it cannot measure', async () => {
    const result = await env.client.workflow.execute(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `resize-${randomUUID()}`,
      args: [request({ width: 24, height: 18, sweep: { epochs: [1], batchSizes: [32], dropouts: [0.1] } })],
    });
    // v2 (20x15) exists but cannot read 24x18 frames: the comparison is skipped, not the run failed.
    expect(result.registration).toMatchObject({ registered: true, version: 3, comparison: null });
  });

  it('coalesces a retrain request that arrives while the run is going into that run', async () => {
    const workflowId = `coalesce-${randomUUID()}`;
    const start = () =>
      env.client.workflow.signalWithStart(TrainAndRegister, {
        taskQueue: TASK_QUEUES.orchestration,
        workflowId,
        args: [request({ sweep: { epochs: [1], batchSizes: [32], dropouts: [0.1] } })],
        signal: retrainRequestedSignal,
        signalArgs: [{ trigger: { kind: 'grafana', by: 'alert' }, deployments: [] }],
      });
    const first = await start();
    const second = await start();
    expect(second.signaledRunId).toBe(first.signaledRunId);
    expect(first.signaledRunId).toMatch(/^[0-9a-f-]{36}$/);
    const result = await first.result();
    // A second ask after the dataset was assembled ends in a follow-up run on the same data, which if-better may not register.
    expect(result.dataset.recordCount).toBe(labelled);
    // Both asks reached the first run; a late one is covered by the follow-up run it continued as new into.
    const history = await env.client.workflow.getHandle(workflowId, first.signaledRunId).fetchHistory();
    expect(history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(2);
  });

  it('survives the object store going down mid-run: the step fails, is retried, and the run completes', async () => {
    objects.down = true;
    const handle = await env.client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `outage-${randomUUID()}`,
      args: [request({ sweep: { epochs: [1], batchSizes: [32], dropouts: [0.1] }, registerPolicy: 'always' })],
    });
    // Up again once a step has failed and is being retried, however long that takes on a busy machine.
    await eventually(
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        expect(pending.some((a) => (a.attempt ?? 1) > 1)).toBe(true);
      },
      { timeoutMs: 120_000 },
    );
    objects.down = false;
    const result = await handle.result();
    expect(result.registration.registered).toBe(true);
    expect(result.dataset.recordCount).toBe(labelled);
    const history = await handle.fetchHistory();
    const failedAttempts = history.events!.filter(
      (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    expect(failedAttempts.length).toBeGreaterThan(0);
  });
  it('starts every trial from the latest version, holds frames out for early stopping and halves the sweep at the rung', async () => {
    const run = (overrides: Partial<TrainAndRegisterRequest>) =>
      env.client.workflow.execute(TrainAndRegister, {
        taskQueue: TASK_QUEUES.orchestration,
        workflowId: `budget-${randomUUID()}`,
        args: [request({ modelName: 'warm', registerPolicy: 'always', ...overrides })],
      });
    const cold = await run({ sweep: { epochs: [2], batchSizes: [32], dropouts: [0.1] } });
    if (!cold.registration.registered) throw new Error('the cold run registered nothing');
    const { artifactKey } = cold.registration;
    const result = await run({
      reuseDataset: { manifestKey: cold.dataset.manifestKey },
      sweep: { epochs: [4], batchSizes: [16, 32], dropouts: [0.1] },
      earlyStopping: { patience: 3, validationFraction: 0.2 },
      halving: { rungEpochs: 1 },
      warmStart: true,
    });
    const trials = result.trials as (TrialSummary & { warmStartedFrom?: string; epochsRun?: number })[];
    expect(trials.map((tr) => tr.warmStartedFrom)).toEqual([artifactKey, artifactKey]);
    // One trial ends at the rung, the other trains on to its epochs.
    expect(trials.map((tr) => tr.params.epochs).sort()).toEqual([1, 4]);
    for (const trial of trials) expect(trial.metrics.val_mae_mm).toBeGreaterThan(0);
    const stored = await t.stores.registry.listTrials({ modelName: 'warm' });
    expect(stored.filter((tr) => tr.params.warmStartedFrom === artifactKey)).toHaveLength(2);
  });
});
