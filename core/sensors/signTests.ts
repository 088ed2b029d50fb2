/** Exact binomial tails and the sign test, in log space so that long windows do not underflow. */

/** log(i!) for i up to the largest n asked so far. */
const logFactorials: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials[i] = logFactorials[i - 1] + Math.log(i);
  return logFactorials[n];
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  const logN = logFactorial(n);
  const logTerm = (j: number) => logN - logFactorial(j) - logFactorial(n - j) + j * logP + (n - j) * logQ;
  // Terms fall away from the mode: scale by the largest term of the tail.
  const mode = Math.max(k, Math.min(n, Math.floor((n + 1) * p)));
  const top = logTerm(mode);
  let sum = 0;
  for (let j = k; j <= n; j++) {
    const ratio = Math.exp(logTerm(j) - top);
    sum += ratio;
    if (j > mode && ratio < 1e-17 * sum) break;
  }
  return Math.min(1, Math.exp(top + Math.log(sum)));
}

export interface SignTestResult {
  positive: number;
  negative: number;
  /** H1: the median differs from 0. */
  twoSided: number;
  /** H1: the median is above 0. */
  greater: number;
}

/** The sign test of the median against 0; zeros are left out. */
export function signTest(values: ArrayLike<number>): SignTestResult {
  let positive = 0;
  let negative = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > 0) positive++;
    else if (values[i] < 0) negative++;
  }
  const n = positive + negative;
  const greater = binomialUpperTail(positive, n, 0.5);
  const twoSided = Math.min(1, 2 * binomialUpperTail(Math.max(positive, negative), n, 0.5));
  return { positive, negative, twoSided, greater };
}

export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Lags the autocorrelation of a series is summed over at most (40 frames: 10 s, about one parking run). */
const MAX_LAG = 40;

/**
 * The sign test on a series whose neighbours are correlated (a rover's frames of one parking run share its
 * approach, its floor patch and the model's error there): the counts are scaled to the effective number of
 * independent signs n / (1 + 2 (r1 + r2 + ...)), the autocorrelations of the signs summed up to the first lag at
 * which they are no longer positive (Geyer's initial positive sequence, at most MAX_LAG lags). A constant shift
 * plus independent noise keeps them near 0; shifts that come and go with the runs do not.
 */
export function serialSignTest(values: ArrayLike<number>): SignTestResult & { effectiveN: number } {
  const signs: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) signs.push(values[i] > 0 ? 1 : -1);
  const n = signs.length;
  let positive = 0;
  for (const s of signs) if (s > 0) positive++;
  const negative = n - positive;
  const m = n > 0 ? (positive - negative) / n : 0;
  let variance = 0;
  for (const s of signs) variance += (s - m) ** 2;
  let tau = 1;
  if (variance > 0) {
    for (let lag = 1; lag <= Math.min(MAX_LAG, n - 2); lag++) {
      let c = 0;
      for (let i = 0; i + lag < n; i++) c += (signs[i] - m) * (signs[i + lag] - m);
      const r = c / variance;
      if (r <= 0) break;
      tau += 2 * r;
    }
  }
  const effectiveN = Math.max(1, Math.round(n / tau));
  const scale = n > 0 ? effectiveN / n : 0;
  const pos = Math.round(positive * scale);
  const neg = Math.round(negative * scale);
  const greater = binomialUpperTail(pos, pos + neg, 0.5);
  const twoSided = Math.min(1, 2 * binomialUpperTail(Math.max(pos, neg), pos + neg, 0.5));
  return { positive, negative, twoSided, greater, effectiveN };
}
