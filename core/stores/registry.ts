/** The registry contract: clients, deployments, models, versions, trials, retrain requests, viewers, annotations. */
import type { MonitorConfig } from '../drift/monitorConfig.js';
import type { ParkingOutcome, SteeringMode } from '../parking/parkingOutcome.js';
import type { PairedComparison } from '../rollout/pairedTest.js';
import type { SensorFaultKind } from '../sensors/sensorHealth.js';
import type { DeploymentStrategy, RolloutPolicy } from '../rollout/rolloutPolicy.js';
import type { TriggerKind } from '../training/retrainTrigger.js';
import type { TrainingConfig } from '../training/trainingConfig.js';

/** A rover registered to send frames: its token is kept only as a hash. */
export interface RegisteredClient {
  id: string;
  name: string;
  tokenHash: string;
  deploymentId: string | null;
  createdAt: string;
}

export type { DeploymentStrategy, RolloutPolicy };

export interface Deployment {
  id: string;
  modelName: string;
  /** A version number, or 'latest' to follow every newly registered version. */
  modelVersion: number | 'latest';
  strategy: DeploymentStrategy;
  /** The settings of its rollouts (core/rollout/rolloutPolicy.ts), as last set; null: the defaults. */
  rolloutPolicy: RolloutPolicy | null;
  /**
   * On `latest` with a shadow or canary strategy: the version promoted last, which every rover gets outside a
   * rollout's canary (null until its model has a version). Null for `direct` and pinned deployments.
   */
  currentVersion: number | null;
  /** The rollout in progress, if any. */
  rollout: ActiveRollout | null;
  createdAt: string;
}

/** Whether a deployment takes up new versions through rollouts: it follows `latest` with a shadow or canary strategy. */
export const rollsOut = (d: Pick<Deployment, 'modelVersion' | 'strategy'>) => d.modelVersion === 'latest' && d.strategy !== 'direct';

/**
 * The version every rover of a deployment gets (outside a canary) when it is fixed: its pin, or its current
 * version while it rolls out new versions; null: the model's newest (`latest` with `direct`, or no version yet).
 */
export function fixedVersionOf(d: Pick<Deployment, 'modelVersion' | 'strategy' | 'currentVersion'>): number | null {
  if (d.modelVersion !== 'latest') return d.modelVersion;
  return rollsOut(d) ? d.currentVersion : null;
}

/** How a deployment picks the version its rovers get: the model's newest, its pin, or its rollouts' current version. */
export type ServingMode = 'direct' | 'pinned' | 'rollout';

export function servingModeOf(d: Pick<Deployment, 'modelVersion' | 'strategy'>): ServingMode {
  if (d.modelVersion !== 'latest') return 'pinned';
  return rollsOut(d) ? 'rollout' : 'direct';
}

/**
 * The version every rover of a deployment gets now (outside a canary), resolved as /predict resolves it
 * (`fixedVersionOf`, else the model's newest): undefined when its model has no such version yet. The drift monitor
 * and the admin reads use this; the model server does the same with its own cache of the newest version.
 */
export async function resolveServedVersion(
  registry: Pick<RegistryStore, 'getModelVersion' | 'getLatestModelVersion'>,
  d: Pick<Deployment, 'modelName' | 'modelVersion' | 'strategy' | 'currentVersion'>,
): Promise<{ how: ServingMode; version: ModelVersion | undefined }> {
  const fixed = fixedVersionOf(d);
  const version = fixed === null ? await registry.getLatestModelVersion(d.modelName) : await registry.getModelVersion(d.modelName, fixed);
  return { how: servingModeOf(d), version };
}

/** What a deployment's rovers get: the version every rover gets outside a canary, how it is chosen, and a rollout's candidate. */
export interface Serving {
  modelName: string;
  /** Null: its model has no version yet (rovers get 503 no_model). */
  version: number | null;
  how: ServingMode;
  /** A rollout in progress: the candidate shadows `version` (stage shadow) or answers the canary's rovers (stage canary). */
  rollout: { candidateVersion: number; stage: RolloutStage; canaryClients: string[] } | null;
}

export async function servingOf(
  registry: Pick<RegistryStore, 'getModelVersion' | 'getLatestModelVersion'>,
  d: Deployment,
): Promise<Serving> {
  const { how, version } = await resolveServedVersion(registry, d);
  const { rollout } = d;
  return {
    modelName: d.modelName,
    version: version?.version ?? null,
    how,
    rollout: rollout && { candidateVersion: rollout.candidateVersion, stage: rollout.stage, canaryClients: rollout.canaryClients },
  };
}

/**
 * A rollout's stages: `shadow` (the candidate predicts on every frame, the current version answers), and the stages
 * where the candidate answers some rovers (`canaryClients`): `canary`, `ab` (a fixed share) and `bandit` (a share
 * moved at each look, each move a serving change of its own).
 */
export const ROLLOUT_STAGES = ['shadow', 'canary', 'ab', 'bandit'] as const;
export type RolloutStage = (typeof ROLLOUT_STAGES)[number];

/** A candidate version being judged on a deployment by its Rollout workflow. */
export interface ActiveRollout {
  candidateVersion: number;
  stage: RolloutStage;
  /** In the canary stage, the rovers the candidate answers (chosen when the stage starts; sticky for it). */
  canaryClients: string[];
  /** The Rollout workflow that runs it. */
  workflowId: string;
  startedAt: string;
  stageStartedAt: string;
}

/** One step of a rollout: its first call starts it (or replaces a rollout of an older candidate). */
export interface RolloutStep {
  candidateVersion: number;
  stage: RolloutStage;
  canaryClients: string[];
  workflowId: string;
  note: unknown;
}

export interface RolloutEnd {
  candidateVersion: number;
  /** `promoted`: the candidate becomes the current version; `rolled-back`: the current version stays. */
  outcome: 'promoted' | 'rolled-back';
  workflowId: string;
  note: unknown;
}

export type NewDeployment = Omit<Deployment, 'createdAt' | 'rolloutPolicy' | 'currentVersion' | 'rollout'> & {
  rolloutPolicy?: RolloutPolicy | null;
};
export type DeploymentPatch = Partial<Pick<Deployment, 'modelName' | 'modelVersion' | 'strategy' | 'rolloutPolicy'>>;

/** Why the version a deployment serves changed. The `rollout-*` reasons are the Rollout workflow's stages. */
export const SERVING_CHANGE_REASONS = [
  'created',
  'manual',
  'registration',
  'rollback',
  'rollout-shadow',
  'rollout-canary',
  'rollout-promoted',
  'rollout-rolled-back',
  'rollout-ab',
  'rollout-bandit',
] as const;
export type ServingChangeReason = (typeof SERVING_CHANGE_REASONS)[number];

/** Changes after which every rover gets the `to` version; the other reasons are a rollout's stages and its rolling back. */
export const FLEET_CHANGE_REASONS: readonly ServingChangeReason[] = ['created', 'manual', 'registration', 'rollback', 'rollout-promoted'];

/**
 * `serving-change`: what every rover gets changed (creation, a pin or a change of model, a registration on `latest`,
 * a rollback, a promotion). `rollout-stage`: a candidate under test (shadow, canary) or rolled back: every rover
 * outside a canary kept the same version.
 */
export type ServingChangeKind = 'serving-change' | 'rollout-stage';

/**
 * One change of the version a deployment serves: a pinned version, or on `latest` the model's newest. A
 * version is a model name and a number; `fromVersion` null: it served nothing before (creation, or no
 * version registered yet), `toVersion` null: it serves nothing yet.
 */
export interface ServingChange {
  id: number;
  deploymentId: string;
  at: string;
  modelName: string;
  toVersion: number | null;
  /** The model the deployment was on before (null for `created`): another than `modelName` after a change of model. */
  fromModelName: string | null;
  fromVersion: number | null;
  reason: ServingChangeReason;
  /** Who changed it: `admin`, a workflow id, ... */
  by: string;
  /** Evidence or context (a registration's run, a rollout's statistics); null when there is none. */
  note: unknown;
  /** Why, in a person's words: a rollback's reason; null for the other changes. */
  comment: string | null;
  kind: ServingChangeKind;
  /** The version every rover outside a canary got before and after (of `fromModelName` before): equal for a stage. */
  servedBefore: number | null;
  servedAfter: number | null;
  /** For a rollout stage: the version under test (shadowing, answering the canary, or rolled back). */
  candidateVersion: number | null;
  /** The change in a person's words: what rovers get, who changed it and why. */
  summary: string;
}

type DescribedFields = 'kind' | 'servedBefore' | 'servedAfter' | 'candidateVersion' | 'summary';
/** A serving change as the registry keeps it: the rest follows from it (`describeServingChange`). */
export type StoredServingChange = Omit<ServingChange, DescribedFields>;

const STAGE_WHERE: Partial<Record<ServingChangeReason, string>> = {
  'rollout-shadow': 'in shadow of',
  'rollout-canary': 'for the canary rovers; the others keep',
  'rollout-ab': 'for the A/B test’s rovers; the others keep',
  'rollout-bandit': 'for the rovers the bandit gave it; the others keep',
};

export function describeServingChange(c: StoredServingChange): Pick<ServingChange, DescribedFields> {
  const v = (n: number | null) => (n === null ? 'no version' : `v${n}`);
  const who = `by ${c.by}${c.comment ? `: ${c.comment}` : ''}`;
  if (STAGE_WHERE[c.reason]) {
    const where = STAGE_WHERE[c.reason];
    return {
      kind: 'rollout-stage',
      servedBefore: c.fromVersion,
      servedAfter: c.fromVersion,
      candidateVersion: c.toVersion,
      summary: `${c.reason}: ${v(c.toVersion)} answers ${where} ${v(c.fromVersion)} (${who})`,
    };
  }
  if (c.reason === 'rollout-rolled-back') {
    return {
      kind: 'rollout-stage',
      servedBefore: c.toVersion,
      servedAfter: c.toVersion,
      candidateVersion: c.fromVersion,
      summary: `${c.reason}: candidate ${v(c.fromVersion)} rolled back, every rover keeps ${v(c.toVersion)} (${who})`,
    };
  }
  const model = c.fromModelName !== null && c.fromModelName !== c.modelName ? ` of model "${c.modelName}"` : '';
  return {
    kind: 'serving-change',
    servedBefore: c.fromVersion,
    servedAfter: c.toVersion,
    candidateVersion: null,
    summary: `${c.reason}: every rover gets ${v(c.toVersion)}${model}${c.reason === 'created' ? '' : `, was ${v(c.fromVersion)}`} (${who})`,
  };
}

export interface Model {
  name: string;
  description: string;
  /** What a retrain of this model trains on and sweeps; alerts and manual requests start from it. */
  trainingConfig: TrainingConfig | null;
  /** How the drift monitor watches the model's deployments, as last set; null: the defaults (monitoring on). */
  monitorConfig: MonitorConfig | null;
  createdAt: string;
}

export type { TrainingConfig };

export type Metrics = Record<string, number>;
export type Params = Record<string, number | string>;

export interface ModelVersion {
  modelName: string;
  version: number;
  artifactKey: string;
  artifactSha256: string;
  architecture: string;
  metrics: Metrics;
  params: Params;
  trialId: string;
  workflowId: string;
  runId: string;
  datasetKey: string;
  datasetSha256: string;
  sourceDeployments: string[];
  recordCount: number;
  /**
   * Metrics of the version it replaced, measured on this version's test set; `stopBand`: both versions' paired errors on its
   * frames with a laser reading <= 100 mm, for versions registered since it was measured.
   */
  comparison: { previousVersion: number; metrics: Metrics; stopBand?: PairedComparison } | null;
  /** What the version learned from (core/drift/referenceProfile.ts), once stored: the drift monitor's reference. */
  referenceProfile: { key: string; sha256: string } | null;
  createdAt: string;
}

export interface Trial {
  id: string;
  workflowId: string;
  runId: string;
  modelName: string;
  params: Params;
  metrics: Metrics;
  history: Record<string, number[]>;
  artifactKey: string;
  artifactSha256: string;
  datasetKey: string;
  createdAt: string;
}

/** `pending`: recorded, not yet acted on (Temporal unreachable so far; the API retries it). */
export type RetrainOutcome = 'pending' | 'started' | 'joined' | 'duplicate' | 'ignored';
/** How a joined ask is covered: by the running run's dataset, or by the follow-up run it continues as new into. */
export type RetrainCoverage = 'this-run' | 'follow-up-run';

export interface RetrainRequest {
  id: number;
  modelName: string;
  trigger: TriggerKind;
  payload: unknown;
  workflowId: string | null;
  runId: string | null;
  outcome: RetrainOutcome;
  coverage: RetrainCoverage | null;
  /** Identifies one firing of one alert (fingerprint and start): unique per model, so a repeat is recognised. */
  dedupeKey: string | null;
  /** For a duplicate: the request that holds the dedupe key. */
  duplicateOf: number | null;
  createdAt: string;
}

/** Someone who may read everything through the API and change nothing: their token is kept only as a hash. */
export interface Viewer {
  id: number;
  /** Unique. */
  name: string;
  tokenHash: string;
  createdAt: string;
  /** Who created it: `admin` (the admin token names no one). */
  createdBy: string;
}

/** A marker on the timeline (a demo phase, a change by hand), shown on the charts; without a deployment it is fleet-wide. */
export interface Annotation {
  id: number;
  time: string;
  text: string;
  tags: string[];
  deployment: string | null;
  by: string;
}

/**
 * A rover whose laser the sensor health check found suspect: its frames from `since` until `clearedAt` stay stored
 * but leave training sets, drift windows and rollout evidence. At most one open fault per client and deployment.
 */
export interface SensorFault {
  id: number;
  client: string;
  deployment: string;
  kinds: SensorFaultKind[];
  /** The detectors' numbers (core/sensors/sensorHealth.ts RoverSensorHealth.evidence), as last flagged. */
  evidence: Record<string, number | string | null>;
  summary: string;
  /** ISO 8601: the fault's estimated onset; its frames from here on are left out. */
  since: string;
  flaggedAt: string;
  /** Last time the check found it suspect again (evidence updated). */
  updatedAt: string;
  clearedAt: string | null;
  /** `operator` names who cleared it by hand; `sensor-health` when its readings were healthy for the stated time. */
  clearedBy: string | null;
  clearReason: string | null;
}

export type NewSensorFault = Pick<SensorFault, 'client' | 'deployment' | 'kinds' | 'evidence' | 'summary' | 'since'>;

/**
 * A client's Idempotency-Key of a frame (POST /predict): the one handling of the frame that holds it, and once done
 * the answer it gave, which a repeat of the key gets again. Unique per client and key.
 */
export interface IdempotencyClaim {
  client: string;
  key: string;
  /** The frame's request id and record time: a take-over stores the frame under the same ones (overwritten, not doubled). */
  requestId: string;
  frameTime: number;
  /** What the frame was (sha-256 of its image and laser reading): the same key on another frame is refused. */
  fingerprint: string;
  state: 'pending' | 'done';
  /** Once done: the answer's status and body. */
  answer: { status: number; body: unknown } | null;
  /** The handling holding it while pending (a take-over is a new holder): only it settles or releases the claim. */
  holder: string;
  /** Epoch ms: when its holder claimed it (a take-over claims it again). */
  claimedAt: number;
  createdAt: string;
}

export type NewIdempotencyClaim = Pick<IdempotencyClaim, 'client' | 'key' | 'requestId' | 'frameTime' | 'fingerprint' | 'holder'>;

/**
 * What became of a claim: `claimed` (the key is new, or its claim expired), `taken-over` (a pending claim of the same
 * frame whose holder went quiet: the caller holds it now, with its request id and frame time), `held` (someone else's:
 * done, pending and recent, or of another frame).
 */
export type IdempotencyClaimOutcome = 'claimed' | 'taken-over' | 'held';

/** One parking run as a rover reported it (POST /parking-runs), stored once per client and run id. */
export interface ParkingRun {
  runId: string;
  client: string;
  /** The client's deployment when it reported the run; null: none. */
  deployment: string | null;
  mode: SteeringMode;
  startedAt: string;
  endedAt: string;
  frames: number;
  steered: { model: number; laser: number; stopped: number };
  outcome: ParkingOutcome;
  finalLaserMm: number | null;
  finalTrueMm: number | null;
  modelVersion: number | null;
  stopReason: string;
  simulated: boolean;
  preset: string | null;
  receivedAt: string;
}

/** A deployment's runs of one steering mode and model version: how many ended each way. */
export interface ParkingSuccess {
  mode: SteeringMode;
  modelVersion: number | null;
  runs: number;
  parked: number;
  hit: number;
  early: number;
  /** parked / runs */
  successRate: number;
  /**
   * Model-steered runs the model itself stopped in the stop zone: the camera's own success. A run the laser had to
   * stop (it saw the stop zone while the camera did not) is parked, but not by the model.
   */
  parkedByModel: number;
  /** Model-steered runs the laser stopped: the camera would have driven on. */
  laserStops: number;
  /** Mean final distance (the true one of a simulated run, else the laser's); null: no run reported one. */
  meanFinalMm: number | null;
}

export type NewModelVersion = Omit<ModelVersion, 'version' | 'createdAt' | 'referenceProfile'>;
export type NewRetrainRequest = Pick<RetrainRequest, 'modelName' | 'trigger' | 'payload' | 'dedupeKey'>;

export interface RegistryStore {
  createClient(client: Omit<RegisteredClient, 'createdAt'>): Promise<RegisteredClient>;
  getClient(id: string): Promise<RegisteredClient | undefined>;
  listClients(): Promise<RegisteredClient[]>;
  /** Returns false when no such client exists. */
  assignClient(clientId: string, deploymentId: string | null): Promise<boolean>;
  deleteClient(id: string): Promise<boolean>;

  /**
   * Records a `created` change in the same transaction (to the version it serves then, null when none yet).
   * UnknownVersionError when pinned to a version its model does not have (also in `updateDeployment`).
   */
  createDeployment(deployment: NewDeployment, by?: string): Promise<Deployment>;
  getDeployment(id: string): Promise<Deployment | undefined>;
  listDeployments(): Promise<Deployment[]>;
  /**
   * A change of the version it serves (model or version) is recorded as `manual`, in the same transaction. Taking
   * up a shadow or canary strategy on `latest` makes the newest version current; a change of model or version, or
   * back to `direct`, ends any rollout.
   */
  updateDeployment(id: string, patch: DeploymentPatch, by?: string): Promise<Deployment | undefined>;
  /** Unassigns its clients and deletes its serving history; returns false when no such deployment exists. */
  deleteDeployment(id: string): Promise<boolean>;
  /** The deployment's serving changes, newest first (default at most 100). */
  servingHistory(deploymentId: string, options?: { limit?: number }): Promise<ServingChange[]>;
  /**
   * Pins the deployment to the version it served before the current one (the `from` of its newest serving
   * change that changed what every rover gets: rollout stages and rolled-back rollouts do not) and records a
   * `rollback`; a rollout in progress ends. Rolling back twice comes back to where it started. StoreError
   * `not_found` for an unknown deployment; `conflict` when it served nothing before, or that version is gone:
   * not registered (any more), or of another model than the deployment serves now. `reason` (optional) is kept as the
   * change's comment.
   */
  rollbackDeployment(id: string, by: string, reason?: string): Promise<{ deployment: Deployment; change: ServingChange }>;
  /**
   * Moves a deployment's rollout to a stage and records `rollout-<stage>`. Idempotent: the stage it is in already
   * changes nothing, except in the `bandit` stage, where other rovers for the candidate are recorded as a change of their
   * own (the stage keeps its start). StoreError `conflict` when the deployment does not follow `latest`
   * with a shadow or canary strategy, has no current version, or the candidate is not a registered version
   * other than the current one; `not_found` for an unknown deployment.
   */
  setRolloutStage(deploymentId: string, step: RolloutStep): Promise<{ deployment: Deployment; change: ServingChange | null }>;
  /**
   * Ends the deployment's rollout of this candidate and records `rollout-promoted` or `rollout-rolled-back`.
   * Idempotent: with no rollout of this candidate (ended already, replaced, or the deployment changed) it
   * changes nothing and returns no change.
   */
  endRollout(deploymentId: string, end: RolloutEnd): Promise<{ deployment: Deployment | undefined; change: ServingChange | null }>;

  ensureModel(name: string, description?: string): Promise<Model>;
  getModel(name: string): Promise<Model | undefined>;
  listModels(): Promise<Model[]>;
  setTrainingConfig(name: string, config: TrainingConfig): Promise<Model>;
  /** Null goes back to the defaults. */
  setMonitorConfig(name: string, config: MonitorConfig | null): Promise<Model>;

  /**
   * Registers the next version of a model. Idempotent per workflow run: a retried
   * registration of the same run returns the version it already created. Every deployment of the
   * model on `latest` gets a `registration` serving change (by the run's workflow id) in the same transaction,
   * except those on a shadow or canary strategy that have a current version: a Rollout judges the new version there.
   */
  registerModelVersion(version: NewModelVersion): Promise<ModelVersion>;
  getModelVersion(modelName: string, version: number): Promise<ModelVersion | undefined>;
  /** Links a version to its reference profile (idempotent: a retried attach writes the same). */
  attachReferenceProfile(modelName: string, version: number, profile: { key: string; sha256: string }): Promise<ModelVersion>;
  getLatestModelVersion(modelName: string): Promise<ModelVersion | undefined>;
  listModelVersions(modelName: string): Promise<ModelVersion[]>;

  /** Inserts or replaces a trial by id (retried trials overwrite their row). */
  saveTrial(trial: Omit<Trial, 'createdAt'>): Promise<Trial>;
  getTrial(id: string): Promise<Trial | undefined>;
  listTrials(filter: { modelName?: string; workflowId?: string; runId?: string }): Promise<Trial[]>;

  /**
   * Records an ask before anything acts on it, as `pending`. An ask whose dedupe key the model
   * already has is recorded as a `duplicate` of that request instead (decided by a unique index,
   * so concurrent repeats cannot both win).
   */
  recordRetrainRequest(request: NewRetrainRequest): Promise<{ request: RetrainRequest; duplicateOf?: RetrainRequest }>;
  /**
   * Records many asks in one transaction, each as `recordRetrainRequest` would (a repeat of a dedupe key, in the
   * registry or earlier in `requests`, is a duplicate), in order. With `claim`, the pending ones are recorded as
   * claimed by the caller, as `claimRetrainRequest` would take them.
   */
  recordRetrainRequests(
    requests: NewRetrainRequest[],
    options?: { claim?: boolean },
  ): Promise<{ request: RetrainRequest; duplicateOf?: RetrainRequest }[]>;
  /**
   * Sets the outcome of these requests where still pending, in one transaction, and returns how many it set.
   * Settling as `pending` gives a claim up (another process may hand the requests over at once).
   */
  settleRetrainRequests(ids: number[], result: Pick<RetrainRequest, 'outcome' | 'workflowId' | 'runId' | 'coverage'>): Promise<number>;
  /** Takes a pending request for `leaseMs`; false when it is settled or another process holds it. */
  claimRetrainRequest(id: number, leaseMs: number): Promise<boolean>;
  /** Sets the outcome of a pending request (once). */
  settleRetrainRequest(id: number, result: Pick<RetrainRequest, 'outcome' | 'workflowId' | 'runId' | 'coverage'>): Promise<RetrainRequest>;
  getRetrainRequest(id: number): Promise<RetrainRequest | undefined>;
  /** Oldest first; `since` (ISO 8601): recorded at or after it. */
  listRetrainRequests(filter?: {
    modelName?: string;
    outcome?: RetrainOutcome;
    trigger?: TriggerKind;
    since?: string;
    limit?: number;
  }): Promise<RetrainRequest[]>;

  /** StoreError `conflict` when the name is taken. */
  createViewer(viewer: Pick<Viewer, 'name' | 'tokenHash' | 'createdBy'>): Promise<Viewer>;
  findViewerByTokenHash(tokenHash: string): Promise<Viewer | undefined>;
  /** Oldest first. */
  listViewers(): Promise<Viewer[]>;
  /** Returns false when no such viewer exists. */
  deleteViewer(id: number): Promise<boolean>;

  addAnnotation(annotation: Omit<Annotation, 'id'>): Promise<Annotation>;
  /**
   * Newest first (by time, then id); `since` and `until` (ISO 8601) bound the time, both included. `deployment`: that
   * deployment's annotations and the fleet-wide ones.
   */
  listAnnotations(filter?: { deployment?: string; since?: string; until?: string; limit?: number }): Promise<Annotation[]>;

  /**
   * Flags a client's laser as suspect in a deployment: a new fault, or (the client has an open one there) that fault
   * with its kinds, evidence and summary updated and its onset kept. `created` says which.
   */
  flagSensorFault(fault: NewSensorFault): Promise<{ fault: SensorFault; created: boolean }>;
  /** Newest first (by flaggedAt, then id); `open`: true only open faults, false only cleared ones. */
  listSensorFaults(filter?: { client?: string; deployment?: string; open?: boolean; limit?: number }): Promise<SensorFault[]>;
  getSensorFault(id: number): Promise<SensorFault | undefined>;
  /** Clears an open fault; a fault cleared already is returned as it is (its first clearing kept), undefined when none. */
  clearSensorFault(id: number, clearing: { by: string; reason: string }): Promise<SensorFault | undefined>;

  /**
   * Claims a client's key for a frame: a new claim when the key is new or its claim was created before `expiredBefore`
   * (ISO 8601); a pending claim of the same fingerprint claimed before `staleBefore` (epoch ms) is taken over (the new
   * holder, its request id and frame time kept); else the claim holding the key is returned as it is. Concurrent
   * claims of one key: one wins.
   */
  claimIdempotencyKey(
    claim: NewIdempotencyClaim,
    options: { staleBefore: number; expiredBefore: string },
  ): Promise<{ claim: IdempotencyClaim; outcome: IdempotencyClaimOutcome }>;
  /** Marks the holder's pending claim done with its answer; false when the holder no longer holds it. */
  settleIdempotencyKey(client: string, key: string, holder: string, answer: { status: number; body: unknown }): Promise<boolean>;
  /** Gives up the holder's pending claim (the frame was not stored): the key is free again. */
  releaseIdempotencyKey(client: string, key: string, holder: string): Promise<boolean>;
  /** Deletes claims created before `createdBefore` (ISO 8601); returns how many. */
  pruneIdempotencyKeys(createdBefore: string): Promise<number>;

  /** Stores a run once per client and run id: a repeat returns the stored run, `created` false. */
  recordParkingRun(run: Omit<ParkingRun, 'receivedAt'>): Promise<{ run: ParkingRun; created: boolean }>;
  /** Newest received first; `since` (ISO 8601): received at or after it. */
  listParkingRuns(filter?: { deployment?: string; client?: string; since?: string; limit?: number }): Promise<ParkingRun[]>;
  /** A deployment's runs (received since `since`, ISO 8601) by steering mode and model version, ordered by both (null versions first). */
  parkingSuccess(deployment: string, since?: string): Promise<ParkingSuccess[]>;

  close(): Promise<void>;
}

/** A store error callers can map to a status: conflicts and missing references. */
export class StoreError extends Error {
  constructor(
    readonly code: 'conflict' | 'not_found' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** A deployment pinned to a version its model does not have: the message names the versions it has. */
export class UnknownVersionError extends StoreError {
  constructor(
    readonly modelName: string,
    readonly version: number,
    readonly versions: number[],
  ) {
    super(
      'conflict',
      `model "${modelName}" has no version ${version}: ` +
        (versions.length ? `it has versions ${versions.join(', ')}` : 'it has no versions yet (pin "latest" to follow its first)'),
    );
    this.name = 'UnknownVersionError';
  }
}
