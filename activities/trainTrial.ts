import { ApplicationFailure, Context } from '@temporalio/activity';
import type { TrialParams, TrialSummary } from '../core/training/sweep.js';
import { runMlJob } from '../core/ml/runMlJob.js';
import type { EarlyStopping, TrialStageSeconds } from '../core/ml/trialRunner.js';
import { trainingCapacity, type TrainingCapacity } from '../core/ml/trainingCapacity.js';
import { ARCHITECTURES, isArchitectureName } from '../core/ml/architectures.js';
import type { TrainingEngine } from '../core/ml/train.js';
import { trialPrefix } from '../core/stores/objectKeys.js';
import type { ActivityContext } from './context.js';
import { heartbeatWhile } from './heartbeatWhile.js';

export interface TrainTrialInput {
  workflowId: string;
  runId: string;
  modelName: string;
  trialIndex: number;
  manifestKey: string;
  architecture: string;
  params: TrialParams;
  seed: number;
  /** Hold frames out of the training set and stop on a plateau of their MAE (core/ml/trialRunner.ts). */
  earlyStopping?: EarlyStopping;
  /** Start from the model's latest registered version when it has this architecture and input size. */
  warmStart?: boolean;
}

/**
 * Trains one sweep combination in a child process with the worker's threads per trial.
 * Heartbeats every epoch with progress (and every few seconds in between). Any attempt,
 * on whichever worker, resumes from the trial's last checkpoint in the object store.
 */
export const trainTrial =
  ({ stores, objectsUrl, mlBackend, trainGraph, capacity }: ActivityContext) =>
  async (
    input: TrainTrialInput,
  ): Promise<
    TrialSummary & {
      resumedFromEpoch: number;
      backend: string;
      engine?: TrainingEngine;
      epochsRun?: number;
      stoppedEarly?: boolean;
      warmStartedFrom?: string;
      seconds?: TrialStageSeconds;
    }
  > => {
    if (!isArchitectureName(input.architecture)) {
      throw ApplicationFailure.nonRetryable(
        `unknown architecture "${input.architecture}" (known: ${Object.keys(ARCHITECTURES).join(', ')})`,
        'UnknownArchitecture',
      );
    }
    const trialId = `${input.runId}-t${input.trialIndex}`;
    const latest = input.warmStart ? await stores.registry.getLatestModelVersion(input.modelName) : undefined;
    const warmStartPrefix = latest?.architecture === input.architecture ? latest.artifactKey : undefined;
    const outcome = await heartbeatWhile((report) =>
      runMlJob(
        {
          kind: 'train',
          threads: capacity?.threadsPerTrial,
          job: {
            objectsUrl,
            backend: mlBackend,
            graph: trainGraph ?? true,
            manifestKey: input.manifestKey,
            architecture: input.architecture,
            params: input.params,
            seed: input.seed,
            trialPrefix: trialPrefix(input.workflowId, input.runId, input.trialIndex),
            earlyStopping: input.earlyStopping,
            warmStartPrefix,
          },
        },
        report,
        Context.current().cancellationSignal,
      ),
    );
    // A resumed trial started from its first attempt's warm start (the version the same lookup found).
    const warmStartedFrom = outcome.warmStartedFrom ?? (outcome.resumedFromEpoch > 0 ? warmStartPrefix : undefined);
    await stores.registry.saveTrial({
      id: trialId,
      workflowId: input.workflowId,
      runId: input.runId,
      modelName: input.modelName,
      params: {
        ...input.params,
        architecture: input.architecture,
        engine: outcome.engine,
        ...(warmStartedFrom ? { warmStartedFrom } : {}),
      },
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
      engine: outcome.engine,
      epochsRun: outcome.epochsRun,
      stoppedEarly: outcome.stoppedEarly,
      ...(warmStartedFrom ? { warmStartedFrom } : {}),
      seconds: outcome.seconds,
    };
  };

/** What the training worker that answers can run: the workflow sizes its sweep from it. */
export const describeTrainingCapacity =
  ({ capacity }: ActivityContext) =>
  async (): Promise<TrainingCapacity> =>
    capacity ?? trainingCapacity();
