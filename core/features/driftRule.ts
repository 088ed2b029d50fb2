import type { ImageCharacteristicField } from './fields.js';

/**
 * The thesis's drift alert (docs/EXPERIMENT.md, with its limits): the 5-minute mean of HSV saturation per deployment,
 * normal inside 40..60 on the beige floor, firing when outside the band for 1 minute.
 * Grafana's alert rule is generated from this, and the demo's simulated alert takes its name from here.
 */
export interface DriftRule {
  /** Grafana's `alertname` label; the notification policy routes on it. */
  readonly alertName: string;
  readonly field: ImageCharacteristicField;
  readonly windowMinutes: number;
  /** Means strictly below `min` or above `max` are drift (Grafana's `outside_range`). */
  readonly band: { readonly min: number; readonly max: number };
  /** How long the mean stays outside the band before the alert fires. */
  readonly pendingMinutes: number;
}

export const DRIFT_RULE: DriftRule = {
  alertName: 'SaturationDrift',
  field: 'hsv_s',
  windowMinutes: 5,
  band: { min: 40, max: 60 },
  pendingMinutes: 1,
};

export const DRIFT_RULE_SUMMARY = `${DRIFT_RULE.windowMinutes}-minute mean of ${DRIFT_RULE.field} left the ${DRIFT_RULE.band.min}..${DRIFT_RULE.band.max} band`;

export function isOutsideBand(mean: number, rule: DriftRule = DRIFT_RULE): boolean {
  return mean < rule.band.min || mean > rule.band.max;
}
