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
