import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivityContext } from '../../activities/context.js';
import { checkRolloutStage } from '../../activities/rolloutSteps.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import type { NewModelVersion } from '../../core/stores/registry.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';

const version = (runId: string): NewModelVersion => ({
  modelName: 'm',
  artifactKey: `runs/${runId}/model`,
  artifactSha256: 'a'.repeat(64),
  architecture: 'compact',
  metrics: { test_mae_mm: 5 },
  params: {},
  trialId: `${runId}-t0`,
  workflowId: 'wf',
  runId,
  datasetKey: 'd',
  datasetSha256: 'b'.repeat(64),
  sourceDeployments: ['d'],
  recordCount: 10,
  comparison: null,
});

/** A rollout's look at a stage judges the versions on healthy lasers only: a suspect rover's errors are left out. */
describe("a rollout's evidence with a suspect laser", () => {
  let t: TempStores;
  beforeEach(async () => {
    t = await openTempStores();
  });
  afterEach(async () => t.cleanup());

  it('pairs only the healthy rovers’ frames while a rover has an open fault, and all of them once it is cleared', async () => {
    const { registry, measurements } = t.stores;
    await registry.createDeployment({ id: 'd', modelName: 'm', modelVersion: 'latest', strategy: 'shadow' });
    await registry.registerModelVersion(version('r1'));
    await registry.registerModelVersion(version('r2'));
    await registry.setRolloutStage('d', { candidateVersion: 2, stage: 'shadow', canaryClients: [], workflowId: 'rollout-d', note: null });
    const since = Date.now() - 60_000;
    const frame = (client: string, i: number, sensor: number): InferenceRecord => ({
      time: since + i,
      deployment: 'd',
      client,
      modelName: 'm',
      modelVersion: 1,
      prediction: 100,
      sensorValue: sensor,
      error: Math.abs(100 - sensor),
      latencyMs: 1,
      imageKey: `features/d/${client}-${i}.jpg`,
      characteristics: null,
      shadow: { modelVersion: 2, prediction: 110, error: Math.abs(110 - sensor) },
    });
    // Rover b's laser reads 60 mm short: its errors would make the candidate look better.
    await measurements.write([...[0, 1, 2].map((i) => frame('a', i, 100)), ...[3, 4, 5].map((i) => frame('b', i, 40))]);
    const look = () =>
      new MockActivityEnvironment().run(checkRolloutStage({ stores: t.stores } as ActivityContext), {
        deploymentId: 'd',
        modelName: 'm',
        candidateVersion: 2,
        currentVersion: 1,
        since,
      });
    expect(await look()).toMatchObject({ ongoing: true, frames: 6, labelled: 6 });
    const { fault } = await registry.flagSensorFault({
      client: 'b',
      deployment: 'd',
      kinds: ['disagrees-with-peers'],
      evidence: {},
      summary: 'offset',
      since: new Date(since).toISOString(),
    });
    expect(await look()).toMatchObject({ frames: 3, labelled: 3, comparison: expect.objectContaining({ pairs: 3, meanDifference: 10 }) });
    await registry.clearSensorFault(fault.id, { by: 'operator', reason: 'realigned' });
    expect(await look()).toMatchObject({ frames: 6 });
  });
});
