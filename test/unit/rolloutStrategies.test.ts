import { describe, expect, it } from 'vitest';
import { banditCandidateRovers, banditRng, banditStartRovers, summarizeDifferences, BANDIT_MIN_PAIRS } from '../../core/rollout/bandit.js';
import { canaryClientsOf, firstRanked } from '../../core/rollout/canaryClients.js';
import { DEFAULT_ROLLOUT_POLICY, effectiveRolloutPolicy, rolloutPolicySchema } from '../../core/rollout/rolloutPolicy.js';
import { createRng } from '../../core/random.js';

describe('the ab and bandit policy groups', () => {
  it('default to half the rovers for four hours (ab) and a tenth as the floor (bandit), and are checked', () => {
    expect(DEFAULT_ROLLOUT_POLICY.ab).toEqual({ share: 0.5, minFrames: 1000, minutes: 240 });
    expect(DEFAULT_ROLLOUT_POLICY.bandit).toEqual({ floorShare: 0.1, minFrames: 200, minMinutes: 10, maxMinutes: 240 });
    expect(rolloutPolicySchema.safeParse({ ab: { share: 1 } }).success).toBe(false);
    expect(rolloutPolicySchema.safeParse({ bandit: { floorShare: 0.6 } }).success).toBe(false);
    expect(rolloutPolicySchema.safeParse({ bandit: { minMinutes: 30, maxMinutes: 10 } }).success).toBe(false);
  });

  it('fills in the new groups of a policy stored before them', () => {
    const { ab: _ab, bandit: _bandit, ...stored } = { ...DEFAULT_ROLLOUT_POLICY, canaryShare: 0.3 };
    const effective = effectiveRolloutPolicy(stored as typeof DEFAULT_ROLLOUT_POLICY);
    expect(effective).toMatchObject({ canaryShare: 0.3, ab: DEFAULT_ROLLOUT_POLICY.ab, bandit: DEFAULT_ROLLOUT_POLICY.bandit });
  });
});

describe('firstRanked', () => {
  const rovers = Array.from({ length: 10 }, (_, i) => `rover-${i}`);
  it("is the canary's order: growing or shrinking the count moves only the rovers at the end", () => {
    expect(firstRanked(rovers, 3, 'fleet', 2)).toEqual(canaryClientsOf(rovers, 0.3, 'fleet', 2));
    const four = firstRanked(rovers, 4, 'fleet', 2);
    const six = firstRanked(rovers, 6, 'fleet', 2);
    expect(four.every((id) => six.includes(id))).toBe(true);
  });
});

describe('banditCandidateRovers (Thompson sampling on the paired laser errors)', () => {
  const better = summarizeDifferences(
    Array.from({ length: 200 }, (_, i) => 50 + (i % 7)),
    Array.from({ length: 200 }, (_, i) => 5 + (i % 5)),
  );
  const worse = summarizeDifferences(
    Array(200).fill(5),
    Array(200)
      .fill(0)
      .map((_, i) => 40 + (i % 9)),
  );
  const unclear = summarizeDifferences(
    Array.from({ length: 400 }, (_, i) => 10 + (i % 11)),
    Array.from({ length: 400 }, (_, i) => 10 + ((i * 7) % 11)),
  );

  it('summarizes the differences candidate - current', () => {
    expect(summarizeDifferences([1, 2, 3], [2, 2, 5])).toEqual({ pairs: 3, meanDifference: 1, sdDifference: 1 });
    expect(summarizeDifferences([], [])).toEqual({ pairs: 0, meanDifference: null, sdDifference: null });
    expect(summarizeDifferences([1], [3])).toEqual({ pairs: 1, meanDifference: 2, sdDifference: null });
  });

  it('moves every rover but the floor to a clearly better candidate, and away from a clearly worse one', () => {
    expect(banditCandidateRovers(better, 10, 5, 0.1, createRng(1))).toBe(9);
    expect(banditCandidateRovers(worse, 10, 5, 0.1, createRng(1))).toBe(1);
    expect(banditCandidateRovers(better, 20, 10, 0.25, createRng(1))).toBe(15);
    expect(banditCandidateRovers(worse, 20, 10, 0.25, createRng(1))).toBe(5);
  });

  it('splits the rovers about evenly while the versions cannot be told apart, and draws the same for the same seed', () => {
    const counts = Array.from({ length: 200 }, (_, seed) => banditCandidateRovers(unclear, 40, 20, 0.1, createRng(seed)));
    const mean = counts.reduce((a, b) => a + b) / counts.length;
    expect(mean).toBeGreaterThan(12);
    expect(mean).toBeLessThan(28);
    expect(banditCandidateRovers(unclear, 40, 20, 0.1, banditRng('rollout-x', 1234))).toBe(
      banditCandidateRovers(unclear, 40, 20, 0.1, banditRng('rollout-x', 1234)),
    );
  });

  it('keeps the assignment with too few pairs, and never gives a single rover to the candidate', () => {
    const few = summarizeDifferences(Array(BANDIT_MIN_PAIRS - 1).fill(50), Array(BANDIT_MIN_PAIRS - 1).fill(1));
    expect(banditCandidateRovers(few, 10, 3, 0.1, createRng(1))).toBe(3);
    expect(banditCandidateRovers(better, 1, 0, 0.1, createRng(1))).toBe(0);
    expect(banditStartRovers(1)).toBe(0);
    expect(banditStartRovers(7)).toBe(3);
    // Each version keeps at least one of two or three rovers, whatever the floor share.
    expect(banditCandidateRovers(better, 2, 1, 0.5, createRng(1))).toBe(1);
    expect(banditCandidateRovers(better, 3, 1, 0.5, createRng(1))).toBe(2);
  });
});
