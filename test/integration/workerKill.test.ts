import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrialProgress } from '../../core/ml/trialRunner.js';
import { TrainAndRegister } from '../../workflows/trainAndRegister/workflow.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { spawnWorker } from '../support/workerProcess.js';
import { eventually } from '../support/eventually.js';
import { childPidsOf, commandLineOf, isAlive } from '../support/processTree.js';
import { storeLabelledFrames } from '../support/syntheticFrames.js';
import { freePort, startDevServer, type DevServer } from '../support/temporalEnv.js';
import { TASK_QUEUES } from '../../workflows/shared.js';

/** Enough frames at a large enough input that one epoch takes seconds: a training process that noticed its worker's
 * death only at an epoch's end would outlive it by that long. */
const FRAMES = 320;
/** The training process checks on its parent every 250 ms; the rest is slack for a busy machine (an epoch here takes 3 s
 * on a quiet machine). */
const GONE_WITHIN_MS = 2000;

/**
 * A training worker process killed with SIGKILL mid-trial (as the OOM killer or a node failure would) must not
 * leave its trial's training process behind: it would keep a core busy beside the retry of the same trial.
 */
describe('a worker killed mid-trial', () => {
  let server: DevServer;
  let t: TempStores;
  let worker: ChildProcess;
  let connection: Connection;

  beforeAll(async () => {
    t = await openTempStores();
    server = await startDevServer(await freePort(), path.join(t.dir, 'temporal.db'));
    await storeLabelledFrames(t.stores, FRAMES);
    worker = spawnWorker({ TEMPORAL_ADDRESS: server.address, DATA_DIR: t.dir, SWEEP_PARALLELISM: '1', LOG_LEVEL: 'warn' });
    connection = await Connection.connect({ address: server.address });
  });

  afterAll(async () => {
    if (worker?.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await connection?.close();
    await server?.kill();
    await t?.cleanup();
  });

  it('takes its training process with it', async () => {
    const client = new Client({ connection });
    const handle = await client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `worker-kill-${randomUUID()}`,
      args: [
        {
          modelName: 'distance',
          deployments: ['d'],
          trigger: { kind: 'manual', by: 'test' },
          width: 192,
          height: 144,
          sweep: { epochs: [100], batchSizes: [8], dropouts: [0.1] },
        },
      ],
    });
    const trainer = await eventually(
      () => {
        const found = childPidsOf(worker.pid!).find((pid) => commandLineOf(pid).includes('mlJobProcess'));
        expect(found, 'a training process under the worker').toBeDefined();
        return found!;
      },
      { timeoutMs: 180_000, intervalMs: 250 },
    );
    // Killed just after an epoch ended (its heartbeat is in): the next epoch's end, where a training process could
    // notice that its progress reaches nobody, is a whole epoch away.
    const epochEnded = Date.now();
    await eventually(
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'trainTrial');
        const payload = pending?.heartbeatDetails?.payloads?.[0];
        const progress = payload ? defaultPayloadConverter.fromPayload<TrialProgress | undefined>(payload) : undefined;
        expect(progress?.epoch).toBeGreaterThanOrEqual(1);
      },
      { timeoutMs: 180_000, intervalMs: 100 },
    );
    console.log(`first epoch heartbeat after ${Date.now() - epochEnded} ms`);
    worker.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(() => expect(isAlive(trainer), `training process ${trainer} still running`).toBe(false), { timeoutMs: 60_000 });
    const goneAfterMs = Date.now() - killedAt;
    console.log(`training process gone ${goneAfterMs} ms after its worker was killed`);
    expect(goneAfterMs).toBeLessThan(GONE_WITHIN_MS);
  });
});
