import { DriftStatisticsError, sortedSample } from './statisticsError.js';

/**
 * A compact, JSON-serialisable summary of one numeric feature of a model version's training data: enough for
 * Kolmogorov-Smirnov, Wasserstein and PSI against a live window without keeping the raw values.
 * `quantiles[i]` is the quantile at p = i / (quantiles.length - 1) (numpy's default 'linear' method), so the
 * first is `min` and the last is `max`. The sketch stands for the distribution whose quantile function is
 * piecewise linear through those points: uniform between neighbouring quantiles, a point mass where they tie.
 */
export interface ReferenceSketch {
  readonly n: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation (ddof 0, numpy's `std` default). */
  readonly std: number;
  readonly quantiles: readonly number[];
}

/**
 * Percentiles: 0, 1, ..., 100. The sketch's CDF is then exact only to about 1/100 where the data are integers
 * (counts), which KS notices once n*m/(n+m) nears 100^2: against large references on count features, use 1001
 * (the unit tests measure both).
 */
export const SKETCH_QUANTILES = 101;

export function sketchOf(values: ArrayLike<number>, quantiles = SKETCH_QUANTILES): ReferenceSketch {
  if (!Number.isInteger(quantiles) || quantiles < 2) {
    throw new DriftStatisticsError('invalid_argument', `a sketch needs at least 2 quantiles (min and max), got ${quantiles}`);
  }
  const sorted = sortedSample(values, 'the reference sample');
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (sorted[i] - mean) ** 2;
  return {
    n,
    min: sorted[0],
    max: sorted[n - 1],
    mean,
    std: Math.sqrt(squares / n),
    quantiles: Array.from({ length: quantiles }, (_, i) => sortedQuantile(sorted, sketchProbability(quantiles, i))),
  };
}

/** The probability of quantile `index` of `count` evenly spaced ones, as numpy's `linspace(0, 1, count)` computes it. */
export function sketchProbability(count: number, index: number): number {
  return index === count - 1 ? 1 : index * (1 / (count - 1));
}

const probabilities = new Map<number, Float64Array>();

/** The probabilities of all `count` quantiles of a sketch (one shared array per count: do not write to it). */
export function sketchProbabilities(count: number): Float64Array {
  let found = probabilities.get(count);
  if (!found) probabilities.set(count, (found = Float64Array.from({ length: count }, (_, i) => sketchProbability(count, i))));
  return found;
}

/** numpy's `quantile(sorted, p)` with the default 'linear' method: virtual index (n-1)p, interpolated between neighbours. */
export function sortedQuantile(sorted: ArrayLike<number>, p: number): number {
  const index = (sorted.length - 1) * p;
  const below = Math.floor(index);
  const t = index - below;
  const a = sorted[below];
  if (t === 0 || below + 1 >= sorted.length) return a;
  const b = sorted[below + 1];
  // numpy's _lerp: interpolate from the nearer end, so t = 1 gives b exactly.
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/** Pr(X <= x) under the sketch: piecewise linear between quantiles, 0 below `min`, 1 from `max` on. */
export function sketchCdf(sketch: ReferenceSketch, x: number): number {
  const q = sketch.quantiles;
  const count = q.length;
  const j = lastIndexAtMost(q, x);
  if (j < 0) return 0;
  if (j === count - 1) return 1;
  return interpolate(q, j, x);
}

/** Pr(X < x) under the sketch: `sketchCdf` from the left; the two differ where quantiles tie (a point mass). */
export function sketchCdfBelow(sketch: ReferenceSketch, x: number): number {
  const q = sketch.quantiles;
  const count = q.length;
  const j = lastIndexAtMost(q, x);
  if (j < 0) return 0;
  if (q[j] < x) return j === count - 1 ? 1 : interpolate(q, j, x);
  let first = j;
  while (first > 0 && q[first - 1] === x) first--;
  return sketchProbability(count, first);
}

/** The sketch's quantile function at p in [0, 1]: linear between the stored quantiles. */
export function sketchQuantile(sketch: ReferenceSketch, p: number): number {
  const q = sketch.quantiles;
  const position = Math.min(Math.max(p, 0), 1) * (q.length - 1);
  const below = Math.min(Math.floor(position), q.length - 2);
  return q[below] + (q[below + 1] - q[below]) * (position - below);
}

/** Checks a sketch read back from JSON before statistics trust it. */
export function assertReferenceSketch(sketch: ReferenceSketch, what = 'the reference sketch'): void {
  const q = sketch.quantiles;
  const fail = (problem: string): never => {
    throw new DriftStatisticsError('invalid_argument', `${what} is not a valid sketch: ${problem}; rebuild it with sketchOf`);
  };
  if (!Number.isInteger(sketch.n) || sketch.n < 1) fail(`n is ${sketch.n}`);
  if (!Array.isArray(q) || q.length < 2) fail('it needs at least 2 quantiles');
  for (let i = 0; i < q.length; i++) {
    if (!Number.isFinite(q[i])) fail(`quantile ${i} is ${q[i]}`);
    if (i > 0 && q[i] < q[i - 1]) fail(`quantile ${i} (${q[i]}) is below quantile ${i - 1} (${q[i - 1]})`);
  }
  if (q[0] !== sketch.min || q[q.length - 1] !== sketch.max) fail('the first and last quantiles must be min and max');
  if (!Number.isFinite(sketch.mean) || !Number.isFinite(sketch.std) || sketch.std < 0) fail('mean and std must be finite, std >= 0');
}

/** Largest j with q[j] <= x, or -1 (binary search). */
function lastIndexAtMost(q: readonly number[], x: number): number {
  let low = 0;
  let high = q.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (q[mid] <= x) low = mid + 1;
    else high = mid;
  }
  return low - 1;
}

/** CDF between q[j] <= x < q[j + 1], which are then distinct. */
function interpolate(q: readonly number[], j: number, x: number): number {
  const count = q.length;
  const p0 = sketchProbability(count, j);
  const p1 = sketchProbability(count, j + 1);
  return p0 + ((x - q[j]) / (q[j + 1] - q[j])) * (p1 - p0);
}
