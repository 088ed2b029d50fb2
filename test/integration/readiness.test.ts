import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeasurementStore } from '../../core/stores/measurements.js';
import { createWorkers } from '../../workers/createWorkers.js';
import { ADMIN_TOKEN, startApiOn, type ApiHarness } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { eventually } from '../support/eventually.js';
import { startTemporal } from '../support/temporalEnv.js';

const CHECK_TIMEOUT_SECONDS = 1;
const ALL_OK = { registry: 'ok', objects: 'ok', measurements: 'ok', temporal: 'ok', workers: 'ok' };

/** A measurement store whose reads can be made to hang, as InfluxDB does while paused. */
function hangableMeasurements(inner: MeasurementStore) {
  const state = { hang: false };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (state.hang ? new Promise(() => {}) : value.apply(target, args));
    },
  });
  return { store, state };
}

describe('readiness (/readyz)', () => {
  let env: TestWorkflowEnvironment;
  let temp: TempStores;
  let api: ApiHarness;
  let measurements: ReturnType<typeof hangableMeasurements>;
  const temporalState = { down: false, hang: false };
  const workers: Worker[] = [];
  const running: Promise<void>[] = [];

  const readyz = async (token?: string) => {
    const started = performance.now();
    const res = await fetch(`${api.url}/readyz`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, body: await res.json(), ms: performance.now() - started };
  };

  beforeAll(async () => {
    [env, temp] = await Promise.all([startTemporal(), openTempStores()]);
    measurements = hangableMeasurements(temp.stores.measurements);
    const temporal = async (): Promise<Client> => {
      if (temporalState.hang) return new Promise<Client>(() => {});
      if (temporalState.down) throw new Error('Failed to connect before the deadline: connect ECONNREFUSED 10.1.2.3:7233');
      return env.client;
    };
    api = await startApiOn({ ...temp.stores, measurements: measurements.store }, temp.dir, temporal, {
      api: { readyCheckTimeoutSeconds: CHECK_TIMEOUT_SECONDS },
    });
  });

  afterAll(async () => {
    workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
    await Promise.allSettled(running);
    await api?.close();
    await env?.teardown();
    await temp?.cleanup();
  });

  it('is not ready while no worker polls the task queues, and says so only to the admin', async () => {
    const publicAnswer = await readyz();
    expect(publicAnswer.status).toBe(503);
    expect(publicAnswer.body).toEqual({ status: 'not_ready', checks: { ...ALL_OK, workers: 'down' } });

    const adminAnswer = await readyz(ADMIN_TOKEN);
    expect(adminAnswer.status).toBe(503);
    expect(adminAnswer.body.details.workers).toMatchObject({
      status: 'down',
      error: expect.stringMatching(/no worker polls .*orchestration/),
    });
    expect(adminAnswer.body.mlBackend).toBeDefined();
    expect((await readyz('not-the-admin-token')).body).toEqual(publicAnswer.body);
  });

  it('shows Temporal down without its address or error text in the public answer', async () => {
    temporalState.down = true;
    try {
      const publicAnswer = await readyz();
      expect(publicAnswer.status).toBe(503);
      expect(publicAnswer.body.checks).toMatchObject({ temporal: 'down', workers: 'down' });
      expect(JSON.stringify(publicAnswer.body)).not.toMatch(/10\.1\.2\.3|ECONNREFUSED|connect/);
      expect((await readyz(ADMIN_TOKEN)).body.details.temporal.error).toMatch(/ECONNREFUSED 10\.1\.2\.3:7233/);
    } finally {
      temporalState.down = false;
    }
  });

  it('reports a read-only object store as down: the check writes and reads back', async () => {
    api.objects.readOnly = true;
    try {
      const answer = await readyz(ADMIN_TOKEN);
      expect(answer.body.checks.objects).toBe('down');
      expect(answer.body.details.objects.error).toMatch(/read-only/);
    } finally {
      api.objects.readOnly = false;
    }
  });

  it('answers within its deadline while the measurement store hangs', async () => {
    measurements.state.hang = true;
    try {
      const answer = await readyz(ADMIN_TOKEN);
      expect(answer.body.checks).toMatchObject({ measurements: 'down', registry: 'ok', objects: 'ok', temporal: 'ok' });
      expect(answer.body.details.measurements.error).toMatch(/no answer within 1 s/);
      // The checks run in parallel, each with its own deadline.
      expect(answer.ms).toBeLessThan(CHECK_TIMEOUT_SECONDS * 1000 * 3);
    } finally {
      measurements.state.hang = false;
    }
  });

  it('answers within its deadline while Temporal does not answer', async () => {
    temporalState.hang = true;
    try {
      const answer = await readyz();
      expect(answer.body.checks).toEqual({ ...ALL_OK, temporal: 'down', workers: 'down' });
      expect(answer.ms).toBeLessThan(CHECK_TIMEOUT_SECONDS * 1000 * 3);
    } finally {
      temporalState.hang = false;
    }
  });

  it('tells a load balancer this replica takes frames while the stores, Temporal and the workers it shares are down', async () => {
    temporalState.down = true;
    api.objects.down = true;
    try {
      expect((await readyz()).status).toBe(503);
      const replica = await fetch(`${api.url}/readyz/replica`);
      expect({ status: replica.status, body: await replica.json() }).toEqual({ status: 200, body: { status: 'ready' } });
    } finally {
      temporalState.down = false;
      api.objects.down = false;
    }
  });

  it('is ready once workers poll both task queues', async () => {
    const started = await createWorkers({
      connection: env.nativeConnection,
      namespace: 'default',
      context: { stores: temp.stores, objectsUrl: temp.urls.objectsUrl, mlBackend: 'auto' },
    });
    workers.push(...started);
    running.push(...started.map((w) => w.run()));
    await eventually(async () => expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready', checks: ALL_OK } }), {
      timeoutMs: 60_000,
    });
  });
});
