import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { RegistryStore, RetrainOutcome, TrainingConfig } from '../core/stores/registry.js';
import { TASK_QUEUES, trainWorkflowIdFor, type RetrainTriggerInfo, type TrainAndRegisterRequest } from '../core/training/request.js';
import { MODEL_NAME_ATTRIBUTE, retrainRequestedSignal, TRIGGER_ATTRIBUTE } from '../workflows/definitions.js';
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
    throw new ApiError(409, 'no_training_config', `model "${ask.modelName}" has no training deployments: PUT /models/${ask.modelName}/training-config first`);
  }
  const record = (outcome: RetrainOutcome, workflowId: string | null, runId: string | null) =>
    registry.recordRetrainRequest({ modelName: ask.modelName, trigger: ask.trigger.kind === 'grafana' ? 'grafana' : 'manual', payload: ask.payload, workflowId, runId, outcome, dedupeKey: ask.dedupeKey ?? null });

  if (ask.dedupeKey && (await registry.hasActedOnAlert(ask.modelName, ask.dedupeKey))) {
    const row = await record('duplicate', null, null);
    return { modelName: ask.modelName, outcome: 'duplicate', workflowId: null, runId: null, requestId: row.id };
  }

  let client: Client;
  try {
    client = await deps.temporal();
  } catch (err) {
    throw new ApiError(503, 'temporal_unavailable', `cannot reach Temporal: ${(err as Error).message}`);
  }
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

async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
