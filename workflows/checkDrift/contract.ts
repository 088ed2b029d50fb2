/**
 * The CheckDrift contract: the drift monitor's workflow, started by one Temporal Schedule per model.
 * Deterministic code only (the workflow bundle imports it).
 */
import type { DriftRetrainAsk } from '../../activities/askForDriftRetrain.js';
import type { DriftKind, DriftVerdict } from '../../core/drift/driftReport.js';

export const CHECK_DRIFT_WORKFLOW = 'CheckDrift';

/** One schedule per model: it checks every deployment of the model at each run. */
export const monitorScheduleIdFor = (modelName: string) => `drift-monitor-${modelName}`;
/** The id of the runs a schedule starts (Temporal appends the scheduled time). */
export const checkDriftWorkflowIdFor = (modelName: string) => `check-drift-${modelName}`;

export interface CheckDriftInput {
  modelName: string;
}

export interface DeploymentCheck {
  deployment: string;
  modelVersion: number | null;
  verdict: DriftVerdict;
  kinds: DriftKind[];
  summary: string;
  windowFrames: number;
  /** Only when the verdict is drift: the retrain ask it made. */
  ask?: DriftRetrainAsk;
}

export interface CheckDriftResult {
  modelName: string;
  /** False: the model's monitor is off (or it has no training config), so nothing was checked. */
  enabled: boolean;
  checks: DeploymentCheck[];
}
