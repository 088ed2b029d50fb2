import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askForDriftRetrain } from '../../activities/askForDriftRetrain.js';
import type { DriftCheckRecord } from '../../core/drift/driftReport.js';
import { adminCall, registerUntrainedVersion, startApi, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { startTemporal } from '../support/temporalEnv.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** What a new user meets in the admin API, one friction each (issue 21). */
describe('the admin API as a new user meets it', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let jpeg: Buffer;
  const admin = (method: string, route: string, body?: unknown) => adminCall(api.url, method, route, body);

  /** The version /predict answers a rover's frame with. */
  const servedTo = async (token: string) => {
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body.model.version as number;
  };
  const roverOn = async (deploymentId: string, id = deploymentId) =>
    (await admin('POST', '/clients', { id: `rover-${id}`, deploymentId })).body.token as string;

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    jpeg = await syntheticFrame(120);
  });

  afterAll(async () => {
    await api?.close();
    await env?.teardown();
  });

  it('says which version rovers get on a direct, a pinned and a rolling deployment, and how', async () => {
    await registerUntrainedVersion(api.stores, 'served', 'served-1');
    expect((await admin('POST', '/deployments', { id: 'rolling', modelName: 'served', strategy: 'shadow' })).status).toBe(201);
    await registerUntrainedVersion(api.stores, 'served', 'served-2');
    expect((await admin('POST', '/deployments', { id: 'direct', modelName: 'served' })).status).toBe(201);
    expect((await admin('POST', '/deployments', { id: 'pinned', modelName: 'served', modelVersion: 1 })).status).toBe(201);
    await api.stores.registry.setRolloutStage('rolling', {
      candidateVersion: 2,
      stage: 'shadow',
      canaryClients: [],
      workflowId: 'rollout-rolling',
      note: null,
    });

    const direct = (await admin('GET', '/deployments/direct')).body;
    expect(direct.serving).toEqual({ modelName: 'served', version: 2, how: 'direct', rollout: null });
    expect(await servedTo(await roverOn('direct'))).toBe(2);
    const pinned = (await admin('GET', '/deployments/pinned')).body;
    expect(pinned.serving).toEqual({ modelName: 'served', version: 1, how: 'pinned', rollout: null });
    expect(await servedTo(await roverOn('pinned'))).toBe(1);
    const rolling = (await admin('GET', '/deployments/rolling')).body;
    expect(rolling.serving).toEqual({
      modelName: 'served',
      version: 1,
      how: 'rollout',
      rollout: { candidateVersion: 2, stage: 'shadow', canaryClients: [] },
    });
    expect(await servedTo(await roverOn('rolling'))).toBe(1);
    // Every answer with a deployment says it, a change's too.
    const repinned = await admin('PATCH', '/deployments/pinned', { modelVersion: 2 });
    expect(repinned.body).toMatchObject({ deployment: { currentVersion: 2 }, serving: { version: 2, how: 'pinned' } });
    expect(await servedTo(await roverOn('pinned', 'pinned-b'))).toBe(2);
    expect((await admin('PATCH', '/deployments/pinned', { modelVersion: 1 })).body.serving.version).toBe(1);
    const listed = (await admin('GET', '/deployments')).body.deployments as { id: string; serving: { version: number } }[];
    expect(Object.fromEntries(listed.map((d) => [d.id, d.serving.version]))).toEqual({ direct: 2, pinned: 1, rolling: 1 });
  });

  it('tells a rollout stage no rover was served by from a change of what rovers get', async () => {
    const history = (await admin('GET', '/deployments/rolling/serving-history')).body.history;
    expect(history[0]).toMatchObject({
      reason: 'rollout-shadow',
      kind: 'rollout-stage',
      servedBefore: 1,
      servedAfter: 1,
      candidateVersion: 2,
      by: 'rollout-rolling',
    });
    expect(history[0].summary).toMatch(/v2 .*shadow.*v1/);
    await api.stores.registry.endRollout('rolling', {
      candidateVersion: 2,
      outcome: 'promoted',
      workflowId: 'rollout-rolling',
      note: null,
    });
    const [promoted] = (await admin('GET', '/deployments/rolling/serving-history?limit=1')).body.history;
    expect(promoted).toMatchObject({ reason: 'rollout-promoted', kind: 'serving-change', servedBefore: 1, servedAfter: 2 });
    expect((await admin('POST', '/deployments/rolling/rollback', { by: 'alice', reason: 'too slow' })).status).toBe(200);
    const [rollback] = (await admin('GET', '/deployments/rolling/serving-history?limit=1')).body.history;
    expect(rollback).toMatchObject({ reason: 'rollback', kind: 'serving-change', servedBefore: 2, servedAfter: 1, by: 'alice' });
    expect(rollback.summary).toMatch(/too slow/);
  });

  it('changes only the monitor settings a PUT gives; DELETE goes back to the defaults', async () => {
    expect((await admin('PUT', '/models/served/training-config', { deployments: ['direct'] })).status).toBe(200);
    const tuned = await admin('PUT', '/models/served/monitor', { intervalSeconds: 30, alpha: 0.01, covariate: { minWasserstein: 0.8 } });
    expect(tuned.status).toBe(200);
    const off = await admin('PUT', '/models/served/monitor', { enabled: false, covariate: { minDriftedShare: 0.3 } });
    expect(off.status).toBe(200);
    expect(off.body.config).toMatchObject({
      enabled: false,
      intervalSeconds: 30,
      alpha: 0.01,
      covariate: { minWasserstein: 0.8, minDriftedShare: 0.3 },
    });
    expect((await admin('GET', '/models/served/monitor')).body).toMatchObject({ defaults: false, config: off.body.config });
    // The merged config is validated as a whole.
    const bad = await admin('PUT', '/models/served/monitor', { covariate: { minDriftedShare: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/minDriftedShare/);
    expect((await admin('GET', '/models/served/monitor')).body.config.covariate.minDriftedShare).toBe(0.3);
  });

  it('refuses a manual check while the monitor is off, instead of claiming one ran', async () => {
    const check = await admin('POST', '/models/served/monitor/check');
    expect(check.status).toBe(409);
    expect(check.body.error.code).toBe('monitor_disabled');
    const reset = await admin('DELETE', '/models/served/monitor');
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ defaults: true, config: { enabled: true, intervalSeconds: 60, alpha: 0.001 } });
    expect((await admin('GET', '/models/served/monitor')).body.defaults).toBe(true);
    expect((await admin('POST', '/models/served/monitor/check')).status).toBe(202);
    // ...and the 202 is true: a CheckDrift run started.
    await eventually(async () => {
      const runs = [];
      for await (const run of env.client.workflow.list({ query: 'WorkflowType = "CheckDrift"' })) runs.push(run);
      expect(runs.length).toBeGreaterThanOrEqual(1);
    });
  });

  it('answers every time as an ISO 8601 string and accepts one in `since`, and links a drift check to the retrain it asked for', async () => {
    const now = Date.now();
    const check: DriftCheckRecord = {
      time: now,
      deployment: 'direct',
      modelName: 'served',
      modelVersion: 2,
      verdict: 'drift',
      kinds: ['label'],
      summary: 'label drift',
      windowFrames: 300,
      windowStart: now - 60_000,
      windowEnd: now - 1000,
      covariate: null,
      label: null,
      performance: null,
    };
    await api.stores.measurements.writeDriftCheck({ ...check, time: now - 3_600_000, verdict: 'no-drift', kinds: [] });
    await api.stores.measurements.writeDriftCheck(check);
    const ask = await askForDriftRetrain({
      stores: api.stores,
      objectsUrl: '',
      mlBackend: 'auto',
      temporal: { client: async () => env.client, ui: { url: 'http://ui', namespace: 'default' } },
    })(check);
    expect(ask.outcome).toBe('started');

    const since = new Date(now - 60_000).toISOString();
    const drift = await admin('GET', `/deployments/direct/drift?since=${since}`);
    expect(drift.status, JSON.stringify(drift.body)).toBe(200);
    expect(drift.body.checks).toHaveLength(1);
    const [read] = drift.body.checks;
    expect(read.time).toBe(new Date(now).toISOString());
    expect(read.windowStart).toMatch(ISO);
    expect(read.retrain).toMatchObject({ requestId: ask.requestId, outcome: 'started', workflowId: ask.workflowId, runId: ask.runId });
    // Epoch ms still work; a bad time is a 400.
    expect((await admin('GET', `/deployments/direct/drift?since=${now - 7_200_000}`)).body.checks).toHaveLength(2);
    const older = (await admin('GET', `/deployments/direct/drift?since=${now - 7_200_000}`)).body.checks[1];
    expect(older.retrain).toEqual({ asked: false, reason: 'no drift found: nothing to retrain' });
    expect((await admin('GET', '/deployments/direct/drift?since=yesterday')).status).toBe(400);

    const requests = (await admin('GET', '/models/served/retrain-requests')).body.requests;
    const request = requests.find((r: { id: number }) => r.id === ask.requestId);
    expect(request).toMatchObject({
      outcome: 'started',
      workflowId: ask.workflowId,
      driftCheck: { deployment: 'direct', time: read.time },
    });
    expect(request.createdAt).toMatch(ISO);
    expect(request.payload.observedAt).toBe(read.time);

    const means = await admin('GET', `/deployments/direct/means?field=error&since=${since}`);
    expect(means.status).toBe(200);
    for (const w of means.body.windows) expect(w.time).toMatch(ISO);
    await env.client.workflow.getHandle(ask.workflowId!, ask.runId!).terminate('test: no training worker here');
  });

  it('has a landing page at / with the links an operator needs, as HTML or JSON, without a token', async () => {
    const html = await fetch(`${api.url}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    const page = await html.text();
    for (const link of ['/openapi.json', '/metrics', '/healthz', '/readyz', 'http://localhost:8233', '/deployments', '/models'])
      expect(page).toContain(`href="${link}`);
    const json = await fetch(`${api.url}/`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(200);
    const index = await json.json();
    expect(index.links).toMatchObject({ openapi: '/openapi.json', metrics: '/metrics', health: '/healthz', ready: '/readyz' });
    expect(index.links.temporalUi).toBe('http://localhost:8233');
    expect(index.routes.map((r: { path: string }) => r.path)).toEqual(expect.arrayContaining(['/predict', '/deployments', '/models']));
  });
});
