import { z } from 'zod';

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
