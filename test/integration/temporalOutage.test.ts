import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepRetryingPendingRetrains } from '../../control/retrainRequests.js';
import { lazyTemporalClient } from '../../control/temporal/client.js';
import { trainWorkflowIdFor } from '../../workflows/trainAndRegister/contract.js';
import { ADMIN_TOKEN, startApi, WEBHOOK_TOKEN, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { freePort, startDevServer, type DevServer } from '../support/temporalEnv.js';

/** Temporal stops after the API connected: asks get a prompt 503 with Retry-After, are kept, and are acted on when it is back. */
describe('Temporal outage after the API connected', () => {
  let dir: string;
  let port: number;
  let server: DevServer;
  let api: ApiHarness;
  let client: ReturnType<typeof lazyTemporalClient>;
  let retrier: { stop(): void } | undefined;

  const call = async (method: string, route: string, body?: unknown, token = ADMIN_TOKEN) => {
    const started = Date.now();
    const res = await fetch(api.url + route, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      body: await res.json(),
      retryAfter: res.headers.get('retry-after'),
      seconds: (Date.now() - started) / 1000,
    };
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-outage-'));
    port = await freePort();
    server = await startDevServer(port, path.join(dir, 'temporal.db'));
    client = lazyTemporalClient({ temporal: { address: server.address, namespace: 'default', devServer: false, uiPort: 0, uiUrl: '' } });
    api = await startApi(client.temporal);
    // What api/server.ts runs: the hand-over of asks kept while Temporal was unreachable.
    retrier = keepRetryingPendingRetrains({
      registry: api.stores.registry,
      temporal: client.temporal,
      temporalUi: { url: '', namespace: 'default' },
      log: pino({ level: 'silent' }),
    });
    expect((await call('POST', '/deployments', { id: 'beige', modelName: 'distance' })).status).toBe(201);
    expect((await call('PUT', '/models/distance/training-config', { deployments: ['beige'] })).status).toBe(200);
  });

  afterAll(async () => {
    retrier?.stop();
    await api?.close();
    await client?.close();
    await server?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After within the deadline, keeps every ask, and acts on them once Temporal is back', async () => {
    const first = await call('POST', '/models/distance/retrain', { by: 'before' });
    expect(first).toMatchObject({ status: 202, body: { outcome: 'started' } });
    const workflow = (await client.temporal()).workflow.getHandle(trainWorkflowIdFor('distance'), first.body.runId);
    await workflow.terminate('test: the first run is over');

    await server.kill();
    const manual = await call('POST', '/models/distance/retrain', { by: 'during' });
    expect(manual).toMatchObject({ status: 503, retryAfter: '5', body: { error: { code: 'temporal_unavailable' } } });
    expect(manual.body.error.message).not.toMatch(/127\.0\.0\.1|localhost|\d{4,5}/);
    // The route answers within 5 s: its Temporal calls end by 4.5 s (the slack is for a busy machine; the old API took
    // 5.5-8.4 s, and 19-21 s before that).
    console.log(`503 of the retrain route with Temporal down after ${manual.seconds.toFixed(2)} s`);
    expect.soft(manual.seconds).toBeLessThan(6);
    const alert = {
      status: 'firing',
      labels: { alertname: 'SaturationDrift', deployment: 'beige' },
      startsAt: '2026-11-30T10:00:00Z',
      fingerprint: 'f1',
    };
    const webhook = await call('POST', '/webhooks/grafana', { status: 'firing', alerts: [alert] }, WEBHOOK_TOKEN);
    expect(webhook).toMatchObject({ status: 200, body: { results: [{ status: 503, error: { code: 'temporal_unavailable' } }] } });
    const status = await call('GET', `/workflows/${trainWorkflowIdFor('distance')}/runs/${first.body.runId}`);
    expect(status).toMatchObject({ status: 503, retryAfter: '5' });
    // A deployment's rollout: the registry's side still answers, a signal cannot be sent.
    const rollout = await call('GET', '/deployments/beige/rollout');
    expect(rollout).toMatchObject({ status: 200, body: { deployment: 'beige', rollout: null, workflow: { status: 'UNKNOWN' } } });
    expect(await call('POST', '/deployments/beige/rollout/abort', {})).toMatchObject({ status: 503, retryAfter: '5' });
    const kept = (await call('GET', '/models/distance/retrain-requests')).body.requests;
    expect(kept.map((r: { outcome: string }) => r.outcome)).toEqual(['started', 'pending', 'pending']);
    // Grafana's repeat of the same firing during the outage is a duplicate of the kept ask, not a second one.
    const repeat = await call('POST', '/webhooks/grafana', { status: 'firing', alerts: [alert] }, WEBHOOK_TOKEN);
    expect(repeat.body.results[0]).toMatchObject({ outcome: 'duplicate', duplicateOf: kept[2].id });

    // Temporal is back at once (a restart): the asks the routes could not hand over are handed over soon after.
    server = await startDevServer(port, path.join(dir, 'temporal.db'));
    const back = Date.now();
    // The API's own hand-over (keepRetryingPendingRetrains) acts on the kept asks: no help from the test.
    await eventually(
      async () => {
        const outcomes = (await call('GET', '/models/distance/retrain-requests')).body.requests.map((r: { outcome: string }) => r.outcome);
        expect(outcomes).toEqual(['started', 'started', 'joined', 'duplicate']);
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    const handedOver = (Date.now() - back) / 1000;
    console.log(`pending asks handed over ${handedOver.toFixed(2)} s after Temporal was back`);
    // Within 10 s of Temporal's return; the slack is for a busy machine (the old API took 56 s).
    expect(handedOver).toBeLessThan(15);
    const after = await call('POST', '/models/distance/retrain', { by: 'after' });
    expect(after).toMatchObject({ status: 202, body: { outcome: 'joined' } });
  });
});
