import { z } from 'zod';

/**
 * How a deployment takes up a newly registered version of its model.
 * - `direct`: the new version serves every rover at once (what every deployment does today).
 * - `shadow`: the candidate predicts on the same frames while the current version answers.
 * - `canary`: a share of the deployment's rovers (sticky per client) gets the candidate.
 * Only `direct` changes what /predict serves so far; the Rollout workflow that acts on the others comes next.
 */
export const DEPLOYMENT_STRATEGIES = ['direct', 'shadow', 'canary'] as const;
export const deploymentStrategySchema = z.enum(DEPLOYMENT_STRATEGIES);
export type DeploymentStrategy = z.infer<typeof deploymentStrategySchema>;

/** How long a rollout stage watches the candidate at least before it may decide. */
const stageSchema = (defaults: { minFrames: number; minMinutes: number }) =>
  z
    .object({
      /** Labelled frames (with a laser reading) the candidate must have answered or shadowed. */
      minFrames: z.number().int().min(10).max(1_000_000).default(defaults.minFrames),
      /** Wall-clock minutes the stage lasts at least, whatever the frame count. */
      minMinutes: z
        .number()
        .min(0)
        .max(7 * 24 * 60)
        .default(defaults.minMinutes),
    })
    .strict()
    .prefault({});

/**
 * The settings a rollout of a deployment follows: the share of rovers in the canary stage and, per stage,
 * how much evidence it gathers before the laser error of the candidate is compared with the current
 * version's at significance level `alpha`. Stored on the deployment (null: these defaults); every field has
 * a default, so `{}` is a valid policy. A shadow rollout passes through the canary stage too.
 */
export const rolloutPolicySchema = z
  .object({
    /** Share of the deployment's rovers that get the candidate in the canary stage: above 0, below 1. */
    canaryShare: z.number().gt(0).lt(1).default(0.1),
    shadow: stageSchema({ minFrames: 200, minMinutes: 5 }),
    canary: stageSchema({ minFrames: 200, minMinutes: 10 }),
    /** Significance level of the test that decides promotion or rollback from the laser errors. */
    alpha: z.number().gt(0).lt(0.5).default(0.01),
  })
  .strict();

export type RolloutPolicy = z.infer<typeof rolloutPolicySchema>;
export type RolloutPolicyInput = z.input<typeof rolloutPolicySchema>;

export const DEFAULT_ROLLOUT_POLICY: RolloutPolicy = rolloutPolicySchema.parse({});

/** The policy a deployment follows: its stored one, or the defaults. */
export const effectiveRolloutPolicy = (stored: RolloutPolicy | null): RolloutPolicy => stored ?? DEFAULT_ROLLOUT_POLICY;
