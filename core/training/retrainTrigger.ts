import type { DriftKind } from '../drift/driftReport.js';

/** Who asks for a retrain. */
export const TRIGGER_KINDS = ['grafana', 'manual', 'cli', 'drift-monitor'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** Who asked for a retrain, and on what evidence. */
export interface RetrainTrigger {
  kind: TriggerKind;
  /** Who or what asked: alert rule name, user, command. */
  by: string;
  /** The registry's retrain_requests row id, when the ask was recorded there. */
  requestId?: number;
  alerts?: { status: string; labels: Record<string, string>; startsAt?: string; fingerprint?: string }[];
  /** What the drift monitor found when it asked; the retrain request's record keeps the whole report. */
  drift?: DriftEvidence;
}

export interface DriftEvidence {
  deployment: string;
  /** The serving version the window was compared with. */
  modelVersion: number;
  kinds: DriftKind[];
  summary: string;
  windowFrames: number;
  /** Epoch ms of the check. */
  checkedAt: number;
  /** A re-ask of a drift whose retrain registered nothing (core/drift/rearm.ts): the retrain request it repeats. */
  rearmOf?: number;
}
