import { describe, expect, it } from 'vitest';
import { pTick, pValue } from '../../console/src/format.js';
import { evidenceLine, heatCells } from '../../console/src/evidence.js';

import type { DriftCheckRow, FeatureEvidence, StageCheck } from '../../console/src/wire.js';

const feature = (adjustedP: number, drifted = false): FeatureEvidence => ({
  ks: 0.1,
  pValue: adjustedP / 2,
  adjustedP,
  wasserstein: 0.7,
  psi: 0.2,
  outsideShare: 0.05,
  drifted,
});

const check = (time: string, features: Record<string, FeatureEvidence> | null): DriftCheckRow => ({
  time,
  deployment: 'yard',
  modelName: 'distance',
  modelVersion: 1,
  verdict: features ? 'no-drift' : 'insufficient-data',
  kinds: [],
  summary: '',
  windowFrames: 300,
  windowStart: null,
  windowEnd: null,
  covariate: features ? { testedFeatures: 2, driftedFeatures: [], driftedShare: 0, features, drifted: false } : null,
  label: null,
  performance: null,
  retrain: { asked: false, reason: 'no drift found: nothing to retrain' },
});

describe('the drift page', () => {
  it('lays the heat map out oldest check first, leaves out checks that tested nothing, and draws p = 0 at the floor', () => {
    // Checks come newest first.
    const checks = [
      check('2026-01-01T00:03:00Z', { hsv_s: feature(0, true), r_mean: feature(0.5) }),
      check('2026-01-01T00:02:00Z', null),
      check('2026-01-01T00:01:00Z', { hsv_s: feature(0.2), r_mean: feature(0.9) }),
    ];
    const { columns, cells } = heatCells(checks, 'adjustedP');
    expect(columns.map((c) => c.time)).toEqual(['2026-01-01T00:01:00Z', '2026-01-01T00:03:00Z']);
    expect(cells.map((c) => [c.column, c.feature, c.value, c.drifted])).toEqual([
      [0, 'hsv_s', 0.2, false],
      [0, 'r_mean', 0.9, false],
      [1, 'hsv_s', 1e-16, true],
      [1, 'r_mean', 0.5, false],
    ]);
    expect(heatCells(checks, 'wasserstein').cells.every((c) => c.value === 0.7)).toBe(true);
  });

  it('writes p-values as people read them', () => {
    expect([0.5, 0.0123, 0.00042, 3.2e-274, 0].map(pValue)).toEqual(['0.50', '0.0123', '4.2e-4', '3.2e-274', '< 1e-300']);
    expect([1, 0.01, 1e-8].map(pTick)).toEqual(['1', '0.01', '1e-8']);
  });
});

describe('the rollouts page', () => {
  it('gives a stage’s evidence in one line: frames, pairs, both errors, both p-values', () => {
    const look: StageCheck = {
      stage: 'shadow',
      at: '2026-01-01T00:00:00Z',
      frames: 212,
      answeredByCandidate: 0,
      comparison: {
        pairs: 198,
        meanErrorCurrent: 41.2,
        meanErrorCandidate: 7.9,
        meanDifference: -33.3,
        statistic: 10,
        pCandidateBetter: 1.2e-30,
        pCandidateWorse: 1,
      },
      verdict: 'wait',
      reason: '198 of 200 paired frames',
    };
    expect(evidenceLine(look)).toBe(
      '212 frames, 198 paired, 0 answered by the candidate; error 41.2 mm current vs 7.9 mm candidate; p(better) = 1.2e-30, p(worse) = 1.00',
    );
  });

  it('adds the stop band to the line when the look judged it', () => {
    const comparison = { pairs: 40, meanErrorCurrent: 60, meanErrorCandidate: 250, meanDifference: 190, statistic: 820 };
    const look: StageCheck = {
      stage: 'shadow',
      at: '2026-01-01T00:00:00Z',
      frames: 160,
      answeredByCandidate: 0,
      comparison: { ...comparison, pairs: 160, meanErrorCurrent: 165, meanErrorCandidate: 70, pCandidateBetter: 1e-10, pCandidateWorse: 1 },
      verdict: 'roll-back',
      reason: 'worse than the current version in the stop band',
      stopBand: { ...comparison, pCandidateBetter: 1, pCandidateWorse: 1.8e-8 },
    };
    expect(evidenceLine(look)).toMatch(
      /; stop band \(<= 100 mm\): 40 paired, error 60.0 mm current vs 250.0 mm candidate, p\(worse\) = 1.8e-8$/,
    );
  });
});
