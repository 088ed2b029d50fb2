/**
 * Grafana's alert rule on the drift monitor's verdicts (generated in grafana/src/alerting.ts): per deployment,
 * model and serving version, the last `drift` of the `drift_check` series in the window. The API recognises its
 * alerts by `alertName` and asks for the retrain with the monitor's own dedupe key (driftDedupeKey), so the
 * monitor and Grafana never ask twice for one drift.
 */
export const DRIFT_MONITOR_ALERT = {
  /** Grafana's `alertname` label: the notification policy routes on it, the webhook recognises it. */
  alertName: 'DriftMonitorVerdict',
  /** The last check in this window decides; a few checks at the default interval (60 s). */
  windowMinutes: 10,
  /** Fires at the first evaluation that sees the verdict: the monitor already decided, nothing to wait for. */
  pendingMinutes: 0,
} as const;

/** The labels each alert instance carries, from the series' tags (the rule groups by them). */
export const DRIFT_MONITOR_ALERT_LABELS = ['deployment', 'model', 'model_version'] as const;

/**
 * Grafana's alert rule on suspect lasers: per deployment and model, the last `sensor_fault` of the `drift_check` series
 * in the window (1 when the check left suspect rovers out). The webhook records its alerts as annotations of the
 * deployment and never asks for a retrain: a sensor fault is not the world changing.
 */
export const SENSOR_FAULT_ALERT = {
  alertName: 'SensorFault',
  windowMinutes: 10,
  pendingMinutes: 0,
} as const;

export const SENSOR_FAULT_ALERT_LABELS = ['deployment', 'model'] as const;
