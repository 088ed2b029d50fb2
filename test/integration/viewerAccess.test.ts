import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewModelVersion } from '../../core/stores/registry.js';
import { ADMIN_TOKEN, adminCall, startApi, type ApiHarness } from '../support/apiHarness.js';

/** A call with any token (or none): its status and JSON body (null for 204). */
async function call(url: string, token: string | undefined, method: string, route: string, body?: unknown) {
  const res = await fetch(url + route, {
    method,
    headers: { ...(token !== undefined && { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as any) };
}

const version = (modelName: string, runId: string): NewModelVersion => ({
  modelName,
  artifactKey: `runs/${runId}/model`,
  artifactSha256: 'a'.repeat(64),
  architecture: 'compact',
  metrics: { test_mae_mm: 5 },
  params: { epochs: 3 },
  trialId: `${runId}-t0`,
  workflowId: 'wf',
  runId,
  datasetKey: 'd',
  datasetSha256: 'b'.repeat(64),
  sourceDeployments: ['beige'],
  recordCount: 10,
  comparison: null,
});

/** Every admin route that changes something, with a body it would accept from the admin token. */
const CHANGES: [method: string, route: string, body?: unknown][] = [
  ['POST', '/deployments', { id: 'white', modelName: 'distance' }],
  ['PATCH', '/deployments/beige', { modelVersion: 1 }],
  ['DELETE', '/deployments/beige'],
  ['POST', '/deployments/beige/rollback', { reason: 'viewer tries' }],
  ['POST', '/deployments/green/rollout/promote', {}],
  ['POST', '/deployments/green/rollout/abort', {}],
  ['POST', '/deployments/green/rollout/pause', {}],
  ['POST', '/deployments/green/rollout/resume', {}],
  ['POST', '/models/distance/retrain', {}],
  ['POST', '/models/distance/versions/1/rerun', {}],
  ['PUT', '/models/distance/training-config', { deployments: ['green'] }],
  ['PUT', '/models/distance/monitor', { enabled: false }],
  ['DELETE', '/models/distance/monitor'],
  ['POST', '/models/distance/monitor/check', {}],
  ['POST', '/clients', { id: 'rover-9' }],
  ['PUT', '/clients/rover-1/deployment', { deploymentId: null }],
  ['DELETE', '/clients/rover-1'],
  ['POST', '/annotations', { text: 'a viewer writes' }],
  ['POST', '/viewers', { name: 'another' }],
  ['DELETE', '/viewers/1'],
];

/** Viewer tokens (POST /viewers): every admin GET, nothing else; the admin token keeps doing everything. */
describe('viewer tokens', () => {
  let api: ApiHarness;
  let viewer: { id: number; name: string; token: string };

  /** What an admin route could change, read from the stores themselves. */
  const snapshot = async () => {
    const r = api.stores.registry;
    const deployments = await r.listDeployments();
    return {
      deployments,
      history: await Promise.all(deployments.map((d) => r.servingHistory(d.id))),
      clients: await r.listClients(),
      models: await r.listModels(),
      versions: await r.listModelVersions('distance'),
      retrains: await r.listRetrainRequests(),
      viewers: await r.listViewers(),
      annotations: await r.listAnnotations(),
    };
  };

  beforeAll(async () => {
    // No Temporal: a viewer is refused before anything would ask it.
    api = await startApi(() => Promise.reject(new Error('no Temporal in this test')));
    const r = api.stores.registry;
    expect((await adminCall(api.url, 'POST', '/deployments', { id: 'beige', modelName: 'distance' })).status).toBe(201);
    expect((await adminCall(api.url, 'POST', '/clients', { id: 'rover-1', deploymentId: 'beige' })).status).toBe(201);
    expect((await adminCall(api.url, 'PUT', '/models/distance/training-config', { deployments: ['beige'] })).status).toBe(200);
    await r.registerModelVersion(version('distance', 'run-1'));
    // A canary deployment in a rollout of version 2 (what promote, abort, pause and resume act on).
    expect((await adminCall(api.url, 'POST', '/deployments', { id: 'green', modelName: 'distance', strategy: 'canary' })).status).toBe(201);
    await r.registerModelVersion(version('distance', 'run-2'));
    await r.setRolloutStage('green', { candidateVersion: 2, stage: 'shadow', canaryClients: [], workflowId: 'rollout-green', note: null });
    expect((await r.getDeployment('green'))?.rollout?.candidateVersion).toBe(2);

    const created = await adminCall(api.url, 'POST', '/viewers', { name: 'wall screen' });
    expect(created.status).toBe(201);
    expect(created.body.viewer).toMatchObject({ name: 'wall screen', createdBy: 'admin' });
    expect(created.body.viewer).not.toHaveProperty('tokenHash');
    expect(typeof created.body.token).toBe('string');
    viewer = { id: created.body.viewer.id, name: 'wall screen', token: created.body.token };
  });

  afterAll(async () => {
    await api?.close();
  });

  it('read every admin GET route it is shown', async () => {
    const deployments = await call(api.url, viewer.token, 'GET', '/deployments');
    expect(deployments.status).toBe(200);
    expect(deployments.body.deployments.map((d: { id: string }) => d.id).sort()).toEqual(['beige', 'green']);
    const models = await call(api.url, viewer.token, 'GET', '/models');
    expect(models.status).toBe(200);
    expect(models.body.models).toMatchObject([{ name: 'distance', latestVersion: 2 }]);
    for (const route of [
      '/deployments/beige',
      '/deployments/beige/serving-history',
      '/clients',
      '/clients/rover-1',
      '/models/distance',
      '/models/distance/versions/1',
      '/models/distance/retrain-requests',
      '/deployments/beige/drift',
      '/deployments/beige/stats',
      '/annotations',
    ])
      expect([route, (await call(api.url, viewer.token, 'GET', route)).status]).toEqual([route, 200]);
    // Past the guard to the routes' own answers: Temporal is not there.
    for (const route of [`/workflows/wf/runs/${randomUUID()}`, '/models/distance/monitor']) {
      const answer = await call(api.url, viewer.token, 'GET', route);
      expect([route, answer.status, answer.body.error.code]).toEqual([route, 503, 'temporal_unavailable']);
    }
  });

  it('are refused 403 on every route that changes something, and nothing changes', async () => {
    const before = await snapshot();
    for (const [method, route, body] of CHANGES) {
      const answer = await call(api.url, viewer.token, method, route, body);
      expect([method, route, answer.status, answer.body?.error?.code]).toEqual([method, route, 403, 'forbidden']);
      expect(answer.body.error.message).toMatch(/viewer token/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('may not list the viewers', async () => {
    const listed = await call(api.url, viewer.token, 'GET', '/viewers');
    expect(listed.status).toBe(403);
    expect(listed.body.error.code).toBe('forbidden');
  });

  it('say who they are on GET /session, as the admin token does; a wrong or no token is 401 there and on reads', async () => {
    expect(await call(api.url, viewer.token, 'GET', '/session')).toEqual({ status: 200, body: { role: 'viewer', name: 'wall screen' } });
    expect(await call(api.url, ADMIN_TOKEN, 'GET', '/session')).toEqual({ status: 200, body: { role: 'admin', name: null } });
    for (const route of ['/session', '/deployments', '/models', '/annotations']) {
      const wrong = await call(api.url, `${viewer.token}x`, 'GET', route);
      expect([route, wrong.status, wrong.body.error.code]).toEqual([route, 401, 'invalid_token']);
      const none = await call(api.url, undefined, 'GET', route);
      expect([route, none.status, none.body.error.code]).toEqual([route, 401, 'missing_token']);
    }
    expect((await call(api.url, 'not-a-token', 'POST', '/deployments', { id: 'white', modelName: 'distance' })).status).toBe(401);
  });

  it('are listed without their hash, unique by name, and stop working once deleted', async () => {
    const other = await adminCall(api.url, 'POST', '/viewers', { name: 'laptop' });
    expect(other.status).toBe(201);
    expect((await adminCall(api.url, 'POST', '/viewers', { name: 'laptop' })).status).toBe(409);
    expect((await adminCall(api.url, 'POST', '/viewers', { name: '' })).body.error.code).toBe('invalid_request');
    const listed = await adminCall(api.url, 'GET', '/viewers');
    expect(listed.status).toBe(200);
    expect(listed.body.viewers.map((v: { name: string }) => v.name)).toEqual(['wall screen', 'laptop']);
    expect(JSON.stringify(listed.body)).not.toMatch(/tokenHash|token_hash/);
    expect(JSON.stringify(listed.body)).not.toContain(other.body.token);

    expect((await adminCall(api.url, 'DELETE', `/viewers/${other.body.viewer.id}`)).status).toBe(204);
    expect((await adminCall(api.url, 'DELETE', `/viewers/${other.body.viewer.id}`)).status).toBe(404);
    expect((await adminCall(api.url, 'DELETE', '/viewers/first')).status).toBe(400);
    for (const route of ['/session', '/deployments']) {
      const gone = await call(api.url, other.body.token, 'GET', route);
      expect([route, gone.status, gone.body.error.code]).toEqual([route, 401, 'invalid_token']);
    }
    // The other viewer's token still works.
    expect((await call(api.url, viewer.token, 'GET', '/deployments')).status).toBe(200);
  });
});

describe('annotations', () => {
  let api: ApiHarness;
  let viewerToken: string;

  beforeAll(async () => {
    api = await startApi(() => Promise.reject(new Error('no Temporal in this test')));
    expect((await adminCall(api.url, 'POST', '/deployments', { id: 'beige', modelName: 'distance' })).status).toBe(201);
    expect((await adminCall(api.url, 'POST', '/deployments', { id: 'green', modelName: 'distance' })).status).toBe(201);
    viewerToken = (await adminCall(api.url, 'POST', '/viewers', { name: 'reader' })).body.token;
  });

  afterAll(async () => {
    await api?.close();
  });

  it('round trip: written by the admin, read newest first by a viewer, filtered by deployment, time range and limit', async () => {
    const post = async (body: unknown) => {
      const answer = await adminCall(api.url, 'POST', '/annotations', body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      return answer.body.annotation;
    };
    const phase = await post({ text: 'phase 1: the floor changes', tags: ['demo', 'phase-1'], time: '2026-03-01T10:00:00Z', by: 'demo' });
    expect(phase).toEqual({
      id: phase.id,
      time: '2026-03-01T10:00:00.000Z',
      text: 'phase 1: the floor changes',
      tags: ['demo', 'phase-1'],
      deployment: null,
      by: 'demo',
    });
    // Another zone, the same instant stored in UTC.
    const beige = await post({ text: 'pinned by hand', deployment: 'beige', time: '2026-03-01T11:30:00+01:00' });
    expect(beige).toMatchObject({ time: '2026-03-01T10:30:00.000Z', tags: [], deployment: 'beige', by: 'admin' });
    const green = await post({ text: 'green rolled back', deployment: 'green', time: '2026-03-01T11:00:00Z' });
    const before = Date.now();
    const now = await post({ text: '  trimmed, at the time it is written  ' });
    expect(now.text).toBe('trimmed, at the time it is written');
    expect(Date.parse(now.time)).toBeGreaterThanOrEqual(before - 1000);

    const read = async (query: string) => {
      const answer = await call(api.url, viewerToken, 'GET', `/annotations${query}`);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer.body.annotations.map((a: { id: number }) => a.id);
    };
    expect(await read('')).toEqual([now.id, green.id, beige.id, phase.id]);
    expect(await read('?deployment=beige')).toEqual([now.id, beige.id, phase.id]);
    expect(await read('?since=2026-03-01T10:15:00Z&until=2026-03-01T11:00:00Z')).toEqual([green.id, beige.id]);
    expect(await read(`?deployment=green&until=${Date.parse('2026-03-02T00:00:00Z')}`)).toEqual([green.id, phase.id]);
    expect(await read('?limit=2')).toEqual([now.id, green.id]);
    const full = await call(api.url, viewerToken, 'GET', '/annotations?deployment=beige&limit=1');
    expect(full.body.annotations).toEqual([now]);
  });

  it('refuses bad bodies and queries with 400 invalid_request and stores nothing', async () => {
    const before = await api.stores.registry.listAnnotations();
    const bad: unknown[] = [
      {},
      { text: '' },
      { text: '   ' },
      { text: 'x'.repeat(501) },
      { text: 42 },
      { text: 'ok', tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      { text: 'ok', tags: ['y'.repeat(65)] },
      { text: 'ok', tags: [''] },
      { text: 'ok', tags: 'demo' },
      { text: 'ok', time: 'yesterday' },
      { text: 'ok', time: '2026-03-01T10:00:00' },
      { text: 'ok', deployment: 'Not An Id' },
      { text: 'ok', colour: 'red' },
      [],
    ];
    for (const body of bad) {
      const answer = await adminCall(api.url, 'POST', '/annotations', body);
      expect([JSON.stringify(body).slice(0, 80), answer.status, answer.body.error.code]).toEqual([
        JSON.stringify(body).slice(0, 80),
        400,
        'invalid_request',
      ]);
    }
    // The limits themselves are fine.
    const longest = { text: 'x'.repeat(500), tags: Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(64, 'y')) };
    const kept = await adminCall(api.url, 'POST', '/annotations', longest);
    expect(kept.status).toBe(201);
    const unknown = await adminCall(api.url, 'POST', '/annotations', { text: 'ok', deployment: 'white' });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
    for (const query of ['?limit=0', '?limit=1001', '?since=yesterday', `?until=${8e15}`, '?deployment=Bad', '?colour=red']) {
      const answer = await call(api.url, viewerToken, 'GET', `/annotations${query}`);
      expect([query, answer.status, answer.body.error.code]).toEqual([query, 400, 'invalid_request']);
    }
    expect(await api.stores.registry.listAnnotations()).toEqual([kept.body.annotation, ...before]);
  });
});
