import type { TestWorkflowEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainWorkflowIdFor } from '../../workflows/trainAndRegister/contract.js';
import { ADMIN_TOKEN, registerUntrainedVersion, startApi, WEBHOOK_TOKEN, type ApiHarness } from '../support/apiHarness.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { startTemporal } from '../support/temporalEnv.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const webhookAuth = { authorization: `Bearer ${WEBHOOK_TOKEN}` };

describe('inference API', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let token: string;
  let jpeg: Buffer;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = admin) => {
    const res = await fetch(api.url + path, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const predict = async (opts: { image?: Buffer | null; type?: string; clientId?: string; token?: string | null; sensor?: string }) => {
    const form = new FormData();
    form.set('client_id', opts.clientId ?? 'rover-1');
    if (opts.sensor !== undefined) form.set('sensor_value', opts.sensor);
    if (opts.image !== null)
      form.set('image', new Blob([new Uint8Array(opts.image ?? jpeg)], { type: opts.type ?? 'image/jpeg' }), 'frame.jpg');
    const headers: Record<string, string> = opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? token}` };
    const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    jpeg = await syntheticFrame(120);
    expect((await call('POST', '/deployments', { id: 'beige', modelName: 'distance' })).status).toBe(201);
    const created = await call('POST', '/clients', { id: 'rover-1', deploymentId: 'beige' });
    expect(created.status).toBe(201);
    token = created.body.token;
  });

  afterAll(async () => {
    await api?.close();
    await env?.teardown();
  });

  describe('health', () => {
    it('is live, and not ready without workers even when every store and Temporal answer', async () => {
      expect((await call('GET', '/healthz')).status).toBe(200);
      const ready = await call('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ registry: 'ok', objects: 'ok', measurements: 'ok', temporal: 'ok', workers: 'down' });
    });
  });

  describe('admin routes', () => {
    it('refuse a missing or wrong admin token', async () => {
      expect(await call('GET', '/deployments', undefined, {})).toMatchObject({ status: 401, body: { error: { code: 'missing_token' } } });
      expect(await call('GET', '/deployments', undefined, { authorization: 'Bearer nope' })).toMatchObject({
        status: 401,
        body: { error: { code: 'invalid_token' } },
      });
      expect((await call('GET', '/clients', undefined, { authorization: `Bearer ${WEBHOOK_TOKEN}` })).status).toBe(401);
    });

    it('validate bodies and answer conflicts, malformed and oversized JSON', async () => {
      expect(await call('POST', '/deployments', { id: 'Bad Id!', modelName: 'distance' })).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_request' } },
      });
      expect((await call('POST', '/deployments', { id: 'beige', modelName: 'distance' })).status).toBe(409);
      expect(await call('POST', '/deployments', '{"id": ')).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
      expect(await call('POST', '/deployments', { id: 'x', modelName: 'y', pad: 'p'.repeat(300_000) })).toMatchObject({
        status: 413,
        body: { error: { code: 'payload_too_large' } },
      });
      expect((await call('POST', '/clients', { id: 'rover-x', deploymentId: 'missing' })).status).toBe(404);
    });

    it('show a client without its token hash and reassign it', async () => {
      const got = await call('GET', '/clients/rover-1');
      expect(got.body.client).toMatchObject({ id: 'rover-1', deploymentId: 'beige' });
      expect(JSON.stringify(got.body)).not.toContain('tokenHash');
      expect((await call('GET', '/clients/ghost')).status).toBe(404);
      expect((await call('PUT', '/clients/ghost/deployment', { deploymentId: 'beige' })).status).toBe(404);
      expect((await call('PUT', '/clients/rover-1/deployment', { deploymentId: 'nowhere' })).status).toBe(404);
    });

    it('delete a deployment for real, unassigning its clients, and 404 an unknown one', async () => {
      await call('POST', '/deployments', { id: 'temp', modelName: 'distance' });
      const c = await call('POST', '/clients', { id: 'rover-temp', deploymentId: 'temp' });
      expect((await call('DELETE', '/deployments/temp')).status).toBe(204);
      expect((await call('GET', '/deployments/temp')).status).toBe(404);
      expect((await call('GET', '/clients/rover-temp')).body.client.deploymentId).toBeNull();
      expect((await call('DELETE', '/deployments/temp')).status).toBe(404);
      expect(await predict({ clientId: 'rover-temp', token: c.body.token })).toMatchObject({
        status: 404,
        body: { error: { code: 'no_deployment' } },
      });
    });

    it('answer unknown routes and ids with JSON 404s', async () => {
      expect(await call('GET', '/nope')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
      expect((await call('GET', '/models/ghost')).status).toBe(404);
      expect((await call('GET', '/models/ghost/versions/1')).status).toBe(404);
      expect((await call('GET', '/trials/ghost')).status).toBe(404);
      expect((await call('GET', '/deployments/ghost/stats')).status).toBe(404);
      expect((await call('GET', '/deployments/beige/histogram?field=nope')).status).toBe(400);
      expect(await call('GET', '/deployments/beige/histogram?field=error&min=10&max=10')).toMatchObject({
        status: 400,
        body: { error: { message: expect.stringContaining('max must exceed min') } },
      });
    });
  });

  describe('POST /predict', () => {
    it('rejects bad input with the right status and code', async () => {
      const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
        .png()
        .toBuffer();
      expect(await predict({ image: png, type: 'image/png' })).toMatchObject({
        status: 415,
        body: { error: { code: 'unsupported_media_type' } },
      });
      expect(await predict({ image: jpeg.subarray(0, jpeg.length / 2) })).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_image' } },
      });
      expect(await predict({ image: null })).toMatchObject({ status: 400, body: { error: { code: 'missing_image' } } });
      expect(await predict({ image: Buffer.concat([jpeg, Buffer.alloc(300_000)]) })).toMatchObject({
        status: 413,
        body: { error: { code: 'payload_too_large' } },
      });
      expect(await predict({ token: null })).toMatchObject({ status: 401, body: { error: { code: 'missing_token' } } });
      expect(await predict({ token: 'wrong' })).toMatchObject({ status: 401, body: { error: { code: 'invalid_token' } } });
      expect(await predict({ clientId: 'ghost' })).toMatchObject({ status: 401, body: { error: { code: 'invalid_token' } } });
      expect(await predict({ sensor: 'abc' })).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
      const notMultipart = await fetch(`${api.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=x', authorization: `Bearer ${token}` },
        body: '--x\r\nbroken',
      });
      expect(notMultipart.status).toBe(400);
      await api.analysis.idle();
      expect((await api.stores.measurements.deploymentStats('beige')).count).toBe(0);
    });

    it('answers 503 no_model before the first version, and still records the frame', async () => {
      expect(await predict({ sensor: '120' })).toMatchObject({ status: 503, body: { error: { code: 'no_model' } } });
      await api.analysis.idle();
      const stats = await api.stores.measurements.deploymentStats('beige');
      expect(stats).toMatchObject({ count: 1, labelledCount: 1, sensorMin: 120, meanError: null });
    });

    it('predicts with the latest version, records prediction, error and characteristics, and follows a new version', async () => {
      await registerUntrainedVersion(api.stores, 'distance', 'run-a');
      const first = await predict({ sensor: '100' });
      expect(first.status).toBe(200);
      expect(first.body.model).toEqual({ name: 'distance', version: 1 });
      expect(first.body.prediction_mm).toBeGreaterThanOrEqual(0);
      expect(first.body.prediction_mm).toBeLessThanOrEqual(350);
      await api.analysis.idle();
      const rows = await api.stores.measurements.datasetRows(['beige']);
      expect(rows).toHaveLength(2);
      expect(await api.stores.objects.exists(rows[1].imageKey)).toBe(true);
      const stats = await api.stores.measurements.deploymentStats('beige');
      expect(stats.meanError).toBeCloseTo(Math.abs(first.body.prediction_mm - 100), 3);
      expect(stats.modelVersion).toBe(1);
      const hsv = await api.stores.measurements.windowedMeans('beige', 'hsv_s', 300_000);
      expect(hsv.reduce((n, w) => n + w.count, 0)).toBe(2);

      await registerUntrainedVersion(api.stores, 'distance', 'run-b');
      // v2 loads and warms in the background while v1 keeps answering; then v2 serves.
      expect((await predict({ sensor: '100' })).body.model.version).toBe(1);
      await api.models.swapsSettled();
    });

    it('answers a frame whose laser sent an error code or an impossible value, and keeps the reading as sent, marked, with no error', async () => {
      // A deployment of its own, so the other tests' counts stay as they are.
      expect((await call('POST', '/deployments', { id: 'laser', modelName: 'distance' })).status).toBe(201);
      const rover = (await call('POST', '/clients', { id: 'rover-laser', deploymentId: 'laser' })).body.token as string;
      const sent = ['65535', '8190', '-5', '2500'];
      for (const sensor of sent) expect((await predict({ sensor, clientId: 'rover-laser', token: rover })).status).toBe(200);
      await api.analysis.idle();
      const frames = (await api.stores.measurements.recentFrames('laser', { limit: 10 })).reverse();
      expect(frames.map((f) => [f.sensorValue, f.sensorStatus, f.error])).toEqual([
        [65535, 'error-code', null],
        [8190, 'error-code', null],
        [-5, 'out-of-range', null],
        [2500, 'out-of-range', null],
      ]);
      expect(frames.every((f) => f.prediction !== null)).toBe(true);
      // No label for training either.
      expect(await api.stores.measurements.datasetRows(['laser'])).toEqual([]);
    });

    it('keeps answering while the object store is down and replays the spooled frames when it is back', async () => {
      await api.analysis.idle();
      const before = (await api.stores.measurements.deploymentStats('beige')).count;
      api.objects.down = true;
      const answers = await Promise.all([1, 2, 3].map(() => predict({ sensor: '50' })));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(answers.map((a) => a.body.model.version)).toEqual([2, 2, 2]);
      await api.analysis.idle();
      expect(await api.analysis.spooledCount()).toBe(3);
      expect(await api.analysis.replaySpool()).toBe(0);
      api.objects.down = false;
      expect(await api.analysis.replaySpool()).toBe(3);
      expect(await api.analysis.spooledCount()).toBe(0);
      expect((await api.stores.measurements.deploymentStats('beige')).count).toBe(before + 3);
    });
  });

  describe('reads and lineage', () => {
    it('leads from a model version to its trial, workflow and dataset', async () => {
      const got = await call('GET', '/models/distance/versions/1');
      expect(got.status).toBe(200);
      expect(got.body.lineage.trial.id).toBe('run-a-t0');
      expect(got.body.lineage.workflow.url).toBe('http://localhost:8233/namespaces/default/workflows/test/run-a/history');
      expect(got.body.lineage.dataset).toMatchObject({ deployments: ['d1'], recordCount: 1 });
      expect((await call('GET', '/trials/run-a-t0')).body.registeredAs).toEqual({ modelName: 'distance', version: 1 });
      expect((await call('GET', '/models')).body.models[0]).toMatchObject({ name: 'distance', latestVersion: 2 });
      expect((await call('GET', '/models/distance/versions/abc')).status).toBe(400);
      expect((await call('GET', '/models/distance/versions/1/reference-profile')).status).toBe(404);
      await api.stores.objects.put('runs/test/run-a/reference-profile.json', Buffer.from('{"frames":1}'));
      await api.stores.registry.attachReferenceProfile('distance', 1, {
        key: 'runs/test/run-a/reference-profile.json',
        sha256: 'f'.repeat(64),
      });
      expect(await call('GET', '/models/distance/versions/1/reference-profile')).toMatchObject({ status: 200, body: { frames: 1 } });
      expect((await call('GET', '/models/distance/versions/1')).body.version.referenceProfile.key).toBe(
        'runs/test/run-a/reference-profile.json',
      );
    });

    it("tells a version's dataset as its manifest and reference profile say: split, input, policy, label range", async () => {
      const dataset = async () => (await call('GET', '/models/distance/versions/2')).body.lineage.dataset;
      // Neither stored (or unreadable): the registry's facts still answer, the rest is null.
      expect(await dataset()).toMatchObject({ recordCount: 1, deployments: ['d1'], manifest: null, labels: null });
      const split = (count: number) => ({ count, packs: [], labelsKey: 'l', labelsSha256: 's', imageKeysKey: 'k', imageKeysSha256: 's' });
      await api.stores.objects.put(
        'runs/test/dataset/manifest.json',
        Buffer.from(
          JSON.stringify({
            format: 'mlops-dataset/v2',
            width: 40,
            height: 30,
            channels: 3,
            labelMaxMm: 350,
            seed: 42,
            testFraction: 0.2,
            policy: { kind: 'last', perDeployment: 500 },
            preprocessingVersion: 1,
            split: 'frame-hash',
            train: split(81),
            test: split(19),
            source: { datasetKey: 'd', datasetSha256: 'x', deployments: ['d1'], recordCount: 100 },
          }),
        ),
      );
      const labels = { n: 100, min: 40, max: 330, mean: 181.5, std: 80, quantiles: [40, 330], labelMaxMm: 350 };
      await api.stores.objects.put('runs/test/run-b/reference-profile.json', Buffer.from(JSON.stringify({ frames: 100, labels })));
      await api.stores.registry.attachReferenceProfile('distance', 2, {
        key: 'runs/test/run-b/reference-profile.json',
        sha256: 'e'.repeat(64),
      });
      expect(await dataset()).toMatchObject({
        manifest: { width: 40, height: 30, labelMaxMm: 350, seed: 42, testFraction: 0.2, trainCount: 81, testCount: 19 },
        labels: { n: 100, min: 40, max: 330, mean: 181.5 },
      });
      expect((await dataset()).manifest.policy).toEqual({ kind: 'last', perDeployment: 500 });
      // v1's profile has no labels (as written above): null, not a failure.
      expect((await call('GET', '/models/distance/versions/1')).body.lineage.dataset.labels).toBeNull();
    });

    it('gives deployment stats, histograms and windowed means', async () => {
      const stats = await call('GET', '/deployments/beige/stats');
      expect(stats.body.stats.count).toBe(6);
      const hist = await call('GET', '/deployments/beige/histogram?field=sensor_value&bins=7&min=0&max=350');
      expect(hist.body.bins).toHaveLength(7);
      expect(hist.body.bins.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(6);
      // sensor values so far: 120, 100, 100 and three of 50
      expect(hist.body.bins.map((b: { count: number }) => b.count)).toEqual([0, 3, 3, 0, 0, 0, 0]);
      const means = await call('GET', '/deployments/beige/means?field=sensor_value&windowMs=3600000');
      expect(means.body.windows.reduce((n: number, w: { count: number }) => n + w.count, 0)).toBe(6);
    });
  });

  describe('retrain routes', () => {
    const alert = (status: 'firing' | 'resolved', fingerprint: string, startsAt = '2026-11-26T10:00:00Z') => ({
      receiver: 'mlops-webhook',
      status,
      alerts: [{ status, labels: { alertname: 'SaturationDrift', deployment: 'beige' }, annotations: {}, startsAt, fingerprint }],
      groupKey: '{}:{alertname="SaturationDrift"}',
      version: '1',
    });

    it('needs a training config before a retrain can start', async () => {
      expect(await call('POST', '/models/distance/retrain', {})).toMatchObject({
        status: 409,
        body: { error: { code: 'no_training_config' } },
      });
      expect((await call('POST', '/models/ghost/retrain', {})).status).toBe(404);
      expect((await call('PUT', '/models/distance/training-config', { deployments: ['beige'], architecture: 'nope' })).status).toBe(400);
      expect((await call('PUT', '/models/distance/training-config', { deployments: ['beige'], sweep: { epochs: [2] } })).status).toBe(200);
    });

    it('refuses a wrong webhook token and a malformed payload', async () => {
      expect((await call('POST', '/webhooks/grafana', alert('firing', 'a'), admin)).status).toBe(401);
      expect((await call('POST', '/webhooks/grafana', alert('firing', 'a'), {})).status).toBe(401);
      expect(await call('POST', '/webhooks/grafana', { alerts: 'x' }, webhookAuth)).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_request' } },
      });
    });

    it('starts nothing on resolved, one run on firing, joins it on another alert and ignores repeats', async () => {
      const resolved = await call('POST', '/webhooks/grafana', alert('resolved', 'fp1'), webhookAuth);
      expect(resolved.body.results[0].outcome).toBe('ignored');

      const fired = await call('POST', '/webhooks/grafana', alert('firing', 'fp1'), webhookAuth);
      expect(fired.status).toBe(200);
      expect(fired.body.results[0]).toMatchObject({ outcome: 'started', workflowId: trainWorkflowIdFor('distance') });
      const runId = fired.body.results[0].runId;

      const repeat = await call('POST', '/webhooks/grafana', alert('firing', 'fp1'), webhookAuth);
      expect(repeat.body.results[0].outcome).toBe('duplicate');

      const other = await call('POST', '/webhooks/grafana', alert('firing', 'fp2'), webhookAuth);
      expect(other.body.results[0]).toMatchObject({ outcome: 'joined', runId });
      const manual = await call('POST', '/models/distance/retrain', { by: 'engineer' });
      expect(manual).toMatchObject({ status: 202, body: { outcome: 'joined', runId } });

      const handle = env.client.workflow.getHandle(trainWorkflowIdFor('distance'));
      const description = await handle.describe();
      expect(description.runId).toBe(runId);
      const history = await handle.fetchHistory();
      const signals = history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes);
      expect(signals).toHaveLength(3);
      const requests = (await call('GET', '/models/distance/retrain-requests')).body.requests;
      // The first ask (before the training config existed) is on record as ignored.
      expect(requests.map((r: { outcome: string }) => r.outcome)).toEqual(['ignored', 'started', 'duplicate', 'joined', 'joined']);
      const running = await call('GET', `/workflows/${trainWorkflowIdFor('distance')}/runs/${runId}`);
      expect(running.body).toMatchObject({ status: 'RUNNING', type: 'TrainAndRegister' });
      await handle.terminate('test done');
      expect((await call('GET', `/workflows/${trainWorkflowIdFor('distance')}/runs/${runId}`)).body.status).toBe('TERMINATED');
      expect((await call('GET', `/workflows/no-such-workflow/runs/${runId}`)).status).toBe(404);
    });

    it('keeps the reason a person gives for a manual retrain with the ask', async () => {
      const asked = await call('POST', '/models/distance/retrain', { by: 'alice', reason: 'new gravel on the yard' });
      expect(asked.status).toBe(202);
      const requests = (await call('GET', '/models/distance/retrain-requests')).body.requests;
      expect(requests.at(-1)).toMatchObject({
        id: asked.body.requestId,
        trigger: 'manual',
        payload: { ask: { by: 'alice', reason: 'new gravel on the yard' } },
      });
      expect(await call('POST', '/models/distance/retrain', { reason: 'x'.repeat(1025) })).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_request' } },
      });
      await env.client.workflow.getHandle(trainWorkflowIdFor('distance')).terminate('test done');
    });
  });
});
