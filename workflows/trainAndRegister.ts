import { patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { OrchestrationActivities, TrainingActivities } from '../activities/index.js';
import type { RegisterResult } from '../activities/registerModelVersion.js';
import type { SelectBestResult } from '../activities/selectBest.js';
import type { DatasetSummary } from '../activities/preprocess.js';
import {
  resolveRequest,
  sweepCombinations,
  TASK_QUEUES,
  type RetrainTriggerInfo,
  type SweepParallelism,
  type TrainAndRegisterRequest,
  type TrialSummary,
} from '../core/training/request.js';
import { progressQuery, retrainRequestedSignal, type TrainProgress } from './definitions.js';

const orchestration = proxyActivities<OrchestrationActivities>({
  taskQueue: TASK_QUEUES.orchestration,
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5 },
});

const training = proxyActivities<TrainingActivities>({
  taskQueue: TASK_QUEUES.training,
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 3 },
});

export interface TrainAndRegisterResult {
  dataset: DatasetSummary;
  trials: TrialSummary[];
  selection: SelectBestResult;
  registration: RegisterResult;
  parallelism: SweepParallelism;
  /** Every retrain request signalled to this run (the one that started it included): alerts coalesce here. */
  coalescedRequests: RetrainTriggerInfo[];
}

/** Dataset -> preprocessing -> sweep -> best run -> registration; the history is the lineage record. */
export async function TrainAndRegister(input: TrainAndRegisterRequest): Promise<TrainAndRegisterResult> {
  const request = resolveRequest(input);
  const { workflowId, runId } = workflowInfo();
  const coalescedRequests: RetrainTriggerInfo[] = [];
  const combos = sweepCombinations(request.sweep);
  const progress: TrainProgress = { step: 'assembling', trialsDone: 0, trialsTotal: combos.length, coalescedRequests: 0 };
  setHandler(retrainRequestedSignal, (trigger) => {
    coalescedRequests.push(trigger);
    progress.coalescedRequests = coalescedRequests.length;
  });
  setHandler(progressQuery, () => progress);

  let dataset: DatasetSummary;
  if (request.reuseDataset) {
    dataset = await orchestration.describeDataset(request.reuseDataset);
  } else {
    const records = await orchestration.assembleDataset({ workflowId, runId, deployments: request.deployments });
    progress.step = 'preprocessing';
    dataset = await training.preprocess({ workflowId, runId, ...records, ...request });
  }

  progress.step = 'training';
  const parallelism = await chooseParallelism(request.parallelism);
  progress.parallelism = parallelism.value;
  const trials = await mapWithConcurrency(combos, parallelism.value, async (params, trialIndex) => {
    const trial = await training.trainTrial({
      workflowId,
      runId,
      modelName: request.modelName,
      trialIndex,
      manifestKey: dataset.manifestKey,
      architecture: request.architecture,
      params,
      seed: request.seed,
    });
    progress.trialsDone++;
    return trial;
  });

  progress.step = 'selecting';
  const selection = await orchestration.selectBest({ trials, metric: request.selectionMetric });
  progress.step = 'evaluating';
  const previous = await training.evaluatePrevious({ modelName: request.modelName, manifestKey: dataset.manifestKey });
  progress.step = 'registering';
  const registration = await orchestration.registerModelVersion({
    modelName: request.modelName,
    workflowId,
    runId,
    architecture: request.architecture,
    best: selection.best,
    selectionMetric: request.selectionMetric,
    previous,
    policy: request.registerPolicy,
    dataset,
  });
  progress.step = 'done';
  return { dataset, trials, selection, registration, parallelism, coalescedRequests };
}

/** The request's parallelism wins; else as many trials as the training worker has slots for. */
async function chooseParallelism(requested: number | undefined): Promise<SweepParallelism> {
  if (requested !== undefined) return { value: requested, source: 'request' };
  // Histories recorded before the worker was asked trained two trials at once.
  if (!patched('sweep-parallelism-from-training-worker')) return { value: 2, source: 'legacy-default' };
  const capacity = await training.describeTrainingCapacity();
  return { value: capacity.slots, source: 'training-worker' };
}

async function mapWithConcurrency<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
