import { z } from 'zod';

/**
 * How a deployment takes up a newly registered version of its model.
 * - `direct`: the new version serves every rover at once (what every deployment does today).
 * - `shadow`: the candidate predicts on the same frames while the current version answers.
 * - `canary`: a share of the deployment's rovers (sticky per client) gets the candidate.
 * - `ab`: a fixed share of the rovers (half by default) gets the candidate for a longer stage, tested at its end.
 * - `bandit`: Thompson sampling on the paired laser errors moves rovers toward the better version at each look.
 */
export const DEPLOYMENT_STRATEGIES = ['direct', 'shadow', 'canary', 'ab', 'bandit'] as const;
export const deploymentStrategySchema = z.enum(DEPLOYMENT_STRATEGIES);
export type DeploymentStrategy = z.infer<typeof deploymentStrategySchema>;

const minutes = z
  .number()
  .min(0)
  .max(7 * 24 * 60);

/** How long a rollout stage watches the candidate: at least before it may promote, at most before it gives up. */
const stageSchema = (defaults: { minFrames: number; minMinutes: number; maxMinutes: number }) =>
  z
    .object({
      /** Frames both versions predicted, with a laser reading, before the stage may decide. */
      minFrames: z.number().int().min(10).max(1_000_000).default(defaults.minFrames),
      /** Wall-clock minutes the stage lasts at least before it may advance, whatever the frame count. */
      minMinutes: minutes.default(defaults.minMinutes),
      /** Past this, a candidate not shown better than the current version is rolled back. */
      maxMinutes: minutes.gt(0).default(defaults.maxMinutes),
    })
    .strict()
    .refine((stage) => stage.maxMinutes >= stage.minMinutes, { message: 'maxMinutes must be at least minMinutes' })
    .prefault({});

/**
 * The settings a rollout of a deployment follows: the share of rovers in the canary stage and, per stage,
 * how much evidence it gathers before the laser error of the candidate is compared with the current
 * version's at significance level `alpha`. Stored on the deployment (null: these defaults); every field has
 * a default, so `{}` is a valid policy. A shadow rollout passes through the canary stage too.
 */
export const rolloutPolicySchema = z
  .object({
    /**
     * Share of the deployment's rovers that get the candidate in the canary stage: above 0, below 1. The canary holds
     * floor(share x rovers), but at least one rover when the deployment has two or more (canaryClients.ts).
     */
    canaryShare: z.number().gt(0).lt(1).default(0.1),
    shadow: stageSchema({ minFrames: 200, minMinutes: 5, maxMinutes: 60 }),
    canary: stageSchema({ minFrames: 200, minMinutes: 10, maxMinutes: 120 }),
    /** Significance level of the test that decides promotion or rollback from the laser errors. */
    alpha: z.number().gt(0).lt(0.5).default(0.01),
    /** How often a stage looks at the evidence. */
    checkSeconds: z.number().int().min(1).max(3600).default(30),
    /**
     * The `ab` strategy's one stage: `share` of the rovers get the candidate for `minutes`, then the paired test decides
     * (promoted if significantly better, else rolled back); before the end it only rolls back, when significantly worse.
     */
    ab: z
      .object({
        share: z.number().gt(0).lt(1).default(0.5),
        minFrames: z.number().int().min(10).max(1_000_000).default(1000),
        minutes: minutes.gt(0).default(240),
      })
      .strict()
      .prefault({}),
    /**
     * The `bandit` strategy's one stage: each look draws, per rover, the candidate's and the current version's mean laser
     * error from their posteriors (Thompson sampling) and gives the candidate as many rovers as draws it won, each
     * version keeping at least `floorShare` of them; it ends as a canary stage does (minFrames, minMinutes, maxMinutes).
     */
    bandit: z
      .object({
        floorShare: z.number().gt(0).max(0.5).default(0.1),
        minFrames: z.number().int().min(10).max(1_000_000).default(200),
        minMinutes: minutes.default(10),
        maxMinutes: minutes.gt(0).default(240),
      })
      .strict()
      .refine((stage) => stage.maxMinutes >= stage.minMinutes, { message: 'maxMinutes must be at least minMinutes' })
      .prefault({}),
  })
  .strict();

export type RolloutPolicy = z.infer<typeof rolloutPolicySchema>;
export type RolloutPolicyInput = z.input<typeof rolloutPolicySchema>;

export const DEFAULT_ROLLOUT_POLICY: RolloutPolicy = rolloutPolicySchema.parse({});

/** The policy a deployment follows: its stored one (with the defaults of groups added since it was stored), or the defaults. */
export const effectiveRolloutPolicy = (stored: RolloutPolicy | null): RolloutPolicy =>
  stored ? rolloutPolicySchema.parse(stored) : DEFAULT_ROLLOUT_POLICY;
