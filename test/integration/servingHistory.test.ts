import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROLLOUT_POLICY } from '../../core/rollout/rolloutPolicy.js';
import { ADMIN_TOKEN, registerUntrainedVersion, startApi, type ApiHarness } from '../support/apiHarness.js';
import { syntheticFrame } from '../support/syntheticFrames.js';
import { startTemporal } from '../support/temporalEnv.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('serving history, rollback and rollout policy through the admin API', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let token: string;
  let jpeg: Buffer;

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api.url + path, {
      method,
      headers: { ...admin, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const servedVersion = async () => {
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body.model.version as number;
  };

  /** The deployment's history as [reason, from, to, by], newest first. */
  const history = async (id: string) => {
    const res = await call('GET', `/deployments/${id}/serving-history`);
    expect(res.status).toBe(200);
    return (res.body.history as { reason: string; fromVersion: number | null; toVersion: number | null; by: string }[]).map((c) => [
      c.reason,
      c.fromVersion,
      c.toVersion,
      c.by,
    ]);
  };

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    jpeg = await syntheticFrame(120);
  });

  afterAll(async () => {
    await api?.close();
    await env?.teardown();
  });

  it('records creation, registrations on latest and manual changes; rollback pins the version before and /predict serves it at once', async () => {
    expect((await call('POST', '/deployments', { id: 'beige', modelName: 'distance' })).status).toBe(201);
    expect(await history('beige')).toEqual([['created', null, null, 'admin']]);
    token = (await call('POST', '/clients', { id: 'rover-1', deploymentId: 'beige' })).body.token;

    await registerUntrainedVersion(api.stores, 'distance', 'run-1');
    await registerUntrainedVersion(api.stores, 'distance', 'run-2');
    expect(await servedVersion()).toBe(2);
    // A pinned version serves from the next request on.
    expect((await call('PATCH', '/deployments/beige', { modelVersion: 1 })).status).toBe(200);
    expect(await servedVersion()).toBe(1);
    expect((await call('PATCH', '/deployments/beige', { modelVersion: 'latest' })).status).toBe(200);
    await registerUntrainedVersion(api.stores, 'distance', 'run-3');
    // On latest, v3 loads and warms in the background while v2 keeps answering.
    expect(await servedVersion()).toBe(2);
    await api.models.swapsSettled();
    expect(await servedVersion()).toBe(3);
    expect(await history('beige')).toEqual([
      ['registration', 2, 3, 'test'],
      ['manual', 1, 2, 'admin'],
      ['manual', 2, 1, 'admin'],
      ['registration', 1, 2, 'test'],
      ['registration', null, 1, 'test'],
      ['created', null, null, 'admin'],
    ]);

    const rollback = await call('POST', '/deployments/beige/rollback', { by: 'alice' });
    expect(rollback).toMatchObject({
      status: 200,
      body: {
        deployment: { id: 'beige', modelName: 'distance', modelVersion: 2 },
        change: { deploymentId: 'beige', reason: 'rollback', modelName: 'distance', fromVersion: 3, toVersion: 2, by: 'alice' },
      },
    });
    // The deployment lookup /predict cached a moment ago is stale: the rollback cleared it.
    expect(await servedVersion()).toBe(2);
    expect((await call('GET', '/deployments/beige/serving-history?limit=1')).body).toEqual({
      deployment: 'beige',
      history: [rollback.body.change],
    });
    // Without a body, `by` is admin; a second rollback undoes the first.
    expect((await call('POST', '/deployments/beige/rollback')).body.change).toMatchObject({ fromVersion: 2, toVersion: 3, by: 'admin' });
    expect(await servedVersion()).toBe(3);
  });

  it('refuses to pin a deployment to a version its model does not have, naming the versions it has', async () => {
    await registerUntrainedVersion(api.stores, 'gauge', 'gauge-run-1');
    await registerUntrainedVersion(api.stores, 'gauge', 'gauge-run-2');
    expect(await call('POST', '/deployments', { id: 'ochre', modelName: 'gauge', modelVersion: 9 })).toMatchObject({
      status: 409,
      body: { error: { code: 'unknown_version', message: expect.stringContaining('versions 1, 2') } },
    });
    expect((await call('GET', '/deployments/ochre')).status).toBe(404);
    expect((await call('POST', '/deployments', { id: 'ochre', modelName: 'gauge', modelVersion: 2 })).status).toBe(201);
    expect(await call('PATCH', '/deployments/ochre', { modelVersion: 3 })).toMatchObject({
      status: 409,
      body: { error: { code: 'unknown_version', message: expect.stringContaining('versions 1, 2') } },
    });
    // A model without versions yet: a pin has nothing to name.
    expect(await call('PATCH', '/deployments/ochre', { modelName: 'unborn', modelVersion: 1 })).toMatchObject({
      status: 409,
      body: { error: { code: 'unknown_version', message: expect.stringContaining('no versions') } },
    });
    expect((await call('GET', '/deployments/ochre')).body.deployment).toMatchObject({ modelName: 'gauge', modelVersion: 2 });
    expect((await history('ochre')).map(([reason]) => reason)).toEqual(['created']);
  });

  it('keeps the reason a rollback was given, or who asked for it, in the serving history', async () => {
    await registerUntrainedVersion(api.stores, 'sienna-model', 'sienna-run-1');
    expect((await call('POST', '/deployments', { id: 'sienna', modelName: 'sienna-model' })).status).toBe(201);
    await registerUntrainedVersion(api.stores, 'sienna-model', 'sienna-run-2');
    const reason = 'v2 reads the yard 40 mm short';
    const rollback = await call('POST', '/deployments/sienna/rollback', { by: 'alice', reason });
    expect(rollback).toMatchObject({ status: 200, body: { change: { reason: 'rollback', by: 'alice', comment: reason, toVersion: 1 } } });
    expect((await call('POST', '/deployments/sienna/rollback')).body.change).toMatchObject({ comment: 'manual rollback by admin' });
    const shown = (await call('GET', '/deployments/sienna/serving-history?limit=2')).body.history;
    expect(shown.map((c: { comment: string | null }) => c.comment)).toEqual(['manual rollback by admin', reason]);
    expect((await call('POST', '/deployments/sienna/rollback', { reason: '' })).status).toBe(400);
  });

  it('answers 409 when there is no version to go back to, 404 for an unknown deployment, 400 for a bad body', async () => {
    expect((await call('POST', '/deployments', { id: 'green', modelName: 'distance' })).status).toBe(201);
    expect(await call('POST', '/deployments/green/rollback')).toMatchObject({
      status: 409,
      body: { error: { code: 'no_previous_version', message: expect.stringContaining('has no previous version to roll back to') } },
    });
    // A model change: the version served before is of the other model, gone for this one.
    expect((await call('PATCH', '/deployments/green', { modelName: 'speed' })).status).toBe(200);
    expect(await call('POST', '/deployments/green/rollback')).toMatchObject({
      status: 409,
      body: { error: { code: 'no_previous_version', message: expect.stringContaining('is of another model') } },
    });
    expect(await history('green')).toEqual([
      ['manual', 3, null, 'admin'],
      ['created', null, 3, 'admin'],
    ]);
    expect((await call('POST', '/deployments/ghost/rollback')).status).toBe(404);
    expect((await call('GET', '/deployments/ghost/serving-history')).status).toBe(404);
    expect((await call('POST', '/deployments/green/rollback', { by: '' })).status).toBe(400);
    expect((await call('POST', '/deployments/green/rollback', { who: 'x' })).status).toBe(400);
    expect((await call('GET', '/deployments/green/serving-history?limit=0')).status).toBe(400);
  });

  it('stores a validated strategy and rollout policy, while /predict keeps serving the current version', async () => {
    const patched = await call('PATCH', '/deployments/beige', {
      strategy: 'canary',
      rolloutPolicy: { canaryShare: 0.25, canary: { minFrames: 500 } },
    });
    const policy = { ...DEFAULT_ROLLOUT_POLICY, canaryShare: 0.25, canary: { ...DEFAULT_ROLLOUT_POLICY.canary, minFrames: 500 } };
    expect(patched).toMatchObject({ status: 200, body: { deployment: { strategy: 'canary', rolloutPolicy: policy } } });
    expect((await call('GET', '/deployments/beige')).body).toMatchObject({
      deployment: { strategy: 'canary', rolloutPolicy: policy },
      rollout: { policy, defaults: false },
    });
    expect(await servedVersion()).toBe(3);

    for (const [body, field] of [
      [{ strategy: 'blue-green' }, 'strategy'],
      [{ rolloutPolicy: { ab: { share: 1 } } }, 'rolloutPolicy.ab.share'],
      [{ rolloutPolicy: { bandit: { floorShare: 0.6 } } }, 'rolloutPolicy.bandit.floorShare'],
      [{ rolloutPolicy: { canaryShare: 1 } }, 'rolloutPolicy.canaryShare'],
      [{ rolloutPolicy: { canaryShare: 0 } }, 'rolloutPolicy.canaryShare'],
      [{ rolloutPolicy: { shadow: { minMinutes: -1 } } }, 'rolloutPolicy.shadow.minMinutes'],
      [{ rolloutPolicy: { alpha: 0.7 } }, 'rolloutPolicy.alpha'],
      [{ rolloutPolicy: { canary: { minFrame: 100 } } }, 'rolloutPolicy.canary'],
    ] as const) {
      const refused = await call('PATCH', '/deployments/beige', body);
      expect(refused, JSON.stringify(body)).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
      expect(refused.body.error.message).toContain(`${field}:`);
    }
    expect(
      (await call('POST', '/deployments', { id: 'red', modelName: 'distance', strategy: 'shadow', rolloutPolicy: { alpha: 2 } })).status,
    ).toBe(400);
    expect((await call('GET', '/deployments/beige')).body.deployment.rolloutPolicy).toEqual(policy);

    expect((await call('PATCH', '/deployments/beige', { rolloutPolicy: null })).body.deployment.rolloutPolicy).toBeNull();
    expect((await call('GET', '/deployments/beige')).body.rollout).toEqual({ policy: DEFAULT_ROLLOUT_POLICY, defaults: true });
    expect((await call('POST', '/deployments', { id: 'red', modelName: 'distance', strategy: 'shadow' })).body.deployment).toMatchObject({
      strategy: 'shadow',
      rolloutPolicy: null,
    });
  });
});
