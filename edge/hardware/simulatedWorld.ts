/**
 * The simulated rover's world: where it stands in front of the wall of a preset's scene. The simulated camera renders
 * it, the simulated VL53L0X ranges it, the simulated drive moves it.
 */
import { LATERAL_RANGE_MM } from '../camera.js';
import { getPreset, type EnvironmentPreset } from '../presets.js';
import { createRng, type Rng } from '../../core/random.js';
import { TIER_SPEED_MM_PER_S, type SpeedTier } from '../speedTiers.js';

export interface SimulatedWorldOptions {
  preset: EnvironmentPreset | string;
  seed?: number;
  /** Overrides of the random start distance and approach angle (as in edge/parkingRun.ts). */
  startMm?: number;
  angleDeg?: number;
}

export class SimulatedWorld {
  readonly preset: EnvironmentPreset;
  readonly rng: Rng;
  /** Distance from the bumper to the wall along the rover's axis; 0 is touching it. */
  trueMm: number;
  readonly angleDeg: number;
  readonly lateralMm: number;
  /** The rover touched the wall. */
  collided = false;
  tier: SpeedTier = 'stop';

  constructor(options: SimulatedWorldOptions) {
    this.preset = typeof options.preset === 'string' ? getPreset(options.preset) : options.preset;
    this.rng = createRng(options.seed ?? 1);
    this.trueMm = options.startMm ?? this.rng.uniform(0.9, 1) * this.preset.maxStartMm;
    this.angleDeg = options.angleDeg ?? this.rng.uniform(-1, 1) * this.preset.maxAngleDeg;
    this.lateralMm = this.rng.uniform(-LATERAL_RANGE_MM, LATERAL_RANGE_MM);
  }

  /** Moves the rover for `seconds` at its current tier, with 5% wheel slip noise. */
  advance(seconds: number): void {
    const stepMm = TIER_SPEED_MM_PER_S[this.tier] * seconds;
    if (stepMm === 0) return;
    this.trueMm = Math.max(0, this.trueMm - stepMm * (1 + this.rng.gaussian(0, 0.05)));
    if (this.trueMm === 0) this.collided = true;
  }
}
