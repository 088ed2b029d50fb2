import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField } from '../features/fields.js';
import { clipLabel } from '../ml/labels.js';
import type { CovariateEvidence, DriftKind, DriftReport, FeatureEvidence, LabelEvidence, PerformanceEvidence } from './driftReport.js';
import type { DriftWindow } from './driftWindow.js';
import type { MonitorConfig } from './monitorConfig.js';
import type { ReferenceProfile } from './referenceProfile.js';
import { sketchQuantile, sortedQuantile, type ReferenceSketch } from './referenceSketch.js';
import {
  benjaminiHochberg,
  compareWithSketch,
  ksAgainstSketch,
  mannWhitneyGreaterAgainstSketch,
  wassersteinAgainstSketch,
} from './statistics.js';
import {
  compareCountsWithSketch,
  ksOfCounts,
  mannWhitneyGreaterOfCounts,
  quantileOfCounts,
  shareOutsideOfCounts,
  wassersteinOfCounts,
} from './summaryStatistics.js';
import { LABEL_RANGE_TOLERANCE, type WindowSummary } from './windowSummary.js';

export type { DriftWindow } from './driftWindow.js';

/** A window value is outside the reference when below its 0.5% or above its 99.5% quantile (1% of training frames are). */
const OUTSIDE_TAIL = 0.005;

function shareOutside(values: ArrayLike<number>, low: number, high: number): number {
  let outside = 0;
  for (let i = 0; i < values.length; i++) if (values[i] < low || values[i] > high) outside++;
  return outside / values.length;
}

type FeatureStatistics = Omit<FeatureEvidence, 'adjustedP' | 'drifted'>;
type LabelStatistics = Omit<LabelEvidence, 'drifted'>;
interface ErrorStatistics {
  n: number;
  liveMean: number;
  liveMedian: number;
  pValue: number;
}

/**
 * What a check needs to know of a window, whether it holds the raw values (DriftWindow) or their counts over the
 * reference's grid (WindowSummary): each stream's statistics against its reference sketch, and how many values it has.
 */
export interface WindowStatistics {
  frames: number;
  windowStart: number | null;
  windowEnd: number | null;
  featureCount(field: ImageCharacteristicField): number;
  feature(field: ImageCharacteristicField, sketch: ReferenceSketch): FeatureStatistics;
  labelCount: number;
  labels(reference: ReferenceProfile['labels']): LabelStatistics;
  errorCount: number;
  errors(reference: ReferenceSketch): ErrorStatistics;
}

/**
 * Compares a window with the serving version's reference profile: every image characteristic (KS with
 * Benjamini-Hochberg across features, gated by the Wasserstein effect size, so a large window does not call
 * a negligible difference drift), the laser labels, and the live error against the version's test error.
 */
export function checkDrift(profile: ReferenceProfile, window: DriftWindow, config: MonitorConfig): DriftReport {
  return checkStatistics(profile, rawStatistics(window), config);
}

/** The same check on a window's counts over the version's reference grid (core/drift/windowSummary.ts). */
export function checkDriftOfSummary(profile: ReferenceProfile, summary: WindowSummary, config: MonitorConfig): DriftReport {
  return checkStatistics(profile, summaryStatistics(summary), config);
}

export function checkStatistics(profile: ReferenceProfile, window: WindowStatistics, config: MonitorConfig): DriftReport {
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
  const label = window.labelCount >= config.minFrames ? labelShift(profile, window, config) : null;
  const performance = window.errorCount >= config.minFrames ? performanceDrift(profile, window, config) : null;
  const kinds: DriftKind[] = [];
  if (performance?.drifted) kinds.push('performance');
  if (label?.drifted) kinds.push('label');
  if (covariate.drifted) kinds.push('covariate');
  const harmless = kinds.length === 1 && covariate.drifted && performance !== null && !config.covariate.retrainWhenErrorHolds;
  const summary = summaryOf(window.frames, covariate, label, performance);
  return {
    ...base,
    verdict: kinds.length === 0 ? 'no-drift' : harmless ? 'harmless-drift' : 'drift',
    kinds,
    summary: harmless ? `${summary}; the error holds on ${performance.n} labelled frames: no retrain` : summary,
    covariate,
    label,
    performance,
  };
}

/** Statistics of the raw values: each stream sorted once. */
function rawStatistics(window: DriftWindow): WindowStatistics {
  return {
    frames: window.frames,
    windowStart: window.windowStart,
    windowEnd: window.windowEnd,
    featureCount: (field) => window.features[field]?.length ?? 0,
    feature(field, sketch) {
      const values = window.features[field]!;
      const found = compareWithSketch(values, sketch);
      return {
        ks: found.ks.statistic,
        pValue: found.ks.pValue,
        wasserstein: found.normalizedWasserstein,
        psi: found.psi,
        outsideShare: shareOutside(values, sketchQuantile(sketch, OUTSIDE_TAIL), sketchQuantile(sketch, 1 - OUTSIDE_TAIL)),
      };
    },
    labelCount: window.labels.length,
    labels(reference) {
      const labels = window.labels.map((v) => clipLabel(v, reference.labelMaxMm));
      const tolerance = LABEL_RANGE_TOLERANCE * Math.max(reference.max - reference.min, 1);
      let outside = 0;
      for (const v of labels) if (v > reference.max + tolerance || v < reference.min - tolerance) outside++;
      const ks = ksAgainstSketch(labels, reference);
      const wasserstein = reference.std > 0 ? wassersteinAgainstSketch(labels, reference) / reference.std : 0;
      return { n: labels.length, outOfRangeShare: outside / labels.length, ks: ks.statistic, pValue: ks.pValue, wasserstein };
    },
    errorCount: window.errors.length,
    errors(reference) {
      const errors = window.errors;
      let sum = 0;
      for (const e of errors) sum += e;
      return {
        n: errors.length,
        liveMean: sum / errors.length,
        liveMedian: sortedQuantile(Float64Array.from(errors).sort(), 0.5),
        pValue: mannWhitneyGreaterAgainstSketch(errors, reference).pValue,
      };
    },
  };
}

/** Statistics of the counts: cost O(reference quantiles) per stream, whatever the window's size. */
function summaryStatistics(summary: WindowSummary): WindowStatistics {
  return {
    frames: summary.frames,
    windowStart: summary.windowStart,
    windowEnd: summary.windowEnd,
    featureCount: (field) => summary.features[field]?.n ?? 0,
    feature(field, sketch) {
      const stream = summary.features[field]!;
      const found = compareCountsWithSketch(stream, sketch);
      return {
        ks: found.ks.statistic,
        pValue: found.ks.pValue,
        wasserstein: found.normalizedWasserstein,
        psi: found.psi,
        outsideShare: shareOutsideOfCounts(stream, sketch, sketchQuantile(sketch, OUTSIDE_TAIL), sketchQuantile(sketch, 1 - OUTSIDE_TAIL)),
      };
    },
    labelCount: summary.labels.n,
    labels(reference) {
      const stream = summary.labels;
      const ks = ksOfCounts(stream, reference);
      const wasserstein = reference.std > 0 ? wassersteinOfCounts(stream, reference) / reference.std : 0;
      return { n: stream.n, outOfRangeShare: stream.outOfRange / stream.n, ks: ks.statistic, pValue: ks.pValue, wasserstein };
    },
    errorCount: summary.errors.n,
    errors(reference) {
      const stream = summary.errors;
      return {
        n: stream.n,
        liveMean: stream.sum / stream.n,
        liveMedian: quantileOfCounts(stream, reference, 0.5),
        pValue: mannWhitneyGreaterOfCounts(stream, reference).pValue,
      };
    },
  };
}

function covariateDrift(profile: ReferenceProfile, window: WindowStatistics, config: MonitorConfig): CovariateEvidence {
  const tested: (FeatureStatistics & { field: ImageCharacteristicField })[] = [];
  for (const field of IMAGE_CHARACTERISTIC_FIELDS) {
    const sketch = profile.features[field];
    if (!sketch || window.featureCount(field) < config.minFrames) continue;
    tested.push({ field, ...window.feature(field, sketch) });
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

function labelShift(profile: ReferenceProfile, window: WindowStatistics, config: MonitorConfig): LabelEvidence {
  const found = window.labels(profile.labels);
  const drifted =
    found.outOfRangeShare > config.label.maxOutOfRangeShare ||
    (found.pValue < config.alpha && found.wasserstein >= config.label.minWasserstein);
  return { ...found, drifted };
}

function performanceDrift(profile: ReferenceProfile, window: WindowStatistics, config: MonitorConfig): PerformanceEvidence {
  const reference = profile.testErrors;
  const { n, liveMean, liveMedian, pValue } = window.errors(reference);
  const errorRatio = reference.mean > 0 ? liveMean / reference.mean : liveMean > 0 ? Infinity : 1;
  const drifted =
    pValue < config.alpha &&
    errorRatio >= config.performance.minErrorRatio &&
    liveMean - reference.mean >= config.performance.minErrorIncreaseMm;
  return {
    n,
    liveMeanErrorMm: liveMean,
    referenceMeanErrorMm: reference.mean,
    liveMedianErrorMm: liveMedian,
    referenceMedianErrorMm: sketchQuantile(reference, 0.5),
    errorRatio,
    pValue,
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
