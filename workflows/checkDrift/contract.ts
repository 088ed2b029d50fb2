/**
 * The CheckDrift contract: the drift monitor's workflow, started by one Temporal Schedule per model.
 * Deterministic code only (the workflow bundle imports it).
 */
import type { DriftKind, DriftVerdict, SuspectRover } from '../../core/drift/driftReport.js';
import type { RearmState } from '../../core/drift/rearm.js';
import type { RetrainOutcome } from '../../core/stores/registry.js';

/** One schedule per model: it checks every deployment of the model at each run. */
export const monitorScheduleIdFor = (modelName: string) => `drift-monitor-${modelName}`;
/** The id of the runs a schedule starts (Temporal appends the scheduled time). */
export const checkDriftWorkflowIdFor = (modelName: string) => `check-drift-${modelName}`;

export interface CheckDriftInput {
  modelName: string;
}

/** The retrain a drift verdict asked for (the askForDriftRetrain step's result). */
export interface DriftRetrainAsk {
  outcome: RetrainOutcome | 'refused';
  requestId: number | null;
  workflowId: string | null;
  runId: string | null;
  /** For `duplicate`: the ask (the monitor's own or Grafana's) that acted on this drift already. */
  duplicateOf?: number;
  /** For `refused`: why the model cannot be retrained (no training config). */
  reason?: string;
  /** A re-ask of a drift whose retrain registered nothing: the retrain request it repeats. */
  rearmOf?: number;
  /** For `duplicate`: why the drift is not asked for again yet (core/drift/rearm.ts). */
  rearm?: { state: RearmState; reason: string };
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
  /** The sensor check before the drift check (runs from before sensor checks have none). */
  sensors?: DeploymentSensors;
}

/** A deployment's sensor check in a run: who is suspect now and what the check changed in the registry. */
export interface DeploymentSensors {
  /** Rovers with frames in the window, and how many of them were healthy. */
  rovers: number;
  healthy: number;
  /** Rovers with an open fault: left out of the drift check, never a retrain. */
  suspects: SuspectRover[];
  /** Fault ids this check opened and cleared. */
  flagged: number[];
  cleared: number[];
}

export interface CheckDriftResult {
  modelName: string;
  /** False: the model's monitor is off (or it has no training config), so nothing was checked. */
  enabled: boolean;
  checks: DeploymentCheck[];
}
