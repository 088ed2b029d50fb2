/**
 * Procedural, tileable RGB albedo textures (floor grain, carpet, tiles, checkerboard, wall plaster)
 * with a mipmap chain so distant floor is filtered instead of aliased.
 */
import { createRng, type Rng } from '../core/random.js';
import type { FloorSpec, Rgb } from './scene.js';

const SIZE = 512;

export interface MipTexture {
  texelMm: number;
  /** RGB interleaved, level k is (SIZE >> k) squared. */
  levels: Float32Array[];
}

/** Tileable value noise with `cells` lattice cells across the texture, smoothstep-interpolated. */
function valueNoise(rng: Rng, cellsX: number, cellsY: number): Float32Array {
  const lattice = new Float32Array(cellsX * cellsY);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next() * 2 - 1;
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    const fy = (y / SIZE) * cellsY;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    const sy = ty * ty * (3 - 2 * ty);
    const r0 = (y0 % cellsY) * cellsX;
    const r1 = ((y0 + 1) % cellsY) * cellsX;
    for (let x = 0; x < SIZE; x++) {
      const fx = (x / SIZE) * cellsX;
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const sx = tx * tx * (3 - 2 * tx);
      const x1 = (x0 + 1) % cellsX;
      const a = lattice[r0 + x0] + (lattice[r0 + x1] - lattice[r0 + x0]) * sx;
      const b = lattice[r1 + x0] + (lattice[r1 + x1] - lattice[r1 + x0]) * sx;
      out[y * SIZE + x] = a + (b - a) * sy;
    }
  }
  return out;
}

/** Fractal sum of value noise octaves, roughly in -1..1. */
function fbm(rng: Rng, baseCells: number, octaves: number, stretch = 1): Float32Array {
  const out = new Float32Array(SIZE * SIZE);
  let amp = 1;
  let norm = 0;
  for (let o = 0; o < octaves; o++) {
    const cells = baseCells << o;
    const n = valueNoise(rng, Math.max(1, Math.round(cells / stretch)), cells);
    for (let i = 0; i < out.length; i++) out[i] += amp * n[i];
    norm += amp;
    amp *= 0.55;
  }
  for (let i = 0; i < out.length; i++) out[i] /= norm;
  return out;
}

function buildMips(base: Float32Array, texelMm: number): MipTexture {
  const levels = [base];
  let size = SIZE;
  while (size > 4) {
    const prev = levels[levels.length - 1];
    const half = size >> 1;
    const next = new Float32Array(half * half * 3);
    for (let y = 0; y < half; y++) {
      for (let x = 0; x < half; x++) {
        for (let c = 0; c < 3; c++) {
          const i = (2 * y * size + 2 * x) * 3 + c;
          next[(y * half + x) * 3 + c] = 0.25 * (prev[i] + prev[i + 3] + prev[i + size * 3] + prev[i + size * 3 + 3]);
        }
      }
    }
    levels.push(next);
    size = half;
  }
  return { texelMm, levels };
}

function floorAlbedo(floor: FloorSpec): Float32Array {
  const rng = createRng(floor.textureSeed);
  const [ar, ag, ab] = floor.albedo;
  const rgb = new Float32Array(SIZE * SIZE * 3);
  const tex = floor.texture;
  if (tex.kind === 'grain') {
    const coarse = fbm(rng, 4, 3, tex.stretch);
    const fine = fbm(rng, 64, 3, tex.stretch);
    for (let i = 0; i < SIZE * SIZE; i++) {
      const m = 1 + tex.contrast * (0.6 * coarse[i] + 0.8 * fine[i] + 0.3 * (rng.next() - 0.5));
      const warm = 1 + 0.3 * tex.contrast * fine[i];
      rgb[i * 3] = ar * m * warm;
      rgb[i * 3 + 1] = ag * m;
      rgb[i * 3 + 2] = (ab * m) / warm;
    }
  } else if (tex.kind === 'carpet') {
    const tufts = fbm(rng, 48, 2);
    const patches = fbm(rng, 6, 2);
    const hue = fbm(rng, 96, 2);
    for (let i = 0; i < SIZE * SIZE; i++) {
      const fibre = tex.fibreContrast * (rng.next() * 2 - 1);
      const m = Math.max(0.15, 1 + tex.contrast * (tufts[i] * 1.2 + 0.4 * patches[i]) + fibre);
      rgb[i * 3] = ar * m * (1 + 0.25 * hue[i]);
      rgb[i * 3 + 1] = ag * m;
      rgb[i * 3 + 2] = ab * m * (1 - 0.2 * hue[i]);
    }
  } else if (tex.kind === 'checker') {
    const tileTexels = SIZE / tex.tilesPerPeriod;
    const mottling = fbm(rng, 32, 3);
    for (let y = 0; y < SIZE; y++) {
      const ty = Math.floor(y / tileTexels);
      for (let x = 0; x < SIZE; x++) {
        const i = y * SIZE + x;
        const shade = (Math.floor(x / tileTexels) + ty) % 2 === 0 ? tex.light : tex.dark;
        const m = shade * (1 + tex.contrast * mottling[i] + 0.04 * (rng.next() - 0.5));
        rgb[i * 3] = ar * m;
        rgb[i * 3 + 1] = ag * m;
        rgb[i * 3 + 2] = ab * m;
      }
    }
  } else {
    const tileTexels = SIZE / tex.tilesPerPeriod;
    const groutTexels = tex.groutMm / floor.texelMm;
    const shades = Array.from({ length: tex.tilesPerPeriod ** 2 }, () => 1 + tex.tileJitter * (rng.next() * 2 - 1));
    const mottling = fbm(rng, 16, 3);
    const [gr, gg, gb] = tex.groutAlbedo as Rgb;
    for (let y = 0; y < SIZE; y++) {
      const ty = Math.floor(y / tileTexels);
      const dy = Math.min(y - ty * tileTexels, (ty + 1) * tileTexels - 1 - y);
      for (let x = 0; x < SIZE; x++) {
        const i = y * SIZE + x;
        const tx = Math.floor(x / tileTexels);
        const dx = Math.min(x - tx * tileTexels, (tx + 1) * tileTexels - 1 - x);
        const edge = Math.min(dx, dy);
        const speck = 0.08 * (rng.next() - 0.5);
        if (edge < groutTexels) {
          const g = 1 + 0.6 * speck;
          rgb[i * 3] = gr * g;
          rgb[i * 3 + 1] = gg * g;
          rgb[i * 3 + 2] = gb * g;
        } else {
          const bevel = edge < groutTexels + 2 ? 0.85 : 1;
          const m = shades[ty * tex.tilesPerPeriod + tx] * (1 + tex.contrast * mottling[i] + speck) * bevel;
          rgb[i * 3] = ar * m;
          rgb[i * 3 + 1] = ag * m;
          rgb[i * 3 + 2] = ab * m;
        }
      }
    }
  }
  return rgb;
}

const floorCache = new WeakMap<FloorSpec, MipTexture>();
export function floorTexture(floor: FloorSpec): MipTexture {
  let tex = floorCache.get(floor);
  if (!tex) {
    tex = buildMips(floorAlbedo(floor), floor.texelMm);
    floorCache.set(floor, tex);
  }
  return tex;
}

const plasterCache = new Map<number, MipTexture>();
/** Monochrome plaster multiplier (mean 1), the same in all channels. */
export function plasterTexture(contrast: number): MipTexture {
  let tex = plasterCache.get(contrast);
  if (!tex) {
    const rng = createRng(77);
    const n = fbm(rng, 8, 5);
    const rgb = new Float32Array(SIZE * SIZE * 3);
    for (let i = 0; i < SIZE * SIZE; i++) {
      const m = 1 + contrast * (n[i] + 0.5 * (rng.next() - 0.5));
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = m;
    }
    tex = buildMips(rgb, 2);
    plasterCache.set(contrast, tex);
  }
  return tex;
}

/**
 * Bilinear lookup at (u, v) millimetres in the mip level matching the pixel footprint.
 * Writes RGB into `out`.
 */
export function sampleTexture(tex: MipTexture, uMm: number, vMm: number, footprintMm: number, out: Float32Array): void {
  // Mip level: the first whose texel is at least ~0.7 of the footprint.
  const maxLevel = tex.levels.length - 1;
  let level = 0;
  let threshold = tex.texelMm * 1.41;
  while (footprintMm > threshold && level < maxLevel) {
    level++;
    threshold *= 2;
  }
  const data = tex.levels[level];
  const size = SIZE >> level;
  const mask = size - 1;
  const scale = 1 / (tex.texelMm * (1 << level));
  const fu = uMm * scale - 0.5;
  const fv = vMm * scale - 0.5;
  const x0 = Math.floor(fu);
  const y0 = Math.floor(fv);
  const tx = fu - x0;
  const ty = fv - y0;
  const xa = x0 & mask;
  const xb = (x0 + 1) & mask;
  const ya = (y0 & mask) * size;
  const yb = ((y0 + 1) & mask) * size;
  const w00 = (1 - tx) * (1 - ty);
  const w10 = tx * (1 - ty);
  const w01 = (1 - tx) * ty;
  const w11 = tx * ty;
  const i00 = (ya + xa) * 3;
  const i10 = (ya + xb) * 3;
  const i01 = (yb + xa) * 3;
  const i11 = (yb + xb) * 3;
  for (let c = 0; c < 3; c++) {
    out[c] = w00 * data[i00 + c] + w10 * data[i10 + c] + w01 * data[i01 + c] + w11 * data[i11 + c];
  }
}
