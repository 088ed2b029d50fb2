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

// --- Deployment and Compare pages (helper C1) ---
// The existing routes' answers are declared here, not imported from contracts/http: those types reach core/stores
// and its node imports, which the browser build does not type-check.

export type ServingChangeReason =
  'created' | 'manual' | 'registration' | 'rollback' | 'rollout-shadow' | 'rollout-canary' | 'rollout-promoted' | 'rollout-rolled-back';

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
  rollout: { candidateVersion: number; stage: 'shadow' | 'canary'; canaryClients: string[] } | null;
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
    stage: 'shadow' | 'canary';
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
  id: string;
  time: string;
  client: string;
  modelVersion: number | null;
  prediction: number | null;
  sensorValue: number | null;
  error: number | null;
  latencyMs: number;
  image: string;
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
