import { z } from 'zod';

/**
 * Sensor health (core/sensors/sensorHealth.ts): is each rover's laser still the ground truth? Judged per rover of a
 * deployment before its drift check; a suspect rover's frames leave the drift check, training sets and rollout evidence.
 */
export const sensorHealthConfigSchema = z.object({
  /** A rover with fewer frames in the window than this is `insufficient-data` (40: 10 s at 4 frames/s). */
  minFrames: z.number().int().min(10).default(40),
  /** Significance level of the per-rover tests (dropouts, peers): a check judges every rover every minute. */
  alpha: z.number().gt(0).lt(0.5).default(0.0001),
  /** A suspect rover whose readings have been healthy this long is cleared by itself. */
  healthyMinutesToClear: z
    .number()
    .positive()
    .max(7 * 24 * 60)
    .default(10),
  /** Invalid readings (error codes, out of range; core/sensors/laserSpec.ts): at least this many... */
  minInvalidReadings: z.number().int().min(1).default(3),
  /** ...and at least this share of the rover's frames (a healthy laser sends none). */
  minInvalidShare: z.number().gt(0).max(1).default(0.02),
  /** A healthy laser drops this share of its readings (edge/laser.ts: 2%)... */
  healthyDropoutRate: z.number().min(0).lt(1).default(0.02),
  /** ...dropouts flag when significantly more (binomial test, `alpha`) and at least this share. */
  minDropoutShare: z.number().gt(0).max(1).default(0.1),
  /** Stuck: at least this many consecutive identical readings (at the sensor's maximum: nothing in range, not stuck)... */
  stuckMinRun: z.number().int().min(3).default(12),
  /** ...while the predictions over them span at least this much (mm): the rover moved. */
  stuckMinPredictionRangeMm: z.number().min(0).default(30),
  /** A spike: a reading this far (mm) from both neighbours, which agree with each other... */
  spikeMinMm: z.number().positive().default(100),
  /** ...and at least this share of the neighbours' distance. */
  spikeMinFraction: z.number().positive().default(0.25),
  /** Spikes flag when at least this many and at least `minSpikeShare` of the readings. */
  minSpikes: z.number().int().min(1).default(3),
  minSpikeShare: z.number().gt(0).max(1).default(0.02),
  /** Peers: a rover's frame is compared with the `peerNeighbours` nearest frames of the other rovers... */
  peerNeighbours: z.number().int().min(1).max(50).default(5),
  /** ...of the same model version, a prediction within max(`peerPredictionToleranceMm`, 10%)... */
  peerPredictionToleranceMm: z.number().positive().default(15),
  /** ...and image characteristics within this RMS distance (in the deployment's robust standard deviations). */
  peerMaxFeatureDistance: z.number().positive().default(1),
  /** Fewer matched frames than this: the rover is not compared with its peers. */
  peerMinMatchedFrames: z.number().int().min(5).default(30),
  /** Disagreement: significant (sign test, `alpha`) and a median shift of the laser minus the prediction of at least this (mm)... */
  peerMinShiftMm: z.number().min(0).default(5),
  /** ...or a mean |laser - prediction| at least this many times the peers' on the matched frames (and `peerMinShiftMm` above it). */
  peerMinErrorRatio: z.number().min(1).default(1.5),
  /** Peers "agree with the model" unless their mean error is this many times the version's test error and... */
  peersMaxErrorRatio: z.number().min(1).default(1.5),
  /** ...this many mm above it (the performance check's thresholds): otherwise the deployment drifted and nobody is judged by peers. */
  peersMaxErrorIncreaseMm: z.number().min(0).default(3),
});

export type SensorHealthConfig = z.infer<typeof sensorHealthConfigSchema>;
export type SensorHealthConfigInput = z.input<typeof sensorHealthConfigSchema>;

/**
 * How the drift monitor watches one model's deployments: on by default for every model with a training config.
 * Served and changed through the admin API (`PUT /models/:name/monitor` changes the fields it gives, `DELETE` goes
 * back to the defaults); every field has a default, so `{}` is a valid config and a partial one fills in the rest.
 * No threshold names a floor: each compares a window with the serving version's own reference profile.
 */
export const monitorConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** How often the schedule checks every deployment of the model. */
    intervalSeconds: z.number().int().min(5).max(86_400).default(60),
    /** The window: frames of the serving version from the last `windowMinutes`, at most the newest `windowMaxFrames`. */
    windowMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60)
      .default(5),
    /** 32 rovers x 4 frames/s x 5 minutes. */
    windowMaxFrames: z.number().int().min(10).max(1_000_000).default(38_400),
    /** Fewer frames (or labelled frames, for label and performance) than this: `insufficient-data`. */
    minFrames: z.number().int().min(10).default(200),
    /** Significance level of every test; per feature it applies to the Benjamini-Hochberg adjusted p-value. */
    alpha: z.number().gt(0).lt(0.5).default(0.001),
    covariate: z
      .object({
        /** A feature drifts when significant, its Wasserstein distance is at least this many reference std. */
        minWasserstein: z.number().min(0).default(0.5),
        /** ...and at least this share of the window lies outside the reference's central 99% (where training had 1%). */
        minOutsideShare: z.number().gt(0).max(1).default(0.1),
        /** The deployment drifts when at least this share of the tested features drift. */
        minDriftedShare: z.number().gt(0).max(1).default(0.2),
        /**
         * Covariate drift alone asks for a retrain only when the window's labelled error cannot judge the version
         * (fewer than `minFrames` errors); when it can and holds, the verdict is `harmless-drift`. True: ask anyway.
         */
        retrainWhenErrorHolds: z.boolean().default(false),
      })
      .prefault({}),
    label: z
      .object({
        /** Share of laser readings outside the reference's label range that is label shift by itself. */
        maxOutOfRangeShare: z.number().gt(0).max(1).default(0.05),
        /** Or: significant and a Wasserstein distance of at least this many reference std. */
        minWasserstein: z.number().min(0).default(0.5),
      })
      .prefault({}),
    performance: z
      .object({
        /** Live mean error at least this many times the version's test error... */
        minErrorRatio: z.number().min(1).default(1.5),
        /** ...and at least this many millimetres above it (a tiny test error does not make noise drift). */
        minErrorIncreaseMm: z.number().min(0).default(3),
      })
      .prefault({}),
    /**
     * Asking again for a drift whose retrain registered nothing (core/drift/rearm.ts): once the deployment has sent as
     * many new labelled frames as that retrain's dataset had from it (times `newFramesRatio`), or once a back-off has
     * passed that doubles with each re-ask, up to `maxPerDay` re-asks per model in any 24 hours (0: never again).
     */
    rearm: z
      .object({
        maxPerDay: z.number().int().min(0).max(96).default(3),
        newFramesRatio: z.number().gt(0).max(100).default(1),
        backoffMinutes: z
          .number()
          .positive()
          .max(7 * 24 * 60)
          .default(60),
        maxBackoffMinutes: z
          .number()
          .positive()
          .max(7 * 24 * 60)
          .default(24 * 60),
      })
      .prefault({}),
    /** Sensor health: see sensorHealthConfigSchema. */
    sensors: sensorHealthConfigSchema.prefault({}),
  })
  .strict();

export type MonitorConfig = z.infer<typeof monitorConfigSchema>;
export type MonitorConfigInput = z.input<typeof monitorConfigSchema>;

export const DEFAULT_MONITOR_CONFIG: MonitorConfig = monitorConfigSchema.parse({});

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A change of some fields over the stored config (null: the defaults), nested groups (`covariate`, ...) field by
 * field: the merged config is to be validated whole with `monitorConfigSchema`. A change that is not an object is
 * returned as it is (and fails validation).
 */
export function mergeMonitorConfig(stored: MonitorConfig | null, change: unknown): unknown {
  if (!isPlainObject(change)) return change;
  const merged: Record<string, unknown> = { ...(stored ?? DEFAULT_MONITOR_CONFIG) };
  for (const [key, value] of Object.entries(change))
    merged[key] = isPlainObject(value) && isPlainObject(merged[key]) ? { ...merged[key], ...value } : value;
  return merged;
}
