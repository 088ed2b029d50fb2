import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField } from '../features/fields.js';
import { clipLabel } from '../ml/labels.js';
import type { CovariateEvidence, DriftKind, DriftReport, FeatureEvidence, LabelEvidence, PerformanceEvidence } from './driftReport.js';
import type { MonitorConfig } from './monitorConfig.js';
import type { ReferenceProfile } from './referenceProfile.js';
import { sketchQuantile, sortedQuantile } from './referenceSketch.js';
import {
  benjaminiHochberg,
  compareWithSketch,
  ksAgainstSketch,
  mannWhitneyGreaterAgainstSketch,
  wassersteinAgainstSketch,
} from './statistics.js';

/** The frames of one deployment's window, by column: what a check compares with the reference. */
export interface DriftWindow {
  frames: number;
  windowStart: number | null;
  windowEnd: number | null;
  /** Per characteristic, the values of the frames that have it. */
  features: Partial<Record<ImageCharacteristicField, Float64Array>>;
  /** Laser readings of the labelled frames (mm, unclipped). */
  labels: Float64Array;
  /** |prediction - laser| of the frames that have both (mm). */
  errors: Float64Array;
}

/** A window value is outside the reference when below its 0.5% or above its 99.5% quantile (1% of training frames are). */
const OUTSIDE_TAIL = 0.005;

function shareOutside(values: ArrayLike<number>, low: number, high: number): number {
  let outside = 0;
  for (let i = 0; i < values.length; i++) if (values[i] < low || values[i] > high) outside++;
  return outside / values.length;
}

/** Readings this far outside the reference's label range, as a share of the range, still count as inside it. */
const LABEL_RANGE_TOLERANCE = 0.02;

/**
 * Compares a window with the serving version's reference profile: every image characteristic (KS with
 * Benjamini-Hochberg across features, gated by the Wasserstein effect size, so a large window does not call
 * a negligible difference drift), the laser labels, and the live error against the version's test error.
 */
export function checkDrift(profile: ReferenceProfile, window: DriftWindow, config: MonitorConfig): DriftReport {
  const base = { windowFrames: window.frames, windowStart: window.windowStart, windowEnd: window.windowEnd };
  if (window.frames < config.minFrames) {
    return {
      ...base,
      verdict: 'insufficient-data',
      kinds: [],
      summary: `${window.frames} frames in the window, fewer than the ${config.minFrames} a check needs`,
      covariate: null,
      label: null,
      performance: null,
    };
  }
  const covariate = covariateDrift(profile, window, config);
  const label = window.labels.length >= config.minFrames ? labelShift(profile, window.labels, config) : null;
  const performance = window.errors.length >= config.minFrames ? performanceDrift(profile, window.errors, config) : null;
  const kinds: DriftKind[] = [];
  if (performance?.drifted) kinds.push('performance');
  if (label?.drifted) kinds.push('label');
  if (covariate.drifted) kinds.push('covariate');
  return {
    ...base,
    verdict: kinds.length > 0 ? 'drift' : 'no-drift',
    kinds,
    summary: summaryOf(window.frames, covariate, label, performance),
    covariate,
    label,
    performance,
  };
}

function covariateDrift(profile: ReferenceProfile, window: DriftWindow, config: MonitorConfig): CovariateEvidence {
  const tested: (Omit<FeatureEvidence, 'adjustedP' | 'drifted'> & { field: ImageCharacteristicField })[] = [];
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const sketch = profile.features[field];
    const values = window.features[field];
    if (!sketch || !values || values.length < config.minFrames) continue;
    const found = compareWithSketch(values, sketch);
    tested.push({
      field,
      ks: found.ks.statistic,
      pValue: found.ks.pValue,
      wasserstein: found.normalizedWasserstein,
      psi: found.psi,
      outsideShare: shareOutside(values, sketchQuantile(sketch, OUTSIDE_TAIL), sketchQuantile(sketch, 1 - OUTSIDE_TAIL)),
    });
  }
  const adjusted = benjaminiHochberg(tested.map((t) => t.pValue));
  const features: CovariateEvidence['features'] = {};
  const driftedFeatures: ImageCharacteristicField[] = [];
  tested.forEach((t, i) => {
    const drifted =
      adjusted[i] < config.alpha && t.wasserstein >= config.covariate.minWasserstein && t.outsideShare >= config.covariate.minOutsideShare;
    const { field: _field, ...statistics } = t;
    const evidence: FeatureEvidence = { ...statistics, adjustedP: adjusted[i], drifted };
    features[t.field] = evidence;
    if (drifted) driftedFeatures.push(t.field);
  });
  const driftedShare = tested.length > 0 ? driftedFeatures.length / tested.length : 0;
  return {
    testedFeatures: tested.length,
    driftedFeatures,
    driftedShare,
    features,
    drifted: tested.length > 0 && driftedShare >= config.covariate.minDriftedShare,
  };
}

function labelShift(profile: ReferenceProfile, readings: Float64Array, config: MonitorConfig): LabelEvidence {
  const reference = profile.labels;
  const labels = readings.map((v) => clipLabel(v, reference.labelMaxMm));
  const tolerance = LABEL_RANGE_TOLERANCE * Math.max(reference.max - reference.min, 1);
  let outside = 0;
  for (const v of labels) if (v > reference.max + tolerance || v < reference.min - tolerance) outside++;
  const outOfRangeShare = outside / labels.length;
  const ks = ksAgainstSketch(labels, reference);
  const wasserstein = reference.std > 0 ? wassersteinAgainstSketch(labels, reference) / reference.std : 0;
  const drifted =
    outOfRangeShare > config.label.maxOutOfRangeShare || (ks.pValue < config.alpha && wasserstein >= config.label.minWasserstein);
  return { n: labels.length, outOfRangeShare, ks: ks.statistic, pValue: ks.pValue, wasserstein, drifted };
}

function performanceDrift(profile: ReferenceProfile, errors: Float64Array, config: MonitorConfig): PerformanceEvidence {
  const reference = profile.testErrors;
  let sum = 0;
  for (const e of errors) sum += e;
  const liveMean = sum / errors.length;
  const test = mannWhitneyGreaterAgainstSketch(errors, reference);
  const errorRatio = reference.mean > 0 ? liveMean / reference.mean : liveMean > 0 ? Infinity : 1;
  const drifted =
    test.pValue < config.alpha &&
    errorRatio >= config.performance.minErrorRatio &&
    liveMean - reference.mean >= config.performance.minErrorIncreaseMm;
  return {
    n: errors.length,
    liveMeanErrorMm: liveMean,
    referenceMeanErrorMm: reference.mean,
    liveMedianErrorMm: sortedQuantile(Float64Array.from(errors).sort(), 0.5),
    referenceMedianErrorMm: sketchQuantile(reference, 0.5),
    errorRatio,
    pValue: test.pValue,
    drifted,
  };
}

function summaryOf(frames: number, covariate: CovariateEvidence, label: LabelEvidence | null, performance: PerformanceEvidence | null) {
  const parts = [`${frames} frames`];
  if (performance) {
    parts.push(
      `${performance.drifted ? 'PERFORMANCE DRIFT' : 'error'}: mean ${performance.liveMeanErrorMm.toFixed(1)} mm vs ${performance.referenceMeanErrorMm.toFixed(1)} mm on the test split (x${performance.errorRatio.toFixed(2)}, p=${performance.pValue.toPrecision(2)})`,
    );
  }
  if (label) {
    parts.push(
      `${label.drifted ? 'LABEL SHIFT' : 'labels'}: ${(label.outOfRangeShare * 100).toFixed(1)}% outside the trained range, KS ${label.ks.toFixed(3)} (W ${label.wasserstein.toFixed(2)} sd)`,
    );
  }
  const strongest = Object.entries(covariate.features).sort(([, a], [, b]) => b.ks - a.ks)[0];
  parts.push(
    `${covariate.drifted ? 'COVARIATE DRIFT' : 'features'}: ${covariate.driftedFeatures.length}/${covariate.testedFeatures} drifted` +
      (strongest ? `, strongest ${strongest[0]} (W ${strongest[1].wasserstein.toFixed(2)} sd, KS ${strongest[1].ks.toFixed(3)})` : ''),
  );
  return parts.join('; ');
}
