/**
 * Two-sample statistics for drift monitoring: a live window of raw values against another sample or against a
 * training feature's `ReferenceSketch`. Pure functions, no I/O and no Node built-ins, so workflow code may call them.
 * Each one named after a scipy function reproduces it (the unit tests hold scipy's numbers). Every function
 * takes its samples unsorted and sorts a copy once (O(n log n)), then walks it with the other sample or with the
 * sketch's q quantiles (O(n + q)).
 * Empty samples and NaN or infinite values throw a `DriftStatisticsError` (code `empty_sample` or
 * `non_finite_value`): the caller decides what "no data" means (the monitor reports it as insufficient data).
 */
import erfc from '@stdlib/math-base-special-erfc';
import gammainc from '@stdlib/math-base-special-gammainc';
import { kolmogorovSmirnovSf } from './kolmogorovSmirnovDistribution.js';
import { sketchCdf, sketchProbabilities, type ReferenceSketch } from './referenceSketch.js';
import { DriftStatisticsError, sortedSample } from './statisticsError.js';

export { DriftStatisticsError } from './statisticsError.js';
export { kolmogorovSmirnovSf } from './kolmogorovSmirnovDistribution.js';

export interface TestResult {
  readonly statistic: number;
  readonly pValue: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Distributions (the special functions are @stdlib's ports of Boost and Cephes, see docs/ARCHITECTURE.md's dependency table).

/** Pr(Z > z) for a standard normal Z, accurate in the far tail (scipy's `special.ndtr(-z)`). */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Pr(X > x) for X chi-square with `df` degrees of freedom: the regularized upper incomplete gamma Q(df/2, x/2). */
export function chiSquareSf(x: number, df: number): number {
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return gammainc(x / 2, df / 2, true, true);
}

// ---------------------------------------------------------------------------------------------------------------
// Kolmogorov-Smirnov

export type KsMethod = 'auto' | 'exact' | 'asymp';

export interface KsResult extends TestResult {
  /** How the p-value was computed; 'auto' and a failed 'exact' end up as one of these, as in scipy. */
  readonly method: 'exact' | 'asymp';
}

/**
 * scipy.stats.ks_2samp(a, b), two-sided. 'auto' (scipy's default) is exact when both samples have at most 10,000
 * values. 'asymp' is kstwo.sf(D, round(n*m/(n+m))) as in scipy; for n = m = 1 that rounds to 0, where scipy
 * answers NaN, so the effective size is at least 1 here. 'exact' reports D as h/lcm(n, m), as scipy does.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, options: { method?: KsMethod } = {}): KsResult {
  const x = sortedSample(a, 'the first sample');
  const y = sortedSample(b, 'the second sample');
  const n1 = x.length;
  const n2 = y.length;
  const d = ksStatisticOfSorted(x, y);
  const method = options.method ?? 'auto';
  const g = gcd(n1, n2);
  const tryExact = method === 'exact' ? n1 / g < 2147483647 / (n2 / g) : method === 'auto' && Math.max(n1, n2) <= 10_000;
  if (tryExact) {
    const exact = exactKsPValue(n1, n2, g, d);
    if (exact) return { ...exact, method: 'exact' };
  }
  return { statistic: d, pValue: kolmogorovSmirnovSf(d, effectiveSize(n1, n2)), method: 'asymp' };
}

export interface KsAgainstSketchResult extends TestResult {
  /** round(n*m/(n+m)) with n the window size and m the sketch's `n`: the size the p-value is computed at. */
  readonly effectiveN: number;
}

/**
 * Kolmogorov-Smirnov distance between the window's empirical CDF and the sketch's piecewise-linear CDF
 * (scipy.stats.kstest(window, sketch CDF) gives the same statistic), with the p-value of ks_2samp's 'asymp'
 * method at the effective size n*m/(n+m), m = sketch.n: the sketch stands in for the reference sample it came from.
 */
export function ksAgainstSketch(window: ArrayLike<number>, sketch: ReferenceSketch): KsAgainstSketchResult {
  return ksOfSortedAgainstSketch(sortedSample(window, 'the window'), sketch);
}

/**
 * Walks the sorted window and the quantiles together (O(n + q)): at each distinct window value v the gaps are
 * F_window(v) - F_sketch(v) and F_sketch(v-) - F_window(v-), which bound the gap between window values too.
 */
function ksOfSortedAgainstSketch(x: Float64Array, sketch: ReferenceSketch): KsAgainstSketchResult {
  const q = sketch.quantiles;
  const count = q.length;
  const p = sketchProbabilities(count);
  const n = x.length;
  let d = 0;
  let j = -1; // last quantile <= the current value
  for (let i = 0; i < n;) {
    const value = x[i];
    const below = i;
    while (i < n && x[i] === value) i++;
    while (j + 1 < count && q[j + 1] <= value) j++;
    let atMost: number;
    let under: number;
    if (j < 0) {
      atMost = under = 0;
    } else if (q[j] === value) {
      atMost = p[j];
      let first = j;
      while (first > 0 && q[first - 1] === value) first--;
      under = p[first];
    } else {
      atMost = under = j === count - 1 ? 1 : p[j] + ((value - q[j]) / (q[j + 1] - q[j])) * (p[j + 1] - p[j]);
    }
    d = Math.max(d, i / n - atMost, under - below / n);
  }
  const effectiveN = effectiveSize(n, sketch.n);
  return { statistic: d, pValue: kolmogorovSmirnovSf(d, effectiveN), effectiveN };
}

function ksStatisticOfSorted(x: Float64Array, y: Float64Array): number {
  const n1 = x.length;
  const n2 = y.length;
  let i = 0;
  let j = 0;
  let largest = 0;
  let smallest = 0;
  while (i < n1 || j < n2) {
    const value = j >= n2 || (i < n1 && x[i] <= y[j]) ? x[i] : y[j];
    while (i < n1 && x[i] === value) i++;
    while (j < n2 && y[j] === value) j++;
    const diff = i / n1 - j / n2;
    largest = Math.max(largest, diff);
    smallest = Math.min(smallest, diff);
  }
  return Math.max(largest, Math.min(-smallest, 1));
}

/** scipy's effective size: np.round(n*m/(n+m)) (half to even), at least 1. */
export function effectiveSize(n: number, m: number): number {
  return Math.max(1, roundHalfEven((n * m) / (n + m)));
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Exact two-sided p-value of the two-sample statistic: the share of lattice paths from (0,0) to (n1,n2) that leave
 * the band |x/n1 - y/n2| < h/lcm. scipy's `_attempt_exact_2kssamp`: Hodges (1958) by reflection for n1 = n2, and
 * for n1 != n2 the "inside" recursion computing 1 - p directly (Viehmann 2021, arXiv:2102.08037).
 * Undefined (NaN, out of [0, 1]) results fall back to the asymptotic p-value, as in scipy.
 */
function exactKsPValue(n1: number, n2: number, g: number, d: number): TestResult | undefined {
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1 };
  const p = n1 === n2 ? probabilityOutsideSquare(n1, h) : probabilityOutsideBand(n1, n2, g, h);
  if (!(p >= 0 && p <= 1)) return undefined;
  return { statistic, pValue: p };
}

function probabilityOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

function probabilityOutsideBand(n1: number, n2: number, g: number, h: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const A = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let value = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      value = (A[jj + minj - lastminj] * i + value * j) / (i + j);
      A[jj] = value;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1];
}

// ---------------------------------------------------------------------------------------------------------------
// Wasserstein-1

/** scipy.stats.wasserstein_distance(a, b): the area between the two empirical CDFs. */
export function wasserstein(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = sortedSample(a, 'the first sample');
  const y = sortedSample(b, 'the second sample');
  const n1 = x.length;
  const n2 = y.length;
  let i = 0;
  let j = 0;
  let area = 0;
  let value = Math.min(x[0], y[0]);
  while (i < n1 || j < n2) {
    while (i < n1 && x[i] === value) i++;
    while (j < n2 && y[j] === value) j++;
    if (i === n1 && j === n2) break;
    const next = j >= n2 || (i < n1 && x[i] <= y[j]) ? x[i] : y[j];
    area += Math.abs(i / n1 - j / n2) * (next - value);
    value = next;
  }
  return area;
}

/**
 * Wasserstein-1 distance between the window's empirical distribution and the sketch's distribution, as the
 * integral over p of |Q_window(p) - Q_sketch(p)|: the window's quantile function is a step function, the sketch's
 * is linear between its quantiles, so each piece integrates exactly.
 */
export function wassersteinAgainstSketch(window: ArrayLike<number>, sketch: ReferenceSketch): number {
  return wassersteinOfSortedAgainstSketch(sortedSample(window, 'the window'), sketch);
}

function wassersteinOfSortedAgainstSketch(x: Float64Array, sketch: ReferenceSketch): number {
  const q = sketch.quantiles;
  const count = q.length;
  const p = sketchProbabilities(count);
  const n = x.length;
  let i = 0;
  let k = 0;
  let from = 0;
  let area = 0;
  while (i < n && k < count - 1) {
    const windowEnd = i === n - 1 ? 1 : (i + 1) / n;
    const sketchEnd = p[k + 1];
    const to = Math.min(windowEnd, sketchEnd);
    if (to > from) {
      const slope = (q[k + 1] - q[k]) / (sketchEnd - p[k]);
      const u = q[k] + slope * (from - p[k]) - x[i];
      const v = q[k] + slope * (to - p[k]) - x[i];
      const width = to - from;
      // Integral of |linear| from u to v over `width`: a trapezoid, or two triangles where it crosses zero.
      area += u >= 0 === v >= 0 ? (width * Math.abs(u + v)) / 2 : (width * (u * u + v * v)) / (2 * (Math.abs(u) + Math.abs(v)));
      from = to;
    }
    if (windowEnd <= sketchEnd) i++;
    if (sketchEnd <= windowEnd) k++;
  }
  return area;
}

/**
 * The distance in units of the reference's standard deviation. The std rather than the IQR: for a shift of the
 * whole distribution W1 is the shift, so this reads as an effect size in standard deviations (Evidently's
 * "Wasserstein distance (normed)" uses the same normalisation and a default threshold of 0.1), and it stays
 * defined for features whose middle half is one value (counts such as keypoints), where the IQR is 0.
 * A constant reference (std 0) gives 0 for a window at that value and Infinity otherwise.
 */
export function normalizedWasserstein(distance: number, sketch: ReferenceSketch): number {
  if (sketch.std > 0) return distance / sketch.std;
  return distance === 0 ? 0 : Infinity;
}

// ---------------------------------------------------------------------------------------------------------------
// Population stability index

export interface PsiOptions {
  /** Number of bins cut at the reference's quantiles (10: deciles). */
  readonly bins?: number;
  /** Floor for a bin's share, so an empty bin contributes a large but finite term (Evidently and most PSI tools use 1e-4). */
  readonly epsilon?: number;
}

/**
 * PSI = sum over bins of (a - e) ln(a / e), a and e the window's and the reference's share of each bin, both
 * floored at `epsilon` (not renormalised). Bins are right-closed, cut at the reference's deciles: (-inf, q10],
 * (q10, q20], ..., (q90, +inf). Edges that tie (a reference with a point mass) are merged, and each bin's
 * reference share is the sketch's own mass in it (0.1 per decile when no quantiles tie).
 * Usual reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
 */
export function psiAgainstSketch(window: ArrayLike<number>, sketch: ReferenceSketch, options: PsiOptions = {}): number {
  return psiOfSortedAgainstSketch(sortedSample(window, 'the window'), sketch, options);
}

function psiOfSortedAgainstSketch(x: Float64Array, sketch: ReferenceSketch, options: PsiOptions): number {
  const bins = options.bins ?? 10;
  const epsilon = options.epsilon ?? 1e-4;
  if (!Number.isInteger(bins) || bins < 2) throw new DriftStatisticsError('invalid_argument', `PSI needs at least 2 bins, got ${bins}`);
  if (!(epsilon > 0 && epsilon < 1)) throw new DriftStatisticsError('invalid_argument', `PSI's epsilon must be in (0, 1), got ${epsilon}`);
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const edge = quantileAtFraction(sketch, b, bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  edges.push(Infinity);

  const n = x.length;
  let psi = 0;
  let referenceBelow = 0;
  let windowBelow = 0;
  let i = 0;
  for (const edge of edges) {
    while (i < n && x[i] <= edge) i++;
    const referenceAtMost = edge === Infinity ? 1 : sketchCdf(sketch, edge);
    const expected = Math.max(referenceAtMost - referenceBelow, epsilon);
    const actual = Math.max((i - windowBelow) / n, epsilon);
    psi += (actual - expected) * Math.log(actual / expected);
    referenceBelow = referenceAtMost;
    windowBelow = i;
  }
  return psi;
}

/** The sketch's quantile at p = b / bins, exact when that p is one of the stored quantiles. */
function quantileAtFraction(sketch: ReferenceSketch, b: number, bins: number): number {
  const q = sketch.quantiles;
  const position = (b * (q.length - 1)) / bins;
  const below = Math.floor(position);
  if (position === below) return q[below];
  return q[below] + (q[below + 1] - q[below]) * (position - below);
}

// ---------------------------------------------------------------------------------------------------------------
// Chi-square goodness of fit

export interface ChiSquareResult extends TestResult {
  readonly degreesOfFreedom: number;
}

/**
 * scipy.stats.chisquare(observed, expectedProportions * sum(observed), ddof). Proportions must sum to 1 (within
 * 1e-6). A bin with expected share 0 adds nothing when it is empty and makes the statistic infinite (p = 0) when
 * it is not (scipy gives NaN for the empty case).
 */
export function chiSquareTest(
  observed: readonly number[],
  expectedProportions: readonly number[],
  options: { ddof?: number } = {},
): ChiSquareResult {
  const k = observed.length;
  if (k !== expectedProportions.length) {
    throw new DriftStatisticsError(
      'invalid_argument',
      `observed has ${k} bins but the expected proportions have ${expectedProportions.length}`,
    );
  }
  const degreesOfFreedom = k - 1 - (options.ddof ?? 0);
  if (degreesOfFreedom < 1)
    throw new DriftStatisticsError('invalid_argument', `chi-square needs at least 1 degree of freedom, got ${degreesOfFreedom}`);
  let total = 0;
  let proportionSum = 0;
  for (let i = 0; i < k; i++) {
    if (!(observed[i] >= 0 && Number.isFinite(observed[i])))
      throw new DriftStatisticsError('non_finite_value', `observed count ${i} is ${observed[i]}`);
    if (!(expectedProportions[i] >= 0 && Number.isFinite(expectedProportions[i]))) {
      throw new DriftStatisticsError('non_finite_value', `expected proportion ${i} is ${expectedProportions[i]}`);
    }
    total += observed[i];
    proportionSum += expectedProportions[i];
  }
  if (total === 0) throw new DriftStatisticsError('empty_sample', 'every observed count is 0');
  if (Math.abs(proportionSum - 1) > 1e-6)
    throw new DriftStatisticsError('invalid_argument', `expected proportions sum to ${proportionSum}, not 1`);
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const expected = expectedProportions[i] * total;
    if (expected === 0) statistic += observed[i] === 0 ? 0 : Infinity;
    else statistic += (observed[i] - expected) ** 2 / expected;
  }
  return { statistic, pValue: chiSquareSf(statistic, degreesOfFreedom), degreesOfFreedom };
}

// ---------------------------------------------------------------------------------------------------------------
// Mann-Whitney U

export interface MannWhitneyResult extends TestResult {
  /** U of the first sample; the p-value is Pr(U >= statistic) under the normal approximation. */
  readonly statistic: number;
  readonly z: number;
}

/**
 * scipy.stats.mannwhitneyu(x, y, alternative='greater', method='asymptotic'): are values of x larger than values
 * of y? Normal approximation of U with the tie correction of the variance and a continuity correction of 0.5.
 */
export function mannWhitneyGreater(x: ArrayLike<number>, y: ArrayLike<number>): MannWhitneyResult {
  return mannWhitneyOfSorted(sortedSample(x, 'the first sample'), sortedSample(y, 'the second sample'));
}

/** Reference samples larger than this enter `mannWhitneyGreaterAgainstSketch` as this many values. */
export const MANN_WHITNEY_SKETCH_VALUES = 50_000;

/**
 * Mann-Whitney "greater" of the window against a sketch. The reference is drawn as m = min(sketch.n, 50,000)
 * values at the sketch's quantile function, Q((j - 0.5)/m) for j = 1..m: as if the reference sample were spread
 * evenly along its piecewise-linear quantile function. Ties between reference values arise only where quantiles
 * tie (a point mass, such as errors of exactly 0), which the tie correction then sees. Past 50,000 values the
 * test has the power of a 50,000-value reference, which is conservative.
 */
export function mannWhitneyGreaterAgainstSketch(window: ArrayLike<number>, sketch: ReferenceSketch): MannWhitneyResult {
  const m = Math.min(sketch.n, MANN_WHITNEY_SKETCH_VALUES);
  const q = sketch.quantiles;
  const reference = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const position = ((j + 0.5) / m) * (q.length - 1);
    const below = Math.min(Math.floor(position), q.length - 2);
    reference[j] = q[below] + (q[below + 1] - q[below]) * (position - below);
  }
  return mannWhitneyOfSorted(sortedSample(window, 'the window'), reference);
}

function mannWhitneyOfSorted(x: Float64Array, y: Float64Array): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  const n = n1 + n2;
  let i = 0;
  let j = 0;
  let rankSum = 0;
  let tieTerm = 0;
  while (i < n1 || j < n2) {
    const value = j >= n2 || (i < n1 && x[i] <= y[j]) ? x[i] : y[j];
    const ranksBefore = i + j;
    const fromX = i;
    while (i < n1 && x[i] === value) i++;
    while (j < n2 && y[j] === value) j++;
    const tied = i + j - ranksBefore;
    rankSum += (i - fromX) * (ranksBefore + (tied + 1) / 2);
    tieTerm += tied ** 3 - tied;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const sd = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = (u - (n1 * n2) / 2 - 0.5) / sd;
  return { statistic: u, pValue: Math.min(1, Math.max(0, normalSf(z))), z };
}

// ---------------------------------------------------------------------------------------------------------------
// Multiple testing

/** Benjamini-Hochberg adjusted p-values, in the input's order (scipy.stats.false_discovery_control(p, method='bh')). */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = ascendingOrder(pValues);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    running = Math.min(running, pValues[order[r]] * (m / (r + 1)));
    adjusted[order[r]] = running;
  }
  return adjusted;
}

/** Holm-Bonferroni adjusted p-values, in the input's order (statsmodels multipletests(p, method='holm')). */
export function holmBonferroni(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = ascendingOrder(pValues);
  const adjusted = new Array<number>(m);
  let running = 0;
  for (let r = 0; r < m; r++) {
    running = Math.max(running, pValues[order[r]] * (m - r));
    adjusted[order[r]] = Math.min(1, running);
  }
  return adjusted;
}

function ascendingOrder(pValues: readonly number[]): number[] {
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new DriftStatisticsError('invalid_argument', `p-value ${i} is ${p}, not in [0, 1]`);
  });
  return pValues.map((_, i) => i).sort((a, b) => pValues[a] - pValues[b]);
}

// ---------------------------------------------------------------------------------------------------------------
// One feature's window against its reference

export interface FeatureDrift {
  readonly n: number;
  readonly ks: KsAgainstSketchResult;
  readonly wasserstein: number;
  readonly normalizedWasserstein: number;
  readonly psi: number;
}

/** KS, Wasserstein (raw and normalised) and PSI of one window against one sketch, sorting the window once. */
export function compareWithSketch(window: ArrayLike<number>, sketch: ReferenceSketch, psiOptions: PsiOptions = {}): FeatureDrift {
  const x = sortedSample(window, 'the window');
  const distance = wassersteinOfSortedAgainstSketch(x, sketch);
  return {
    n: x.length,
    ks: ksOfSortedAgainstSketch(x, sketch),
    wasserstein: distance,
    normalizedWasserstein: normalizedWasserstein(distance, sketch),
    psi: psiOfSortedAgainstSketch(x, sketch, psiOptions),
  };
}
