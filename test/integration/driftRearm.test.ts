import type { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftDedupeKey } from '../../core/drift/driftReport.js';
import { rearmDedupeKey } from '../../core/drift/rearm.js';
import { referenceProfileOf } from '../../core/drift/referenceProfile.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { sha256 } from '../../core/ml/dataset.js';
import { createRng } from '../../core/random.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import { datasetKeys, referenceProfileKey } from '../../core/stores/objectKeys.js';
import type { RetrainRequest } from '../../core/stores/registry.js';
import { createOrchestrationWorker } from '../../workers/createWorkers.js';
import { trainWorkflowIdFor, type TrainAndRegisterRequest } from '../../workflows/trainAndRegister/contract.js';
import { adminCall, registerUntrainedVersion, startApi, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { startTemporal } from '../support/temporalEnv.js';

const MODEL = 'distance';
const rng = createRng(23);
const characteristics = (centre: number) =>
  Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f, i) => [f, i * 100 + rng.gaussian(centre, 5)])) as ImageCharacteristics;

/** Labelled frames of the deployment up to now, their characteristics far from the reference's (covariate drift). */
function shiftedFrames(count: number): InferenceRecord[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const sensorValue = rng.uniform(0, 250);
    const prediction = sensorValue + rng.gaussian(0, 5);
    return {
      time: now - (count - i) * 10,
      deployment: 'shifted',
      client: 'rover',
      modelName: MODEL,
      modelVersion: 1,
      prediction,
      sensorValue,
      error: Math.abs(prediction - sensorValue),
      latencyMs: 5,
      imageKey: `features/shifted/${now}-${i}.jpg`,
      characteristics: characteristics(90),
    };
  });
}

/**
 * Re-arming end to end on a real Temporal dev server: a drift asks once; its retrain ends with no new version (there
 * is no training worker: the run assembles its dataset and is then ended, as a refused or failed retrain ends); the
 * drift is asked for again, naming the first ask, only once as many new frames arrived as that dataset had from the
 * deployment; and never past the cap per day, which the monitor's status shows.
 */
describe('drift monitor re-arming', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let worker: Worker;
  let running: Promise<void>;

  const admin = (method: string, route: string, body?: unknown) => adminCall(api.url, method, route, body);
  const acted = async () =>
    (await api.stores.registry.listRetrainRequests({ modelName: MODEL, limit: 10_000 })).filter((r) => r.outcome !== 'duplicate');
  const checksSince = async (since: number, count: number) =>
    eventually(async () => expect((await api.stores.measurements.driftChecks('shifted', { since })).length).toBeGreaterThanOrEqual(count), {
      timeoutMs: 90_000,
    });
  /** Waits for the run to assemble its dataset (the orchestration worker does), then ends it: no version is registered. */
  const endAfterAssembly = async (request: RetrainRequest) => {
    await eventually(() => api.stores.objects.get(datasetKeys(request.workflowId!, request.runId!).records), { timeoutMs: 60_000 });
    await env.client.workflow.getHandle(request.workflowId!, request.runId!).terminate('test: the retrain registered nothing');
  };
  const rearmOfMonitor = async () => (await admin('GET', `/models/${MODEL}/monitor`)).body.rearm;

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    const { stores } = api;
    expect((await admin('POST', '/deployments', { id: 'shifted', modelName: MODEL })).status).toBe(201);
    const version = await registerUntrainedVersion(stores, MODEL, 'run-1');
    const profile = referenceProfileOf({
      modelName: MODEL,
      version: version.version,
      source: { manifestKey: 'runs/test/dataset/manifest.json', workflowId: 'test', runId: 'run-1' },
      rows: Array.from({ length: 2000 }, () => ({ sensorValue: rng.uniform(0, 250), characteristics: characteristics(50) })),
      labelMaxMm: 350,
      testErrorsMm: Array.from({ length: 400 }, () => Math.abs(rng.gaussian(0, 5))),
    });
    const body = Buffer.from(JSON.stringify(profile));
    const key = referenceProfileKey('test', 'run-1');
    await stores.objects.put(key, body, 'application/json');
    await stores.registry.attachReferenceProfile(MODEL, version.version, { key, sha256: sha256(body) });
    await stores.measurements.write(shiftedFrames(400));
    worker = await createOrchestrationWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      context: {
        stores,
        objectsUrl: '',
        mlBackend: 'auto',
        temporal: { client: async () => env.client, ui: { url: 'http://localhost:8233', namespace: 'default' } },
      },
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await api?.close();
    await env?.teardown();
  });

  it('asks again once, naming the earlier ask, after enough new frames, and stops at the cap per day', async () => {
    expect((await admin('PUT', `/models/${MODEL}/training-config`, { deployments: ['shifted'], width: 20, height: 15 })).status).toBe(200);
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
    await endAfterAssembly(first);

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
    await api.stores.measurements.write(shiftedFrames(400));
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
    await endAfterAssembly(second);

    // That retrain registers nothing either and more frames arrive, but the day's one re-ask is used: capped.
    await api.stores.measurements.write(shiftedFrames(1000));
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
