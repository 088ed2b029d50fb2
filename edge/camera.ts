/**
 * Camera simulator: the rover's rear view of a wall, rendered by per-pixel ray casting
 * (pinhole camera with a wide, slightly barrel-distorted lens above a textured floor),
 * with vignetting, then the camera's image signal processor and a JPEG encoder.
 */
import sharp from 'sharp';
import { develop } from './imageSignalProcessor.js';
import type { Rng } from '../core/random.js';
import type { SceneSpec } from './scene.js';
import { floorTexture, plasterTexture, sampleTexture } from './textures.js';

export interface CameraState {
  /** What the laser would read: bumper to wall along the rover's axis. */
  distanceMm: number;
  /** Approach angle: the wall plane is rotated about the vertical axis by this much. */
  angleDeg: number;
  /** Sideways position along the wall (which patch of floor is seen); random when omitted. */
  lateralMm?: number;
}

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

const DEG = Math.PI / 180;

/** How far sideways (mm) the rover may be from the lamp's position along the wall. */
export const LATERAL_RANGE_MM = 400;

/** How far (mm) the rover body's shadow reaches. */
const ROVER_SHADOW_INV_MM = 1 / 90;

/** exp(-x) for x >= 0, good to a few percent: plenty for shading, much cheaper than Math.exp. */
function fastExp(x: number): number {
  if (x > 12) return 0;
  const t = 1 + x / 8;
  const t2 = t * t;
  const t4 = t2 * t2;
  return 1 / (t4 * t4);
}

/** Schlick's rational approximation of cos^n for a specular lobe. */
function specularLobe(cos: number, n: number): number {
  return cos / (n - n * cos + cos);
}

/** N-rooks sample positions inside a pixel, as x,y pairs. */
function samplePattern(n: number): number[] {
  const count = Math.max(1, Math.round(n));
  let m = Math.max(1, Math.round(count * 0.618));
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  while (gcd(m, count) !== 1) m++;
  const out: number[] = [];
  for (let k = 0; k < count; k++) out.push((k + 0.5) / count, (((k * m) % count) + 0.5) / count);
  return out;
}

/** Renders the scene into linear RGB (before the camera pipeline), one value per output pixel. */
function renderRadiance(scene: SceneSpec, state: CameraState, rng: Rng): Float32Array {
  const { camera: cam, floor, wall, light } = scene;
  const W = cam.width;
  const H = cam.height;
  const pattern = samplePattern(cam.samplesPerPixel);
  const inv = 2 / pattern.length;
  const f = W / 2 / Math.tan((cam.hfovDeg * DEG) / 2);
  const pixelAngle = 1 / (f * Math.sqrt(pattern.length / 2));

  // Per-frame jitter: the rover pitches and rolls a little, the light flickers, position varies.
  const tilt = (cam.tiltDeg + rng.gaussian(0, 0.6)) * DEG;
  const roll = rng.gaussian(0, 0.5) * DEG;
  const camH = cam.heightMm + rng.gaussian(0, 1.5);
  const lateral = state.lateralMm ?? rng.uniform(-LATERAL_RANGE_MM, LATERAL_RANGE_MM);
  const intensity = light.intensity * rng.uniform(0.92, 1.08);
  const cosT = Math.cos(tilt);
  const sinT = Math.sin(tilt);
  const cosR = Math.cos(roll);
  const sinR = Math.sin(roll);
  const a = state.angleDeg * DEG;
  const cosA = Math.cos(a);
  const sinA = Math.sin(a);
  const z0 = Math.max(0, state.distanceMm) + cam.offsetMm;
  // Camera in the wall frame (s along the wall, q away from it).
  const camS = -z0 * sinA + lateral;
  const camQ = z0 * cosA;

  const [lr, lg, lb] = light.color;
  const [fr, fg, fb] = floor.albedo;
  const [wr, wg, wb] = wall.albedo;
  const lightS = light.lateralMm;
  const lightH = light.heightMm;
  const lightQ = light.fromWallMm;
  const r0sq = lightH * lightH + lightQ * lightQ;
  // Ambient light: part neutral, part bounced off the floor.
  const ambR = intensity * lr * (light.ambient + light.roomBounce * fr);
  const ambG = intensity * lg * (light.ambient + light.roomBounce * fg);
  const ambB = intensity * lb * (light.ambient + light.roomBounce * fb);
  const bncR = intensity * lr * light.floorBounce * fr;
  const bncG = intensity * lg * light.floorBounce * fg;
  const bncB = intensity * lb * light.floorBounce * fb;
  // What a glossy floor reflects at grazing angles: the lit wall.
  const wallLum = intensity * 0.55 + light.ambient;
  const reflR = wr * lr * wallLum;
  const reflG = wg * lg * wallLum;
  const reflB = wb * lb * wallLum;

  const gloss = floor.gloss;
  const shininess = floor.shininess;
  const sheen = floor.sheen;
  const distortion = cam.distortion;
  const contact = light.contactShadow;
  const invContactMm = 1 / light.contactShadowMm;
  const roverShadow = light.roverShadow;
  const invBounceMm = 1 / light.floorBounceHeightMm;
  const floorTex = floorTexture(floor);
  const wallTex = plasterTexture(wall.plasterContrast);
  const texel = new Float32Array(3);
  const out = new Float32Array(W * H * 3);
  const cx = W / 2;
  const cy = H / 2;
  const halfDiag2 = (W * W + H * H) / 4;

  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      let accR = 0;
      let accG = 0;
      let accB = 0;
      for (let si = 0; si < pattern.length; si += 2) {
        const ix = (px + pattern[si] - cx) / f;
        const iy = (py + pattern[si + 1] - cy) / f;
        let x = ix * cosR - iy * sinR;
        let y = ix * sinR + iy * cosR;
        const k = 1 + distortion * (x * x + y * y);
        x *= k;
        y *= k;
        const dx = x;
        const dy = -y * cosT - sinT;
        const dz = -y * sinT + cosT;
        const norm = 1 / Math.sqrt(dx * dx + dy * dy + dz * dz);
        const tFloor = dy < 0 ? -camH / dy : Infinity;
        const denom = dz * cosA - dx * sinA;
        const tWall = denom > 1e-6 ? (z0 * cosA) / denom : Infinity;
        let r: number;
        let g: number;
        let b: number;
        if (tFloor < tWall) {
          const hx = tFloor * dx;
          const hz = tFloor * dz;
          const q = hx * sinA - (hz - z0) * cosA;
          const s = hx * cosA + (hz - z0) * sinA + lateral;
          const dist = tFloor / norm;
          const footprint = (dist * pixelAngle) / Math.sqrt(-dy * norm);
          sampleTexture(floorTex, s, q, footprint, texel);
          // Direct light from the ceiling lamp (cosine and inverse square falloff).
          const ls = lightS - s;
          const lq = lightQ - q;
          const ld2 = ls * ls + lightH * lightH + lq * lq;
          const ld = Math.sqrt(ld2);
          const e = (intensity * (lightH / ld) * r0sq) / ld2;
          // Blinn-Phong highlight and Fresnel reflection of the wall.
          const vs = camS - s;
          const vq = camQ - q;
          const vd = Math.sqrt(vs * vs + camH * camH + vq * vq);
          const hs = ls / ld + vs / vd;
          const hy = lightH / ld + camH / vd;
          const hq = lq / ld + vq / vd;
          const nh = hy / Math.sqrt(hs * hs + hy * hy + hq * hq);
          const spec = gloss * e * specularLobe(nh, shininess);
          const grazing = 1 - camH / vd;
          const fres = sheen * (0.04 + 0.96 * grazing * grazing * grazing * grazing * grazing);
          const ao = (1 - contact * fastExp(q * invContactMm)) * (1 - roverShadow * fastExp(dist * ROVER_SHADOW_INV_MM));
          r = (texel[0] * (lr * e + ambR) + spec * lr) * ao + fres * reflR;
          g = (texel[1] * (lg * e + ambG) + spec * lg) * ao + fres * reflG;
          b = (texel[2] * (lb * e + ambB) + spec * lb) * ao + fres * reflB;
        } else if (tWall < Infinity) {
          const hx = tWall * dx;
          const hz = tWall * dz;
          const hy = camH + tWall * dy;
          const s = hx * cosA + (hz - z0) * sinA + lateral;
          const dist = tWall / norm;
          sampleTexture(wallTex, s, hy, dist * pixelAngle, texel);
          const ls = lightS - s;
          const lh = lightH - hy;
          const ld2 = ls * ls + lh * lh + lightQ * lightQ;
          const ld = Math.sqrt(ld2);
          const e = (intensity * (lightQ / ld) * r0sq) / ld2;
          const height = Math.max(0, hy);
          const bounce = fastExp(height * invBounceMm);
          const ao = (1 - contact * fastExp(height * invContactMm)) * (1 - roverShadow * fastExp(dist * ROVER_SHADOW_INV_MM));
          r = wr * texel[0] * (lr * e + ambR + bncR * bounce) * ao;
          g = wg * texel[1] * (lg * e + ambG + bncG * bounce) * ao;
          b = wb * texel[2] * (lb * e + ambB + bncB * bounce) * ao;
        } else {
          r = g = b = 0.04;
        }
        accR += r;
        accG += g;
        accB += b;
      }
      const dxp = px + 0.5 - W / 2;
      const dyp = py + 0.5 - H / 2;
      const v = 1 + (cam.vignette * (dxp * dxp + dyp * dyp)) / halfDiag2;
      const vig = inv / (v * v);
      const o = (py * W + px) * 3;
      out[o] = accR * vig;
      out[o + 1] = accG * vig;
      out[o + 2] = accB * vig;
    }
  }
  return out;
}

/** Renders one frame as raw 8-bit RGB. */
export function renderRgb(scene: SceneSpec, state: CameraState, rng: Rng): RgbImage {
  const linear = renderRadiance(scene, state, rng);
  return { data: develop(scene.camera, linear, rng), width: scene.camera.width, height: scene.camera.height };
}

/** Renders one frame of the rover's rear camera as a JPEG. */
export async function renderFrame(scene: SceneSpec, state: CameraState, rng: Rng): Promise<Buffer> {
  const img = renderRgb(scene, state, rng);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .jpeg({ quality: scene.camera.jpegQuality })
    .toBuffer();
}
