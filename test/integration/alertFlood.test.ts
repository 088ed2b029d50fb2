import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationActivities, TrainingActivities } from '../../activities/index.js';
import { workflowsPath } from '../../workers/createWorkers.js';
import { progressQuery, retrainRequestedSignal, TASK_QUEUES, type RetrainAsk } from '../../workflows/trainAndRegister/contract.js';
import { TrainAndRegister } from '../../workflows/trainAndRegister/workflow.js';
import { eventually } from '../support/eventually.js';
import { startTemporal } from '../support/temporalEnv.js';

/**
 * An alert flood during one run: thousands of distinct asks must not grow the run's result or
 * state past Temporal's payload limit (2 MB), which would leave the run unable to complete and
 * every later ask joining it forever.
 */
describe('an alert flood during one run', () => {
  let env: TestWorkflowEnvironment;
  const workers: Worker[] = [];
  const running: Promise<void>[] = [];
  let releaseAssembly!: () => void;
  const assemblyReleased = new Promise<void>((resolve) => (releaseAssembly = resolve));
  let assembled = 0;
  const assembledDeployments: string[][] = [];

  const trial = { trialId: 't0', params: { epochs: 1, batchSize: 32, dropout: 0.1, learningRate: 0.001 }, metrics: { test_mae_mm: 1 } };
  const orchestration: OrchestrationActivities = {
    assembleDataset: async ({ deployments }) => {
      assembledDeployments.push(deployments);
      if (assembled++ === 0) await assemblyReleased;
      return { datasetKey: 'k', datasetSha256: 's', recordCount: 1, perDeployment: {} };
    },
    describeDataset: async () => {
      throw new Error('not used');
    },
    selectBest: async ({ trials }) => ({ best: trials[0], ranking: [] }),
    registerModelVersion: async () => ({ registered: true, version: 1, artifactKey: 'a', artifactSha256: 's', comparison: null }),
    startRollouts: async () => [],
  };
  const training: TrainingActivities = {
    preprocess: async () => ({
      manifestKey: 'm',
      manifestSha256: 's',
      trainCount: 1,
      testCount: 1,
      deployments: [],
      recordCount: 1,
      skipped: {},
    }),
    trainTrial: async () => ({ ...trial, artifactKey: 'a', artifactSha256: 's', resumedFromEpoch: 0, backend: 'stub' }),
    describeTrainingCapacity: async () => ({ cores: 1, slots: 1, threadsPerTrial: 1, source: 'cores' }),
    evaluatePrevious: async () => ({ previousVersion: null, metrics: null }),
    buildReferenceProfile: async () => ({ key: 'p', sha256: 's', frames: 1, features: 22, testMaeMm: 1 }),
  };

  beforeAll(async () => {
    env = await startTemporal();
    for (const [taskQueue, activities] of [
      [TASK_QUEUES.orchestration, orchestration],
      [TASK_QUEUES.training, training],
    ] as const) {
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, activities, workflowsPath });
      workers.push(worker);
      running.push(worker.run());
    }
  });

  afterAll(async () => {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    await env?.teardown();
  });

  it('keeps a bounded summary of 2,500 asks of ~1 kB each, completes, and covers them with one follow-up run', async () => {
    const workflowId = `flood-${randomUUID()}`;
    const handle = await env.client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId,
      args: [
        {
          modelName: 'distance',
          deployments: ['d0'],
          trigger: { kind: 'manual', by: 'test' },
          sweep: { epochs: [1], batchSizes: [32], dropouts: [0.1] },
        },
      ],
    });
    await eventually(async () => expect(assembled).toBe(1));
    const padding = 'x'.repeat(900);
    const ask = (i: number): RetrainAsk => ({
      trigger: {
        kind: 'grafana',
        by: `alert-${i}`,
        requestId: i,
        alerts: [{ status: 'firing', labels: { alertname: 'Flood', deployment: `d${i % 100}`, padding } }],
      },
      deployments: [`d${i % 100}`],
    });
    const total = 2500;
    for (let sent = 0; sent < total; sent += 50) {
      await Promise.all(Array.from({ length: Math.min(50, total - sent) }, (_, k) => handle.signal(retrainRequestedSignal, ask(sent + k))));
    }
    expect((await handle.query(progressQuery)).coalescedRequests).toBe(total);
    releaseAssembly();

    const final = await env.client.workflow.getHandle(workflowId).result();
    const firstRun = env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId);
    expect((await firstRun.describe()).status.name).toBe('CONTINUED_AS_NEW');
    // The follow-up run covers every late ask: its summary counts them, its dataset has every deployment they named.
    expect(final.requests).toMatchObject({
      count: total,
      byKind: { grafana: total },
      lateCount: 0,
      first: { requestId: expect.any(Number) },
    });
    // Signals of one batch of 50 arrive in any order.
    expect(final.requests.last!.requestId).toBeGreaterThanOrEqual(total - 50);
    expect(assembledDeployments.map((d) => d.length)).toEqual([1, 100]);
    expect(JSON.stringify(final).length).toBeLessThan(20_000);
  });
});
