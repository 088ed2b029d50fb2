import { createRng, type Rng } from '../random.js';
import { fnv1a } from './canaryClients.js';

/** The paired laser errors a bandit look learns from: the difference candidate - current (mm), per frame both versions predicted. */
export interface DifferenceSummary {
  pairs: number;
  meanDifference: number | null;
  /** Sample standard deviation of the differences; null with fewer than two pairs. */
  sdDifference: number | null;
}

/** Pairs a look needs before the bandit moves rovers: fewer keep the assignment as it is. */
export const BANDIT_MIN_PAIRS = 10;

/**
 * How many of `rovers` the candidate answers after a look (Thompson sampling, one draw per rover): for each rover, the
 * mean difference of the laser errors is drawn from its posterior, Normal(mean, sd / sqrt(pairs)) (flat prior, the
 * sample's spread standing for the known variance), and the rover goes to the candidate when the draw says it errs
 * less. Each version keeps at least `floorShare` of the rovers (at least one each, from two rovers up) so the other
 * is still watched; a single rover is never the candidate's (as in a canary). `previous` stays with too few pairs.
 */
export function banditCandidateRovers(summary: DifferenceSummary, rovers: number, previous: number, floorShare: number, rng: Rng): number {
  if (rovers < 2) return 0;
  const floor = floorRovers(rovers, floorShare);
  const clamp = (n: number) => Math.min(rovers - floor, Math.max(floor, n));
  const { pairs, meanDifference, sdDifference } = summary;
  if (pairs < BANDIT_MIN_PAIRS || meanDifference === null || sdDifference === null) return clamp(previous);
  const standardError = sdDifference / Math.sqrt(pairs);
  let won = 0;
  for (let i = 0; i < rovers; i++) if (rng.gaussian(meanDifference, standardError) < 0) won++;
  return clamp(won);
}

/** The mean and sample standard deviation of candidate - current over paired laser errors. */
export function summarizeDifferences(current: ArrayLike<number>, candidate: ArrayLike<number>): DifferenceSummary {
  const n = Math.min(current.length, candidate.length);
  if (n === 0) return { pairs: 0, meanDifference: null, sdDifference: null };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += candidate[i] - current[i];
  const mean = sum / n;
  if (n < 2) return { pairs: n, meanDifference: mean, sdDifference: null };
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (candidate[i] - current[i] - mean) ** 2;
  return { pairs: n, meanDifference: mean, sdDifference: Math.sqrt(squares / (n - 1)) };
}

/** The fewest rovers each version keeps in a bandit stage of `rovers` (two or more): floorShare of them, at least one, at most half. */
const floorRovers = (rovers: number, floorShare: number) =>
  Math.min(Math.floor(rovers / 2), Math.max(1, Math.ceil(floorShare * rovers - 1e-9)));

/** Where a bandit starts before it has evidence: half the rovers, rounded down (none of a single rover). */
export const banditStartRovers = (rovers: number) => (rovers < 2 ? 0 : Math.floor(rovers / 2));

/** The draws of one look: seeded by the rollout's workflow and the look's time, so a replay draws the same. */
export const banditRng = (workflowId: string, lookAt: number) => createRng(fnv1a(`${workflowId}/${lookAt}`));
