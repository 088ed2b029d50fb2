import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type {
  Deployment,
  Model,
  RegistryStore,
  RetrainCoverage,
  RetrainOutcome,
  RetrainRequest,
  TrainingConfig,
} from '../core/stores/registry.js';
import {
  asksCoverageQuery,
  MAX_ASKS_PER_SIGNAL,
  progressQuery,
  rerunWorkflowIdFor,
  resolveRequest,
  retrainRequestedSignal,
  startAttributes,
  trainWorkflowIdFor,
  type RetrainAsk,
  type TrainAndRegisterRequest,
  type TrainAndRegisterWorkflow,
} from '../workflows/trainAndRegister/contract.js';
import type { SweepSpec } from '../core/training/sweep.js';
import { ControlError, isTemporalUnavailable, notFound, temporalUnavailable, unknownDeployments } from './errors.js';
import { callTemporal, temporalDeadline, type TemporalAccess } from './temporal/access.js';
import { runUiLink, type TemporalUi } from './temporal/links.js';
import { DEFAULT_TRAINING, type RegisterPolicy } from '../core/training/trainingConfig.js';
import { TASK_QUEUES, WORKFLOW_TYPES } from '../workflows/shared.js';
import { type RetrainTrigger } from '../core/training/retrainTrigger.js';

export interface RetrainDeps extends TemporalAccess {
  registry: RegistryStore;
  /** The Temporal Web UI, for links in answers. */
  temporalUi: TemporalUi;
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
  /** Epoch ms the evidence was observed (alert start, drift check); default: when the ask is recorded. */
  observedAt?: number;
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
 * `pending` and `retryPendingRetrains` acts on it later; the caller is refused with `temporal_unavailable`.
 */
export async function requestRetrain(deps: RetrainDeps, ask: RetrainAskInput): Promise<RetrainAnswer> {
  const [answer] = await requestRetrains(deps, [ask]);
  if (answer instanceof ControlError) throw answer;
  return answer;
}

/**
 * `requestRetrain` for many asks at once (the alerts of one notification), within one Temporal deadline however
 * many: the asks are recorded in one registry transaction, then each model's are handed over together. Answers
 * in order, a ControlError for an ask that was refused or that Temporal could not take yet.
 */
export async function requestRetrains(deps: RetrainDeps, asks: RetrainAskInput[]): Promise<(RetrainAnswer | ControlError)[]> {
  const deadline = temporalDeadline(deps);
  const { registry } = deps;
  const recordedAt = Date.now();
  const observedAt = asks.map((ask) => ask.observedAt ?? recordedAt);
  const plans = await planRetrains(registry, asks);
  const recorded = await registry.recordRetrainRequests(
    asks.map((ask, i) => {
      const plan = plans[i];
      return {
        modelName: ask.modelName,
        trigger: ask.trigger.kind,
        payload: {
          ask: ask.payload,
          ...(plan.ok ? { request: plan.request, observedAt: observedAt[i] } : { refused: plan.error.message }),
        },
        dedupeKey: plan.ok ? (ask.dedupeKey ?? null) : null,
      };
    }),
    { claim: true },
  );
  const refused = recorded.filter((r, i) => !r.duplicateOf && !plans[i].ok).map((r) => r.request.id);
  await registry.settleRetrainRequests(refused, { outcome: 'ignored', workflowId: null, runId: null, coverage: null });
  const toHandOver = recorded.flatMap((r, i) => {
    const plan = plans[i];
    return r.duplicateOf || !plan.ok ? [] : [{ id: r.request.id, request: plan.request, observedAt: observedAt[i] }];
  });
  const settled = await handOver(deps, toHandOver, deadline);
  return recorded.map((r, i): RetrainAnswer | ControlError => {
    const plan = plans[i];
    if (r.duplicateOf) return answerOf(deps, r.request, r.duplicateOf.id);
    if (!plan.ok) return plan.error;
    const after = settled.get(r.request.id);
    if (!after) {
      const message = `Temporal cannot be reached; retrain request ${r.request.id} is kept and will be retried`;
      return temporalUnavailable(message);
    }
    return answerOf(deps, { ...r.request, ...after });
  });
}

type Plan = { ok: true; request: TrainAndRegisterRequest } | { ok: false; error: ControlError };

/** The TrainAndRegister request each ask leads to, from its model's training config, or why there is none. */
async function planRetrains(registry: RegistryStore, asks: RetrainAskInput[]): Promise<Plan[]> {
  const models = new Map<string, Promise<Model | undefined>>();
  let deployments: Promise<Deployment[]> | undefined;
  const modelOf = (name: string) => models.get(name) ?? models.set(name, registry.getModel(name)).get(name)!;
  return Promise.all(
    asks.map(async (ask) => {
      const model = await modelOf(ask.modelName);
      const configure = `PUT /models/${ask.modelName}/training-config names the deployments a retrain trains on`;
      if (!model) {
        const named = (await (deployments ??= registry.listDeployments())).some((d) => d.modelName === ask.modelName);
        const error = named
          ? new ControlError(
              'conflict',
              'no_training_config',
              `model "${ask.modelName}" has deployments but no training config yet: ${configure}`,
            )
          : notFound(`model "${ask.modelName}" (${configure}, which creates the model)`);
        return { ok: false, error };
      }
      const config = { ...(model.trainingConfig ?? {}), ...(ask.overrides ?? {}) } as Partial<TrainingConfig>;
      const wanted = [...new Set([...(config.deployments ?? []), ...(ask.extraDeployments ?? [])])];
      if (wanted.length === 0) {
        return {
          ok: false,
          error: new ControlError('conflict', 'no_training_config', `model "${ask.modelName}" has no training deployments: ${configure}`),
        };
      }
      const known = new Set((await (deployments ??= registry.listDeployments())).map((d) => d.id));
      const missing = wanted.filter((d) => !known.has(d));
      if (missing.length > 0) return { ok: false, error: unknownDeployments(missing) };
      return { ok: true, request: { ...config, modelName: ask.modelName, deployments: wanted, trigger: ask.trigger } };
    }),
  );
}

/** How long one process holds a pending request while it tries to hand it to Temporal. */
const CLAIM_LEASE_MS = 30_000;

/** A recorded, pending ask held by this process: what it asks for and when its evidence was observed. */
interface ClaimedAsk {
  id: number;
  request: TrainAndRegisterRequest;
  observedAt: number;
}

type Settlement = Pick<RetrainRequest, 'outcome' | 'workflowId' | 'runId' | 'coverage'>;

/**
 * Hands claimed asks to Temporal, each model's in one signalWithStart (per MAX_ASKS_PER_SIGNAL), all before
 * `deadline`, and records whether each started the run or joined it. Asks Temporal could not take are given up
 * (still `pending`, for the next hand-over at once) and missing from the answer.
 */
async function handOver(deps: RetrainDeps, asks: ClaimedAsk[], deadline: number): Promise<Map<number, Settlement>> {
  const batches: ClaimedAsk[][] = [];
  for (const modelName of new Set(asks.map((a) => a.request.modelName))) {
    const ofModel = asks.filter((a) => a.request.modelName === modelName);
    for (let i = 0; i < ofModel.length; i += MAX_ASKS_PER_SIGNAL) batches.push(ofModel.slice(i, i + MAX_ASKS_PER_SIGNAL));
  }
  const settled = new Map<number, Settlement>();
  await Promise.all(
    batches.map(async (batch) => {
      for (const [id, settlement] of await handOverBatch(deps, batch, deadline)) settled.set(id, settlement);
    }),
  );
  return settled;
}

async function handOverBatch(deps: RetrainDeps, batch: ClaimedAsk[], deadline: number): Promise<Map<number, Settlement>> {
  const { registry } = deps;
  const ids = batch.map((a) => a.id);
  const [first] = batch;
  const workflowId = trainWorkflowIdFor(first.request.modelName);
  // The registry keeps each ask whole; the run needs who asked, for what, and when the evidence was seen.
  const signalled: RetrainAsk[] = batch.map(({ id, request, observedAt }) => {
    const { alerts: _alerts, ...trigger } = request.trigger;
    return { trigger: { ...trigger, requestId: id }, deployments: request.deployments, observedAt };
  });
  let runId: string;
  try {
    const handle = await callTemporal(
      deps,
      (client) =>
        client.workflow.signalWithStart<TrainAndRegisterWorkflow, [RetrainAsk | RetrainAsk[]]>(WORKFLOW_TYPES.trainAndRegister, {
          workflowId,
          taskQueue: TASK_QUEUES.orchestration,
          args: [{ ...first.request, trigger: { ...first.request.trigger, requestId: first.id } }],
          signal: retrainRequestedSignal,
          signalArgs: [signalled.length === 1 ? signalled[0] : signalled],
          ...startAttributes(
            first.request,
            `${first.request.modelName}: retrain asked by ${first.request.trigger.kind} (${first.request.trigger.by})`,
          ),
        }),
      deadline,
    );
    runId = handle.signaledRunId;
  } catch (err) {
    await registry.settleRetrainRequests(ids, { outcome: 'pending', workflowId: null, runId: null, coverage: null });
    if (isTemporalUnavailable(err)) return new Map();
    throw err;
  }
  // The run has the asks now: what is left is telling how, within what is left of the deadline.
  const starter = await startInputOf(deps, workflowId, runId, deadline)
    .then((input) => input?.trigger?.requestId)
    .catch(() => undefined);
  const joined = ids.filter((id) => id !== starter);
  const coverage = await coverageOf(deps, workflowId, runId, joined, deadline);
  const settled = new Map<number, Settlement>();
  if (starter !== undefined && ids.includes(starter)) settled.set(starter, { outcome: 'started', workflowId, runId, coverage: 'this-run' });
  joined.forEach((id, i) => settled.set(id, { outcome: 'joined', workflowId, runId, coverage: coverage[i] }));
  const groups = new Map<string, number[]>();
  for (const [id, s] of settled) {
    const key = `${s.outcome}/${s.coverage}`;
    groups.set(key, [...(groups.get(key) ?? []), id]);
  }
  for (const group of groups.values()) await registry.settleRetrainRequests(group, settled.get(group[0])!);
  return settled;
}

/** A run's input: the first event of its history. */
async function startInputOf(
  deps: RetrainDeps,
  workflowId: string,
  runId: string,
  deadline?: number,
): Promise<TrainAndRegisterRequest | undefined> {
  const page = await callTemporal(
    deps,
    (client) =>
      client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId, runId },
        maximumPageSize: 1,
      }),
    deadline,
  );
  const payload = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? (defaultPayloadConverter.fromPayload(payload) as TrainAndRegisterRequest) : undefined;
}

/** Asks the running run how it covers the asks; null for those it cannot tell in time (it decides later). */
async function coverageOf(
  deps: RetrainDeps,
  workflowId: string,
  runId: string,
  requestIds: number[],
  deadline: number,
): Promise<(RetrainCoverage | null)[]> {
  if (requestIds.length === 0) return [];
  const until = Math.min(deadline, Date.now() + (deps.coverageWaitMs ?? 2000));
  let coverage: (RetrainCoverage | null)[] = requestIds.map(() => null);
  while (Date.now() < until) {
    const answer = await callTemporal(
      deps,
      (client) => client.workflow.getHandle(workflowId, runId).query(asksCoverageQuery, requestIds),
      until,
    ).catch(() => undefined);
    if (answer) coverage = answer;
    if (coverage.every((c) => c !== null)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return coverage;
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
  return { status: `/workflows/${encodeURIComponent(workflowId)}/runs/${runId}`, ui: runUiLink(deps.temporalUi, workflowId, runId) };
}

/**
 * Hands over the asks that were recorded while Temporal was unreachable (or whose process died before acting),
 * each model's together, within one Temporal deadline; returns how many it settled.
 */
export async function retryPendingRetrains(deps: RetrainDeps): Promise<number> {
  const deadline = temporalDeadline(deps);
  const claimed: ClaimedAsk[] = [];
  for (const pending of await deps.registry.listRetrainRequests({ outcome: 'pending', limit: 4 * MAX_ASKS_PER_SIGNAL })) {
    const { request, observedAt } = (pending.payload ?? {}) as { request?: TrainAndRegisterRequest; observedAt?: number };
    if (!request || !(await deps.registry.claimRetrainRequest(pending.id, CLAIM_LEASE_MS))) continue;
    claimed.push({ id: pending.id, request, observedAt: observedAt ?? Date.parse(pending.createdAt) });
  }
  return (await handOver(deps, claimed, deadline)).size;
}

/** How often the API looks for pending asks: with the deadline of a try, they are handed over within 10 s of Temporal's return. */
const PENDING_RETRY_INTERVAL_MS = 2000;

/** A process's hand-over of pending asks (the API's and the workers'): `retryPendingRetrains`, again every 2 s after each try, until stopped. */
export function keepRetryingPendingRetrains(deps: RetrainDeps): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const again = () => {
    if (stopped) return;
    timer = setTimeout(async () => {
      await retryPendingRetrains(deps).catch((err) =>
        deps.log?.warn({ err: (err as Error).message }, 'pending retrain requests not retried'),
      );
      again();
    }, PENDING_RETRY_INTERVAL_MS);
    timer.unref();
  };
  again();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Status of one TrainAndRegister run: its progress while running, its result once completed. */
export async function describeTrainingRun(deps: RetrainDeps, workflowId: string, runId: string) {
  const handle = (await callTemporal(deps, async (client) => client)).workflow.getHandle<TrainAndRegisterWorkflow>(workflowId, runId);
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
    return { ...base, progress, trialsTraining: trialsTraining(description.raw.pendingActivities ?? []) };
  }
  if (status === 'COMPLETED') return { ...base, result: await callTemporal(deps, () => handle.result()) };
  if (status === 'CONTINUED_AS_NEW') {
    const history = await callTemporal(deps, () => handle.fetchHistory());
    const next = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? null;
    return { ...base, continuedAs: next && { runId: next, links: runLinks(deps, workflowId, next) } };
  }
  return base;
}

/** The epoch each running trial last reported in its heartbeat (activities/trainTrial.ts). */
function trialsTraining(pending: temporal.api.workflow.v1.IPendingActivityInfo[]) {
  return pending
    .filter((activity) => activity.activityType?.name === 'trainTrial')
    .map((activity) => {
      const [payload] = activity.heartbeatDetails?.payloads ?? [];
      const details = payload ? (defaultPayloadConverter.fromPayload(payload) as { epoch?: number; epochs?: number }) : undefined;
      return { attempt: activity.attempt ?? 1, epoch: details?.epoch ?? null, epochs: details?.epochs ?? null };
    });
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
  // Claimed, so the hand-over of pending asks leaves it to this start.
  const [{ request: recorded }] = await deps.registry.recordRetrainRequests(
    [{ modelName: ask.modelName, trigger: ask.kind, payload: { ask, request }, dedupeKey: null }],
    { claim: true },
  );
  const trigger = { ...request.trigger, requestId: recorded.id };
  const handle = await callTemporal(deps, (client) =>
    client.workflow.start<TrainAndRegisterWorkflow>(WORKFLOW_TYPES.trainAndRegister, {
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
