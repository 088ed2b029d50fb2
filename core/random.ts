/** A small seedable PRNG (mulberry32): the simulator's randomness and the dataset's seeded shuffle. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** Normal distribution (Box-Muller). */
  gaussian(mean?: number, sd?: number): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** An independent generator derived from this one (e.g. one per run). */
  fork(): Rng;
}

/** Mixes any number (including non-integers and negatives) into a 32-bit seed. */
function seedToUint32(seed: number): number {
  let h = Math.floor(seed * 1000003) ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function createRng(seed: number): Rng {
  let state = seedToUint32(seed);
  let spare: number | null = null;

  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const gaussian = (mean = 0, sd = 1): number => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return mean + sd * v;
    }
    let u = 0;
    while (u <= Number.EPSILON) u = next();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * next();
    spare = r * Math.sin(theta);
    return mean + sd * r * Math.cos(theta);
  };

  return {
    next,
    uniform: (min, max) => min + (max - min) * next(),
    gaussian,
    int: (n) => Math.floor(next() * n),
    fork: () => createRng(next() * 4294967296),
  };
}
