import type { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftDedupeKey } from '../../core/drift/driftReport.js';
import { rearmDedupeKey } from '../../core/drift/rearm.js';
import { referenceProfileOf } from '../../core/drift/referenceProfile.js';
import { createRng } from '../../core/random.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import { trainingCapacity } from '../../core/ml/trainingCapacity.js';
import type { RetrainRequest } from '../../core/stores/registry.js';
import { createWorkers } from '../../workers/createWorkers.js';
import {
  trainWorkflowIdFor,
  type TrainAndRegisterRequest,
  type TrainAndRegisterWorkflow,
} from '../../workflows/trainAndRegister/contract.js';
import { adminCall, attachReferenceProfile, registerUntrainedVersion, startApiOn, type ApiHarness } from '../support/apiHarness.js';
import { openTempStores } from '../support/embeddedStores.js';
import { characteristicsAround } from '../support/driftRecords.js';
import { eventually } from '../support/eventually.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { startTemporal } from '../support/temporalEnv.js';
import { storeFrames } from '../support/storeFrames.js';

const MODEL = 'distance';
const rng = createRng(23);
const characteristics = (centre: number) => characteristicsAround(rng, centre);

/**
 * Labelled frames of the deployment up to now, with their images, their characteristics far from the reference's
 * (covariate drift). The laser reads 0..100 mm, where version 1 (50 mm whatever it sees) errs by 25 mm on average.
 */
async function writeShiftedFrames(api: ApiHarness, count: number): Promise<void> {
  const now = Date.now();
  const records: InferenceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const sensorValue = rng.uniform(0, 100);
    const prediction = sensorValue + rng.gaussian(0, 5);
    const imageKey = `features/shifted/${now}-${i}.jpg`;
    await api.stores.objects.put(imageKey, await syntheticFrame(sensorValue));
    records.push({
      time: now - (count - i) * 10,
      deployment: 'shifted',
      client: 'rover',
      modelName: MODEL,
      modelVersion: 1,
      prediction,
      sensorValue,
      error: Math.abs(prediction - sensorValue),
      latencyMs: 5,
      imageKey,
      characteristics: characteristics(90),
    });
  }
  await storeFrames(api.stores, records);
}

/**
 * Re-arming end to end on a real Temporal dev server with both workers: a drift asks once; its retrain trains (with a
 * learning rate that leaves the candidate where it started) and if-better refuses it against version 1; the drift is
 * asked for again, naming the first ask, only once as many new frames arrived as that retrain's dataset had from the
 * deployment; and never past the cap per day, which the monitor's status shows.
 */
describe('drift monitor re-arming', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let workers: Worker[];
  let running: Promise<void>;

  const admin = (method: string, route: string, body?: unknown) => adminCall(api.url, method, route, body);
  const acted = async () =>
    (await api.stores.registry.listRetrainRequests({ modelName: MODEL, limit: 10_000 })).filter((r) => r.outcome !== 'duplicate');
  const checksSince = async (since: number, count: number) =>
    eventually(async () => expect((await api.stores.measurements.driftChecks('shifted', { since })).length).toBeGreaterThanOrEqual(count), {
      timeoutMs: 90_000,
    });
  /** The retrain's run ends with if-better refusing its candidate: no version registered. */
  const refused = async (request: RetrainRequest) => {
    const result = await env.client.workflow.getHandle<TrainAndRegisterWorkflow>(request.workflowId!, request.runId!).result();
    expect(result.registration).toMatchObject({ registered: false });
    expect(result.registration.registered === false && result.registration.reason).toMatch(/does not beat version 1/);
    return result;
  };
  const rearmOfMonitor = async () => (await admin('GET', `/models/${MODEL}/monitor`)).body.rearm;

  beforeAll(async () => {
    env = await startTemporal();
    const temp = await openTempStores();
    api = await startApiOn(temp.stores, temp.dir, async () => env.client, { cleanup: () => temp.cleanup() });
    const { stores } = api;
    expect((await admin('POST', '/deployments', { id: 'shifted', modelName: MODEL })).status).toBe(201);
    const version = await registerUntrainedVersion(stores, MODEL, 'run-1', 50);
    const profile = referenceProfileOf({
      modelName: MODEL,
      version: version.version,
      source: { manifestKey: 'runs/test/dataset/manifest.json', workflowId: 'test', runId: 'run-1' },
      rows: Array.from({ length: 2000 }, () => ({ sensorValue: rng.uniform(0, 250), characteristics: characteristics(50) })),
      labelMaxMm: 350,
      testErrorsMm: Array.from({ length: 400 }, () => Math.abs(rng.gaussian(0, 5))),
    });
    await attachReferenceProfile(stores, profile);
    await writeShiftedFrames(api, 400);
    workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: 'default',
      context: {
        stores,
        objectsUrl: temp.urls.objectsUrl,
        mlBackend: 'auto',
        temporal: { client: async () => env.client, ui: { url: 'http://localhost:8233', namespace: 'default' } },
      },
      capacity: trainingCapacity({ sweepParallelism: 1 }),
    });
    running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  });

  afterAll(async () => {
    workers?.forEach((w) => w.shutdown());
    await running?.catch(() => undefined);
    await api?.close();
    await env?.teardown();
  });

  it('asks again once, naming the earlier ask, after enough new frames, and stops at the cap per day', async () => {
    // One trial whose learning rate leaves the model where it started: its candidate never beats version 1.
    const sweep = { epochs: [1], batchSizes: [32], dropouts: [0.1], learningRates: [1e-9] };
    const training = await admin('PUT', `/models/${MODEL}/training-config`, { deployments: ['shifted'], width: 20, height: 15, sweep });
    expect(training.status).toBe(200);
    // A long back-off: only new frames re-arm within the test. One re-ask per day.
    const configured = await admin('PUT', `/models/${MODEL}/monitor`, { intervalSeconds: 5, rearm: { maxPerDay: 1, backoffMinutes: 600 } });
    expect(configured.body.config.rearm).toEqual({ maxPerDay: 1, newFramesRatio: 1, backoffMinutes: 600, maxBackoffMinutes: 1440 });

    const [first] = await eventually(
      async () => {
        const asks = await acted();
        expect(asks).toHaveLength(1);
        expect(asks[0].outcome).toBe('started');
        return asks;
      },
      { timeoutMs: 90_000 },
    );
    expect(first.dedupeKey).toBe(driftDedupeKey('shifted', 1));
    expect((await refused(first)).dataset.recordCount).toBe(400);

    // The retrain is over with no new version, but no frame arrived since its dataset: the drift waits.
    await checksSince(Date.now(), 3);
    expect(await acted()).toHaveLength(1);
    const waiting = await rearmOfMonitor();
    expect(waiting).toMatchObject({ maxPerDay: 1, reasksToday: [] });
    expect(waiting.drifts).toMatchObject([
      {
        deployment: 'shifted',
        modelVersion: 1,
        firstRequestId: first.id,
        lastRequestId: first.id,
        attempt: 0,
        state: 'waiting',
        framesNeeded: 400,
        newFrames: 0,
      },
    ]);

    // As many new frames as the retrain had from the deployment: one new ask, which names the first.
    await writeShiftedFrames(api, 400);
    const second = await eventually(
      async () => {
        const asks = await acted();
        expect(asks).toHaveLength(2);
        expect(asks[1].outcome).toBe('started');
        return asks[1];
      },
      { timeoutMs: 90_000 },
    );
    expect(second.dedupeKey).toBe(rearmDedupeKey('shifted', 1, 1));
    const { request } = second.payload as { request: TrainAndRegisterRequest };
    expect(request.trigger.drift).toMatchObject({ deployment: 'shifted', modelVersion: 1, rearmOf: first.id });
    expect(request.trigger.by).toMatch(new RegExp(`re-ask 1 of request ${first.id}`));
    expect(second.workflowId).toBe(trainWorkflowIdFor(MODEL));
    await refused(second);

    // That retrain registers nothing either and more frames arrive, but the day's one re-ask is used: capped.
    await writeShiftedFrames(api, 1000);
    await checksSince(Date.now(), 3);
    expect(await acted()).toHaveLength(2);
    const capped = await rearmOfMonitor();
    expect(capped.reasksToday).toMatchObject([
      { requestId: second.id, deployment: 'shifted', of: first.id, attempt: 1, because: 'new-frames' },
    ]);
    expect(capped.drifts).toMatchObject([{ deployment: 'shifted', lastRequestId: second.id, attempt: 1, state: 'capped' }]);
    expect(capped.drifts[0].reason).toMatch(/1 of 1 re-asks per day/);
  });
});
