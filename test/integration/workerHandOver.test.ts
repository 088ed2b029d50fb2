import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainWorkflowIdFor } from '../../workflows/trainAndRegister/contract.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { spawnWorker } from '../support/workerProcess.js';
import { eventually } from '../support/eventually.js';
import { freePort, startDevServer, type DevServer } from '../support/temporalEnv.js';

/**
 * A drift check that found Temporal down leaves its retrain ask `pending` in the registry. The worker that ran the
 * check hands it over once Temporal is back, with no API process running (before, only the API did).
 */
describe('a pending retrain ask with no API running', () => {
  let server: DevServer;
  let t: TempStores;
  let worker: ChildProcess;

  beforeAll(async () => {
    t = await openTempStores();
    server = await startDevServer(await freePort(), path.join(t.dir, 'temporal.db'));
  });

  afterAll(async () => {
    if (worker?.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await server?.kill();
    await t?.cleanup();
  });

  it('is handed over to Temporal by the worker', async () => {
    const trigger = { kind: 'drift-monitor' as const, by: 'drift monitor: performance drift on beige' };
    const [{ request: recorded }] = await t.stores.registry.recordRetrainRequests([
      {
        modelName: 'distance',
        trigger: trigger.kind,
        payload: { ask: {}, request: { modelName: 'distance', deployments: ['beige'], trigger }, observedAt: Date.now() },
        dedupeKey: null,
      },
    ]);
    expect(recorded.outcome).toBe('pending');
    worker = spawnWorker({ TEMPORAL_ADDRESS: server.address, DATA_DIR: t.dir, SWEEP_PARALLELISM: '1', LOG_LEVEL: 'warn' });
    const settled = await eventually(
      async () => {
        const request = await t.stores.registry.getRetrainRequest(recorded.id);
        if (request?.outcome === 'pending') throw new Error(`request ${recorded.id} is still pending`);
        return request;
      },
      { timeoutMs: 120_000 },
    );
    expect(settled).toMatchObject({ outcome: 'started', workflowId: trainWorkflowIdFor('distance'), coverage: 'this-run' });
  });
});
