import { continueAsNew, patched, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { OrchestrationActivities, TrainingActivities } from '../../activities/index.js';
import { mapLimit } from '../../core/mapLimit.js';
import { sweepCombinations, type TrialParams, type TrialSummary } from '../../core/training/sweep.js';
import { AskLedger, normalizeAsks } from './askLedger.js';
import {
  askCoverageQuery,
  asksCoverageQuery,
  progressQuery,
  resolveRequest,
  retrainRequestedSignal,
  type ResolvedRequest,
  type DatasetSummary,
  type SweepParallelism,
  type TrainAndRegisterRequest,
  type TrainAndRegisterResult,
  type TrainProgress,
} from './contract.js';
import { TASK_QUEUES } from '../shared.js';
import { outcomeLine, progressLine } from './summary.js';

// Each activity's options fit what it does: light steps fail fast, ML steps heartbeat every few seconds.
const light = { taskQueue: TASK_QUEUES.orchestration, retry: { maximumAttempts: 5 } };
const { describeDataset, selectBest } = proxyActivities<OrchestrationActivities>({ ...light, startToCloseTimeout: '1 minute' });
const { recordRunRequest } = proxyActivities<OrchestrationActivities>({ ...light, startToCloseTimeout: '1 minute' });
const { assembleDataset } = proxyActivities<OrchestrationActivities>({ ...light, startToCloseTimeout: '15 minutes' });
const { registerModelVersion } = proxyActivities<OrchestrationActivities>({ ...light, startToCloseTimeout: '2 minutes' });
const { startRollouts } = proxyActivities<OrchestrationActivities>({ ...light, startToCloseTimeout: '1 minute' });
const ml = { taskQueue: TASK_QUEUES.training, retry: { maximumAttempts: 3 } };
const { preprocess } = proxyActivities<TrainingActivities>({ ...ml, startToCloseTimeout: '2 hours', heartbeatTimeout: '1 minute' });
const { trainTrial } = proxyActivities<TrainingActivities>({ ...ml, startToCloseTimeout: '4 hours', heartbeatTimeout: '30 seconds' });
const { evaluatePrevious } = proxyActivities<TrainingActivities>({
  ...ml,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
});
const { describeTrainingCapacity } = proxyActivities<TrainingActivities>({ ...ml, startToCloseTimeout: '30 seconds' });
const { buildReferenceProfile } = proxyActivities<TrainingActivities>({
  ...ml,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
});

/** Dataset -> preprocessing -> sweep -> best run -> registration; the history is the lineage record. */
export async function TrainAndRegister(input: TrainAndRegisterRequest): Promise<TrainAndRegisterResult> {
  const request = resolveRequest(input);
  const { workflowId, runId, runStartTime } = workflowInfo();
  // A run started without the API (`temporal workflow start`) records its own retrain request; a follow-up run's asks are recorded.
  if (input.trigger?.requestId === undefined && !input.continuedFrom && patched('run-records-its-own-request'))
    await recordRunRequest({ workflowId, runId, startedAt: runStartTime.getTime(), input });
  // Histories recorded before asks carried their evidence time book a follow-up for every ask after the assembly.
  const asks = new AskLedger(request.deployments, request.continuedFrom, patched('asks-covered-by-evidence-time'));
  const combos = sweepCombinations(request.sweep);
  const progress: TrainProgress = { step: 'assembling', trialsDone: 0, trialsTotal: combos.length, coalescedRequests: 0 };
  // The Web UI shows the run's current details: the same progress the query answers, as one line.
  const report = (change: Partial<TrainProgress>) => setCurrentDetails(progressLine(Object.assign(progress, change)));
  report({});
  setHandler(retrainRequestedSignal, (payload) => {
    normalizeAsks(payload).forEach((ask) => asks.record(ask));
    report({ coalescedRequests: asks.summary.count });
  });
  setHandler(progressQuery, () => progress);
  setHandler(askCoverageQuery, (requestId) => asks.coverageOf(requestId));
  setHandler(asksCoverageQuery, (requestIds) => requestIds.map((id) => asks.coverageOf(id) ?? null));

  let dataset: DatasetSummary;
  if (request.reuseDataset) {
    asks.closeDataset();
    dataset = await describeDataset(request.reuseDataset);
  } else {
    // Histories recorded before asks carried deployments assembled the run's own deployments only.
    const joined = asks.closeDataset();
    const deployments = patched('joined-asks-reach-the-dataset') ? joined : request.deployments;
    const records = await assembleDataset({ workflowId, runId, deployments });
    report({ step: 'preprocessing' });
    dataset = await preprocess({ workflowId, runId, ...records, ...request });
  }

  report({ step: 'training' });
  const parallelism = await chooseParallelism(request.parallelism);
  report({ parallelism: parallelism.value });
  const train = async (params: TrialParams, trialIndex: number) =>
    trainTrial({
      workflowId,
      runId,
      modelName: request.modelName,
      trialIndex,
      manifestKey: dataset.manifestKey,
      architecture: request.architecture,
      params,
      seed: request.seed,
      // Unset fields leave the activity's input as it was before these switches.
      earlyStopping: request.earlyStopping,
      warmStart: request.warmStart,
    });
  const finished = (trial: TrialSummary) => {
    const value = trial.metrics[request.selectionMetric];
    const better = Number.isFinite(value) && !(progress.best && progress.best.value <= value);
    report({
      trialsDone: progress.trialsDone + 1,
      ...(better ? { best: { trialId: trial.trialId, metric: request.selectionMetric, value } } : {}),
    });
    return trial;
  };
  // Histories recorded before successive halving trained every trial to its epochs.
  const trials =
    request.halving && patched('successive-halving')
      ? await halvingSweep(combos, request, parallelism.value, train, finished)
      : await mapLimit(combos, parallelism.value, async (params, trialIndex) => finished(await train(params, trialIndex)));

  report({ step: 'selecting' });
  const selection = await selectBest({ trials, metric: request.selectionMetric });
  report({ step: 'evaluating' });
  const previous = await evaluatePrevious({
    modelName: request.modelName,
    manifestKey: dataset.manifestKey,
    candidateArtifactKey: selection.best.artifactKey,
  });
  report({ step: 'registering' });
  const registration = await registerModelVersion({
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
  // The drift monitor's reference: what the new version learned from (histories before it registered without).
  let referenceProfile;
  if (registration.registered && patched('reference-profile-at-registration')) {
    report({ step: 'profiling' });
    referenceProfile = await buildReferenceProfile({
      modelName: request.modelName,
      version: registration.version,
      workflowId,
      runId,
      manifestKey: dataset.manifestKey,
      artifactKey: registration.artifactKey,
    });
  }
  // Deployments that roll the model out judge the new version on the laser before it serves them.
  let rollouts;
  if (registration.registered && patched('rollouts-after-registration')) {
    report({ step: 'rolling-out' });
    rollouts = await startRollouts({ modelName: request.modelName, version: registration.version });
  }
  report({ step: 'done' });

  // Asks this dataset does not cover (evidence observed after its assembly) are covered by one follow-up run.
  const followUp = asks.followUp();
  if (followUp && patched('late-asks-continue-as-new')) {
    const trigger = { kind: followUp.asks.last!.kind, by: `${followUp.asks.count} ask(s) after ${runId} assembled its dataset` };
    await continueAsNew<typeof TrainAndRegister>({ ...input, deployments: followUp.deployments, trigger, continuedFrom: followUp.asks });
  }
  const outcome = outcomeLine(request.modelName, registration, request.selectionMetric, selection.best.metrics[request.selectionMetric]);
  setCurrentDetails(outcome);
  return { outcome, registration, selection, rollouts, referenceProfile, dataset, parallelism, requests: asks.summary, trials };
}

type TrialResult = Awaited<ReturnType<TrainingActivities['trainTrial']>>;

/**
 * Successive halving (one rung): every trial trains `rungEpochs` epochs, they are ranked by the validation MAE (or, without
 * early stopping's validation split, by the selection metric), and the better half trains on to its own epochs, resuming
 * from its checkpoint. The worse half ends at the rung, measured there; a trial early stopping ended is not trained on.
 */
async function halvingSweep(
  combos: TrialParams[],
  request: ResolvedRequest,
  parallelism: number,
  train: (params: TrialParams, trialIndex: number) => Promise<TrialResult>,
  finished: (trial: TrialSummary) => TrialSummary,
): Promise<TrialSummary[]> {
  const rungEpochs = request.halving!.rungEpochs;
  const rung = await mapLimit(combos, parallelism, (params, trialIndex) =>
    train(params.epochs > rungEpochs ? { ...params, epochs: rungEpochs } : params, trialIndex),
  );
  const metric = request.earlyStopping ? 'val_mae_mm' : request.selectionMetric;
  const valueOf = (i: number) => (Number.isFinite(rung[i].metrics[metric]) ? rung[i].metrics[metric] : Infinity);
  const contenders = combos.map((_, i) => i).filter((i) => combos[i].epochs > rungEpochs && !rung[i].stoppedEarly);
  const survivors = new Set([...contenders].sort((a, b) => valueOf(a) - valueOf(b) || a - b).slice(0, Math.ceil(contenders.length / 2)));
  rung.forEach((trial, i) => survivors.has(i) || finished(trial));
  const onward = await mapLimit([...survivors], parallelism, async (i) => ({ i, trial: finished(await train(combos[i], i)) }));
  const trials: TrialSummary[] = [...rung];
  for (const { i, trial } of onward) trials[i] = trial;
  return trials;
}

/** The request's parallelism wins; else as many trials as the training worker has slots for. */
async function chooseParallelism(requested: number | undefined): Promise<SweepParallelism> {
  if (requested !== undefined) return { value: requested, source: 'request' };
  // Histories recorded before the worker was asked trained two trials at once.
  if (!patched('sweep-parallelism-from-training-worker')) return { value: 2, source: 'legacy-default' };
  const capacity = await describeTrainingCapacity();
  return { value: capacity.slots, source: 'training-worker' };
}
