import { WorkflowNotFoundError } from '@temporalio/client';
import { driftCheckOf } from '../core/drift/checkRetrains.js';
import { driftDedupeKey, type DriftCheckRecord } from '../core/drift/driftReport.js';
import { monitorConfigSchema } from '../core/drift/monitorConfig.js';
import {
  decideRearm,
  rearmDedupeKey,
  type RearmConfig,
  type RearmDecision,
  type RearmFacts,
  type RearmReason,
} from '../core/drift/rearm.js';
import type { RecordsList } from '../core/ml/datasetRecords.js';
import type { MeasurementStore } from '../core/stores/measurements.js';
import { datasetKeys } from '../core/stores/objectKeys.js';
import type { ObjectStore } from '../core/stores/objects.js';
import type { RegistryStore, RetrainOutcome, RetrainRequest } from '../core/stores/registry.js';
import { trainWorkflowIdFor } from '../workflows/trainAndRegister/contract.js';
import { isTemporalUnavailable } from './errors.js';
import { requestRetrain, type RetrainAnswer, type RetrainDeps } from './retrainRequests.js';
import { callTemporal } from './temporal/access.js';

/**
 * How the monitor learns that a drift's retrain registered nothing: from the registry and Temporal's run status, not
 * from the run's result. The registry says whether any version of the model was registered since the ask (a run that
 * continued as new, failed, was terminated or refused by if-better leaves none; one whose result Temporal no longer
 * keeps is still answered); Temporal says only whether the model's TrainAndRegister run is still going. The run's
 * dataset records list (runs/<id>/dataset/records.json) says how many frames of the deployment it trained on.
 */
export interface DriftRearmDeps extends RetrainDeps {
  measurements: Pick<MeasurementStore, 'deploymentStats' | 'driftChecks'>;
  objects: Pick<ObjectStore, 'get'>;
}

/** What a re-ask records in its payload (beside the drift check): the drift's first ask, the ask it repeats, and why. */
export interface RearmMark {
  first: number;
  of: number;
  attempt: number;
  because: RearmReason;
}

interface MonitorAsk {
  request: RetrainRequest;
  drift: DriftCheckRecord;
  rearm?: RearmMark;
}

/** Outcomes of asks that acted (a duplicate repeats one; an ignored ask was refused before any run). */
const ACTED: RetrainOutcome[] = ['started', 'joined', 'pending'];
const DAY_MS = 24 * 60 * 60 * 1000;

export function rearmMarkOf(request: RetrainRequest): RearmMark | undefined {
  const rearm = (request.payload as { ask?: { rearm?: Partial<RearmMark> } } | null)?.ask?.rearm;
  return typeof rearm?.first === 'number' && typeof rearm.of === 'number' ? (rearm as RearmMark) : undefined;
}

/** The drift monitor's asks of a model that acted, recorded since `since` (epoch ms), oldest first. */
async function monitorAsks(registry: RegistryStore, modelName: string, since?: number): Promise<MonitorAsk[]> {
  const filter = { modelName, trigger: 'drift-monitor' as const, ...(since !== undefined ? { since: new Date(since).toISOString() } : {}) };
  const lists = await Promise.all(ACTED.map((outcome) => registry.listRetrainRequests({ ...filter, outcome })));
  return lists
    .flat()
    .sort((a, b) => a.id - b.id)
    .flatMap((request) => {
      const drift = driftCheckOf(request);
      const rearm = rearmMarkOf(request);
      return drift ? [{ request, drift, ...(rearm ? { rearm } : {}) }] : [];
    });
}

/** The last ask of the drift whose first ask is `first`: the first itself, or its latest re-ask. */
function lastAskOf(first: RetrainRequest, asks: MonitorAsk[]) {
  const reasks = asks.filter((a) => a.rearm?.first === first.id);
  const last = reasks.at(-1);
  return last ? { request: last.request, attempt: last.rearm!.attempt } : { request: first, attempt: 0 };
}

/** Whether the model's TrainAndRegister run (the one id every ask of the model joins) is still going. */
async function runState(deps: RetrainDeps, modelName: string): Promise<RearmFacts['run']> {
  try {
    return await callTemporal(deps, async (client) => {
      try {
        const described = await client.workflow.getHandle(trainWorkflowIdFor(modelName)).describe();
        return described.status.name === 'RUNNING' ? 'running' : 'over';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'over';
        throw err;
      }
    });
  } catch (err) {
    if (isTemporalUnavailable(err)) return 'unknown';
    throw err;
  }
}

/** Records lists read (a run's list never changes once written): a drift waiting to re-arm reads its list each check. */
const datasetCounts = new Map<string, { perDeployment: Record<string, number>; watermark: number } | null>();
const MAX_CACHED_LISTS = 64;

/** The deployment's frames in a run's dataset and the dataset's newest frame, if the run assembled one. */
async function datasetOf(deps: DriftRearmDeps, request: RetrainRequest, deployment: string) {
  if (!request.workflowId || !request.runId) return undefined;
  const key = datasetKeys(request.workflowId, request.runId).records;
  let counts = datasetCounts.get(key);
  if (counts === undefined) {
    try {
      const list = JSON.parse((await deps.objects.get(key)).toString('utf8')) as Partial<RecordsList>;
      counts =
        list.perDeployment && typeof list.watermark === 'number' ? { perDeployment: list.perDeployment, watermark: list.watermark } : null;
    } catch {
      // Not assembled (yet, or the run ended before): the back-off alone re-arms. Not kept: the run may still write it.
      return undefined;
    }
    if (datasetCounts.size >= MAX_CACHED_LISTS) datasetCounts.delete(datasetCounts.keys().next().value!);
    datasetCounts.set(key, counts);
  }
  const frames = counts?.perDeployment[deployment];
  return counts && typeof frames === 'number' ? { frames, watermark: counts.watermark } : undefined;
}

interface DriftAsks {
  modelName: string;
  deployment: string;
  last: { request: RetrainRequest; attempt: number };
  reasksToday: number[];
}

/**
 * The facts the rules decide on. The dataset and the new frames are read only when they can matter: the run over,
 * nothing registered since (the rules look at those first).
 */
async function factsOf(deps: DriftRearmDeps, asks: DriftAsks, now: number): Promise<RearmFacts> {
  const { request, attempt } = asks.last;
  const recordedAt = Date.parse(request.createdAt);
  const [run, versions] = await Promise.all([runState(deps, asks.modelName), deps.registry.listModelVersions(asks.modelName)]);
  const facts: RearmFacts = {
    now,
    earlier: { requestId: request.id, attempt, recordedAt, outcome: request.outcome },
    run,
    registeredSince: versions.filter((v) => Date.parse(v.createdAt) >= recordedAt).at(-1)?.version ?? null,
    datasetFrames: null,
    newFrames: 0,
    reasksToday: asks.reasksToday,
  };
  if (run !== 'over' || facts.registeredSince !== null || request.outcome === 'pending') return facts;
  const dataset = await datasetOf(deps, request, asks.deployment);
  const since = dataset ? dataset.watermark + 1 : recordedAt;
  const { labelledCount } = await deps.measurements.deploymentStats(asks.deployment, { since });
  return { ...facts, datasetFrames: dataset?.frames ?? null, newFrames: labelledCount };
}

async function rearmConfigOf(registry: RegistryStore, modelName: string): Promise<RearmConfig> {
  return monitorConfigSchema.parse((await registry.getModel(modelName))?.monitorConfig ?? {}).rearm;
}

const reasksSince = (asks: MonitorAsk[], since: number) =>
  asks.filter((a) => a.rearm && Date.parse(a.request.createdAt) > since).map((a) => Date.parse(a.request.createdAt));

/** What a drift-monitor ask carries of the check that found the drift. */
export const driftEvidenceOf = (check: DriftCheckRecord) => ({
  deployment: check.deployment,
  modelVersion: check.modelVersion!,
  kinds: check.kinds,
  summary: check.summary,
  windowFrames: check.windowFrames,
  checkedAt: check.time,
});

export interface RearmAttempt {
  decision: RearmDecision;
  /** The re-ask, when the decision re-armed: recorded and handed over as every ask is. */
  answer?: RetrainAnswer;
}

/**
 * The drift monitor found a drift it asked for already (`firstAsk`, the request holding the drift's dedupe key):
 * asks again, naming the earlier ask, when that ask's retrain registered nothing and the rules of core/drift/rearm.ts
 * say so. Each re-ask has a dedupe key of its own, so two monitors, or a retried activity, re-ask once.
 */
export async function askAgainIfRearmed(deps: DriftRearmDeps, check: DriftCheckRecord, firstAsk: number): Promise<RearmAttempt> {
  const now = Date.now();
  const first = await deps.registry.getRetrainRequest(firstAsk);
  if (!first || check.modelVersion === null) throw new Error(`retrain request ${firstAsk} of this drift is not recorded`);
  const config = await rearmConfigOf(deps.registry, check.modelName);
  const asks = await monitorAsks(deps.registry, check.modelName, Math.min(Date.parse(first.createdAt), now - DAY_MS));
  const last = lastAskOf(first, asks);
  const facts = await factsOf(
    deps,
    { modelName: check.modelName, deployment: check.deployment, last, reasksToday: reasksSince(asks, now - DAY_MS) },
    now,
  );
  const decision = decideRearm(facts, config);
  if (!decision.rearm) return { decision };
  const rearm: RearmMark = { first: first.id, of: decision.of!, attempt: decision.attempt!, because: decision.because! };
  const answer = await requestRetrain(deps, {
    modelName: check.modelName,
    trigger: {
      kind: 'drift-monitor',
      by: `drift monitor: ${check.kinds.join(', ')} drift on ${check.deployment} again, re-ask ${rearm.attempt} of request ${rearm.of} (${decision.reason})`,
      drift: { ...driftEvidenceOf(check), rearmOf: rearm.of },
    },
    payload: { ...check, rearm },
    extraDeployments: [check.deployment],
    dedupeKey: rearmDedupeKey(check.deployment, check.modelVersion, rearm.attempt),
    observedAt: check.time,
  });
  return { decision, answer };
}

/** A drift being watched for re-arming: its deployment and version, its last ask, and where it stands. */
export interface DriftRearmState {
  deployment: string;
  modelVersion: number;
  firstRequestId: number;
  lastRequestId: number;
  attempt: number;
  state: RearmDecision['state'];
  reason: string;
  framesNeeded: number | null;
  newFrames: number;
  /** ISO 8601: the back-off of the last ask ends. */
  backoffUntil: string;
  /** ISO 8601, when capped: the oldest of the day's re-asks leaves the 24 hours. */
  capFreesAt?: string;
}

export interface RearmStatus {
  maxPerDay: number;
  /** The model's re-asks in the last 24 hours, oldest first. */
  reasksToday: {
    requestId: number;
    deployment: string;
    modelVersion: number;
    of: number;
    attempt: number;
    because: RearmReason;
    at: string;
  }[];
  /** Deployments whose latest check found a drift the monitor asked for already. */
  drifts: DriftRearmState[];
}

/** Where re-arming stands for the model (the monitor's status): the day's re-asks against the cap, and each drift still found. */
export async function driftRearmStatus(deps: DriftRearmDeps, modelName: string): Promise<RearmStatus> {
  const now = Date.now();
  const config = await rearmConfigOf(deps.registry, modelName);
  const asks = await monitorAsks(deps.registry, modelName);
  const today = asks.filter((a) => a.rearm && Date.parse(a.request.createdAt) > now - DAY_MS);
  const deployments = (await deps.registry.listDeployments()).filter((d) => d.modelName === modelName);
  const drifts: DriftRearmState[] = [];
  for (const { id } of deployments) {
    const [latest] = await deps.measurements.driftChecks(id, { limit: 1 });
    if (latest?.verdict !== 'drift' || latest.modelVersion === null) continue;
    const first = asks.find((a) => a.request.dedupeKey === driftDedupeKey(id, latest.modelVersion!))?.request;
    if (!first) continue;
    const last = lastAskOf(first, asks);
    const facts = await factsOf(deps, { modelName, deployment: id, last, reasksToday: reasksSince(asks, now - DAY_MS) }, now);
    const { state, reason, framesNeeded, newFrames, backoffUntil, capFreesAt } = decideRearm(facts, config);
    drifts.push({
      deployment: id,
      modelVersion: latest.modelVersion,
      firstRequestId: first.id,
      lastRequestId: last.request.id,
      attempt: last.attempt,
      state,
      reason,
      framesNeeded,
      newFrames,
      backoffUntil: new Date(backoffUntil).toISOString(),
      ...(capFreesAt !== undefined ? { capFreesAt: new Date(capFreesAt).toISOString() } : {}),
    });
  }
  return {
    maxPerDay: config.maxPerDay,
    reasksToday: today.map(({ request, drift, rearm }) => ({
      requestId: request.id,
      deployment: drift.deployment,
      modelVersion: drift.modelVersion!,
      of: rearm!.of,
      attempt: rearm!.attempt,
      because: rearm!.because,
      at: request.createdAt,
    })),
    drifts,
  };
}
