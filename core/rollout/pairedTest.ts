import { normalSf } from '../drift/statistics.js';
import { inStopBand } from '../training/distanceBands.js';

/** Two versions' laser errors on the same frames: is the candidate's error lower, or higher, than the current one's? */
export interface PairedComparison {
  /** Frames both versions predicted, with a laser reading. */
  pairs: number;
  meanErrorCurrent: number | null;
  meanErrorCandidate: number | null;
  /** Mean of candidate error minus current error (mm): negative when the candidate is closer to the laser. */
  meanDifference: number | null;
  /** Wilcoxon signed-rank W+ (ranks of the frames where the candidate's error is larger). */
  statistic: number;
  /** One-sided p-value of "the candidate's errors are lower". */
  pCandidateBetter: number;
  /** One-sided p-value of "the candidate's errors are higher". */
  pCandidateWorse: number;
}

/**
 * The Wilcoxon signed-rank test on the paired differences candidate - current, as
 * scipy.stats.wilcoxon(candidate, current, zero_method='wilcox', correction=False, method='approx') with
 * alternative 'less' (pCandidateBetter) and 'greater' (pCandidateWorse): frames where both erred alike are left
 * out, tied magnitudes share their mean rank, and the variance is corrected for the ties. Normal approximation
 * only: a stage compares hundreds of frames at least.
 */
export function comparePaired(current: ArrayLike<number>, candidate: ArrayLike<number>): PairedComparison {
  if (current.length !== candidate.length) throw new Error(`paired samples differ in length: ${current.length} and ${candidate.length}`);
  const n = current.length;
  const differences: number[] = [];
  let [sumCurrent, sumCandidate] = [0, 0];
  for (let i = 0; i < n; i++) {
    sumCurrent += current[i];
    sumCandidate += candidate[i];
    const d = candidate[i] - current[i];
    if (d !== 0) differences.push(d);
  }
  const { statistic, z } = signedRank(differences);
  return {
    pairs: n,
    meanErrorCurrent: n ? sumCurrent / n : null,
    meanErrorCandidate: n ? sumCandidate / n : null,
    meanDifference: n ? (sumCandidate - sumCurrent) / n : null,
    statistic,
    pCandidateBetter: z === null ? 1 : normalSf(-z),
    pCandidateWorse: z === null ? 1 : normalSf(z),
  };
}

/** W+ and its z-score under the null of symmetric differences (z null without a non-zero difference). */
function signedRank(differences: number[]): { statistic: number; z: number | null } {
  const m = differences.length;
  if (m === 0) return { statistic: 0, z: null };
  const order = differences.map((d, i) => ({ magnitude: Math.abs(d), positive: d > 0, i })).sort((a, b) => a.magnitude - b.magnitude);
  let statistic = 0;
  let tieTerm = 0;
  for (let start = 0; start < m;) {
    let end = start;
    while (end + 1 < m && order[end + 1].magnitude === order[start].magnitude) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) if (order[k].positive) statistic += rank;
    const tied = end - start + 1;
    tieTerm += tied ** 3 - tied;
    start = end + 1;
  }
  const mean = (m * (m + 1)) / 4;
  const variance = (m * (m + 1) * (2 * m + 1)) / 24 - tieTerm / 48;
  return { statistic, z: variance > 0 ? (statistic - mean) / Math.sqrt(variance) : null };
}

/** Two versions' paired errors restricted to the frames whose laser reading is in the stop band. */
export function compareInStopBand(
  readingsMm: ArrayLike<number>,
  current: ArrayLike<number>,
  candidate: ArrayLike<number>,
): PairedComparison {
  const [c, k]: [number[], number[]] = [[], []];
  for (let i = 0; i < readingsMm.length; i++)
    if (inStopBand(readingsMm[i])) {
      c.push(current[i]);
      k.push(candidate[i]);
    }
  return comparePaired(c, k);
}
