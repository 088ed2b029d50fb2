import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristicField } from '../features/fields.js';
import type { DriftCheckRecord, DriftKind } from './driftReport.js';

/**
 * The `drift_check` series: one point per check of one deployment. Tags say which deployment, model, serving
 * version and verdict; fields hold the verdicts as 0/1 and the statistics, so Grafana plots each and alerts on
 * the verdicts. Per feature: KS distance, BH-adjusted p-value, normalised Wasserstein distance, PSI.
 */
export const DRIFT_CHECK_MEASUREMENT = 'drift_check';

export const DRIFT_CHECK_TAGS = ['deployment', 'model', 'model_version', 'verdict'] as const;

/** 1 when the check found drift of that kind, else 0; `drift` is 1 for the verdict `drift` only (not `harmless-drift`). */
export const DRIFT_VERDICT_FIELDS = {
  drift: 'drift',
  covariate: 'covariate_drift',
  label: 'label_drift',
  performance: 'performance_drift',
  insufficient: 'insufficient_data',
  /** 1 when some rovers' lasers were suspect at the check (whatever the verdict on the others). */
  sensorFault: 'sensor_fault',
} as const;

export const DRIFT_STATISTIC_FIELDS = [
  'window_frames',
  'drifted_features',
  'drifted_share',
  'label_out_of_range_share',
  'label_ks',
  'label_p',
  'error_ratio',
  'live_mean_error',
  'reference_mean_error',
  'performance_p',
  'suspect_rovers',
] as const;

export type FeatureStatistic = 'ks' | 'p' | 'wd' | 'psi';
export const FEATURE_STATISTICS: readonly FeatureStatistic[] = ['ks', 'p', 'wd', 'psi'];

export function featureStatisticField(statistic: FeatureStatistic, feature: ImageCharacteristicField): string {
  return `${statistic}_${feature}`;
}

/** The numeric fields of a check's point (a statistic the check did not compute is left out). */
export function driftCheckFields(check: DriftCheckRecord): Record<string, number> {
  const has = (kind: DriftKind) => (check.kinds.includes(kind) ? 1 : 0);
  const fields: Record<string, number> = {
    [DRIFT_VERDICT_FIELDS.drift]: check.verdict === 'drift' ? 1 : 0,
    [DRIFT_VERDICT_FIELDS.covariate]: has('covariate'),
    [DRIFT_VERDICT_FIELDS.label]: has('label'),
    [DRIFT_VERDICT_FIELDS.performance]: has('performance'),
    [DRIFT_VERDICT_FIELDS.insufficient]: check.verdict === 'insufficient-data' ? 1 : 0,
    window_frames: check.windowFrames,
  };
  if (check.sensors) {
    fields[DRIFT_VERDICT_FIELDS.sensorFault] = check.sensors.suspects.length > 0 ? 1 : 0;
    fields.suspect_rovers = check.sensors.suspects.length;
  }
  const { covariate, label, performance } = check;
  if (covariate) {
    fields.drifted_features = covariate.driftedFeatures.length;
    fields.drifted_share = covariate.driftedShare;
    for (const feature of IMAGE_CHARACTERISTIC_FIELDS) {
      const evidence = covariate.features[feature];
      if (!evidence) continue;
      fields[featureStatisticField('ks', feature)] = evidence.ks;
      fields[featureStatisticField('p', feature)] = evidence.adjustedP;
      fields[featureStatisticField('wd', feature)] = evidence.wasserstein;
      fields[featureStatisticField('psi', feature)] = evidence.psi;
    }
  }
  if (label) {
    fields.label_out_of_range_share = label.outOfRangeShare;
    fields.label_ks = label.ks;
    fields.label_p = label.pValue;
  }
  if (performance) {
    fields.error_ratio = performance.errorRatio;
    fields.live_mean_error = performance.liveMeanErrorMm;
    fields.reference_mean_error = performance.referenceMeanErrorMm;
    fields.performance_p = performance.pValue;
  }
  for (const [name, value] of Object.entries(fields)) if (!Number.isFinite(value)) delete fields[name];
  return fields;
}
