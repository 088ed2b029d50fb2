import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { RegistryStore, RetrainOutcome, TrainingConfig } from '../core/stores/registry.js';
import { TASK_QUEUES, trainWorkflowIdFor, type RetrainTriggerInfo, type TrainAndRegisterRequest } from '../core/training/request.js';
import { MODEL_NAME_ATTRIBUTE, progressQuery, retrainRequestedSignal, TRIGGER_ATTRIBUTE } from '../workflows/definitions.js';
import type { TrainAndRegister } from '../workflows/trainAndRegister.js';
import { ApiError, notFound } from './errors.js';

export interface RetrainDeps {
  registry: RegistryStore;
  temporal: () => Promise<Client>;
}

export interface RetrainAsk {
  modelName: string;
  trigger: RetrainTriggerInfo;
  payload: unknown;
  /** Settings for this request only, over the model's stored training config. */
  overrides?: Partial<TrainingConfig>;
  /** Deployments added to the dataset (e.g. the one an alert fired for). */
  extraDeployments?: string[];
  /** One firing of one alert; a repeat of it never starts or joins a run again. */
  dedupeKey?: string;
}

export interface RetrainAnswer {
  modelName: string;
  outcome: RetrainOutcome;
  workflowId: string | null;
  runId: string | null;
  requestId: number;
}

/**
 * Starts the model's TrainAndRegister run, or joins the one already running, with
 * signalWithStart on a fixed workflow id per model; every ask is recorded in the registry.
 */
export async function requestRetrain(deps: RetrainDeps, ask: RetrainAsk): Promise<RetrainAnswer> {
  const { registry } = deps;
  const model = await registry.getModel(ask.modelName);
  if (!model) throw notFound(`model "${ask.modelName}"`);
  const config = { ...(model.trainingConfig ?? {}), ...(ask.overrides ?? {}) } as Partial<TrainingConfig>;
  const deployments = [...new Set([...(config.deployments ?? []), ...(ask.extraDeployments ?? [])])];
  if (deployments.length === 0) {
    throw new ApiError(
      409,
      'no_training_config',
      `model "${ask.modelName}" has no training deployments: PUT /models/${ask.modelName}/training-config first`,
    );
  }
  const record = (outcome: RetrainOutcome, workflowId: string | null, runId: string | null) =>
    registry.recordRetrainRequest({
      modelName: ask.modelName,
      trigger: ask.trigger.kind === 'grafana' ? 'grafana' : 'manual',
      payload: ask.payload,
      workflowId,
      runId,
      outcome,
      dedupeKey: ask.dedupeKey ?? null,
    });

  if (ask.dedupeKey && (await registry.hasActedOnAlert(ask.modelName, ask.dedupeKey))) {
    const row = await record('duplicate', null, null);
    return { modelName: ask.modelName, outcome: 'duplicate', workflowId: null, runId: null, requestId: row.id };
  }

  const client = await reachTemporal(deps);
  const workflowId = trainWorkflowIdFor(ask.modelName);
  const wasRunning = await isRunning(client, workflowId);
  const request: TrainAndRegisterRequest = { ...config, modelName: ask.modelName, deployments, trigger: ask.trigger };
  const handle = await client.workflow.signalWithStart<typeof TrainAndRegister, [RetrainTriggerInfo]>('TrainAndRegister', {
    workflowId,
    taskQueue: TASK_QUEUES.orchestration,
    args: [request],
    signal: retrainRequestedSignal,
    signalArgs: [ask.trigger],
    typedSearchAttributes: [
      { key: MODEL_NAME_ATTRIBUTE, value: ask.modelName },
      { key: TRIGGER_ATTRIBUTE, value: ask.trigger.kind },
    ],
    memo: { trigger: ask.trigger },
  });
  const outcome: RetrainOutcome = wasRunning ? 'joined' : 'started';
  const row = await record(outcome, workflowId, handle.signaledRunId);
  return { modelName: ask.modelName, outcome, workflowId, runId: handle.signaledRunId, requestId: row.id };
}

/** The Temporal client, or a 503 the caller can act on when the server cannot be reached. */
async function reachTemporal(deps: RetrainDeps): Promise<Client> {
  try {
    return await deps.temporal();
  } catch (err) {
    throw new ApiError(503, 'temporal_unavailable', `cannot reach Temporal: ${(err as Error).message}`);
  }
}

async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Status of one TrainAndRegister run: its progress while running, its result once completed. */
export async function describeTrainingRun(deps: RetrainDeps, workflowId: string, runId: string) {
  const client = await reachTemporal(deps);
  const handle = client.workflow.getHandle<typeof TrainAndRegister>(workflowId, runId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(`workflow run ${workflowId}/${runId}`);
    throw err;
  }
  const status = description.status.name;
  const base = {
    workflowId,
    runId,
    type: description.type,
    status,
    startTime: description.startTime,
    closeTime: description.closeTime ?? null,
  };
  if (status === 'RUNNING') {
    // A query needs a live worker; without one, answer without progress instead of hanging.
    const progress = await client.withDeadline(Date.now() + 2000, () => handle.query(progressQuery)).catch(() => null);
    return { ...base, progress };
  }
  if (status === 'COMPLETED') return { ...base, result: await handle.result() };
  return base;
}
