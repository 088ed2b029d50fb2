/**
 * The thesis's distance tiers, by the laser reading (mm): a rover parks by what the model says near the wall, where
 * an error of 30 mm hits it, while the same error at 300 mm is harmless. Each band holds the readings above the
 * previous band's limit up to its own; `key` names the band in flat metrics (`test_mae_mm_<key>`).
 */
export const DISTANCE_BANDS = [
  { key: '0_20', label: '<= 20 mm', maxMm: 20 },
  { key: '20_100', label: '20-100 mm', maxMm: 100 },
  { key: '100_350', label: '100-350 mm', maxMm: 350 },
  { key: 'over_350', label: '> 350 mm', maxMm: Infinity },
] as const;

export type DistanceBandKey = (typeof DISTANCE_BANDS)[number]['key'];

/** The band the gates judge on: readings up to 100 mm, where the rover stops. */
export const STOP_BAND = { key: 'stop', label: '<= 100 mm', maxMm: 100 } as const;

/** Fewest stop-band pairs on which a gate may call a candidate worse there (the signed-rank test's normal approximation). */
export const STOP_BAND_MIN_PAIRS = 20;

/**
 * Smallest rise of the stop band's mean error (mm) that a gate calls worse: below it a significant difference is
 * inside the laser's own accuracy near the wall (VL53L0X: about 3 % of the distance, 3 mm at 100 mm), and a candidate
 * far better on average was rolled back for 0.7 mm there (the thesis-scale demo, phase 2).
 */
export const STOP_BAND_MIN_WORSENING_MM = 2;

/** Significance level of the registration's stop-band test (a rollout uses its policy's alpha). */
export const STOP_BAND_ALPHA = 0.01;

export const inStopBand = (readingMm: number) => readingMm <= STOP_BAND.maxMm;

/** The band of a laser reading. */
export function bandOf(readingMm: number): DistanceBandKey {
  return DISTANCE_BANDS.find((band) => readingMm <= band.maxMm)!.key;
}

/**
 * Mean absolute error and frame count per band and in the stop band, as flat metrics:
 * `test_mae_mm_<band>` (absent for a band without frames) and `test_frames_<band>`.
 */
export function bandMetrics(readingsMm: ArrayLike<number>, errorsMm: ArrayLike<number>, prefix = 'test'): Record<string, number> {
  if (readingsMm.length !== errorsMm.length) throw new Error(`${readingsMm.length} readings for ${errorsMm.length} errors`);
  const sums = new Map<string, { frames: number; sum: number }>(
    [...DISTANCE_BANDS, STOP_BAND].map((band) => [band.key, { frames: 0, sum: 0 }]),
  );
  const add = (key: string, error: number) => {
    const s = sums.get(key)!;
    s.frames++;
    s.sum += error;
  };
  for (let i = 0; i < readingsMm.length; i++) {
    add(bandOf(readingsMm[i]), errorsMm[i]);
    if (inStopBand(readingsMm[i])) add(STOP_BAND.key, errorsMm[i]);
  }
  const metrics: Record<string, number> = {};
  for (const [key, { frames, sum }] of sums) {
    metrics[`${prefix}_frames_${key}`] = frames;
    if (frames > 0) metrics[`${prefix}_mae_mm_${key}`] = sum / frames;
  }
  return metrics;
}

/**
 * Mean absolute error and frame count per deployment, as flat metrics `test_mae_mm_at_<deployment>` and
 * `test_frames_at_<deployment>`; frames of no known deployment (null) are left out.
 */
export function deploymentMetrics(deployments: (string | null)[], errorsMm: ArrayLike<number>, prefix = 'test'): Record<string, number> {
  if (deployments.length !== errorsMm.length) throw new Error(`${deployments.length} deployments for ${errorsMm.length} errors`);
  const sums = new Map<string, { frames: number; sum: number }>();
  deployments.forEach((deployment, i) => {
    if (deployment === null) return;
    const s = sums.get(deployment) ?? { frames: 0, sum: 0 };
    s.frames++;
    s.sum += errorsMm[i];
    sums.set(deployment, s);
  });
  const metrics: Record<string, number> = {};
  for (const [deployment, { frames, sum }] of [...sums].sort(([a], [b]) => a.localeCompare(b))) {
    metrics[`${prefix}_frames_at_${deployment}`] = frames;
    metrics[`${prefix}_mae_mm_at_${deployment}`] = sum / frames;
  }
  return metrics;
}

/** What the stop-band gate reads of a paired comparison (core/rollout/pairedTest.ts PairedComparison, which imports these bands). */
export interface StopBandComparison {
  pairs: number;
  pCandidateWorse: number;
  meanDifference: number | null;
  meanErrorCurrent: number | null;
  meanErrorCandidate: number | null;
}

/**
 * Whether a candidate is significantly worse than the current version in the stop band (one-sided signed-rank
 * p < alpha, a mean error at least STOP_BAND_MIN_WORSENING_MM higher, on at least STOP_BAND_MIN_PAIRS pairs); the
 * reason names the band and the numbers.
 */
export function worseInStopBand(stopBand: StopBandComparison, alpha: number): string | null {
  const difference = stopBand.meanDifference ?? 0;
  if (stopBand.pairs < STOP_BAND_MIN_PAIRS || !(stopBand.pCandidateWorse < alpha) || !(difference >= STOP_BAND_MIN_WORSENING_MM))
    return null;
  const mm = (v: number | null) => (v === null ? '?' : `${v.toFixed(1)} mm`);
  return (
    `worse than the current version in the stop band (laser ${STOP_BAND.label}): p = ${stopBand.pCandidateWorse.toPrecision(2)} < ${alpha} ` +
    `on ${stopBand.pairs} frames, mean error ${mm(stopBand.meanErrorCandidate)} against ${mm(stopBand.meanErrorCurrent)}`
  );
}
