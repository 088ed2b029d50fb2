import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { askForDriftRetrain } from '../../activities/askForDriftRetrain.js';
import { startRollouts } from '../../activities/startRollouts.js';
import type { DriftCheckRecord } from '../../core/drift/driftReport.js';
import type { RolloutPolicyInput } from '../../core/rollout/rolloutPolicy.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import { createOrchestrationWorker } from '../../workers/createWorkers.js';
import { rolloutWorkflowIdFor } from '../../workflows/rollout/contract.js';
import { rolloutListAnswerSchema, rolloutRunAnswerSchema } from '../../contracts/http/deployments.js';
import { driftChecksAnswerSchema, fleetAnswerSchema, framesAnswerSchema, seriesAnswerSchema } from '../../contracts/http/measurements.js';
import { ADMIN_TOKEN, adminCall, registerUntrainedVersion, startApiOn, type ApiHarness } from '../support/apiHarness.js';
import { openTempStores } from '../support/embeddedStores.js';
import { eventually } from '../support/eventually.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { startTemporal } from '../support/temporalEnv.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const MINUTE = 60_000;

/**
 * The console's reads on a real API, Temporal dev server and orchestration worker: the fleet page's numbers from
 * frames of known times and errors, frames with their images, bucketed series, drift checks linked to the retrain
 * they started, and the Rollout runs Temporal lists.
 */
describe("the console's reads", () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let worker: Worker;
  let running: Promise<void>;
  const admin = (method: string, route: string, body?: unknown) => adminCall(api.url, method, route, body);
  /** The wire schema of each route's answer (contracts/http): every answer read here must fit it. */
  const SCHEMAS: [RegExp, z.ZodType][] = [
    [/^\/fleet/, fleetAnswerSchema],
    [/^\/deployments\/[^/]+\/frames/, framesAnswerSchema],
    [/^\/deployments\/[^/]+\/series/, seriesAnswerSchema],
    [/^\/deployments\/[^/]+\/drift/, driftChecksAnswerSchema],
    [/^\/rollouts\/[^/]+\/runs/, rolloutRunAnswerSchema],
    [/^\/rollouts/, rolloutListAnswerSchema],
  ];
  const get = async (route: string) => {
    const res = await admin('GET', route);
    expect(res.status, `GET ${route}: ${JSON.stringify(res.body)}`).toBe(200);
    const schema = SCHEMAS.find(([pattern]) => pattern.test(route))?.[1];
    if (schema) schema.parse(res.body);
    return res.body;
  };

  /** A frame as the API stores it, `error` set from the two values. */
  const frame = (
    deployment: string,
    time: number,
    sensor: number | null,
    prediction: number | null,
    key = randomUUID(),
  ): InferenceRecord => ({
    time,
    deployment,
    client: 'c',
    modelName: 'm',
    modelVersion: 1,
    prediction,
    sensorValue: sensor,
    error: sensor !== null && prediction !== null ? Math.abs(sensor - prediction) : null,
    latencyMs: 2,
    imageKey: `features/${deployment}/${key}.jpg`,
    characteristics: null,
  });

  const startWorker = async () => {
    worker = await createOrchestrationWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      context: {
        stores: api.stores,
        objectsUrl: '',
        mlBackend: 'auto',
        temporal: { client: async () => env.client, ui: { url: 'http://localhost:8233', namespace: 'default' } },
      },
    });
    running = worker.run();
  };

  beforeAll(async () => {
    env = await startTemporal();
    const temp = await openTempStores();
    api = await startApiOn(temp.stores, temp.dir, async () => env.client, { cleanup: () => temp.cleanup() });
    await startWorker();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await api?.close();
    await env?.teardown();
  });

  it('gives each deployment of a fleet page its serving, rovers, frames, mean errors now and before, newest frame and drift, in pages by id', async () => {
    await registerUntrainedVersion(api.stores, 'fleet-model', 'fleet-1');
    for (const id of ['fleet-a', 'fleet-b', 'fleet-c'])
      expect((await admin('POST', '/deployments', { id, modelName: 'fleet-model' })).status).toBe(201);
    for (const id of ['rover-2', 'rover-1']) expect((await admin('POST', '/clients', { id, deploymentId: 'fleet-a' })).status).toBe(201);
    const now = Date.now();
    await api.stores.measurements.write([
      // The last 5 minutes: errors 10 and 20, and a frame without a laser reading.
      frame('fleet-a', now - 1 * MINUTE, 100, 110),
      frame('fleet-a', now - 2 * MINUTE, 100, 120),
      frame('fleet-a', now - 3 * MINUTE, null, 90),
      // The 5 minutes before: error 40.
      frame('fleet-a', now - 7 * MINUTE, 100, 140),
      // Before the sparkline's 30 minutes: only the newest frame of fleet-b.
      frame('fleet-b', now - 45 * MINUTE, 100, 100),
    ]);
    await api.stores.measurements.writeDriftCheck(driftCheck('fleet-a', now - 4 * MINUTE, 'no-drift', 1));

    const first = await get('/fleet?limit=2');
    expect(first.at).toMatch(ISO);
    const a = first.deployments.find((d: { id: string }) => d.id === 'fleet-a');
    expect(a).toMatchObject({
      modelName: 'fleet-model',
      modelVersion: 'latest',
      servingVersion: 1,
      strategy: 'direct',
      rollout: null,
      rovers: ['rover-1', 'rover-2'],
      framesLast5m: 3,
      framesPerSecond: 3 / 300,
      meanError: { last5m: 15, previous5m: 40 },
      lastFrameAt: new Date(now - MINUTE).toISOString(),
      lastDrift: { time: new Date(now - 4 * MINUTE).toISOString(), verdict: 'no-drift' },
    });
    expect(a.sparkline).toHaveLength(30);
    expect(a.sparkline.reduce((n: number, p: { frames: number }) => n + p.frames, 0)).toBe(4);
    expect(a.sparkline.every((p: { time: string }) => ISO.test(p.time))).toBe(true);
    expect(a.sparkline.at(-1)).toMatchObject({ frames: 0, meanError: null });
    expect(a.sparkline.at(-2)).toMatchObject({ frames: 1, meanError: 10 });

    // Page by page (limit 2), the pages hold every deployment once, in id order.
    const ids: string[] = [];
    let after: string | null = null;
    let rows: { id: string; framesLast5m: number; lastFrameAt: string | null; lastDrift: unknown }[] = [];
    do {
      const page: { deployments: typeof rows; next: string | null } = await get(`/fleet?limit=2${after ? `&after=${after}` : ''}`);
      expect(page.deployments.length).toBeLessThanOrEqual(2);
      ids.push(...page.deployments.map((d) => d.id));
      rows = rows.concat(page.deployments);
      after = page.next;
    } while (after !== null);
    const all = (await get('/deployments')).deployments.map((d: { id: string }) => d.id).sort();
    expect(ids).toEqual(all);
    expect(rows.find((r) => r.id === 'fleet-b')).toMatchObject({
      framesLast5m: 0,
      lastFrameAt: new Date(now - 45 * MINUTE).toISOString(),
      lastDrift: null,
    });
    expect(rows.find((r) => r.id === 'fleet-c')).toMatchObject({ framesLast5m: 0, lastFrameAt: null, lastDrift: null });
    expect((await admin('GET', '/fleet?limit=201')).status).toBe(400);
    expect((await fetch(`${api.url}/fleet`)).status).toBe(401);
  });

  it("lists a deployment's frames posted through /predict newest first, each with its JPEG", async () => {
    await registerUntrainedVersion(api.stores, 'frames-model', 'frames-1');
    expect((await admin('POST', '/deployments', { id: 'frames', modelName: 'frames-model' })).status).toBe(201);
    const token = (await admin('POST', '/clients', { id: 'frames-rover', deploymentId: 'frames' })).body.token as string;
    const images = await Promise.all([80, 120, 160].map((mm) => syntheticFrame(mm)));
    for (const [i, image] of images.entries()) {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'frame.jpg');
      form.append('sensor_value', String(100 + i));
      const res = await fetch(`${api.url}/predict`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      expect(res.status).toBe(200);
      // Distinct milliseconds, so that newest first is one order.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const listed = await eventually(async () => {
      const body = await get('/deployments/frames/frames?limit=3');
      expect(body.frames).toHaveLength(3);
      return body;
    });
    expect(listed.frames.map((f: { sensorValue: number }) => f.sensorValue)).toEqual([102, 101, 100]);
    for (const f of listed.frames) {
      expect(f).toMatchObject({ client: 'frames-rover', modelVersion: 1, latencyMs: expect.any(Number) });
      expect(f.time).toMatch(ISO);
      expect(f.error).toBeCloseTo(Math.abs(f.prediction - f.sensorValue), 6);
      expect(f.image).toBe(`/deployments/frames/frames/${f.id}/image`);
    }
    const newest = await fetch(api.url + listed.frames[0].image, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(newest.status).toBe(200);
    expect(newest.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await newest.arrayBuffer()).equals(images[2])).toBe(true);

    // Two at a time: the second page is the oldest frame.
    const page = await get('/deployments/frames/frames?limit=2');
    expect(page.frames.map((f: { sensorValue: number }) => f.sensorValue)).toEqual([102, 101]);
    const rest = await get(`/deployments/frames/frames?limit=2&before=${page.next}`);
    expect(rest.frames.map((f: { sensorValue: number }) => f.sensorValue)).toEqual([100]);
    expect(rest.next).toBeNull();

    const image = (frameId: string, deployment = 'frames') =>
      fetch(`${api.url}/deployments/${deployment}/frames/${frameId}/image`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect((await image(randomUUID())).status).toBe(404);
    expect((await image('..%2F..%2Fsecret')).status).toBe(404);
    expect((await image(listed.frames[0].id, 'no-such')).status).toBe(404);
    expect((await admin('GET', '/deployments/no-such/frames')).status).toBe(404);
    expect((await admin('GET', '/deployments/frames/frames?limit=5001')).status).toBe(400);
  });

  it('pages frames of one millisecond without losing any', async () => {
    expect((await admin('POST', '/deployments', { id: 'same-ms', modelName: 'frames-model' })).status).toBe(201);
    const t = Date.now() - MINUTE;
    const written = [frame('same-ms', t + 1, 1, 1), frame('same-ms', t, 2, 2), frame('same-ms', t, 3, 3), frame('same-ms', t - 1, 4, 4)];
    await api.stores.measurements.write(written);
    const seen: number[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page: { frames: { sensorValue: number }[]; next: string | null } = await get(
        `/deployments/same-ms/frames?limit=2${before ? `&before=${before}` : ''}`,
      );
      seen.push(...page.frames.map((f) => f.sensorValue));
      before = page.next;
      if (before === null) break;
    }
    expect(seen.sort()).toEqual([1, 2, 3, 4]);
  });

  it("buckets a deployment's frames into every step of a window, empty steps included", async () => {
    expect((await admin('POST', '/deployments', { id: 'series', modelName: 'frames-model' })).status).toBe(201);
    const since = Date.now() - 10 * MINUTE;
    await api.stores.measurements.write([
      frame('series', since + 1000, 100, 110),
      frame('series', since + 2000, 200, 230),
      frame('series', since + 2 * MINUTE, 50, null),
    ]);
    const { points } = await get(
      `/deployments/series/series?since=${new Date(since).toISOString()}&until=${since + 3 * MINUTE}&stepMs=60000`,
    );
    expect(points).toEqual([
      { time: new Date(since).toISOString(), frames: 2, meanError: 20, meanPrediction: 170, meanSensor: 150 },
      { time: new Date(since + MINUTE).toISOString(), frames: 0, meanError: null, meanPrediction: null, meanSensor: null },
      { time: new Date(since + 2 * MINUTE).toISOString(), frames: 1, meanError: null, meanPrediction: null, meanSensor: 50 },
    ]);
    // Default: the last hour in one-minute steps.
    expect((await get('/deployments/series/series')).points).toHaveLength(60);
    const tooMany = await admin('GET', `/deployments/series/series?since=${since - 3 * 3_600_000}&until=${since}&stepMs=1000`);
    expect(tooMany).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect((await admin('GET', `/deployments/series/series?since=${since}&until=${since}`)).status).toBe(400);
    expect((await admin('GET', '/deployments/no-such/series')).status).toBe(404);
  });

  it('links a drift check to the run its retrain started, a repeat to the same run, and both to the version that run registered', async () => {
    const v1 = await registerUntrainedVersion(api.stores, 'drifting', 'drifting-1');
    expect((await admin('POST', '/deployments', { id: 'drifty', modelName: 'drifting' })).status).toBe(201);
    const ask = askForDriftRetrain({
      stores: api.stores,
      objectsUrl: '',
      mlBackend: 'auto',
      temporal: { client: async () => env.client, ui: { url: 'http://ui', namespace: 'default' } },
    });
    const now = Date.now();
    const first = driftCheck('drifty', now - 2000, 'drift', 1);
    const repeat = driftCheck('drifty', now - 1000, 'drift', 1);
    await api.stores.measurements.writeDriftCheck(first);
    const started = await ask(first);
    expect(started.outcome).toBe('started');
    await api.stores.measurements.writeDriftCheck(repeat);
    const duplicate = await ask(repeat);
    expect(duplicate.outcome).toBe('duplicate');

    const before = (await get('/deployments/drifty/drift')).checks;
    expect(before.map((c: { retrain: { outcome: string; version: number | null } }) => [c.retrain.outcome, c.retrain.version])).toEqual([
      ['duplicate', null],
      ['started', null],
    ]);
    // The run registers version 2.
    const { version: _v, createdAt: _c, referenceProfile: _r, ...rest } = v1;
    const v2 = await api.stores.registry.registerModelVersion({ ...rest, workflowId: started.workflowId!, runId: started.runId! });
    const checks = (await get('/deployments/drifty/drift')).checks;
    const links = {
      status: `/workflows/${encodeURIComponent(started.workflowId!)}/runs/${started.runId}`,
      ui: `http://localhost:8233/namespaces/default/workflows/${encodeURIComponent(started.workflowId!)}/${started.runId}/history`,
    };
    expect(checks[0].retrain).toMatchObject({
      asked: true,
      outcome: 'duplicate',
      requestId: duplicate.requestId,
      links,
      version: v2.version,
    });
    expect(checks[1].retrain).toMatchObject({ asked: true, outcome: 'started', requestId: started.requestId, links, version: v2.version });
    // A training run is no rollout.
    expect((await admin('GET', `/rollouts/${started.workflowId}/runs/${started.runId}`)).status).toBe(404);
    await env.client.workflow.getHandle(started.workflowId!, started.runId!).terminate('test: no training worker here');
  });

  it('lists running and closed Rollout runs, and shows one with every look so far, then its result', async () => {
    const slow: RolloutPolicyInput = {
      canaryShare: 0.25,
      shadow: { minFrames: 40, minMinutes: 60, maxMinutes: 120 },
      canary: { minFrames: 40, minMinutes: 60, maxMinutes: 120 },
      checkSeconds: 1,
    };
    expect(
      (await admin('POST', '/deployments', { id: 'rolling', modelName: 'rolled', strategy: 'shadow', rolloutPolicy: slow })).status,
    ).toBe(201);
    await registerUntrainedVersion(api.stores, 'rolled', 'rolled-1', 150);
    await registerUntrainedVersion(api.stores, 'rolled', 'rolled-2', 100);
    const [started] = await startRollouts({
      stores: api.stores,
      objectsUrl: '',
      mlBackend: 'auto',
      temporal: { client: async () => env.client, ui: { url: '', namespace: 'default' } },
    })({ modelName: 'rolled', version: 2 });
    expect(started.workflowId).toBe(rolloutWorkflowIdFor('rolling'));

    const runningRow = {
      deploymentId: 'rolling',
      modelName: 'rolled',
      candidateVersion: 2,
      workflowId: started.workflowId,
      runId: started.runId,
      status: 'RUNNING',
      startTime: expect.stringMatching(ISO),
      closeTime: null,
      outcome: null,
      ui: expect.stringContaining(`/workflows/${started.workflowId}/${started.runId}/history`),
    };
    const listRunning = async () =>
      (await get('/rollouts?status=running')).rollouts.find((r: { runId: string }) => r.runId === started.runId);
    await eventually(async () => expect(await listRunning()).toEqual(runningRow));

    // A look every second: the status holds each one, oldest first.
    const path = `/rollouts/${started.workflowId}/runs/${started.runId}`;
    const live = await eventually(async () => {
      const run = await get(path);
      expect(run.state.checks.length).toBeGreaterThanOrEqual(3);
      return run;
    });
    expect(live.state).toMatchObject({ stage: 'shadow', candidateVersion: 2, currentVersion: 1 });
    const times = live.state.checks.map((c: { at: string }) => c.at);
    for (const t of times) expect(t).toMatch(ISO);
    expect([...times].sort()).toEqual(times);
    expect(live.state.checks.every((c: { stage: string; verdict: string }) => c.stage === 'shadow' && c.verdict === 'wait')).toBe(true);
    expect(live.state.lastCheck).toEqual(live.state.checks.at(-1));

    // Without a worker (no one to answer a query) the list still answers, from visibility and the registry.
    worker.shutdown();
    await running;
    expect(await listRunning()).toEqual(runningRow);
    await startWorker();

    expect((await admin('POST', '/deployments/rolling/rollout/abort', { by: 'test' })).status).toBe(202);
    const closed = await eventually(async () => {
      const { rollouts } = await get('/rollouts?status=closed');
      const run = rollouts.find((r: { runId: string }) => r.runId === started.runId);
      expect(run).toMatchObject({ status: 'COMPLETED', outcome: 'aborted' });
      return run;
    });
    expect(closed).toMatchObject({ deploymentId: 'rolling', candidateVersion: 2, closeTime: expect.stringMatching(ISO) });
    expect((await get('/rollouts?status=running')).rollouts.find((r: { runId: string }) => r.runId === started.runId)).toBeUndefined();
    const ended = await get(path);
    expect(ended).toMatchObject({ status: 'COMPLETED', result: { outcome: 'aborted', candidateVersion: 2 } });
    expect(ended.state).toBeUndefined();

    expect((await admin('GET', `/rollouts/${started.workflowId}/runs/${randomUUID()}`)).status).toBe(404);
    expect((await admin('GET', `/rollouts/${started.workflowId}/runs/not-a-uuid`)).status).toBe(400);
    expect((await admin('GET', '/rollouts?status=paused')).status).toBe(400);
  });
});

function driftCheck(deployment: string, time: number, verdict: DriftCheckRecord['verdict'], modelVersion: number): DriftCheckRecord {
  return {
    time,
    deployment,
    modelName: deployment === 'drifty' ? 'drifting' : 'fleet-model',
    modelVersion,
    verdict,
    kinds: verdict === 'drift' ? ['label'] : [],
    summary: verdict,
    windowFrames: 300,
    windowStart: time - MINUTE,
    windowEnd: time,
    covariate: null,
    label: null,
    performance: null,
  };
}
