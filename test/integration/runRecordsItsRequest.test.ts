import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrchestrationWorker } from '../../workers/createWorkers.js';
import type { TrainAndRegisterRequest } from '../../workflows/trainAndRegister/contract.js';
import { TASK_QUEUES } from '../../workflows/shared.js';
import { adminCall, registerUntrainedVersion, startApi, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { startTemporal, temporalBinary } from '../support/temporalEnv.js';

const run = promisify(execFile);

/**
 * A TrainAndRegister run started without the API (the `temporal workflow start` command `npm run rerun --
 * --print-temporal-command` prints) is in the model's retrain requests all the same: the run records itself.
 */
describe('a run started outside the API', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    worker = await createOrchestrationWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      context: { stores: api.stores, objectsUrl: '', mlBackend: 'auto' },
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await api?.close();
    await env?.teardown();
  });

  it('appears in GET /models/:name/retrain-requests once, as started, with its run', async () => {
    await registerUntrainedVersion(api.stores, 'distance', 'run-1');
    expect((await adminCall(api.url, 'POST', '/deployments', { id: 'd1', modelName: 'distance' })).status).toBe(201);
    const source = await api.stores.registry.getModelVersion('distance', 1);
    const input: TrainAndRegisterRequest = {
      modelName: 'distance',
      deployments: ['d1'],
      trigger: { kind: 'cli', by: 'alice: rerun of v1' },
      reuseDataset: { manifestKey: source!.datasetKey },
      sweep: { epochs: [1] },
    };
    const workflowId = 'rerun-distance-v1-by-hand';
    const { stdout } = await run(temporalBinary, [
      'workflow',
      'start',
      '--address',
      env.address,
      '--task-queue',
      TASK_QUEUES.orchestration,
      '--type',
      'TrainAndRegister',
      '--workflow-id',
      workflowId,
      '--input',
      JSON.stringify(input),
      '--output',
      'json',
    ]);
    const { runId } = JSON.parse(stdout) as { runId: string };

    const request = await eventually(async () => {
      const { body } = await adminCall(api.url, 'GET', '/models/distance/retrain-requests');
      const found = body.requests.filter((r: { workflowId: string | null }) => r.workflowId === workflowId);
      expect(found).toHaveLength(1);
      return found[0];
    });
    expect(request).toMatchObject({ trigger: 'cli', outcome: 'started', coverage: 'this-run', workflowId, runId });
    expect(request.reason).toMatch(/started/);
    expect(request.payload.input).toMatchObject({ trigger: { by: 'alice: rerun of v1' } });
    // No training worker here: the run waits for one, or has already failed on the untrained version's dataset.
    const handle = env.client.workflow.getHandle(workflowId, runId);
    if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('test: no training worker here').catch(() => undefined);
  });
});
