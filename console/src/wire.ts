/**
 * The answers the pages read, as the browser receives them (times are ISO strings). Written against the plan of
 * the new read routes; each type moves to an import of contracts/http once its route lands.
 */
export interface FleetRow {
  id: string;
  modelName: string;
  modelVersion: 'latest' | number;
  servingVersion: number | null;
  strategy: string;
  rollout: { stage: string; candidateVersion: number; currentVersion: number | null } | null;
  rovers: string[];
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

// --- Drift and rollouts pages (helper C2) ---
// Declared by hand: a type-only import of contracts/http pulls core/ and workflows/ (node:crypto, Temporal's SDK)
// into the console's type-check, which has no Node types. Mirrors core/drift/driftReport.ts and
// workflows/rollout/contract.ts as JSON carries them.

export type DriftVerdict = 'drift' | 'no-drift' | 'insufficient-data' | 'no-reference';

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
      /** The run acting on it and the version it registered (helper A2; absent before it lands). */
      links?: { status: string; ui: string | null } | null;
      version?: number | null;
    }
  | { asked: false; reason: string };

export type DriftCheckRow = DriftCheck & { retrain: CheckRetrain | null };
export interface DriftChecksAnswer {
  deployment: string;
  checks: DriftCheckRow[];
}

/** A model's drift monitor settings (GET /models/:name/monitor), the thresholds the charts draw. */
export interface MonitorAnswer {
  modelName: string;
  config: {
    enabled: boolean;
    intervalSeconds: number;
    alpha: number;
    minFrames: number;
    covariate: { minWasserstein: number; minOutsideShare: number; minDriftedShare: number };
    label: { maxOutOfRangeShare: number; minWasserstein: number };
    performance: { minErrorRatio: number; minErrorIncreaseMm: number };
  };
}

export interface ActiveRollout {
  candidateVersion: number;
  stage: 'shadow' | 'canary';
  canaryClients: string[];
  workflowId: string;
  startedAt: string;
  stageStartedAt: string;
}

/** GET /deployments: what the drift and rollouts pages need of each. */
export interface DeploymentListAnswer {
  deployments: { id: string; modelName: string; strategy: string; currentVersion: number | null; rollout: ActiveRollout | null }[];
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
  stage: 'shadow' | 'canary';
  at: string;
  frames: number;
  answeredByCandidate: number;
  comparison: PairedComparison;
  verdict: 'advance' | 'roll-back' | 'wait';
  reason: string;
}

/** The Rollout workflow's status query; `checks` (every look of the run so far) comes with helper A2. */
export interface RolloutStatus {
  candidateVersion: number;
  currentVersion: number | null;
  stage: 'shadow' | 'canary' | 'starting' | 'done';
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

/** One Rollout run as Temporal's visibility lists it (GET /rollouts, helper A2). */
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
