import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { RegistryStore, RetrainCoverage, RetrainOutcome, RetrainRequest, TrainingConfig } from '../core/stores/registry.js';
import {
  askCoverageQuery,
  DEFAULT_TRAINING,
  progressQuery,
  rerunWorkflowIdFor,
  resolveRequest,
  retrainRequestedSignal,
  startAttributes,
  TASK_QUEUES,
  trainWorkflowIdFor,
  type RegisterPolicy,
  type RetrainAsk,
  type RetrainTrigger,
  type TrainAndRegisterRequest,
} from '../workflows/trainAndRegister/contract.js';
import type { SweepSpec } from '../core/training/sweep.js';
import { TrainAndRegister } from '../workflows/trainAndRegister/workflow.js';
import { ApiError, notFound } from './errors.js';
import { callTemporal, type TemporalAccess } from './temporalAccess.js';

export interface RetrainDeps extends TemporalAccess {
  registry: RegistryStore;
  /** The Temporal Web UI, for links in answers. */
  temporalUi: { url: string; namespace: string };
  /** How long an answer waits for the running run to say how it covers a joined ask (default 2 s). */
  coverageWaitMs?: number;
}

export interface RetrainAskInput {
  modelName: string;
  trigger: RetrainTrigger;
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
  /** For `joined`: whether the running run's dataset includes this ask, or a follow-up run it continues into will. */
  coverage: RetrainCoverage | null;
  workflowId: string | null;
  runId: string | null;
  requestId: number;
  /** For a duplicate: the request that acted on this alert firing. */
  duplicateOf?: number;
  links?: { status: string; ui: string };
}

/**
 * Records the ask first, then starts the model's TrainAndRegister run or joins the one already
 * running (signalWithStart on a fixed workflow id per model). An alert firing that was recorded
 * before is a duplicate and never acts twice. When Temporal cannot be reached the ask stays
 * `pending` and `retryPendingRetrains` acts on it later; the caller gets a 503 with Retry-After.
 */
export async function requestRetrain(deps: RetrainDeps, ask: RetrainAskInput): Promise<RetrainAnswer> {
  const { registry } = deps;
  const plan = await planRetrain(registry, ask);
  const recorded = await registry.recordRetrainRequest({
    modelName: ask.modelName,
    trigger: ask.trigger.kind,
    payload: { ask: ask.payload, ...(plan.ok ? { request: plan.request } : { refused: plan.error.message }) },
    dedupeKey: plan.ok ? (ask.dedupeKey ?? null) : null,
  });
  if (recorded.duplicateOf) return answerOf(deps, recorded.request, recorded.duplicateOf.id);
  if (!plan.ok) {
    await registry.settleRetrainRequest(recorded.request.id, { outcome: 'ignored', workflowId: null, runId: null, coverage: null });
    throw plan.error;
  }
  const settled = await actOnRetrainRequest(deps, recorded.request.id, plan.request);
  if (settled.outcome === 'pending') {
    throw new ApiError(
      503,
      'temporal_unavailable',
      `Temporal cannot be reached; retrain request ${settled.id} is kept and will be retried`,
      5,
    );
  }
  return answerOf(deps, settled);
}

type Plan = { ok: true; request: TrainAndRegisterRequest } | { ok: false; error: ApiError };

/** The TrainAndRegister request an ask leads to, from the model's training config, or why there is none. */
async function planRetrain(registry: RegistryStore, ask: RetrainAskInput): Promise<Plan> {
  const model = await registry.getModel(ask.modelName);
  const configure = `PUT /models/${ask.modelName}/training-config names the deployments a retrain trains on`;
  if (!model) {
    const named = (await registry.listDeployments()).some((d) => d.modelName === ask.modelName);
    const error = named
      ? new ApiError(409, 'no_training_config', `model "${ask.modelName}" has deployments but no training config yet: ${configure}`)
      : notFound(`model "${ask.modelName}" (${configure}, which creates the model)`);
    return { ok: false, error };
  }
  const config = { ...(model.trainingConfig ?? {}), ...(ask.overrides ?? {}) } as Partial<TrainingConfig>;
  const deployments = [...new Set([...(config.deployments ?? []), ...(ask.extraDeployments ?? [])])];
  if (deployments.length === 0) {
    return {
      ok: false,
      error: new ApiError(409, 'no_training_config', `model "${ask.modelName}" has no training deployments: ${configure}`),
    };
  }
  return { ok: true, request: { ...config, modelName: ask.modelName, deployments, trigger: ask.trigger } };
}

/** How long one process holds a pending request while it tries to hand it to Temporal. */
const CLAIM_LEASE_MS = 30_000;

/**
 * Hands a recorded request to Temporal: signalWithStart, then records whether it started the run
 * or joined it. Returns the request as it stands: still `pending` when Temporal was unreachable.
 */
export async function actOnRetrainRequest(deps: RetrainDeps, requestId: number, request: TrainAndRegisterRequest): Promise<RetrainRequest> {
  const { registry } = deps;
  if (!(await registry.claimRetrainRequest(requestId, CLAIM_LEASE_MS))) return (await registry.getRetrainRequest(requestId))!;
  const trigger = { ...request.trigger, requestId };
  const ask: RetrainAsk = { trigger, deployments: request.deployments };
  const workflowId = trainWorkflowIdFor(request.modelName);
  let handle;
  try {
    handle = await callTemporal(deps, (client) =>
      client.workflow.signalWithStart<typeof TrainAndRegister, [RetrainAsk]>('TrainAndRegister', {
        workflowId,
        taskQueue: TASK_QUEUES.orchestration,
        args: [{ ...request, trigger }],
        signal: retrainRequestedSignal,
        signalArgs: [ask],
        ...startAttributes(request, `${request.modelName}: retrain asked by ${trigger.kind} (${trigger.by})`),
      }),
    );
  } catch (err) {
    if (err instanceof ApiError && err.code === 'temporal_unavailable') return (await registry.getRetrainRequest(requestId))!;
    throw err;
  }
  const runId = handle.signaledRunId;
  const started = await startedByThisAsk(deps, workflowId, runId, requestId);
  const coverage = started ? 'this-run' : await coverageOf(deps, workflowId, runId, requestId);
  return registry.settleRetrainRequest(requestId, { outcome: started ? 'started' : 'joined', workflowId, runId, coverage });
}

/** The run was started by this ask when its input carries this request's id. */
async function startedByThisAsk(deps: RetrainDeps, workflowId: string, runId: string, requestId: number): Promise<boolean> {
  return (await startInputOf(deps, workflowId, runId))?.trigger?.requestId === requestId;
}

/** A run's input: the first event of its history. */
async function startInputOf(deps: RetrainDeps, workflowId: string, runId: string): Promise<TrainAndRegisterRequest | undefined> {
  const page = await callTemporal(deps, (client) =>
    client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: 1,
    }),
  );
  const payload = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? (defaultPayloadConverter.fromPayload(payload) as TrainAndRegisterRequest) : undefined;
}

/** Asks the running run how it covers the ask; null when no worker answers in time (the run decides later). */
async function coverageOf(deps: RetrainDeps, workflowId: string, runId: string, requestId: number): Promise<RetrainCoverage | null> {
  const deadline = Date.now() + (deps.coverageWaitMs ?? 2000);
  const client = await deps.temporal();
  while (Date.now() < deadline) {
    const coverage = await client
      .withDeadline(deadline, () => client.workflow.getHandle(workflowId, runId).query(askCoverageQuery, requestId))
      .catch(() => undefined);
    if (coverage) return coverage;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

function answerOf(deps: RetrainDeps, request: RetrainRequest, duplicateOf?: number): RetrainAnswer {
  const { workflowId, runId } = request;
  return {
    modelName: request.modelName,
    outcome: request.outcome,
    coverage: request.coverage,
    workflowId,
    runId,
    requestId: request.id,
    ...(duplicateOf !== undefined ? { duplicateOf } : {}),
    ...(workflowId && runId ? { links: runLinks(deps, workflowId, runId) } : {}),
  };
}

export function runLinks(deps: Pick<RetrainDeps, 'temporalUi'>, workflowId: string, runId: string) {
  const id = encodeURIComponent(workflowId);
  return {
    status: `/workflows/${id}/runs/${runId}`,
    ui: `${deps.temporalUi.url}/namespaces/${deps.temporalUi.namespace}/workflows/${id}/${runId}/history`,
  };
}

/**
 * Acts on asks that were recorded while Temporal was unreachable (or whose process died before
 * acting). Runs in the API process every few seconds; returns how many it settled.
 */
export async function retryPendingRetrains(deps: RetrainDeps, olderThanMs = 5000): Promise<number> {
  let settled = 0;
  for (const pending of await deps.registry.listRetrainRequests({ outcome: 'pending', limit: 100 })) {
    if (Date.now() - Date.parse(pending.createdAt) < olderThanMs) continue;
    const request = (pending.payload as { request?: TrainAndRegisterRequest })?.request;
    if (!request) continue;
    const after = await actOnRetrainRequest(deps, pending.id, request);
    if (after.outcome === 'pending') break;
    settled++;
  }
  return settled;
}

/**
 * The API process's hand-over of pending asks: `retryPendingRetrains` every few seconds until stopped.
 */
export function keepRetryingPendingRetrains(deps: RetrainDeps): { stop(): void } {
  const timer = setInterval(() => {
    retryPendingRetrains(deps).catch((err) => deps.log?.warn({ err: (err as Error).message }, 'pending retrain requests not retried'));
  }, 5000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Status of one TrainAndRegister run: its progress while running, its result once completed. */
export async function describeTrainingRun(deps: RetrainDeps, workflowId: string, runId: string) {
  const handle = (await callTemporal(deps, async (client) => client)).workflow.getHandle<typeof TrainAndRegister>(workflowId, runId);
  let description;
  try {
    description = await callTemporal(deps, () => handle.describe());
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
    links: runLinks(deps, workflowId, runId),
  };
  if (status === 'RUNNING') {
    // A query needs a live worker; without one, answer without progress instead of hanging.
    const client = await deps.temporal();
    const progress = await client.withDeadline(Date.now() + 2000, () => handle.query(progressQuery)).catch(() => null);
    return { ...base, progress };
  }
  if (status === 'COMPLETED') return { ...base, result: await callTemporal(deps, () => handle.result()) };
  if (status === 'CONTINUED_AS_NEW') {
    const history = await callTemporal(deps, () => handle.fetchHistory());
    const next = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? null;
    return { ...base, continuedAs: next && { runId: next, links: runLinks(deps, workflowId, next) } };
  }
  return base;
}

export interface RerunAsk {
  modelName: string;
  fromVersion: number;
  by: string;
  kind: 'manual' | 'cli';
  /** Sweep values to change; the rest are the source run's. */
  sweep?: Partial<SweepSpec>;
  registerPolicy?: RegisterPolicy;
  /** Answer the request and workflow id it would start, and start nothing. */
  dryRun?: boolean;
}

/**
 * Reruns only the experiment step (sweep, selection, registration) on the identical preprocessed
 * dataset of a registered version, as a run of its own, recorded like every retrain ask.
 */
export async function requestRerun(deps: RetrainDeps, ask: RerunAsk) {
  const source = await deps.registry.getModelVersion(ask.modelName, ask.fromVersion);
  if (!source) throw notFound(`model "${ask.modelName}" version ${ask.fromVersion}`);
  const sourceSweep = await sweepOfRun(deps, source.workflowId, source.runId).catch(() => undefined);
  // Without the source run's history, the winning trial's values (the defaults where it has none).
  const p = source.params;
  const one = (value: unknown, fallback: number[]) => (Number.isFinite(Number(value)) ? [Number(value)] : fallback);
  const d = DEFAULT_TRAINING.sweep;
  const inherited: SweepSpec = sourceSweep ?? {
    epochs: one(p.epochs, d.epochs),
    batchSizes: one(p.batchSize, d.batchSizes),
    dropouts: one(p.dropout, d.dropouts),
    learningRates: one(p.learningRate, d.learningRates),
  };
  const request: TrainAndRegisterRequest = {
    modelName: ask.modelName,
    deployments: source.sourceDeployments,
    trigger: { kind: ask.kind, by: `${ask.by}: rerun of v${source.version} (${source.workflowId}/${source.runId})` },
    architecture: source.architecture,
    reuseDataset: { manifestKey: source.datasetKey },
    sweep: { ...inherited, ...Object.fromEntries(Object.entries(ask.sweep ?? {}).filter(([, v]) => v !== undefined)) },
    registerPolicy: ask.registerPolicy ?? 'if-better',
  };
  const workflowId = rerunWorkflowIdFor(ask.modelName, source.version, Date.now());
  const summary = `${ask.modelName}: rerun of v${source.version}'s experiment step (${ask.kind}: ${ask.by})`;
  if (ask.dryRun)
    return {
      outcome: 'dry-run' as const,
      workflowId,
      request,
      summary,
      sweepInheritedFrom: sourceSweep ? 'source run' : 'source version params',
    };
  const { request: recorded } = await deps.registry.recordRetrainRequest({
    modelName: ask.modelName,
    trigger: ask.kind,
    payload: { ask, request },
    dedupeKey: null,
  });
  const trigger = { ...request.trigger, requestId: recorded.id };
  const handle = await callTemporal(deps, (client) =>
    client.workflow.start(TrainAndRegister, {
      workflowId,
      taskQueue: TASK_QUEUES.orchestration,
      args: [{ ...request, trigger }],
      ...startAttributes(request, summary),
    }),
  );
  const settled = await deps.registry.settleRetrainRequest(recorded.id, {
    outcome: 'started',
    workflowId,
    runId: handle.firstExecutionRunId,
    coverage: 'this-run',
  });
  return { ...answerOf(deps, settled), request };
}

/** The sweep a run was started with (the first event of its history), if Temporal still has it. */
async function sweepOfRun(deps: RetrainDeps, workflowId: string, runId: string): Promise<SweepSpec | undefined> {
  const input = await startInputOf(deps, workflowId, runId);
  return input ? resolveRequest(input).sweep : undefined;
}
