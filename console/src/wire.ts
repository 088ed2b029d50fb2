/**
 * The answers the pages read, as the browser receives them (times are ISO strings). Declared here, not imported:
 * contracts/http reaches server modules (Node types) that the browser build does not type. Each is a view of the
 * server's schema, and test/unit/consoleWire.test.ts type-checks that the server's answers fit them.
 */
export interface FleetRow {
  id: string;
  modelName: string;
  modelVersion: 'latest' | number;
  servingVersion: number | null;
  strategy: string;
  rollout: { stage: string; candidateVersion: number; currentVersion: number | null } | null;
  rovers: string[];
  /** Rovers with an open sensor fault here. */
  suspectRovers: string[];
  framesLast5m: number;
  framesPerSecond: number;
  meanError: { last5m: number | null; previous5m: number | null };
  lastFrameAt: string | null;
  lastDrift: { time: string; verdict: string } | null;
  sparkline: { time: string; meanError: number | null; frames: number }[];
}

export interface FleetAnswer {
  at: string;
  deployments: FleetRow[];
  next: string | null;
}

// --- Deployment and Compare pages ---
// The existing routes' answers are declared here, not imported from contracts/http: those types reach core/stores
// and its node imports, which the browser build does not type-check.

export type ServingChangeReason =
  | 'created'
  | 'manual'
  | 'registration'
  | 'rollback'
  | 'rollout-shadow'
  | 'rollout-canary'
  | 'rollout-promoted'
  | 'rollout-rolled-back'
  | 'rollout-ab'
  | 'rollout-bandit';

/** `GET /deployments/:id/serving-history`: one change of what a deployment serves, or one stage of a rollout. */
export interface ServingChange {
  id: number;
  deploymentId: string;
  at: string;
  modelName: string;
  toVersion: number | null;
  fromModelName: string | null;
  fromVersion: number | null;
  reason: ServingChangeReason;
  by: string;
  note: unknown;
  comment: string | null;
  kind: 'serving-change' | 'rollout-stage';
  servedBefore: number | null;
  servedAfter: number | null;
  candidateVersion: number | null;
  summary: string;
}

export interface ServingHistoryAnswer {
  deployment: string;
  history: ServingChange[];
}

export interface Serving {
  modelName: string;
  version: number | null;
  how: 'direct' | 'pinned' | 'rollout';
  rollout: { candidateVersion: number; stage: RolloutStage; canaryClients: string[] } | null;
}

export interface DeploymentView {
  id: string;
  modelName: string;
  modelVersion: number | 'latest';
  strategy: string;
  rolloutPolicy: Record<string, unknown> | null;
  currentVersion: number | null;
  rollout: {
    candidateVersion: number;
    stage: RolloutStage;
    canaryClients: string[];
    workflowId: string;
    startedAt: string;
    stageStartedAt: string;
  } | null;
  createdAt: string;
}

/** `GET /deployments/:id`. */
export interface DeploymentDetailAnswer {
  deployment: DeploymentView;
  serving: Serving;
  clients: string[];
  rollout: { policy: Record<string, unknown>; defaults: boolean };
}

/** `GET /deployments`. */
export interface DeploymentListAnswer {
  deployments: (DeploymentView & { serving: Serving })[];
}

/** `GET /deployments/:id/stats`: every frame of the deployment. */
export interface DeploymentStatsAnswer {
  stats: {
    deployment: string;
    count: number;
    labelledCount: number;
    sensorMin: number | null;
    sensorMax: number | null;
    predictionMin: number | null;
    predictionMax: number | null;
    meanError: number | null;
    maxError: number | null;
    modelName: string | null;
    modelVersion: number | null;
  };
}

/** One frame of `GET /deployments/:id/frames`, newest first; `image` is the path of its JPEG (behind the token). */
export interface DeploymentFrame {
  /** Null (with `image`) for a frame whose image key is not a request id's. */
  id: string | null;
  time: string;
  client: string;
  modelVersion: number | null;
  prediction: number | null;
  sensorValue: number | null;
  error: number | null;
  latencyMs: number;
  image: string | null;
  /** An invalid laser reading, stored as sent: no error, no label. */
  sensorStatus: 'out-of-range' | 'error-code' | null;
  /** Inside a sensor fault of its rover: left out of training, drift and rollout evidence. */
  suspect: boolean;
}

export interface FramesAnswer {
  frames: DeploymentFrame[];
  next: string | null;
}

/** One bucket of `GET /deployments/:id/series` (means are null in a bucket without frames of that kind). */
export interface SeriesPoint {
  time: string;
  frames: number;
  meanError: number | null;
  meanPrediction: number | null;
  meanSensor: number | null;
}

export interface SeriesAnswer {
  points: SeriesPoint[];
}

export interface HistogramAnswer {
  field: string;
  bins: { lower: number; upper: number; count: number }[];
}

/** A marker on the charts: fleet-wide when `deployment` is null. */
export interface Annotation {
  id: number | string;
  time: string;
  text: string;
  tags: string[];
  deployment: string | null;
  by: string;
}

export interface AnnotationsAnswer {
  annotations: Annotation[];
}

/* ---- Models, lineage, retrains and admin (contracts/http/models.ts, registry.ts, retrain.ts, monitor.ts, clients.ts,
 * access.ts). */

export type Params = Record<string, number | string>;
export type Metrics = Record<string, number>;

export interface ModelView {
  name: string;
  description: string;
  trainingConfig: Record<string, unknown> | null;
  monitorConfig: Record<string, unknown> | null;
  createdAt: string;
}
export interface ModelListAnswer {
  models: (ModelView & { latestVersion: number | null })[];
}

export interface ModelVersionView {
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
  comparison: { previousVersion: number; metrics: Metrics; stopBand?: PairedComparison } | null;
  referenceProfile: { key: string; sha256: string } | null;
  createdAt: string;
}
export interface ModelDetailAnswer {
  model: ModelView;
  versions: ModelVersionView[];
}

export interface TrialView {
  id: string;
  workflowId: string;
  runId: string;
  modelName: string;
  params: Params;
  metrics: Metrics;
  /** Per epoch: `loss` (MSE) and `mae` of labels scaled to 0..1. */
  history: Record<string, number[]>;
  artifactKey: string;
  datasetKey: string;
  createdAt: string;
}
export interface TrialListAnswer {
  trials: TrialView[];
}

export type DatasetPolicy =
  { kind: 'all' } | { kind: 'last'; perDeployment: number } | { kind: 'reservoir'; perDeployment: number; seed: number };

export interface VersionDetailAnswer {
  version: ModelVersionView;
  lineage: {
    trial: TrialView | null;
    workflow: { workflowId: string; runId: string; url: string };
    dataset: {
      manifestKey: string;
      sha256: string;
      recordCount: number;
      deployments: string[];
      manifest: {
        width: number;
        height: number;
        labelMaxMm: number;
        seed: number;
        testFraction: number;
        trainCount: number;
        testCount: number;
        policy: DatasetPolicy | null;
      } | null;
      labels: { n: number; min: number; max: number; mean: number } | null;
    };
  };
}

export type RetrainOutcome = 'pending' | 'started' | 'joined' | 'duplicate' | 'ignored';
export interface RunLinks {
  status: string;
  ui: string;
}
export interface RetrainRequestView {
  id: number;
  modelName: string;
  trigger: string;
  payload: unknown;
  workflowId: string | null;
  runId: string | null;
  outcome: RetrainOutcome;
  coverage: 'this-run' | 'follow-up-run' | null;
  dedupeKey: string | null;
  duplicateOf: number | null;
  createdAt: string;
  /** What became of it, in a person's words. */
  reason: string;
  links?: RunLinks;
  driftCheck?: { deployment: string; time: string; verdict: string; modelVersion: number | null; drift: string };
}
export interface RetrainRequestListAnswer {
  requests: RetrainRequestView[];
}

export interface RetrainAnswer {
  modelName: string;
  outcome: RetrainOutcome;
  coverage: 'this-run' | 'follow-up-run' | null;
  workflowId: string | null;
  runId: string | null;
  requestId: number;
  duplicateOf?: number;
  links?: RunLinks;
}
export type RerunAnswer =
  | { outcome: 'dry-run'; workflowId: string; request: Record<string, unknown>; summary: string; sweepInheritedFrom: string }
  | (RetrainAnswer & { request: Record<string, unknown> });

export interface MonitorConfig {
  enabled: boolean;
  intervalSeconds: number;
  windowMinutes: number;
  windowMaxFrames: number;
  minFrames: number;
  alpha: number;
  covariate: { minWasserstein: number; minOutsideShare: number; minDriftedShare: number; retrainWhenErrorHolds: boolean };
  label: { maxOutOfRangeShare: number; minWasserstein: number };
  performance: { minErrorRatio: number; minErrorIncreaseMm: number };
  rearm: { maxPerDay: number; newFramesRatio: number; backoffMinutes: number; maxBackoffMinutes: number };
}
export type RearmState = 'armed' | 'waiting' | 'capped' | 'run-in-progress' | 'registered' | 'unknown' | 'off';
export interface RearmStatus {
  maxPerDay: number;
  reasksToday: {
    requestId: number;
    deployment: string;
    modelVersion: number;
    of: number;
    attempt: number;
    because: 'new-frames' | 'back-off';
    at: string;
  }[];
  drifts: {
    deployment: string;
    modelVersion: number;
    firstRequestId: number;
    lastRequestId: number;
    attempt: number;
    state: RearmState;
    reason: string;
    framesNeeded: number | null;
    newFrames: number;
    backoffUntil: string;
    capFreesAt?: string;
  }[];
}
export interface MonitorAnswer {
  modelName: string;
  config: MonitorConfig;
  defaults: boolean;
  schedule:
    | { scheduleId: string; state: 'absent'; reason: string }
    | { scheduleId: string; state: 'active' | 'paused'; intervalSeconds: number; nextChecks: string[]; note?: string };
  rearm: RearmStatus;
}

export interface ClientView {
  id: string;
  name: string;
  deploymentId: string | null;
  createdAt: string;
}
export interface CreatedClientAnswer {
  client: ClientView;
  token: string;
  note: string;
}
/** Viewer tokens (`GET /viewers`): read-only access. */
export interface ViewerView {
  id: number;
  name: string;
  createdAt: string;
  createdBy: string;
}
export interface ViewerListAnswer {
  viewers: ViewerView[];
}
export interface CreatedViewerAnswer {
  viewer: ViewerView;
  token: string;
}

// --- Drift and rollouts pages ---
// Declared by hand: a type-only import of contracts/http pulls core/ and workflows/ (node:crypto, Temporal's SDK)
// into the console's type-check, which has no Node types. Mirrors core/drift/driftReport.ts and
// workflows/rollout/contract.ts as JSON carries them.

export type DriftVerdict = 'drift' | 'harmless-drift' | 'no-drift' | 'insufficient-data' | 'no-reference' | 'sensor-fault';

export interface FeatureEvidence {
  ks: number;
  pValue: number;
  /** Benjamini-Hochberg adjusted over the features tested together. */
  adjustedP: number;
  /** In reference standard deviations. */
  wasserstein: number;
  psi: number;
  outsideShare: number;
  drifted: boolean;
}

/** One drift check of a deployment with its evidence (GET /deployments/:id/drift). */
export interface DriftCheck {
  time: string;
  deployment: string;
  modelName: string;
  modelVersion: number | null;
  verdict: DriftVerdict;
  kinds: ('covariate' | 'label' | 'performance')[];
  summary: string;
  windowFrames: number;
  windowStart: string | null;
  windowEnd: string | null;
  covariate: {
    testedFeatures: number;
    driftedFeatures: string[];
    driftedShare: number;
    features: Record<string, FeatureEvidence | undefined>;
    drifted: boolean;
  } | null;
  label: { n: number; outOfRangeShare: number; ks: number; pValue: number; wasserstein: number; drifted: boolean } | null;
  performance: {
    n: number;
    liveMeanErrorMm: number;
    referenceMeanErrorMm: number;
    liveMedianErrorMm: number;
    referenceMedianErrorMm: number;
    errorRatio: number;
    pValue: number;
    drifted: boolean;
  } | null;
  /** The sensor check before it: rovers with an open sensor fault, left out of this check. */
  sensors?: { suspects: SuspectRover[] };
}

export type SensorFaultKind = 'invalid-readings' | 'stuck' | 'dropouts' | 'spikes' | 'disagrees-with-peers';

/** A rover with an open sensor fault when a check ran. */
export interface SuspectRover {
  client: string;
  fault: number;
  kinds: SensorFaultKind[];
  since: string;
  summary: string;
}

/** What a drift check did about a retrain (each check's `retrain`). */
export type CheckRetrain =
  | {
      asked: true;
      reason: string;
      requestId: number;
      outcome: 'pending' | 'started' | 'joined' | 'duplicate' | 'ignored';
      workflowId: string | null;
      runId: string | null;
      duplicateOf: number | null;
      /** The run acting on it and the version it registered. */
      links?: { status: string; ui: string | null } | null;
      version?: number | null;
    }
  | { asked: false; reason: string };

export type DriftCheckRow = DriftCheck & { retrain: CheckRetrain | null };
export interface DriftChecksAnswer {
  deployment: string;
  checks: DriftCheckRow[];
}

export interface ActiveRollout {
  candidateVersion: number;
  stage: RolloutStage;
  canaryClients: string[];
  workflowId: string;
  startedAt: string;
  stageStartedAt: string;
}

export interface PairedComparison {
  pairs: number;
  meanErrorCurrent: number | null;
  meanErrorCandidate: number | null;
  meanDifference: number | null;
  statistic: number;
  pCandidateBetter: number;
  pCandidateWorse: number;
}

/** One look at a rollout stage's evidence, and what the stage did with it. */
export interface StageCheck {
  stage: RolloutStage;
  at: string;
  frames: number;
  answeredByCandidate: number;
  comparison: PairedComparison;
  verdict: 'advance' | 'roll-back' | 'wait';
  reason: string;
  /** The comparison on the pairs whose laser reading is <= 100 mm; absent in looks taken before it was judged. */
  stopBand?: PairedComparison;
  /** In a canary, ab or bandit stage: the candidate's share of the rovers at this look. */
  candidateShare?: number;
}

/** The Rollout workflow's status query with `checks`, every look of the run so far. */
export interface RolloutStatus {
  candidateVersion: number;
  currentVersion: number | null;
  stage: RolloutStage | 'starting' | 'done';
  paused: boolean;
  stageStartedAt: string | null;
  lastCheck: StageCheck | null;
  checks?: StageCheck[];
}

export interface RolloutResult {
  deploymentId: string;
  modelName: string;
  candidateVersion: number;
  currentVersion: number | null;
  outcome: 'promoted' | 'rolled-back' | 'aborted' | 'superseded' | 'not-started';
  reason: string;
  /** The last look at each stage it went through. */
  stages: StageCheck[];
}

export interface RolloutPolicy {
  canaryShare: number;
  shadow: { minFrames: number; minMinutes: number; maxMinutes: number };
  canary: { minFrames: number; minMinutes: number; maxMinutes: number };
  alpha: number;
  checkSeconds: number;
  ab: { share: number; minFrames: number; minutes: number };
  bandit: { floorShare: number; minFrames: number; minMinutes: number; maxMinutes: number };
}

/** GET /deployments/:id/rollout: the registry's side and the workflow's. */
export interface RolloutAnswer {
  deployment: string;
  strategy: string;
  currentVersion: number | null;
  rollout: ActiveRollout | null;
  policy: RolloutPolicy;
  workflow: {
    workflowId: string;
    runId?: string;
    status: string;
    ui?: string;
    state?: RolloutStatus;
    result?: RolloutResult;
    error?: string;
  } | null;
}

/** One Rollout run as Temporal's visibility lists it (GET /rollouts). */
export interface RolloutRun {
  deploymentId: string;
  modelName: string | null;
  candidateVersion: number | null;
  workflowId: string;
  runId: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  outcome: string | null;
  ui: string;
}
export interface RolloutListAnswer {
  rollouts: RolloutRun[];
}
export interface RolloutRunAnswer extends RolloutRun {
  state?: RolloutStatus;
  result?: RolloutResult;
}

// --- Sensor faults (GET /sensor-faults, GET /deployments/:id/sensors) ---

export interface SensorFault {
  id: number;
  client: string;
  deployment: string;
  kinds: SensorFaultKind[];
  evidence: Record<string, number | string | null>;
  summary: string;
  since: string;
  flaggedAt: string;
  updatedAt: string;
  clearedAt: string | null;
  clearedBy: string | null;
  clearReason: string | null;
}

export interface DeploymentSensorsAnswer {
  deployment: string;
  rovers: { client: string; status: 'healthy' | 'suspect'; fault: SensorFault | null }[];
}
/** GET /deployments/:id/parking: parking success by what steered and the model version that answered (contracts/http/parking.ts). */
export interface ParkingSummaryAnswer {
  deployment: string;
  since: string | null;
  groups: {
    mode: 'model' | 'laser';
    modelVersion: number | null;
    runs: number;
    parked: number;
    hit: number;
    early: number;
    successRate: number;
    parkedByModel: number;
    laserStops: number;
    meanFinalMm: number | null;
  }[];
}
/** A rollout's stages (core/stores/registry.ts ROLLOUT_STAGES). */
export type RolloutStage = 'shadow' | 'canary' | 'ab' | 'bandit';
