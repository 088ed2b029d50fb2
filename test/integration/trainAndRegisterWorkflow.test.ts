import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationActivities, TrainingActivities } from '../../activities/index.js';
import { registerModelVersion } from '../../activities/registerModelVersion.js';
import type { PreprocessInput } from '../../activities/preprocess.js';
import type { TrainTrialInput } from '../../activities/trainTrial.js';
import type { TrialSummary } from '../../core/training/sweep.js';
import { workflowsPath } from '../../workers/createWorkers.js';
import {
  askCoverageQuery,
  asksCoverageQuery,
  progressQuery,
  retrainRequestedSignal,
  type RetrainAsk,
  type TrainAndRegisterRequest,
} from '../../workflows/trainAndRegister/contract.js';
import { TrainAndRegister } from '../../workflows/trainAndRegister/workflow.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { startTemporal } from '../support/temporalEnv.js';
import { eventually } from '../support/eventually.js';
import { TASK_QUEUES } from '../../workflows/shared.js';

/**
 * The workflow's own logic with stub activities, in seconds: progress, coalescing and joining,
 * the parallelism bound, the patched branches, the if-better refusal and non-retryable failures.
 * RECORD_HISTORIES=1 writes the histories of the late-ask runs to test/fixtures/histories.
 */

/** A promise the test resolves when it lets a stubbed step finish. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

interface Scenario {
  assembleGate?: Promise<void>;
  trainGate?: Promise<void>;
  assembleFailure?: Error;
  previousMetrics?: Record<string, number>;
  /** Run the real registration activity (on temp stores) instead of a stub. */
  realRegistration?: boolean;
  /** Each trial's validation MAE, by trial index (trials report none without it). */
  valMaeMm?: number[];
  calls: {
    trains: Pick<TrainTrialInput, 'trialIndex' | 'params' | 'earlyStopping' | 'warmStart'>[];
    assemble: string[][];
    capacity: number;
    maxConcurrentTrials: number;
    assembleAttempts: number;
    profiles: number[];
    rollouts: number[];
    preprocess: PreprocessInput[];
  };
}

const fresh = (): Scenario => ({
  calls: { trains: [], assemble: [], capacity: 0, maxConcurrentTrials: 0, assembleAttempts: 0, profiles: [], rollouts: [], preprocess: [] },
});
let scenario: Scenario = fresh();
let runningTrials = 0;

const trial = (index: number): TrialSummary => ({
  trialId: `t${index}`,
  params: { epochs: 1, batchSize: 32, dropout: 0.1, learningRate: 0.001 },
  metrics: { test_mae_mm: 10 + index },
  artifactKey: `runs/x/trials/${index}/model`,
  artifactSha256: 'x'.repeat(64),
});

describe('TrainAndRegister with stub activities', () => {
  let env: TestWorkflowEnvironment;
  let stores: TempStores;
  let bundle: WorkflowBundleWithSourceMap;
  const workers: Worker[] = [];
  const running: Promise<void>[] = [];

  const stubOrchestration = (): OrchestrationActivities => ({
    assembleDataset: async (input) => {
      scenario.calls.assembleAttempts++;
      if (scenario.assembleFailure) throw scenario.assembleFailure;
      scenario.calls.assemble.push(input.deployments);
      await scenario.assembleGate;
      return { datasetKey: 'k', datasetSha256: 's', recordCount: 10, perDeployment: {} };
    },
    recordRunRequest: async () => 0,
    describeDataset: async (input) => ({
      manifestKey: input.manifestKey,
      manifestSha256: 's',
      trainCount: 8,
      testCount: 2,
      deployments: [],
      recordCount: 10,
      width: 20,
      height: 15,
      labelMaxMm: 350,
    }),
    selectBest: async ({ trials }) => ({ best: trials[0], ranking: trials.map((t) => ({ trialId: t.trialId, value: 1 })) }),
    registerModelVersion: async (input) =>
      scenario.realRegistration
        ? registerModelVersion({ stores: stores.stores, objectsUrl: '', mlBackend: 'cpu' })(input)
        : {
            registered: true,
            version: 1,
            artifactKey: input.best.artifactKey,
            artifactSha256: input.best.artifactSha256,
            comparison: null,
          },
    startRollouts: async ({ version }) => {
      scenario.calls.rollouts.push(version);
      return [];
    },
  });

  const stubTraining = (): TrainingActivities => ({
    preprocess: async (input) => {
      scenario.calls.preprocess.push(input);
      return {
        manifestKey: 'm',
        manifestSha256: 's',
        trainCount: 8,
        testCount: 2,
        deployments: [],
        recordCount: 10,
        skipped: {},
      };
    },
    trainTrial: async (input) => {
      runningTrials++;
      scenario.calls.maxConcurrentTrials = Math.max(scenario.calls.maxConcurrentTrials, runningTrials);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await scenario.trainGate;
      runningTrials--;
      const { trialIndex, params, earlyStopping, warmStart } = input;
      scenario.calls.trains.push({ trialIndex, params, earlyStopping, warmStart });
      const stub = trial(trialIndex);
      const val = scenario.valMaeMm?.[trialIndex];
      return {
        ...stub,
        params,
        metrics: { ...stub.metrics, ...(val === undefined ? {} : { val_mae_mm: val }) },
        resumedFromEpoch: 0,
        backend: 'stub',
      };
    },
    describeTrainingCapacity: async () => {
      scenario.calls.capacity++;
      return { cores: 3, slots: 3, threadsPerTrial: 1, source: 'cores' };
    },
    evaluatePrevious: async () => ({ previousVersion: scenario.previousMetrics ? 1 : null, metrics: scenario.previousMetrics ?? null }),
    buildReferenceProfile: async (input) => {
      scenario.calls.profiles.push(input.version);
      return { key: `runs/${input.workflowId}/${input.runId}/reference-profile.json`, sha256: 's', frames: 10, features: 22, testMaeMm: 4 };
    },
  });

  const startWorker = async (taskQueue: string, activities?: object) => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...(activities ? { activities } : {}),
      ...(taskQueue === TASK_QUEUES.training ? {} : { workflowBundle: bundle }),
    });
    workers.push(worker);
    running.push(worker.run());
    return worker;
  };

  const request = (overrides: Partial<TrainAndRegisterRequest> = {}): TrainAndRegisterRequest => ({
    modelName: 'distance',
    deployments: ['d1'],
    trigger: { kind: 'manual', by: 'test', requestId: 1 },
    sweep: { epochs: [1], batchSizes: [32], dropouts: [0.1] },
    parallelism: 1,
    registerPolicy: 'always',
    ...overrides,
  });
  const ask = (requestId: number, deployments: string[] = []): RetrainAsk => ({
    trigger: { kind: 'grafana', by: 'alert', requestId },
    deployments,
  });

  beforeAll(async () => {
    [env, stores, bundle] = await Promise.all([
      startTemporal(),
      openTempStores(),
      bundleWorkflowCode({ workflowsPath, logger: quietLogger }),
    ]);
    await startWorker(TASK_QUEUES.orchestration, stubOrchestration());
    await startWorker(TASK_QUEUES.training, stubTraining());
  });

  afterAll(async () => {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    await env?.teardown();
    await stores?.cleanup();
  });

  it('reports its progress and trains at most `parallelism` trials at once', async () => {
    scenario = fresh();
    const trainGate = gate();
    scenario.trainGate = trainGate.opened;
    const handle = await env.client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `progress-${randomUUID()}`,
      args: [request({ sweep: { epochs: [1, 2, 3], batchSizes: [16, 32], dropouts: [0.1] }, parallelism: 2 })],
    });
    const progress = await eventually(async () => {
      const p = await handle.query(progressQuery);
      expect(p).toMatchObject({ step: 'training', trialsTotal: 6, parallelism: 2 });
      return p;
    });
    expect(progress.trialsDone).toBe(0);
    // The Web UI's current details say the same.
    expect((await handle.query(workflowMetadataQuery)).currentDetails).toBe('training: 0/6 trials done');
    trainGate.open();
    const result = await handle.result();
    expect(result.trials.map((t) => t.trialId)).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
    expect(scenario.calls.maxConcurrentTrials).toBe(2);
    expect(result.parallelism).toEqual({ value: 2, source: 'request' });
    expect(await handle.query(progressQuery)).toMatchObject({
      step: 'done',
      trialsDone: 6,
      best: { trialId: 't0', metric: 'test_mae_mm', value: 10 },
    });
    // The result and the Web UI's current details begin with what the run did.
    expect(Object.keys(result)[0]).toBe('outcome');
    expect(result.outcome).toMatch(/^registered distance v1: test_mae_mm 10\.00/);
    expect((await handle.query(workflowMetadataQuery)).currentDetails).toBe(result.outcome);
    // The registered version gets its reference profile, after the registration.
    expect(scenario.calls.profiles).toEqual([1]);
    expect(scenario.calls.rollouts).toEqual([1]);
    expect(result.referenceProfile).toMatchObject({ features: 22, testMaeMm: 4 });
    if (process.env.RECORD_HISTORIES) {
      fs.writeFileSync(
        'test/fixtures/histories/train-and-register-with-reference-profile.json',
        historyToJSON(await handle.fetchHistory()),
      );
    }
  });

  it('halves the sweep at the rung: every trial trains rungEpochs, the better half by validation MAE trains on to its epochs', async () => {
    scenario = fresh();
    scenario.valMaeMm = [30, 10, 20, 40];
    const handle = await env.client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `halving-${randomUUID()}`,
      args: [
        request({
          sweep: { epochs: [6], batchSizes: [16, 32], dropouts: [0.1, 0.2] },
          parallelism: 2,
          halving: { rungEpochs: 2 },
          earlyStopping: { patience: 3 },
          warmStart: true,
        }),
      ],
    });
    const result = await handle.result();
    const trains = scenario.calls.trains;
    expect(trains.slice(0, 4).map((t) => t.params.epochs)).toEqual([2, 2, 2, 2]);
    expect(trains.slice(4).map((t) => [t.trialIndex, t.params.epochs])).toEqual(
      expect.arrayContaining([
        [1, 6],
        [2, 6],
      ]),
    );
    expect(trains).toHaveLength(6);
    // Every trial call carries the early stopping (the default validation split) and the warm start.
    expect(trains.every((t) => t.warmStart === true && t.earlyStopping?.patience === 3 && t.earlyStopping.validationFraction === 0.1)).toBe(
      true,
    );
    // The worse half ends at the rung, the better half at its own epochs.
    expect(result.trials.map((t) => t.params.epochs)).toEqual([2, 6, 6, 2]);
    expect(await handle.query(progressQuery)).toMatchObject({ step: 'done', trialsDone: 4, trialsTotal: 4 });
  });

  it('sizes the sweep from the training worker when the request does not say (the patched branch)', async () => {
    scenario = fresh();
    const result = await env.client.workflow.execute(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `capacity-${randomUUID()}`,
      args: [request({ parallelism: undefined })],
    });
    expect(scenario.calls.capacity).toBe(1);
    expect(result.parallelism).toEqual({ value: 3, source: 'training-worker' });
  });

  it('hands the request dataset policy to preprocess, and none when the request names none', async () => {
    scenario = fresh();
    const policy = { kind: 'reservoir' as const, perDeployment: 500, seed: 9 };
    for (const datasetPolicy of [policy, undefined]) {
      await env.client.workflow.execute(TrainAndRegister, {
        taskQueue: TASK_QUEUES.orchestration,
        workflowId: `policy-${randomUUID()}`,
        args: [request({ datasetPolicy })],
      });
    }
    expect(scenario.calls.preprocess.map((input) => input.datasetPolicy)).toEqual([policy, undefined]);
  });

  it('sizes each activity: ML steps heartbeat against tens of seconds, light steps time out in minutes', async () => {
    scenario = fresh();
    const workflowId = `options-${randomUUID()}`;
    await env.client.workflow.execute(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId,
      args: [request({ parallelism: undefined })],
    });
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const seconds = (d?: { seconds?: unknown } | null) => (d ? Number(d.seconds ?? 0) : null);
    const options = Object.fromEntries(
      history
        .events!.map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a)
        .map((a) => [a!.activityType!.name, { heartbeat: seconds(a!.heartbeatTimeout), startToClose: seconds(a!.startToCloseTimeout) }]),
    );
    expect(options).toEqual({
      assembleDataset: { heartbeat: 0, startToClose: 15 * 60 },
      preprocess: { heartbeat: 60, startToClose: 2 * 3600 },
      describeTrainingCapacity: { heartbeat: 0, startToClose: 30 },
      trainTrial: { heartbeat: 30, startToClose: 4 * 3600 },
      selectBest: { heartbeat: 0, startToClose: 60 },
      evaluatePrevious: { heartbeat: 30, startToClose: 30 * 60 },
      registerModelVersion: { heartbeat: 0, startToClose: 2 * 60 },
      buildReferenceProfile: { heartbeat: 30, startToClose: 30 * 60 },
      startRollouts: { heartbeat: 0, startToClose: 60 },
    });
  });

  it('brings the deployments of asks that join before the dataset is assembled into this run', async () => {
    scenario = fresh();
    const workflowId = `joined-${randomUUID()}`;
    const taskQueue = `paused-${randomUUID()}`;
    const start = (signalArgs: [RetrainAsk]) =>
      env.client.workflow.signalWithStart(TrainAndRegister, {
        taskQueue,
        workflowId,
        args: [request()],
        signal: retrainRequestedSignal,
        signalArgs,
      });
    // No worker polls the run's queue yet: both asks are in its first workflow task.
    const first = await start([ask(1)]);
    await start([ask(2, ['d2', 'd1'])]);
    await startWorker(taskQueue);
    const result = await first.result();
    expect(scenario.calls.assemble).toEqual([['d1', 'd2']]);
    expect(result.requests).toMatchObject({ count: 2, byKind: { grafana: 2 }, deploymentsAdded: ['d2'], lateCount: 0 });
    expect(await first.query(askCoverageQuery, 2)).toBe('this-run');
  });

  it('continues as new to cover an ask that arrives after the dataset was assembled', async () => {
    scenario = fresh();
    const assembleGate = gate();
    scenario.assembleGate = assembleGate.opened;
    const workflowId = `late-${randomUUID()}`;
    const first = await env.client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId,
      args: [request()],
    });
    await eventually(async () => expect(scenario.calls.assemble).toHaveLength(1));
    await first.signal(retrainRequestedSignal, ask(7, ['d3']));
    expect(await eventually(() => first.query(askCoverageQuery, 7).then((c) => c ?? Promise.reject(new Error('not seen yet'))))).toBe(
      'follow-up-run',
    );
    expect(await first.query(progressQuery)).toMatchObject({ step: 'assembling', coalescedRequests: 1 });
    assembleGate.open();
    const final = await env.client.workflow.getHandle(workflowId).result();
    const firstRun = env.client.workflow.getHandle(workflowId, first.firstExecutionRunId);
    expect((await firstRun.describe()).status.name).toBe('CONTINUED_AS_NEW');
    expect(scenario.calls.assemble).toEqual([['d1'], ['d1', 'd3']]);
    expect(final.requests).toMatchObject({ count: 1, lateCount: 0, last: { requestId: 7 } });
    if (process.env.RECORD_HISTORIES) {
      const history = await firstRun.fetchHistory();
      fs.writeFileSync('test/fixtures/histories/train-and-register-late-ask-continued.json', historyToJSON(history));
    }
  });

  it('covers an ask that arrives after the assembly but whose evidence is older than the dataset, without a follow-up run', async () => {
    scenario = fresh();
    const assembleGate = gate();
    scenario.assembleGate = assembleGate.opened;
    const workflowId = `covered-${randomUUID()}`;
    const first = await env.client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId,
      args: [request()],
    });
    await eventually(async () => expect(scenario.calls.assemble).toHaveLength(1));
    // A batch as the API signals a notification's asks: an alert that started firing before the assembly.
    await first.signal(retrainRequestedSignal, [{ ...ask(8, ['d1']), observedAt: Date.now() - 60_000 }]);
    const coverage = () => first.query(asksCoverageQuery, [8, 9]);
    expect(await eventually(() => coverage().then((c) => (c[0] ? c : Promise.reject(new Error('not seen yet')))))).toEqual([
      'this-run',
      null,
    ]);
    assembleGate.open();
    const result = await first.result();
    expect((await first.describe()).status.name).toBe('COMPLETED');
    expect(scenario.calls.assemble).toEqual([['d1']]);
    expect(result.requests).toMatchObject({ count: 1, lateCount: 0, last: { requestId: 8 } });
    if (process.env.RECORD_HISTORIES) {
      const history = await first.fetchHistory();
      fs.writeFileSync('test/fixtures/histories/train-and-register-late-ask-covered-by-evidence.json', historyToJSON(history));
    }
  });

  it('refuses to register a candidate that does not beat the current version under if-better', async () => {
    scenario = fresh();
    scenario.previousMetrics = { test_mae_mm: 5 };
    scenario.realRegistration = true;
    const result = await env.client.workflow.execute(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `if-better-${randomUUID()}`,
      args: [request({ registerPolicy: 'if-better' })],
    });
    expect(result.registration).toEqual({
      registered: false,
      reason: 'test_mae_mm 10.00 does not beat version 1 (5.00) on the same test set',
    });
    expect(await stores.stores.registry.listModelVersions('distance')).toHaveLength(0);
    expect(scenario.calls.profiles).toEqual([]);
    expect(result.referenceProfile).toBeUndefined();
    expect(result.outcome).toBe('not registered: test_mae_mm 10.00 does not beat version 1 (5.00) on the same test set');
  });

  it('fails at once on an input that can never succeed (a non-retryable activity failure)', async () => {
    scenario = fresh();
    scenario.assembleFailure = ApplicationFailure.nonRetryable('no labelled records for deployments d1', 'NoLabelledRecords');
    const run = env.client.workflow.execute(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `hopeless-${randomUUID()}`,
      args: [request()],
    });
    const error = await run.catch((err) => err);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(String(error.cause?.cause?.message)).toContain('no labelled records');
    expect(scenario.calls.assembleAttempts).toBe(1);
  });
});

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
