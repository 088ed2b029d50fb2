import { describe, expect, it } from 'vitest';
import { canaryClientsOf } from '../../core/rollout/canaryClients.js';
import { comparePaired } from '../../core/rollout/pairedTest.js';
import { DEFAULT_ROLLOUT_POLICY, rolloutPolicySchema } from '../../core/rollout/rolloutPolicy.js';
import { canaryAnswersNeeded, judgeStage } from '../../core/rollout/stageVerdict.js';

// Expected numbers from scipy 1.17.1: stats.wilcoxon(candidate, current, zero_method='wilcox', correction=False,
// method='approx', alternative='less' | 'greater'), on these samples (integers: ties and zero differences).
const current = [
  18, 0, 12, 8, 8, 9, 2, 9, 7, 23, 11, 9, 9, 7, 6, 8, 12, 9, 14, 9, 10, 16, 12, 8, 9, 12, 18, 9, 9, 14, 6, 9, 14, 12, 10, 13, 1, 14, 6, 3,
];
const candidate = [
  18, 1, 9, 4, 7, 8, 5, 10, 6, 25, 9, 5, 10, 8, 4, 4, 11, 0, 15, 9, 4, 15, 8, 9, 2, 8, 19, 11, 1, 11, 6, 6, 18, 7, 10, 9, 4, 13, 4, 3,
];

describe('comparePaired (scipy.stats.wilcoxon)', () => {
  it('matches scipy on paired errors with ties and zero differences, both ways', () => {
    const c = comparePaired(current, candidate);
    expect(c.statistic).toBe(150);
    expect(c.pCandidateBetter).toBeCloseTo(0.0032282681137419554, 12);
    expect(c.pCandidateWorse).toBeCloseTo(0.996771731886258, 12);
    expect(c.pairs).toBe(40);
    expect(c.meanDifference).toBeCloseTo((candidate.reduce((a, b) => a + b) - current.reduce((a, b) => a + b)) / 40, 12);
    // Swapping the versions swaps the one-sided p-values.
    const swapped = comparePaired(candidate, current);
    expect(swapped.pCandidateWorse).toBeCloseTo(c.pCandidateBetter, 12);
  });

  it('finds no difference without pairs or when both versions erred alike on every frame', () => {
    for (const c of [comparePaired([], []), comparePaired([3, 4, 5], [3, 4, 5])]) {
      expect(c.pCandidateBetter).toBe(1);
      expect(c.pCandidateWorse).toBe(1);
    }
    expect(comparePaired([], []).meanErrorCurrent).toBeNull();
    expect(() => comparePaired([1], [1, 2])).toThrow(/differ in length/);
  });
});

describe('judgeStage', () => {
  const stage = { minFrames: 200, minMinutes: 5, maxMinutes: 60 };
  const minutes = (m: number) => m * 60_000;
  /** Evidence whose mean difference agrees with the test's direction unless given. */
  const evidence = (pairs: number, pCandidateBetter: number, pCandidateWorse: number, labelled = pairs, answeredByCandidate = 0) => ({
    pairs,
    pCandidateBetter,
    pCandidateWorse,
    meanDifference: pCandidateBetter < pCandidateWorse ? -1 : 1,
    labelled,
    answeredByCandidate,
  });

  it('rolls back a worse candidate as soon as it has enough frames, before the minimum time', () => {
    expect(judgeStage(evidence(200, 0.99, 0.001), stage, 0.01, minutes(1)).verdict).toBe('roll-back');
    expect(judgeStage(evidence(199, 0.99, 1e-9), stage, 0.01, minutes(1)).verdict).toBe('wait');
  });

  it('says a better candidate waits for the stage’s minimum time, not that it found no difference', () => {
    // The console shows this reason beside p = 1e-9: "no significant difference yet" contradicted it.
    expect(judgeStage(evidence(200, 1e-9, 0.99), stage, 0.01, minutes(2))).toEqual({
      verdict: 'wait',
      reason: 'better than the current version (p = 1.0e-9 < 0.01), the stage runs 5 min at least: 2.0 so far',
    });
    expect(judgeStage(evidence(200, 0.2, 0.8), stage, 0.01, minutes(2)).reason).toBe('no significant difference yet');
  });

  it('rolls back a candidate that predicted on none of enough frames with a laser reading', () => {
    expect(judgeStage(evidence(0, 1, 1, 200), stage, 0.01, minutes(1))).toMatchObject({
      verdict: 'roll-back',
      reason: expect.stringMatching(/no prediction of the candidate on 200 frames/),
    });
    expect(judgeStage(evidence(0, 1, 1, 199), stage, 0.01, minutes(1)).verdict).toBe('wait');
  });

  it('advances a better candidate only after both the minimum frames and the minimum time', () => {
    expect(judgeStage(evidence(500, 1e-9, 1), stage, 0.01, minutes(4.9)).verdict).toBe('wait');
    expect(judgeStage(evidence(199, 1e-9, 1), stage, 0.01, minutes(10)).verdict).toBe('wait');
    const advance = judgeStage(evidence(200, 0.009, 0.99), stage, 0.01, minutes(5));
    expect(advance).toMatchObject({ verdict: 'advance', reason: expect.stringMatching(/better.*p = 0.0090 < 0.01/) });
  });

  it("advances a canary only once the candidate has answered its rovers' share of the frames", () => {
    const needed = canaryAnswersNeeded(200, 2, 8);
    expect(needed).toBe(50);
    expect(canaryAnswersNeeded(200, 0, 8)).toBe(0);
    expect(judgeStage(evidence(400, 1e-9, 1, 400, 49), stage, 0.01, minutes(6), needed)).toMatchObject({
      verdict: 'wait',
      reason: 'the candidate answered 49 of 50 frames',
    });
    expect(judgeStage(evidence(400, 1e-9, 1, 400, 50), stage, 0.01, minutes(6), needed).verdict).toBe('advance');
    // A worse candidate goes back whatever it answered.
    expect(judgeStage(evidence(400, 1, 1e-9, 400, 0), stage, 0.01, minutes(6), needed).verdict).toBe('roll-back');
  });

  it('promotes or rolls back only when the mean error agrees with the signed-rank test', () => {
    // The bench's barely trained candidate: better on most frames (p = 0.0067) but 0.3 mm worse on average.
    const better = { ...evidence(300, 0.0067, 0.99), meanDifference: 0.3 };
    expect(judgeStage(better, stage, 0.01, minutes(6))).toMatchObject({
      verdict: 'wait',
      reason: 'better on most frames, but its mean error is 0.30 mm higher',
    });
    expect(judgeStage(better, stage, 0.01, minutes(60)).verdict).toBe('roll-back');
    const worse = { ...evidence(300, 0.99, 0.001), meanDifference: -0.5 };
    expect(judgeStage(worse, stage, 0.01, minutes(6)).verdict).toBe('wait');
  });

  it('rolls back a candidate better on average but significantly worse in the stop band, and never advances it', () => {
    const better = evidence(400, 1e-9, 1);
    const stopBand = { pairs: 60, pCandidateWorse: 1e-9, meanDifference: 40, meanErrorCurrent: 10, meanErrorCandidate: 50 };
    for (const elapsed of [minutes(1), minutes(6)]) {
      expect(judgeStage({ ...better, stopBand }, stage, 0.01, elapsed)).toEqual({
        verdict: 'roll-back',
        reason:
          'worse than the current version in the stop band (laser <= 100 mm): p = 1.0e-9 < 0.01 on 60 frames, mean error 50.0 mm against 10.0 mm, though better on average (mean error 1.00 mm lower)',
      });
    }
    // Not significant in the stop band, or too few stop-band frames, or not enough frames in all: the usual verdict.
    expect(judgeStage({ ...better, stopBand: { ...stopBand, pCandidateWorse: 0.2 } }, stage, 0.01, minutes(6)).verdict).toBe('advance');
    expect(judgeStage({ ...better, stopBand: { ...stopBand, pairs: 19 } }, stage, 0.01, minutes(6)).verdict).toBe('advance');
    expect(judgeStage({ ...evidence(199, 1e-9, 1), stopBand }, stage, 0.01, minutes(6)).verdict).toBe('wait');
    // Worse on average too: the overall reason.
    expect(judgeStage({ ...evidence(400, 1, 1e-9), stopBand }, stage, 0.01, minutes(1)).reason).toMatch(
      /^worse than the current version: p/,
    );
  });

  it('rolls back at the maximum time a candidate not shown better, or without enough frames', () => {
    expect(judgeStage(evidence(5000, 0.2, 0.8), stage, 0.01, minutes(59)).verdict).toBe('wait');
    expect(judgeStage(evidence(5000, 0.2, 0.8), stage, 0.01, minutes(60))).toMatchObject({
      verdict: 'roll-back',
      reason: expect.stringMatching(/not shown better/),
    });
    expect(judgeStage(evidence(20, 1e-9, 1), stage, 0.01, minutes(60)).reason).toMatch(/only 20 of 200 paired frames/);
  });
});

describe('rolloutPolicySchema', () => {
  it('fills every default and refuses a stage whose maximum is below its minimum', () => {
    expect(rolloutPolicySchema.parse({})).toEqual(DEFAULT_ROLLOUT_POLICY);
    expect(DEFAULT_ROLLOUT_POLICY).toMatchObject({ canaryShare: 0.1, alpha: 0.01, checkSeconds: 30, shadow: { maxMinutes: 60 } });
    const bad = rolloutPolicySchema.safeParse({ canary: { minMinutes: 30, maxMinutes: 10 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['canary'], message: expect.stringMatching(/maxMinutes/) });
  });
});

describe('canaryClientsOf', () => {
  const rovers = Array.from({ length: 40 }, (_, i) => `rover-${i}`);

  it('picks floor(share x rovers), but at least one rover of two or more, and never the only rover', () => {
    expect(canaryClientsOf(rovers, 0.1, 'd', 2)).toHaveLength(4);
    expect(canaryClientsOf(rovers, 0.11, 'd', 2)).toHaveLength(4);
    // Below 1/share rovers the share rounds down to none: the canary still holds one, so the candidate answers a rover.
    expect(canaryClientsOf(rovers.slice(0, 9), 0.1, 'd', 2)).toHaveLength(1);
    expect(canaryClientsOf(rovers.slice(0, 2), 0.05, 'd', 2)).toHaveLength(1);
    expect(canaryClientsOf(rovers.slice(0, 2), 0.5, 'd', 2)).toHaveLength(1);
    expect(canaryClientsOf(rovers.slice(0, 1), 0.5, 'd', 2)).toEqual([]);
    expect(canaryClientsOf([], 0.5, 'd', 2)).toEqual([]);
  });

  it('is the same pick for the same rollout whatever the order, and another for another candidate', () => {
    const pick = canaryClientsOf(rovers, 0.25, 'd', 2);
    expect(canaryClientsOf([...rovers].reverse(), 0.25, 'd', 2)).toEqual(pick);
    expect(canaryClientsOf(rovers, 0.25, 'd', 3)).not.toEqual(pick);
    expect(canaryClientsOf(rovers, 0.25, 'e', 2)).not.toEqual(pick);
  });
});
