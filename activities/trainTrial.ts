import { Context } from '@temporalio/activity';
import type { TrialParams, TrialSummary } from '../core/training/request.js';
import { runMlJob } from '../core/ml/runMlJob.js';
import { trainingCapacity, type TrainingCapacity } from '../core/ml/trainingCapacity.js';
import type { TrialProgress } from '../core/ml/trialRunner.js';
import { runPrefix, type ActivityContext } from './context.js';

export interface TrainTrialInput {
  workflowId: string;
  runId: string;
  modelName: string;
  trialIndex: number;
  manifestKey: string;
  architecture: string;
  params: TrialParams;
  seed: number;
}

const ALIVE_HEARTBEAT_MS = 10_000;

/**
 * Trains one sweep combination in a child process with the worker's threads per trial.
 * Heartbeats every epoch with progress (and every few seconds in between). Any attempt,
 * on whichever worker, resumes from the trial's last checkpoint in the object store.
 */
export const trainTrial =
  ({ stores, objectsUrl, mlBackend, capacity }: ActivityContext) =>
  async (input: TrainTrialInput): Promise<TrialSummary & { resumedFromEpoch: number; backend: string }> => {
    const ctx = Context.current();
    const trialId = `${input.runId}-t${input.trialIndex}`;
    let last = ctx.info.heartbeatDetails as TrialProgress | undefined;
    const alive = setInterval(() => ctx.heartbeat(last), ALIVE_HEARTBEAT_MS);
    try {
      const outcome = await runMlJob(
        {
          kind: 'train',
          threads: capacity?.threadsPerTrial,
          job: {
            objectsUrl,
            backend: mlBackend,
            manifestKey: input.manifestKey,
            architecture: input.architecture,
            params: input.params,
            seed: input.seed,
            trialPrefix: `${runPrefix(input.workflowId, input.runId)}/trials/${input.trialIndex}`,
          },
        },
        (progress) => {
          last = progress;
          ctx.heartbeat(progress);
        },
        ctx.cancellationSignal,
      );
      const params = { ...input.params, architecture: input.architecture };
      await stores.registry.saveTrial({
        id: trialId,
        workflowId: input.workflowId,
        runId: input.runId,
        modelName: input.modelName,
        params,
        metrics: outcome.metrics,
        history: outcome.history,
        artifactKey: outcome.artifactKey,
        artifactSha256: outcome.artifactSha256,
        datasetKey: input.manifestKey,
      });
      return {
        trialId,
        params: input.params,
        metrics: outcome.metrics,
        artifactKey: outcome.artifactKey,
        artifactSha256: outcome.artifactSha256,
        resumedFromEpoch: outcome.resumedFromEpoch,
        backend: outcome.backend,
      };
    } finally {
      clearInterval(alive);
    }
  };

/** What the training worker that answers can run: the workflow sizes its sweep from it. */
export const describeTrainingCapacity =
  ({ capacity }: ActivityContext) =>
  async (): Promise<TrainingCapacity> =>
    capacity ?? trainingCapacity();
