/** The camera's image signal processor: auto white balance, auto exposure, noise, saturation, gamma. */
import { createRng, type Rng } from '../core/random.js';
import type { CameraSpec } from './scene.js';

/** Quantiles of the standard normal distribution, for fast sensor noise. */
const NORMAL_TABLE: Float32Array = (() => {
  const rng = createRng(2024);
  const samples = Array.from({ length: 1 << 16 }, () => rng.gaussian()).sort((a, b) => a - b);
  const table = new Float32Array(1 << 12);
  for (let i = 0; i < table.length; i++) table[i] = samples[i * 16 + 8];
  return table;
})();

/** Soft shoulder instead of a hard clip, then display gamma; as a lookup table over 0..1.6. */
const ENCODE_STEPS = 4096;
const ENCODE_MAX = 1.6;
const ENCODE_TABLE: Uint8Array = (() => {
  const table = new Uint8Array(ENCODE_STEPS + 1);
  for (let i = 0; i <= ENCODE_STEPS; i++) {
    const x = (i / ENCODE_STEPS) * ENCODE_MAX;
    const t = x < 0.8 ? x : 0.8 + 0.2 * Math.tanh((x - 0.8) / 0.2);
    table[i] = Math.round(255 * Math.pow(t, 1 / 2.2));
  }
  return table;
})();
const encode = (x: number): number =>
  ENCODE_TABLE[x <= 0 ? 0 : x >= ENCODE_MAX ? ENCODE_STEPS : Math.round((x / ENCODE_MAX) * ENCODE_STEPS)];

/**
 * Develops linear sensor RGB into 8-bit RGB: white balance and exposure computed from the frame
 * itself (so the scene's colours shift the whole frame), sensor noise, colour saturation, gamma.
 */
export function develop(cam: CameraSpec, linear: Float32Array, rng: Rng): Uint8Array {
  const n = linear.length / 3;
  let mr = 0;
  let mg = 0;
  let mb = 0;
  for (let i = 0; i < linear.length; i += 3) {
    mr += linear[i];
    mg += linear[i + 1];
    mb += linear[i + 2];
  }
  mr /= n;
  mg /= n;
  mb /= n;
  // Like most camera AWBs, correct only along the colour-temperature (amber-blue) axis:
  // a green or magenta cast from the scene stays, a warm one is partly neutralised.
  const maxLog = Math.log(cam.awbMaxGain);
  const cast = Math.min(maxLog, Math.max(-maxLog, 0.5 * Math.log(mr / mb) * cam.awbStrength));
  const gr = Math.exp(-cast);
  const gg = 1;
  const gb = Math.exp(cast);
  const lum = 0.2126 * mr * gr + 0.7152 * mg * gg + 0.0722 * mb * gb;
  const ae = Math.min(cam.aeMaxGain, Math.max(cam.aeMinGain, Math.pow(cam.aeTarget / lum, cam.aeStrength))) * rng.uniform(0.95, 1.05);
  const kr = gr * ae;
  const kg = gg * ae;
  const kb = gb * ae;
  const read2 = (cam.readNoise * ae) ** 2;
  const shot = cam.shotNoise * ae;
  const sat = cam.saturation;
  const out = new Uint8Array(linear.length);
  const normal = (): number => NORMAL_TABLE[(rng.next() * NORMAL_TABLE.length) | 0];
  for (let i = 0; i < linear.length; i += 3) {
    let r = linear[i] * kr;
    let g = linear[i + 1] * kg;
    let b = linear[i + 2] * kb;
    r += normal() * Math.sqrt(read2 + shot * Math.max(0, r));
    g += normal() * Math.sqrt(read2 + shot * Math.max(0, g));
    b += normal() * Math.sqrt(read2 + shot * Math.max(0, b));
    const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    out[i] = encode(y + sat * (r - y));
    out[i + 1] = encode(y + sat * (g - y));
    out[i + 2] = encode(y + sat * (b - y));
  }
  return out;
}
