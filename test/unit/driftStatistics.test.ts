import { describe, expect, it } from 'vitest';
import { kolmogorovSmirnovSf } from '../../core/drift/kolmogorovSmirnovDistribution.js';
import { createRng } from '../../core/random.js';
import {
  assertReferenceSketch,
  sketchCdf,
  sketchCdfBelow,
  sketchOf,
  sketchQuantile,
  type ReferenceSketch,
} from '../../core/drift/referenceSketch.js';
import {
  benjaminiHochberg,
  chiSquareSf,
  chiSquareTest,
  compareWithSketch,
  DriftStatisticsError,
  holmBonferroni,
  ksAgainstSketch,
  ksTwoSample,
  mannWhitneyGreater,
  mannWhitneyGreaterAgainstSketch,
  normalizedWasserstein,
  normalSf,
  psiAgainstSketch,
  wasserstein,
  wassersteinAgainstSketch,
} from '../../core/drift/statistics.js';

// Expected numbers come from scipy 1.17.1 / numpy 2.4.6 / statsmodels 0.14 (the call is next to each number),
// with `from scipy import stats, special; import numpy as np` and the samples below.

const A = [0.61, 1.23, -0.45, 2.05, 0.98, 1.47, 0.12, 1.88, 0.77, 1.02, -0.3, 1.65];
const B = [0.35, -0.82, 0.44, 0.09, -1.21, 0.73, 0.58, -0.15, 1.12, 0.27, -0.61, 0.91, 0.02, -0.37, 0.66];
/** Many ties within and between the samples. */
const T1 = [1, 2, 2, 3, 3, 3, 4, 5, 5, 6];
const T2 = [2, 3, 3, 4, 4, 4, 5, 6, 7, 7, 8];
/** Disjoint samples. */
const D1 = [1, 2, 3, 4, 5];
const D2 = [10, 11, 12, 13, 14, 15];
/** Larger samples, exact in binary on both sides: L1 = [((i*37) % 101)/10 for i in range(400)], L2 = [((j*53) % 97)/9.7 + 0.8 for j in range(300)]. */
const L1 = Array.from({ length: 400 }, (_, i) => ((i * 37) % 101) / 10);
const L2 = Array.from({ length: 300 }, (_, j) => ((j * 53) % 97) / 9.7 + 0.8);

function expectRelative(actual: number, expected: number, tolerance = 1e-9): void {
  if (expected === 0) {
    expect(Math.abs(actual)).toBeLessThanOrEqual(1e-300);
    return;
  }
  expect(Math.abs(actual - expected) / Math.abs(expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

function expectAllRelative(actual: number[], expected: number[], tolerance = 1e-12): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => expectRelative(value, expected[i], tolerance));
}

function gaussianSample(seed: number, n: number, mean = 0, sd = 1): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.gaussian(mean, sd));
}

describe('reference sketch', () => {
  it('holds n, min, max, mean, population std and numpy-linear quantiles', () => {
    const sketch = sketchOf(A, 5);
    expect(sketch.n).toBe(12);
    expect(sketch.min).toBe(-0.45);
    expect(sketch.max).toBe(2.05);
    expectRelative(sketch.mean, 0.9191666666666666, 1e-15); // np.mean(A)
    expectRelative(sketch.std, 0.778218674638148, 1e-14); // np.std(A)
    expectAllRelative(sketch.quantiles as number[], [-0.45, 0.4875, 1.0, 1.515, 2.05]); // np.quantile(A, np.linspace(0, 1, 5))

    const percentiles = sketchOf(A); // 101 quantiles by default
    expect(percentiles.quantiles).toHaveLength(101);
    // np.quantile(A, np.linspace(0, 1, 101))[[1, 37, 50, 99]]
    expectRelative(percentiles.quantiles[1], -0.4335, 1e-14);
    expectRelative(percentiles.quantiles[37], 0.7847000000000001, 1e-14);
    expectRelative(percentiles.quantiles[50], 1.0, 1e-14);
    expectRelative(percentiles.quantiles[99], 2.0313, 1e-14);
    // bit for bit, where numpy interpolates from the upper neighbour (t >= 0.5)
    expect([8, 16, 24, 63].map((i) => percentiles.quantiles[i])).toEqual([
      -0.318, 0.01920000000000001, 0.4335999999999999, 1.2152999999999998,
    ]);
  });

  it('survives JSON and rejects a sketch that is not one', () => {
    const sketch = sketchOf(B);
    const back = JSON.parse(JSON.stringify(sketch)) as ReferenceSketch;
    expect(back).toEqual(sketch);
    expect(() => assertReferenceSketch(back)).not.toThrow();
    expect(() => assertReferenceSketch({ ...back, quantiles: [1, 0.5, 2] })).toThrow(/below quantile/);
    expect(() => assertReferenceSketch({ ...back, n: 0 })).toThrow(DriftStatisticsError);
  });

  it('has a piecewise-linear CDF, 0 below min and 1 from max on', () => {
    const uniform = sketchOf([0, 1, 2, 3, 4], 5); // quantiles 0, 1, 2, 3, 4
    expect(sketchCdf(uniform, -1)).toBe(0);
    expect(sketchCdf(uniform, 0)).toBe(0);
    expect(sketchCdf(uniform, 2.5)).toBe(0.625);
    expect(sketchCdf(uniform, 4)).toBe(1);
    expect(sketchCdf(uniform, 1e9)).toBe(1);
    expect(sketchQuantile(uniform, 0.625)).toBe(2.5);
  });

  it('keeps a point mass where quantiles tie', () => {
    const tied = sketchOf([1, 1, 1, 2, 3], 5); // quantiles 1, 1, 1, 2, 3: half the mass at 1
    expect(tied.quantiles).toEqual([1, 1, 1, 2, 3]);
    expect(sketchCdfBelow(tied, 1)).toBe(0);
    expect(sketchCdf(tied, 1)).toBe(0.5);
    expect(sketchCdf(tied, 1.5)).toBe(0.625);
    expect(sketchCdfBelow(tied, 1.5)).toBe(0.625);
  });

  it('of one value is that value everywhere', () => {
    const single = sketchOf([7.5]);
    expect(single).toMatchObject({ n: 1, min: 7.5, max: 7.5, mean: 7.5, std: 0 });
    expect(new Set(single.quantiles)).toEqual(new Set([7.5]));
    expect(sketchCdf(single, 7.4)).toBe(0);
    expect(sketchCdf(single, 7.5)).toBe(1);
  });

  it('refuses empty and non-finite samples with a code', () => {
    expect(() => sketchOf([])).toThrow(expect.objectContaining({ code: 'empty_sample' }));
    expect(() => sketchOf([1, Number.NaN])).toThrow(expect.objectContaining({ code: 'non_finite_value' }));
    expect(() => sketchOf([1, 2], 1)).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

describe('Kolmogorov-Smirnov distribution', () => {
  // stats.kstwo.sf(d, n), one point per method scipy's _kolmogn picks.
  const points: [n: number, d: number, sf: number, method: string][] = [
    [5, 0.15, 0.9988, 'Ruben-Gambino, n*d <= 1'],
    [10, 0.95, 1.9531250000000172e-13, 'Ruben-Gambino, n*d >= n-1'],
    [3, 0.5, 0.3333333333333333, 'd >= 0.5: twice the one-sided tail'],
    [20, 0.6, 2.0483011649719853e-7, 'd >= 0.5: twice the one-sided tail'],
    [50, 0.1, 0.6623112704658186, 'Durbin matrix'],
    [50, 0.2, 0.03143877776953241, 'Pomeranz'],
    [100, 0.25, 5.408871776434847e-6, 'one-sided tail, n <= 140'],
    [141, 0.05, 0.854845693009663, 'Pelz-Good'],
    [1000, 0.06, 0.001428597887952891, 'one-sided tail, n > 140'],
    [1000, 0.01, 0.9999496745370611, 'Durbin matrix, n > 140'],
    [1000, 0.03, 0.3226902143914636, 'Pelz-Good'],
    [100000, 0.0045, 0.034739868616438185, 'Pelz-Good'],
    [5000, 0.3, 0, 'n*d^2 >= 370'],
  ];
  it.each(points)('kstwo.sf at n=%i, d=%f is %f (%s)', (n, d, sf) => {
    expectRelative(kolmogorovSmirnovSf(d, n), sf, 1e-9);
  });
});

describe('ksTwoSample (scipy.stats.ks_2samp)', () => {
  it.each([
    // stats.ks_2samp(a, b, method=m)
    ['A, B', A, B, 'exact', 0.5333333333333333, 0.029668899772547632],
    ['A, B', A, B, 'asymp', 0.5333333333333334, 0.02187942781282285],
    ['ties', T1, T2, 'exact', 0.32727272727272727, 0.5237868426722917],
    ['ties', T1, T2, 'asymp', 0.32727272727272727, 0.5564249337166489],
    ['disjoint', D1, D2, 'exact', 1, 0.004329004329004329],
    ['disjoint', D1, D2, 'asymp', 1, 0],
    ['L1, L2', L1, L2, 'exact', 0.08666666666666667, 0.1447362977574377],
    ['L1, L2', L1, L2, 'asymp', 0.08666666666666668, 0.14444722840002522],
    ['equal sizes', A.slice(0, 10), B.slice(0, 10), 'exact', 0.6, 0.05244755244755244],
    // effective size 5*5/10 = 2.5, which np.round takes to 2 (half to even)
    ['five each', T1.slice(0, 5), T2.slice(0, 5), 'asymp', 0.4, 0.82],
  ] as const)('%s, %s', (_name, a, b, method, statistic, pValue) => {
    const result = ksTwoSample(a, b, { method });
    expectRelative(result.statistic, statistic, 1e-12);
    expectRelative(result.pValue, pValue, 1e-9);
    expect(result.method).toBe(method);
  });

  it("chooses exact by default up to 10,000 values, as scipy's 'auto'", () => {
    // stats.ks_2samp(A, B).pvalue
    expect(ksTwoSample(A, B)).toMatchObject({ method: 'exact' });
    expectRelative(ksTwoSample(A, B).pValue, 0.029668899772547632);
  });

  it('gives 0 and p = 1 for identical samples', () => {
    expect(ksTwoSample(A, A, { method: 'exact' })).toMatchObject({ statistic: 0, pValue: 1 });
    expect(ksTwoSample(A, A, { method: 'asymp' })).toMatchObject({ statistic: 0, pValue: 1 });
  });

  it('takes a sample of one value', () => {
    // stats.ks_2samp([0.5], [0.1, 0.7, 0.9], method='exact') and method='asymp'
    const exact = ksTwoSample([0.5], [0.1, 0.7, 0.9], { method: 'exact' });
    expectRelative(exact.statistic, 0.6666666666666666, 1e-15);
    expect(exact.pValue).toBe(1);
    expectRelative(ksTwoSample([0.5], [0.1, 0.7, 0.9], { method: 'asymp' }).pValue, 0.6666666666666665, 1e-12);
    // One value each: scipy's effective size rounds to 0 (p NaN); here it is 1.
    expect(ksTwoSample([1], [2], { method: 'asymp' })).toMatchObject({ statistic: 1, pValue: 0 });
  });

  it('refuses an empty sample', () => {
    expect(() => ksTwoSample([], A)).toThrow(expect.objectContaining({ code: 'empty_sample' }));
  });
});

describe('ksAgainstSketch', () => {
  it("has kstest's statistic against the sketch's CDF and ks_2samp's asymptotic p-value at n*m/(n+m)", () => {
    // q = np.quantile(A, np.linspace(0, 1, 5)); d = stats.kstest(B, lambda x: np.interp(x, q, np.linspace(0, 1, 5))).statistic
    // stats.kstwo.sf(d, round(15*12/27))
    const small = ksAgainstSketch(B, sketchOf(A, 5));
    expectRelative(small.statistic, 0.49837398373983743, 1e-12);
    expect(small.effectiveN).toBe(7);
    expectRelative(small.pValue, 0.03941797474992159);
    // same with L2's 101 percentiles against L1; effective n np.round(400*300/700) = 171
    const large = ksAgainstSketch(L1, sketchOf(L2));
    expectRelative(large.statistic, 0.08540000000000003, 1e-12);
    expect(large.effectiveN).toBe(171);
    expectRelative(large.pValue, 0.1557666872211244);
  });

  it('is 1 with p near 0 for a window entirely outside the reference range', () => {
    const sketch = sketchOf(L2);
    expect(ksAgainstSketch([100, 101, 102], sketch).statistic).toBe(1);
    expect(ksAgainstSketch(Array(50).fill(-5), sketch)).toMatchObject({ statistic: 1, pValue: 0 });
  });

  it('sees a window stacked on a point mass of the reference', () => {
    const sketch = sketchOf([0, 0, 0, 0, 0, 0, 1, 2, 3, 4], 11);
    // Window all at 0: its CDF is 1 from 0 on, the sketch's is Pr(X <= 0) = 0.5 there.
    expect(ksAgainstSketch([0, 0, 0], sketch).statistic).toBe(0.5);
  });

  it('gives p-values close to the raw two-sample test when the sketch summarises 10,000 draws', () => {
    const reference = gaussianSample(1, 10_000);
    const sketch = sketchOf(reference);
    for (const [seed, shift] of [
      [2, 0],
      [3, 0.03],
      [4, 0.06],
      [5, 0.1],
      [6, 0.2],
    ]) {
      const window = gaussianSample(seed, 2_000, shift);
      const raw = ksTwoSample(window, reference, { method: 'asymp' });
      const viaSketch = ksAgainstSketch(window, sketch);
      // Measured: statistics within 0.0006, p-values within a factor 1.3 (0.27 vs 0.29, ..., 1.4e-12 vs 1.7e-12).
      expect(Math.abs(viaSketch.statistic - raw.statistic)).toBeLessThan(0.002);
      expect(Math.abs(Math.log10(viaSketch.pValue / raw.pValue))).toBeLessThan(0.15);
    }
  });
});

describe('sketch resolution on an integer-valued feature (counts such as keypoint_count)', () => {
  // Between tied integer quantiles the sketch spreads mass evenly, so its CDF is off by up to one quantile step
  // (1/(q-1)) at the integers. KS sees that once the effective size nears (q-1)^2; measured on Poisson(5) counts,
  // reference 100,000, window 38,400, no drift: D 0.0112 (p 1.8e-3) with 101 quantiles, 0.0058 (p 0.30) with
  // 1001, 0.0056 (p 0.36) on the raw samples.
  const poisson = (seed: number, n: number, mean: number): number[] => {
    const rng = createRng(seed);
    return Array.from({ length: n }, () => {
      let k = -1;
      for (let p = 1; p > Math.exp(-mean); p *= rng.next()) k++;
      return k;
    });
  };
  const reference = poisson(3, 100_000, 5);
  const window = poisson(4, 38_400, 5);
  const raw = ksTwoSample(window, reference, { method: 'asymp' });

  it('needs more than 101 quantiles for KS at this size', () => {
    expect(raw.pValue).toBeGreaterThan(0.2);
    expect(ksAgainstSketch(window, sketchOf(reference)).pValue).toBeLessThan(0.01);
    const fine = ksAgainstSketch(window, sketchOf(reference, 1001));
    expect(fine.pValue).toBeGreaterThan(0.2);
    expect(Math.abs(fine.statistic - raw.statistic)).toBeLessThan(0.0015);
  });
});

describe('Wasserstein distance', () => {
  it.each([
    // stats.wasserstein_distance(a, b)
    ['A, B', A, B, 0.7851666666666666],
    ['ties', T1, T2, 1.4181818181818184],
    ['disjoint', D1, D2, 9.5],
    ['L1, L2', L1, L2, 0.7313367697594506],
    ['one value', [0.5], [0.1, 0.7, 0.9], 0.33333333333333337],
  ] as const)('matches scipy.stats.wasserstein_distance on %s', (_name, a, b, expected) => {
    expectRelative(wasserstein(a, b), expected, 1e-12);
    expectRelative(wasserstein(b, a), expected, 1e-12);
  });

  it('is 0 for identical samples', () => {
    expect(wasserstein(A, A)).toBe(0);
  });

  it('against a sketch integrates |Q_window - Q_sketch| exactly', () => {
    const uniform = sketchOf([0, 1, 2, 3, 4], 5); // uniform on [0, 4]: Q(p) = 4p
    // By hand: window [1, 3] has Q = 1 on (0, 1/2] and 3 on (1/2, 1]; each half gives 1/8 + 1/8.
    expectRelative(wassersteinAgainstSketch([1, 3], uniform), 0.5, 1e-15);
    // A window at 2: integral of |2 - 4p| = 1.
    expectRelative(wassersteinAgainstSketch([2], uniform), 1, 1e-15);
    // Crossing inside one segment: sketch [0, 4] with two quantiles, window at 1: 1/8 + 9/8.
    expectRelative(wassersteinAgainstSketch([1], sketchOf([0, 4], 2)), 1.25, 1e-15);
    // Outside the range: 10 - mean.
    expectRelative(wassersteinAgainstSketch([10, 10], uniform), 8, 1e-15);
    // q = np.quantile(L2, np.linspace(0, 1, 101)); grid = np.interp((np.arange(2e6) + 0.5)/2e6, np.linspace(0, 1, 101), q)
    // stats.wasserstein_distance(L1, grid)
    expectRelative(wassersteinAgainstSketch(L1, sketchOf(L2)), 0.7273505154639179, 1e-6);
  });

  it('normalised by the reference std reads as a shift in standard deviations', () => {
    const reference = gaussianSample(7, 10_000, 50, 4);
    const sketch = sketchOf(reference);
    const shifted = reference.map((v) => v + 2);
    expect(normalizedWasserstein(wassersteinAgainstSketch(shifted, sketch), sketch)).toBeCloseTo(0.5, 2);
    const constant = sketchOf([3, 3, 3]);
    expect(normalizedWasserstein(0, constant)).toBe(0);
    expect(normalizedWasserstein(1, constant)).toBe(Infinity);
  });
});

describe('psiAgainstSketch', () => {
  const deciles = sketchOf(Array.from({ length: 1001 }, (_, i) => i)); // 0..1000: deciles at 100, 200, ..., 900

  it('matches the hand-computed value on decile bins with an empty bin', () => {
    // Bins (-inf,100], (100,200], ..., (900,inf), right-closed: shares 0.2, 0.1 x 8, 0 (floored to 1e-4).
    const window = [5, 50, 99, 100, 150, 200, 201, 300, 350, 400, 450, 500, 550, 600, 650, 700, 750, 800, 850, 900];
    // PSI = (0.2 - 0.1) ln 2 + (1e-4 - 0.1) ln(1e-4 / 0.1)
    const byHand = 0.1 * Math.log(2) + (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
    expectRelative(psiAgainstSketch(window, deciles), byHand, 1e-12);
    expect(byHand).toBeCloseTo(0.7593995, 6);
  });

  it('is 0 for a window spread as the reference', () => {
    expect(psiAgainstSketch([50, 150, 250, 350, 450, 550, 650, 750, 850, 950], deciles)).toBeCloseTo(0, 12);
  });

  it('merges decile edges at a point mass and weighs bins by the sketch', () => {
    // Quantiles at p = 0, 0.1, ..., 1: half the mass at 0, edges 0, 1, 2, 3, 4.
    const pointMass: ReferenceSketch = { n: 11, min: 0, max: 5, mean: 1.36, std: 1.7, quantiles: [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5] };
    expect(psiAgainstSketch([0, 0, 0, 0, 0, 1, 2, 3, 4, 5], pointMass)).toBeCloseTo(0, 12);
    // Shares 0.8, 0, 0, 0, 0.1, 0.1 against 0.5, 0.1 x 5: 0.3 ln 1.6 + 3 (1e-4 - 0.1) ln(1e-3)
    const byHand = 0.3 * Math.log(1.6) + 3 * (1e-4 - 0.1) * Math.log(1e-3);
    expectRelative(psiAgainstSketch([0, 0, 0, 0, 0, 0, 0, 0, 4, 5], pointMass), byHand, 1e-12);
  });

  it('stays finite for a window outside the reference range', () => {
    // All in the last bin: 0.9 empty bins at 1e-4 and one bin at 1 against 0.1.
    const byHand = 9 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1) + 0.9 * Math.log(10);
    expectRelative(psiAgainstSketch([5000, 6000], deciles), byHand, 1e-12);
  });
});

describe('chiSquareTest (scipy.stats.chisquare)', () => {
  const proportions = [0.2, 0.25, 0.25, 0.2, 0.1];
  it('matches scipy with expected counts from proportions', () => {
    // obs = [18, 25, 31, 16, 10]; stats.chisquare(obs, np.array(proportions) * sum(obs))
    const result = chiSquareTest([18, 25, 31, 16, 10], proportions);
    expectRelative(result.statistic, 2.44, 1e-13);
    expectRelative(result.pValue, 0.6554109705713118, 1e-12);
    expect(result.degreesOfFreedom).toBe(4);
    // ..., ddof=1
    expectRelative(chiSquareTest([18, 25, 31, 16, 10], proportions, { ddof: 1 }).pValue, 0.4862320712166073, 1e-12);
    // obs = [400, 100, 50, 30, 20]
    const far = chiSquareTest([400, 100, 50, 30, 20], proportions);
    expectRelative(far.statistic, 830.8333333333333, 1e-13);
    expectRelative(far.pValue, 1.6082815485789064e-178, 1e-9);
  });

  it('is infinite with p 0 when a bin expected empty is not, and refuses bad input', () => {
    expect(chiSquareTest([5, 5, 1], [0.5, 0.5, 0])).toMatchObject({ statistic: Infinity, pValue: 0 });
    expect(chiSquareTest([5, 5, 0], [0.5, 0.5, 0]).statistic).toBe(0);
    expect(() => chiSquareTest([1, 2], [0.5, 0.6])).toThrow(/sum to/);
    expect(() => chiSquareTest([0, 0], [0.5, 0.5])).toThrow(expect.objectContaining({ code: 'empty_sample' }));
    expect(() => chiSquareTest([1, 2, 3], [0.5, 0.5])).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('uses the chi-square and normal tails far out', () => {
    expectRelative(chiSquareSf(3.5, 4), 0.477878344488724, 1e-13); // stats.chi2.sf(3.5, 4)
    expectRelative(chiSquareSf(250, 3), 6.543750030967994e-54, 1e-12); // stats.chi2.sf(250, 3)
    expectRelative(normalSf(1.5), 0.06680720126885807, 1e-14); // stats.norm.sf(1.5)
    expectRelative(normalSf(9), 1.1285884059538324e-19, 1e-13); // stats.norm.sf(9.0)
    expectRelative(normalSf(-2), 0.9772498680518208, 1e-15); // stats.norm.sf(-2.0)
  });
});

describe("mannWhitneyGreater (scipy.stats.mannwhitneyu(x, y, alternative='greater', method='asymptotic'))", () => {
  it.each([
    ['A, B', A, B, 141, 0.006866975484090444],
    ['B, A', B, A, 39, 0.9940135608054771],
    ['ties', T1, T2, 32, 0.9532032600574254],
    ['ties reversed', T2, T1, 78, 0.054204149990732545],
    ['disjoint', D1, D2, 0, 0.9976718713764371],
    ['disjoint reversed', D2, D1, 30, 0.00405655863278289],
    ['L1, L2', L1, L2, 51561, 0.9992826977395696],
    ['L2, L1', L2, L1, 68439, 0.0007182396806950299],
  ] as const)('%s', (_name, x, y, u, pValue) => {
    const result = mannWhitneyGreater(x, y);
    expect(result.statistic).toBe(u);
    expectRelative(result.pValue, pValue, 1e-12);
  });

  it('is 1 when every value ties', () => {
    expect(mannWhitneyGreater([2, 2], [2, 2, 2]).pValue).toBe(1);
  });

  it('against a sketch of the test errors answers as against the errors themselves', () => {
    const testErrors = gaussianSample(11, 3_000, 6, 2).map(Math.abs);
    const sketch = sketchOf(testErrors);
    for (const [seed, shift] of [
      [12, 0],
      [13, 0.1],
      [14, 0.3],
    ]) {
      const live = gaussianSample(seed, 500, 6 + shift, 2).map(Math.abs);
      const raw = mannWhitneyGreater(live, testErrors);
      const viaSketch = mannWhitneyGreaterAgainstSketch(live, sketch);
      expect(Math.abs(viaSketch.z - raw.z)).toBeLessThan(0.05);
    }
    const worse = gaussianSample(15, 500, 9, 2).map(Math.abs);
    expect(mannWhitneyGreaterAgainstSketch(worse, sketch).pValue).toBeLessThan(1e-10);
  });
});

describe('multiple-testing corrections', () => {
  const p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.5, 0.0001];
  it("Benjamini-Hochberg matches scipy's false_discovery_control and statsmodels' fdr_bh", () => {
    // stats.false_discovery_control(p, method='bh')
    expectAllRelative(
      benjaminiHochberg(p),
      [0.026666666666666665, 0.05333333333333333, 0.05333333333333333, 0.02, 0.22857142857142856, 0.05333333333333333, 0.5, 0.0008],
    );
  });

  it("Holm-Bonferroni matches statsmodels' multipletests(p, method='holm')", () => {
    expectAllRelative(holmBonferroni(p), [0.06, 0.16, 0.15, 0.035, 0.4, 0.16, 0.5, 0.0008]);
    expect(holmBonferroni([0.5, 0.9])).toEqual([1, 1]);
  });

  it('takes no p-values and refuses values outside [0, 1]', () => {
    expect(benjaminiHochberg([])).toEqual([]);
    expect(holmBonferroni([])).toEqual([]);
    expect(() => benjaminiHochberg([0.1, Number.NaN])).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

describe('compareWithSketch', () => {
  it('agrees with the separate statistics', () => {
    const sketch = sketchOf(L2);
    const drift = compareWithSketch(L1, sketch);
    expect(drift.n).toBe(400);
    expect(drift.ks).toEqual(ksAgainstSketch(L1, sketch));
    expect(drift.wasserstein).toBe(wassersteinAgainstSketch(L1, sketch));
    expect(drift.normalizedWasserstein).toBe(wassersteinAgainstSketch(L1, sketch) / sketch.std);
    expect(drift.psi).toBe(psiAgainstSketch(L1, sketch));
  });

  it('refuses an empty window', () => {
    expect(() => compareWithSketch([], sketchOf(L2))).toThrow(expect.objectContaining({ code: 'empty_sample' }));
  });
});
