import type { ImageCharacteristicField } from '../features/fields.js';
import type { SensorFaultKind } from '../sensors/sensorHealth.js';

/**
 * What one drift check of one deployment found, with its evidence: the monitor's answer, written to the
 * measurement store as the `drift_check` series (Grafana's panels and alert rules read it) and carried in
 * the retrain ask it leads to.
 *
 * - `drift`: performance or label drift, or covariate drift that the laser cannot vouch against (fewer labelled
 *   frames than a check needs): a retrain is asked for.
 * - `harmless-drift`: covariate drift alone while the laser says the serving version's error holds (performance
 *   judged on enough labelled frames, no drift): reported with its evidence, never a retrain (unless the model's
 *   monitor sets `covariate.retrainWhenErrorHolds`). A deployment that drives one part of what a version learned, or a
 *   world that moved without hurting the model, is news for the charts, not work for the trainer.
 * - `no-drift`: enough frames, nothing found.
 * - `insufficient-data`: too few frames in the window to decide (never a guess).
 * - `no-reference`: the deployment serves no version, or the version has no reference profile.
 * - `sensor-fault`: some rovers' lasers are suspect (their frames were left out) and the other rovers showed no
 *   drift: the news is the sensors, never a retrain. Drift on the other rovers stays `drift`, with `sensors` beside it.
 */
export type DriftVerdict = 'drift' | 'harmless-drift' | 'no-drift' | 'insufficient-data' | 'no-reference' | 'sensor-fault';

export const DRIFT_VERDICTS: readonly DriftVerdict[] = [
  'drift',
  'harmless-drift',
  'no-drift',
  'insufficient-data',
  'no-reference',
  'sensor-fault',
];

/** A rover with an open sensor fault (core/stores/registry.ts SensorFault) when a check ran. */
export interface SuspectRover {
  client: string;
  /** The registry's fault id. */
  fault: number;
  kinds: SensorFaultKind[];
  /** Epoch ms: the fault's estimated onset. */
  since: number;
  summary: string;
}

export type DriftKind = 'covariate' | 'label' | 'performance';

export interface FeatureEvidence {
  /** Kolmogorov-Smirnov distance between the window and the reference sketch. */
  ks: number;
  pValue: number;
  /** Benjamini-Hochberg adjusted over the features tested together. */
  adjustedP: number;
  /** Wasserstein distance in units of the reference's standard deviation (the effect size). */
  wasserstein: number;
  psi: number;
  /**
   * Share of the window outside the reference's central 99% (1% of training frames are). A window drawn from one
   * part of what the version learned (one floor of several) moves KS and Wasserstein but stays inside: not drift.
   */
  outsideShare: number;
  drifted: boolean;
}

export interface CovariateEvidence {
  testedFeatures: number;
  driftedFeatures: ImageCharacteristicField[];
  /** driftedFeatures / testedFeatures. */
  driftedShare: number;
  features: Partial<Record<ImageCharacteristicField, FeatureEvidence>>;
  drifted: boolean;
}

export interface LabelEvidence {
  /** Labelled frames in the window (laser readings, clipped to the model's range as training clips them). */
  n: number;
  /** Share of readings outside the reference's label range (with a tolerance of 2% of the range). */
  outOfRangeShare: number;
  ks: number;
  pValue: number;
  wasserstein: number;
  drifted: boolean;
}

export interface PerformanceEvidence {
  /** Frames with an error (a prediction and a laser reading). */
  n: number;
  liveMeanErrorMm: number;
  referenceMeanErrorMm: number;
  liveMedianErrorMm: number;
  referenceMedianErrorMm: number;
  /** liveMeanErrorMm / referenceMeanErrorMm. */
  errorRatio: number;
  /** Mann-Whitney U, alternative: the live errors are larger than the test errors. */
  pValue: number;
  drifted: boolean;
}

export interface DriftReport {
  verdict: DriftVerdict;
  /** Which checks found drift, most telling first (performance, label, covariate). */
  kinds: DriftKind[];
  /** One line a person reads in a log, an alert or a workflow history. */
  summary: string;
  windowFrames: number;
  /** The window's time span, epoch ms (null when empty). */
  windowStart: number | null;
  windowEnd: number | null;
  covariate: CovariateEvidence | null;
  label: LabelEvidence | null;
  performance: PerformanceEvidence | null;
}

/** A report as stored: which deployment and serving version it was about, and when it ran. */
export interface DriftCheckRecord extends DriftReport {
  /** Epoch ms of the check. */
  time: number;
  deployment: string;
  modelName: string;
  /** The serving version compared with (null with `no-reference` when nothing serves). */
  modelVersion: number | null;
  /** The sensor check before it (absent on checks from before sensor checks): suspect rovers' frames were left out. */
  sensors?: { suspects: SuspectRover[] };
}

/**
 * The dedupe key of the monitor's retrain ask: one per deployment and serving version, so a drift found again
 * on the next checks (or by Grafana's rule on the same verdicts) never asks twice, and a new version re-arms it.
 */
export function driftDedupeKey(deployment: string, modelVersion: number): string {
  return `drift-monitor:${deployment}:v${modelVersion}`;
}
