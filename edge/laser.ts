/**
 * A VL53L0X-like time-of-flight laser: gaussian noise, occasional dropouts, integer mm, 0..2000,
 * and a 25 degree field of view that ranges the nearest point of the wall inside its cone.
 */
import type { Rng } from '../core/random.js';

export interface LaserOptions {
  /** Noise standard deviation as a fraction of the distance (default 0.03). */
  noiseFraction?: number;
  /** Lower bound of the noise standard deviation in mm (default 2). */
  minSigmaMm?: number;
  /** Probability that a reading fails (default 0.02). */
  dropoutRate?: number;
  /** Largest distance the sensor reports (default 2000). */
  maxMm?: number;
}

/** One reading of the laser at the true distance; null when the reading dropped out. */
export function readLaser(trueMm: number, rng: Rng, options: LaserOptions = {}): number | null {
  const { noiseFraction = 0.03, minSigmaMm = 2, dropoutRate = 0.02, maxMm = 2000 } = options;
  if (rng.next() < dropoutRate) return null;
  const sigma = Math.max(minSigmaMm, noiseFraction * Math.abs(trueMm));
  const value = Math.round(rng.gaussian(trueMm, sigma));
  return Math.min(maxMm, Math.max(0, value));
}

/**
 * What the laser ranges when the wall is `axisMm` away along the rover's axis and rotated by
 * `angleDeg`: the nearest wall point inside the sensor's cone (full angle `fovDeg`, VL53L0X: 25).
 * At an angled approach this is shorter than the axis distance (30 degrees: about 9% shorter).
 */
export function laserRangeMm(axisMm: number, angleDeg: number, fovDeg = 25): number {
  const perpendicular = axisMm * Math.cos((angleDeg * Math.PI) / 180);
  const outside = Math.max(0, Math.abs(angleDeg) - fovDeg / 2);
  return perpendicular / Math.cos((outside * Math.PI) / 180);
}
