import { describe, expect, it } from 'vitest';
import { compareInStopBand, comparePaired } from '../../core/rollout/pairedTest.js';
import {
  bandMetrics,
  bandOf,
  deploymentMetrics,
  inStopBand,
  STOP_BAND_MIN_PAIRS,
  worseInStopBand,
  STOP_BAND_MIN_WORSENING_MM,
} from '../../core/training/distanceBands.js';

describe('distance bands', () => {
  it("puts each reading in the thesis's tiers, limits included in the nearer band", () => {
    expect([0, 20, 20.5, 100, 101, 350, 351, 2000].map(bandOf)).toEqual([
      '0_20',
      '0_20',
      '20_100',
      '20_100',
      '100_350',
      '100_350',
      'over_350',
      'over_350',
    ]);
    expect([20, 100, 100.1].map(inStopBand)).toEqual([true, true, false]);
  });

  it('gives the mean error and frame count of each band and of the stop band, no mean for an empty band', () => {
    const metrics = bandMetrics([10, 50, 90, 200, 300], [1, 4, 6, 10, 30]);
    expect(metrics).toEqual({
      test_frames_0_20: 1,
      test_mae_mm_0_20: 1,
      test_frames_20_100: 2,
      test_mae_mm_20_100: 5,
      test_frames_100_350: 2,
      test_mae_mm_100_350: 20,
      test_frames_over_350: 0,
      test_frames_stop: 3,
      test_mae_mm_stop: 11 / 3,
    });
    expect(() => bandMetrics([1], [])).toThrow(/1 readings for 0 errors/);
  });

  it('gives the mean error and frame count of each deployment, leaving out frames of no known deployment', () => {
    expect(deploymentMetrics(['b', 'a', 'b', null], [2, 5, 4, 100])).toEqual({
      test_frames_at_a: 1,
      test_mae_mm_at_a: 5,
      test_frames_at_b: 2,
      test_mae_mm_at_b: 3,
    });
    expect(() => deploymentMetrics(['a'], [])).toThrow(/1 deployments for 0 errors/);
  });

  it('compares two versions on the stop-band frames only', () => {
    // Far frames: the candidate is far better; stop-band frames: it is worse by 10 mm on each.
    const readings = [...Array(30).fill(50), ...Array(90).fill(300)];
    const current = [...Array(30).fill(5), ...Array(90).fill(100)];
    const candidate = [...Array(30).fill(15), ...Array(90).fill(10)];
    expect(comparePaired(current, candidate).meanDifference).toBeLessThan(0);
    const stop = compareInStopBand(readings, current, candidate);
    expect(stop).toMatchObject({ pairs: 30, meanErrorCurrent: 5, meanErrorCandidate: 15, meanDifference: 10 });
    expect(worseInStopBand(stop, 0.01)).toMatch(
      /^worse than the current version in the stop band \(laser <= 100 mm\): p = .* < 0.01 on 30 frames, mean error 15.0 mm against 5.0 mm$/,
    );
  });

  it('calls a candidate worse in the stop band only when significant, higher by at least the laser noise, on enough pairs', () => {
    const stop = (pairs: number, pCandidateWorse: number, meanDifference: number) => ({
      pairs,
      pCandidateWorse,
      meanDifference,
      meanErrorCurrent: 5,
      meanErrorCandidate: 5 + meanDifference,
    });
    expect(worseInStopBand(stop(STOP_BAND_MIN_PAIRS, 0.001, 3), 0.01)).not.toBeNull();
    expect(worseInStopBand(stop(STOP_BAND_MIN_PAIRS - 1, 1e-9, 3), 0.01)).toBeNull();
    expect(worseInStopBand(stop(100, 0.02, 3), 0.01)).toBeNull();
    expect(worseInStopBand(stop(100, 0.001, -1), 0.01)).toBeNull();
    // The thesis-scale demo's phase 2: 12 mm better on average, 0.7 mm worse near the wall (p = 0.00023 on 95 pairs).
    expect(worseInStopBand(stop(95, 0.00023, 0.7), 0.01)).toBeNull();
    expect(worseInStopBand(stop(95, 0.00023, STOP_BAND_MIN_WORSENING_MM), 0.01)).not.toBeNull();
  });
});
