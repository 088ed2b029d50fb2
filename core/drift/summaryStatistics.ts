/**
 * The drift statistics of core/drift/statistics.ts computed from a window's counts over its reference's grid
 * (core/drift/windowSummary.ts) instead of its raw values: cost O(reference quantiles), whatever the window's size.
 * Within a cell the window's values are read as spread evenly, as the sketch reads the reference's, so:
 * - KS is the exact gap at every grid value; between grid values the raw gap can exceed it by at most the window's
 *   share in that cell (about 1/1000 for a window like the reference);
 * - Wasserstein is exact outside the reference's range (sums kept) and within a cell's width inside it;
 * - PSI and the outside share are exact where their cut points are quantiles (deciles and 0.5%/99.5% of a 1001-quantile
 *   sketch are);
 * - Mann-Whitney's U is exact for values at quantile points and, between them, the expectation for evenly spread ones.
 */
import { kolmogorovSmirnovSf } from './kolmogorovSmirnovDistribution.js';
import { sketchCdf, sketchProbabilities, type ReferenceSketch } from './referenceSketch.js';
import { effectiveSize, MANN_WHITNEY_SKETCH_VALUES, normalizedWasserstein, normalSf, type PsiOptions } from './statistics.js';
import { cellOf, gridOf, type SketchGrid, type StreamCounts } from './windowSummary.js';

/** The stream's counts as a dense array, one entry per cell of the grid. */
function denseCounts(grid: SketchGrid, stream: StreamCounts): Float64Array {
  if (stream.dense) return stream.dense;
  const counts = new Float64Array(grid.aboveCell + 1);
  for (const [cell, count] of stream.cells) counts[cell] = count;
  return counts;
}

/** Kolmogorov-Smirnov distance and p-value (ks_2samp's asymptotic at n*m/(n+m), as ksAgainstSketch). */
export function ksOfCounts(stream: StreamCounts, sketch: ReferenceSketch): { statistic: number; pValue: number } {
  const grid = gridOf(sketch);
  const c = denseCounts(grid, stream);
  const p = sketchProbabilities(sketch.quantiles.length);
  const n = stream.n;
  const K = grid.values.length;
  let cumulative = c[0];
  let d = 0;
  for (let k = 0; k < K; k++) {
    d = Math.max(d, Math.abs(cumulative / n - p[grid.first[k]]));
    cumulative += c[2 * k + 1];
    d = Math.max(d, Math.abs(cumulative / n - p[grid.last[k]]));
    cumulative += c[2 * k + 2];
  }
  return { statistic: d, pValue: kolmogorovSmirnovSf(d, effectiveSize(n, sketch.n)) };
}

/** Integral of the sketch's quantile function over [from, to] (it is linear between quantiles). */
function quantileIntegral(sketch: ReferenceSketch, from: number, to: number): number {
  const q = sketch.quantiles;
  const p = sketchProbabilities(q.length);
  let area = 0;
  for (let j = 0; j + 1 < q.length; j++) {
    const a = Math.max(from, p[j]);
    const b = Math.min(to, p[j + 1]);
    if (b <= a) continue;
    const at = (x: number) => q[j] + ((q[j + 1] - q[j]) * (x - p[j])) / (p[j + 1] - p[j]);
    area += ((at(a) + at(b)) / 2) * (b - a);
  }
  return area;
}

/** Integral over a width of |linear from u to v|: a trapezoid, or two triangles where it crosses zero. */
function absLinearArea(width: number, u: number, v: number): number {
  return u >= 0 === v >= 0 ? (width * Math.abs(u + v)) / 2 : (width * (u * u + v * v)) / (2 * (Math.abs(u) + Math.abs(v)));
}

/** Wasserstein-1 between the window and the sketch: the integral over p of |Q_window(p) - Q_sketch(p)|. */
export function wassersteinOfCounts(stream: StreamCounts, sketch: ReferenceSketch): number {
  const grid = gridOf(sketch);
  const c = denseCounts(grid, stream);
  const n = stream.n;
  const u = grid.values;
  const K = u.length;
  const q = sketch.quantiles;
  const p = sketchProbabilities(q.length);
  const belowShare = c[0] / n;
  const aboveShare = c[grid.aboveCell] / n;
  // Outside the reference's range every window value is on one side of the sketch's quantile function.
  let area = belowShare > 0 ? quantileIntegral(sketch, 0, belowShare) - stream.belowSum / n : 0;
  if (aboveShare > 0) area += stream.aboveSum / n - quantileIntegral(sketch, 1 - aboveShare, 1);
  // Inside: the window's quantile function, piece by piece (constant at a point cell, linear across an interval cell).
  let from = belowShare;
  let j = 0;
  for (let cell = 1; cell < grid.aboveCell; cell++) {
    const count = c[cell];
    if (count === 0) continue;
    const k = (cell - 1) >> 1;
    const start = u[k];
    const end = cell % 2 === 1 ? u[k] : u[Math.min(k + 1, K - 1)];
    const pieceFrom = from;
    const pieceTo = from + count / n;
    const windowAt = (x: number) => start + ((end - start) * (x - pieceFrom)) / (pieceTo - pieceFrom);
    while (from < pieceTo && j + 1 < q.length) {
      const to = Math.min(pieceTo, p[j + 1]);
      if (to > from) {
        const sketchAt = (x: number) => q[j] + ((q[j + 1] - q[j]) * (x - p[j])) / (p[j + 1] - p[j]);
        area += absLinearArea(to - from, sketchAt(from) - windowAt(from), sketchAt(to) - windowAt(to));
        from = to;
      }
      if (p[j + 1] <= pieceTo) j++;
      else break;
    }
    from = pieceTo;
  }
  return area;
}

/** Window values at most x (or below x, with `strict`), reading an interval cell's values as evenly spread. */
function countUpTo(grid: SketchGrid, c: Float64Array, x: number, strict: boolean): number {
  const cell = cellOf(grid, x);
  let count = 0;
  for (let i = 0; i < cell; i++) count += c[i];
  if (cell % 2 === 1) return strict ? count : count + c[cell];
  if (cell === 0 || cell === grid.aboveCell) return count;
  const k = (cell - 2) >> 1;
  const u = grid.values;
  return count + (c[cell] * (x - u[k])) / (u[k + 1] - u[k]);
}

/** PSI at the reference's deciles (psiAgainstSketch's bins and floor). */
export function psiOfCounts(stream: StreamCounts, sketch: ReferenceSketch, options: PsiOptions = {}): number {
  const bins = options.bins ?? 10;
  const epsilon = options.epsilon ?? 1e-4;
  const grid = gridOf(sketch);
  const c = denseCounts(grid, stream);
  const q = sketch.quantiles;
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const position = (b * (q.length - 1)) / bins;
    const below = Math.floor(position);
    const edge = position === below ? q[below] : q[below] + (q[below + 1] - q[below]) * (position - below);
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  edges.push(Infinity);
  const n = stream.n;
  let psi = 0;
  let referenceBelow = 0;
  let windowBelow = 0;
  for (const edge of edges) {
    const windowAtMost = edge === Infinity ? n : countUpTo(grid, c, edge, false);
    const referenceAtMost = edge === Infinity ? 1 : sketchCdf(sketch, edge);
    const expected = Math.max(referenceAtMost - referenceBelow, epsilon);
    const actual = Math.max((windowAtMost - windowBelow) / n, epsilon);
    psi += (actual - expected) * Math.log(actual / expected);
    referenceBelow = referenceAtMost;
    windowBelow = windowAtMost;
  }
  return psi;
}

/** Share of the window below `low` or above `high`. */
export function shareOutsideOfCounts(stream: StreamCounts, sketch: ReferenceSketch, low: number, high: number): number {
  const grid = gridOf(sketch);
  const c = denseCounts(grid, stream);
  return (countUpTo(grid, c, low, true) + (stream.n - countUpTo(grid, c, high, false))) / stream.n;
}

/** KS, Wasserstein (raw and normalised) and PSI of one stream against its sketch, as compareWithSketch. */
export function compareCountsWithSketch(stream: StreamCounts, sketch: ReferenceSketch) {
  const ks = ksOfCounts(stream, sketch);
  const distance = wassersteinOfCounts(stream, sketch);
  return {
    n: stream.n,
    ks,
    wasserstein: distance,
    normalizedWasserstein: normalizedWasserstein(distance, sketch),
    psi: psiOfCounts(stream, sketch),
  };
}

interface MannWhitneyReference {
  m: number;
  /** Per distinct value k: reference values below it, equal to it, and (between k and k + 1) the expected number below an evenly spread value. */
  below: Float64Array;
  equal: Float64Array;
  inside: Float64Array;
  expectedBelowInside: Float64Array;
}

const mannWhitneyReferences = new WeakMap<ReferenceSketch, MannWhitneyReference>();

/** The reference sample mannWhitneyGreaterAgainstSketch draws, counted on the grid. */
function mannWhitneyReferenceOf(sketch: ReferenceSketch): MannWhitneyReference {
  const cached = mannWhitneyReferences.get(sketch);
  if (cached) return cached;
  const grid = gridOf(sketch);
  const u = grid.values;
  const K = u.length;
  const q = sketch.quantiles;
  const m = Math.min(sketch.n, MANN_WHITNEY_SKETCH_VALUES);
  const perCell = new Float64Array(grid.aboveCell + 1);
  const expectedBelowInside = new Float64Array(K);
  for (let j = 0; j < m; j++) {
    const position = ((j + 0.5) / m) * (q.length - 1);
    const below = Math.min(Math.floor(position), q.length - 2);
    const r = q[below] + (q[below + 1] - q[below]) * (position - below);
    const cell = cellOf(grid, r);
    perCell[cell]++;
    if (cell % 2 === 0 && cell > 0 && cell < grid.aboveCell) {
      const k = (cell - 2) >> 1;
      expectedBelowInside[k] += (u[k + 1] - r) / (u[k + 1] - u[k]);
    }
  }
  const below = new Float64Array(K);
  const equal = new Float64Array(K);
  const inside = new Float64Array(K);
  let cumulative = perCell[0];
  for (let k = 0; k < K; k++) {
    below[k] = cumulative;
    equal[k] = perCell[2 * k + 1];
    inside[k] = k + 1 < K ? perCell[2 * k + 2] : 0;
    cumulative += perCell[2 * k + 1] + perCell[2 * k + 2];
  }
  const reference = { m, below, equal, inside, expectedBelowInside };
  mannWhitneyReferences.set(sketch, reference);
  return reference;
}

/** Mann-Whitney "greater" of the window against the sketch, as mannWhitneyGreaterAgainstSketch. */
export function mannWhitneyGreaterOfCounts(
  stream: StreamCounts,
  sketch: ReferenceSketch,
): { statistic: number; pValue: number; z: number } {
  const grid = gridOf(sketch);
  const c = denseCounts(grid, stream);
  const { m, below, equal, expectedBelowInside } = mannWhitneyReferenceOf(sketch);
  const K = grid.values.length;
  const n1 = stream.n;
  let u = c[grid.aboveCell] * m;
  let tieTerm = 0;
  for (let k = 0; k < K; k++) {
    const atPoint = c[2 * k + 1];
    u += atPoint * (below[k] + 0.5 * equal[k]);
    const tied = atPoint + equal[k];
    tieTerm += tied ** 3 - tied;
    if (k + 1 < K) u += c[2 * k + 2] * (below[k] + equal[k] + expectedBelowInside[k]);
  }
  const n = n1 + m;
  const sd = Math.sqrt(((n1 * m) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = (u - (n1 * m) / 2 - 0.5) / sd;
  return { statistic: u, pValue: Math.min(1, Math.max(0, normalSf(z))), z };
}

/** The window's quantile at p (numpy's linear method on ranks), reading an interval cell's values as evenly spread. */
export function quantileOfCounts(stream: StreamCounts, sketch: ReferenceSketch, p: number): number {
  const grid = gridOf(sketch);
  const c = denseCounts(grid, stream);
  const u = grid.values;
  const valueAtRank = (rank: number): number => {
    let before = 0;
    for (let cell = 0; cell <= grid.aboveCell; cell++) {
      const count = c[cell];
      if (rank < before + count) {
        if (cell === 0) return stream.belowSum / count;
        if (cell === grid.aboveCell) return stream.aboveSum / count;
        const k = (cell - 1) >> 1;
        if (cell % 2 === 1) return u[k];
        return u[k] + ((rank - before + 0.5) / count) * (u[k + 1] - u[k]);
      }
      before += count;
    }
    return sketch.max;
  };
  const index = (stream.n - 1) * p;
  const low = Math.floor(index);
  const a = valueAtRank(low);
  if (index === low) return a;
  return a + (valueAtRank(low + 1) - a) * (index - low);
}
