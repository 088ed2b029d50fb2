import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingCapacity } from '../../core/ml/trainingCapacity.js';
import type { TrialProgress } from '../../core/ml/trialRunner.js';
import { progressQuery } from '../../workflows/trainAndRegister/contract.js';
import { createOrchestrationWorker, createTrainingWorker } from '../../workers/createWorkers.js';
import { TrainAndRegister } from '../../workflows/trainAndRegister/workflow.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { eventually } from '../support/eventually.js';
import { storeLabelledFrames } from '../support/syntheticFrames.js';
import { startTemporal } from '../support/temporalEnv.js';
import { TASK_QUEUES } from '../../workflows/shared.js';

const EPOCHS = 20;

/**
 * Two training workers on one task queue of a real Temporal server. Worker A takes the trial;
 * once the server has A's heartbeat of a checkpointed epoch, A shuts down mid-trial. Temporal
 * retries the attempt, worker B picks it up and must continue from A's last checkpoint.
 */
describe('a trial retried on another training worker', () => {
  let env: TestWorkflowEnvironment;
  let t: TempStores;
  const running: Promise<void>[] = [];
  const workers: Worker[] = [];

  beforeAll(async () => {
    [env, t] = await Promise.all([startTemporal(), openTempStores()]);
    await storeLabelledFrames(t.stores, 120);
  });

  afterAll(async () => {
    workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
    await Promise.allSettled(running);
    await env?.teardown();
    await t?.cleanup();
  });

  const start = (worker: Worker) => {
    workers.push(worker);
    const run = worker.run();
    running.push(run);
    return run;
  };

  it('resumes on worker B from the epoch worker A checkpointed, and trains only the remaining epochs', async () => {
    const context = { stores: t.stores, objectsUrl: t.urls.objectsUrl, mlBackend: 'auto' as const };
    const base = { connection: env.nativeConnection, namespace: 'default', context };
    const oneSlot = trainingCapacity({ sweepParallelism: 1 });
    void start(await createOrchestrationWorker(base));
    const workerA = await createTrainingWorker({ ...base, capacity: oneSlot, identity: 'training-a' });
    const runA = start(workerA);

    const handle = await env.client.workflow.start(TrainAndRegister, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `retry-elsewhere-${randomUUID()}`,
      args: [
        {
          modelName: 'distance',
          deployments: ['d'],
          trigger: { kind: 'manual', by: 'test' },
          width: 32,
          height: 24,
          sweep: { epochs: [EPOCHS], batchSizes: [8], dropouts: [0.1] },
          registerPolicy: 'always',
        },
      ],
    });

    // What the server recorded of attempt 1: A's identity and a heartbeat of a checkpointed epoch.
    const seenOnA = await eventually(
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'trainTrial');
        const payload = pending?.heartbeatDetails?.payloads?.[0];
        const progress = payload ? defaultPayloadConverter.fromPayload<TrialProgress | undefined>(payload) : undefined;
        expect(progress?.epoch).toBeGreaterThanOrEqual(1);
        return { attempt: pending!.attempt!, identity: pending!.lastWorkerIdentity!, progress: progress! };
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    expect(seenOnA).toMatchObject({ attempt: 1, identity: 'training-a' });
    expect(seenOnA.progress.epoch).toBeGreaterThanOrEqual(1);
    expect(seenOnA.progress.epoch).toBeLessThan(EPOCHS);
    expect((await handle.query(progressQuery)).parallelism).toBe(1);

    // The SDK allows one worker per task queue and process at a time: B registers once A is gone.
    workerA.shutdown();
    await runA;
    void start(await createTrainingWorker({ ...base, capacity: oneSlot, identity: 'training-b' }));

    const result = await handle.result();
    const [trial] = result.trials as ((typeof result.trials)[number] & { resumedFromEpoch: number })[];
    const resumedFrom = trial.resumedFromEpoch;
    // A may train an epoch or two more between its recorded heartbeat and the shutdown: the checkpoint says which.
    expect(resumedFrom).toBeGreaterThanOrEqual(seenOnA.progress.epoch);
    expect(resumedFrom).toBeLessThan(EPOCHS);
    expect(result.parallelism).toEqual({ value: 1, source: 'training-worker' });

    const history = await handle.fetchHistory();
    const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!);
    const scheduledIds = new Map(
      history
        .events!.filter((e) => e.activityTaskScheduledEventAttributes)
        .map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType?.name]),
    );
    const trialStart = started.find((s) => scheduledIds.get(String(s.scheduledEventId)) === 'trainTrial')!;
    expect(trialStart.identity).toBe('training-b');
    expect(trialStart.attempt).toBeGreaterThanOrEqual(2);
    expect(trialStart.lastFailure?.message).toMatch(/shutting down/);

    // B trained exactly the epochs A had not checkpointed.
    const stored = await t.stores.registry.getTrial(trial.trialId);
    expect(stored?.history.loss).toHaveLength(EPOCHS - resumedFrom);
    expect(result.registration.registered).toBe(true);
  });
});
