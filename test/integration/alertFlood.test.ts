import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationActivities, TrainingActivities } from '../../activities/index.js';
import { workflowsPath } from '../../workers/createWorkers.js';
import { progressQuery, retrainRequestedSignal, trainWorkflowIdFor, type RetrainAsk } from '../../workflows/trainAndRegister/contract.js';
import { TrainAndRegister } from '../../workflows/trainAndRegister/workflow.js';
import { adminCall, startApi, WEBHOOK_TOKEN, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/eventually.js';
import { startTemporal } from '../support/temporalEnv.js';
import { TASK_QUEUES } from '../../workflows/shared.js';

/**
 * A TrainAndRegister run's activities that do no work: the workflow's handling of asks is under test. `assembled`
 * sees each dataset's deployments and may hold the run there; `trained` may hold it in its trial.
 */
function stubActivities(hooks: {
  assembled: (deployments: string[]) => Promise<void> | void;
  trained?: () => Promise<void> | void;
  registers: boolean;
}): { orchestration: OrchestrationActivities; training: TrainingActivities } {
  const trial = { trialId: 't0', params: { epochs: 1, batchSize: 32, dropout: 0.1, learningRate: 0.001 }, metrics: { test_mae_mm: 1 } };
  return {
    orchestration: {
      assembleDataset: async ({ deployments }) => {
        await hooks.assembled(deployments);
        return { datasetKey: 'k', datasetSha256: 's', recordCount: 1, perDeployment: {} };
      },
      describeDataset: async () => {
        throw new Error('not used');
      },
      selectBest: async ({ trials }) => ({ best: trials[0], ranking: [] }),
      registerModelVersion: async () =>
        hooks.registers
          ? { registered: true, version: 1, artifactKey: 'a', artifactSha256: 's', comparison: null }
          : { registered: false, reason: 'stub' },
      startRollouts: async () => [],
      recordRunRequest: async () => 0,
    },
    training: {
      preprocess: async () => ({
        manifestKey: 'm',
        manifestSha256: 's',
        trainCount: 1,
        testCount: 1,
        deployments: [],
        recordCount: 1,
        skipped: {},
      }),
      trainTrial: async () => {
        await hooks.trained?.();
        return { ...trial, artifactKey: 'a', artifactSha256: 's', resumedFromEpoch: 0, backend: 'stub' };
      },
      describeTrainingCapacity: async () => ({ cores: 1, slots: 1, threadsPerTrial: 1, source: 'cores' }),
      evaluatePrevious: async () => ({ previousVersion: null, metrics: null }),
      buildReferenceProfile: async () => ({ key: 'p', sha256: 's', frames: 1, features: 22, testMaeMm: 1 }),
    },
  };
}

/** Workers on both task queues of a real dev server, with these activities; `stop` shuts them down. */
async function startStubWorkers(env: TestWorkflowEnvironment, activities: ReturnType<typeof stubActivities>) {
  const workers: Worker[] = [];
  const running: Promise<void>[] = [];
  for (const [taskQueue, acts] of [
    [TASK_QUEUES.orchestration, activities.orchestration],
    [TASK_QUEUES.training, activities.training],
  ] as const) {
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, activities: acts, workflowsPath });
    workers.push(worker);
    running.push(worker.run());
  }
  return {
    async stop() {
      workers.forEach((w) => w.shutdown());
      await Promise.allSettled(running);
    },
  };
}

/**
 * An alert flood during one run: thousands of distinct asks must not grow the run's result or
 * state past Temporal's payload limit (2 MB), which would leave the run unable to complete and
 * every later ask joining it forever.
 */
describe('an alert flood during one run', () => {
  let env: TestWorkflowEnvironment;
  let workers: Awaited<ReturnType<typeof startStubWorkers>>;
  let releaseAssembly!: () => void;
  const assemblyReleased = new Promise<void>((resolve) => (releaseAssembly = resolve));
  let assembled = 0;
  const assembledDeployments: string[][] = [];

  const activities = stubActivities({
    assembled: async (deployments) => {
      assembledDeployments.push(deployments);
      if (assembled++ === 0) await assemblyReleased;
    },
    registers: true,
  });

  beforeAll(async () => {
    env = await startTemporal();
    workers = await startStubWorkers(env, activities);
  });

  afterAll(async () => {
    await workers?.stop();
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

/**
 * A flood through the real webhook route: 10 notifications of 500 distinct alerts while a run trains. Each
 * notification is answered in a time Grafana waits for, every alert is recorded, and the flood books one
 * follow-up run at most, even though it keeps arriving while that follow-up runs.
 */
describe('a 5,000-alert flood through the Grafana webhook during a run', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let workers: Awaited<ReturnType<typeof startStubWorkers>>;
  const assembled: string[][] = [];
  let trials = 0;
  let releaseFirstRun!: () => void;
  const firstRunReleased = new Promise<void>((resolve) => (releaseFirstRun = resolve));
  let releaseLaterRuns!: () => void;
  const laterRunsReleased = new Promise<void>((resolve) => (releaseLaterRuns = resolve));
  const deployments = Array.from({ length: 10 }, (_, i) => `flood-d${i}`);

  const activities = stubActivities({
    assembled: (deployments) => void assembled.push(deployments),
    // The first run trains until the flood is under way; the runs after it until the flood is over.
    trained: () => (trials++ === 0 ? firstRunReleased : laterRunsReleased),
    registers: false,
  });

  beforeAll(async () => {
    env = await startTemporal();
    workers = await startStubWorkers(env, activities);
    api = await startApi(async () => env.client);
    for (const id of deployments)
      expect((await adminCall(api.url, 'POST', '/deployments', { id, modelName: 'distance' })).status).toBe(201);
    const config = { deployments: [deployments[0]], sweep: { epochs: [1], batchSizes: [32], dropouts: [0.1] } };
    expect((await adminCall(api.url, 'PUT', '/models/distance/training-config', config)).status).toBe(200);
  });

  afterAll(async () => {
    releaseFirstRun?.();
    releaseLaterRuns?.();
    await api?.close();
    await workers?.stop();
    await env?.teardown();
  });

  it('answers each 500-alert notification promptly, records all 5,000 alerts, and starts one follow-up run at most', async () => {
    const started = await adminCall(api.url, 'POST', '/models/distance/retrain', { by: 'test' });
    expect(started).toMatchObject({ status: 202, body: { outcome: 'started' } });
    // The run has assembled its dataset and trains: every alert of the flood comes too late for it.
    await eventually(async () => expect(trials).toBe(1));
    const startsAt = new Date(Date.now() - 1000).toISOString();
    const notification = (n: number) => ({
      status: 'firing',
      receiver: 'retrain',
      alerts: Array.from({ length: 500 }, (_, i) => ({
        status: 'firing',
        labels: { alertname: 'FloodDrift', deployment: deployments[i % deployments.length], n: String(n), i: String(i) },
        startsAt,
        fingerprint: `flood-${n}-${i}`,
      })),
    });
    const seconds: number[] = [];
    for (let n = 0; n < 10; n++) {
      const t0 = Date.now();
      const res = await fetch(`${api.url}/webhooks/grafana`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(notification(n)),
      });
      const body = (await res.json()) as { results: { status: number; outcome: string }[] };
      seconds.push((Date.now() - t0) / 1000);
      console.log(`notification ${n + 1} of 500 alerts answered in ${seconds.at(-1)!.toFixed(2)} s`);
      expect(res.status).toBe(200);
      expect(body.results).toHaveLength(500);
      expect(body.results.every((r) => r.status === 202 && r.outcome === 'joined')).toBe(true);
      // A generous bound (a busy machine passes); Grafana's own wait is 30 s.
      expect(seconds.at(-1)).toBeLessThan(20);
      // The first run ends while the flood goes on: its follow-up runs while the rest of the flood arrives.
      if (n === 2) releaseFirstRun();
    }
    const recorded = await api.stores.registry.listRetrainRequests({ modelName: 'distance' });
    expect(recorded.filter((r) => r.trigger === 'grafana')).toHaveLength(5000);
    expect(recorded.filter((r) => r.outcome === 'pending')).toEqual([]);

    releaseLaterRuns();
    await env.client.workflow.getHandle(trainWorkflowIdFor('distance')).result();
    console.log(`runs: ${assembled.length} (the running run and ${assembled.length - 1} follow-up run(s))`);
    expect(assembled.length).toBeLessThanOrEqual(2);
    expect(new Set(assembled.at(-1))).toEqual(new Set(deployments));
  });
});
