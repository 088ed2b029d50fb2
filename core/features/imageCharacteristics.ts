/**
 * Per-frame image characteristics (the drift signals, docs/EXPERIMENT.md), computed in plain TypeScript
 * on a downscaled copy of the frame. The definitions follow what OpenCV / scikit-image give on
 * an 8-bit image, so thresholds taken from the thesis carry over:
 * - grayscale is cv2's COLOR_RGB2GRAY (0.299 R + 0.587 G + 0.114 B in 15-bit fixed point);
 * - Lab and HSV are converted per pixel to OpenCV's 8-bit scales (rounded like cv2.cvtColor
 *   output) and then averaged;
 * - edge_count is Canny (3x3 Gaussian blur, Sobel, L1 magnitude, thresholds 50/100);
 * - GLCM properties follow skimage graycomatrix(d=5, angle 0, 256 levels, symmetric, normed)
 *   and graycoprops;
 * - keypoint_count is FAST-9 (threshold 20, non-max suppression) like cv2.FastFeatureDetector.
 */
import sharp from 'sharp';
import type { ImageCharacteristics } from './fields.js';
import { DECODE_PIXEL_LIMIT } from './imageGate.js';

export const DEFAULT_ANALYSIS_WIDTH = 160;

const CANNY_LOW_THRESHOLD = 50;
const CANNY_HIGH_THRESHOLD = 100;
const GLCM_DISTANCE = 5;
const GLCM_LEVELS = 256;
const FAST_THRESHOLD = 20;

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved R, G, B bytes, row-major. */
  data: Uint8Array;
}

interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export async function computeImageCharacteristics(jpeg: Buffer, options: { analysisWidth?: number } = {}): Promise<ImageCharacteristics> {
  return characteristicsOfRgb(await decodeForAnalysis(jpeg, options.analysisWidth ?? DEFAULT_ANALYSIS_WIDTH));
}

/** The characteristics of pixels already decoded (and downscaled) for the analysis. */
export function characteristicsOfRgb(rgb: RgbImage): ImageCharacteristics {
  const gray = toGray(rgb);
  const glcm = glcmProperties(gray, GLCM_DISTANCE);
  return {
    ...colourStatistics(rgb, gray),
    ...meanLab(rgb),
    ...meanHsv(rgb),
    edge_count: countCannyEdges(gray, CANNY_LOW_THRESHOLD, CANNY_HIGH_THRESHOLD),
    glcm_contrast: glcm.contrast,
    glcm_dissimilarity: glcm.dissimilarity,
    glcm_homogeneity: glcm.homogeneity,
    glcm_asm: glcm.asm,
    glcm_energy: glcm.energy,
    glcm_correlation: glcm.correlation,
    keypoint_count: countFastKeypoints(gray, FAST_THRESHOLD),
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding

function invalidImage(message: string, cause?: unknown): Error {
  const error = new Error(`invalid_image: ${message}`, { cause }) as Error & { code: string };
  error.code = 'invalid_image';
  return error;
}

/**
 * Decodes any image sharp reads into 8-bit sRGB without alpha, downscaled (sharp's default
 * lanczos3) to `width` with the aspect ratio kept. Narrower images are analysed at their own
 * size, never enlarged, and inputs over DECODE_PIXEL_LIMIT are refused before decoding.
 */
export async function decodeForAnalysis(input: Buffer, width: number): Promise<RgbImage> {
  if (!Number.isInteger(width) || width < 1) {
    throw new RangeError(`analysisWidth must be a positive integer, got ${width}`);
  }
  let decoded;
  try {
    decoded = await sharp(input, { limitInputPixels: DECODE_PIXEL_LIMIT })
      .resize({ width, withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw invalidImage(error instanceof Error ? error.message : String(error), error);
  }
  const { data, info } = decoded;
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw invalidImage(`unexpected decoded layout (${info.channels} channels, ${data.length} bytes)`);
  }
  return { width: info.width, height: info.height, data };
}

// ---------------------------------------------------------------------------------------------
// Colour statistics

/** OpenCV's RGB -> GRAY for 8-bit images: 0.299 R + 0.587 G + 0.114 B in 15-bit fixed point, rounded. */
function toGray(rgb: RgbImage): GrayImage {
  const n = rgb.width * rgb.height;
  const src = rgb.data;
  const out = new Uint8Array(n);
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    out[p] = (src[i] * 9798 + src[i + 1] * 19235 + src[i + 2] * 3735 + 16384) >> 15;
  }
  return { width: rgb.width, height: rgb.height, data: out };
}

function meanAndStd(sum: number, sumOfSquares: number, n: number): [number, number] {
  const mean = sum / n;
  return [mean, Math.sqrt(Math.max(0, sumOfSquares / n - mean * mean))];
}

/** Means and population standard deviations of the grayscale luma and of R, G, B. */
function colourStatistics(rgb: RgbImage, gray: GrayImage) {
  const n = rgb.width * rgb.height;
  const src = rgb.data;
  const luma = gray.data;
  let sr = 0,
    sg = 0,
    sb = 0,
    sy = 0;
  let qr = 0,
    qg = 0,
    qb = 0,
    qy = 0;
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    const r = src[i],
      g = src[i + 1],
      b = src[i + 2],
      y = luma[p];
    sr += r;
    qr += r * r;
    sg += g;
    qg += g * g;
    sb += b;
    qb += b * b;
    sy += y;
    qy += y * y;
  }
  const [brightness_mean, brightness_std] = meanAndStd(sy, qy, n);
  const [r_mean, r_std] = meanAndStd(sr, qr, n);
  const [g_mean, g_std] = meanAndStd(sg, qg, n);
  const [b_mean, b_std] = meanAndStd(sb, qb, n);
  return { brightness_mean, brightness_std, r_mean, r_std, g_mean, g_std, b_mean, b_std };
}

/** sRGB byte -> linear light in 0..1. */
const SRGB_TO_LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/** OpenCV's 8-bit Lab lightness scale, (116 * 255 + 50) / 100 in integer division, see meanLab. */
const OPENCV_L_SCALE = 296;

function labF(t: number): number {
  return t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116;
}

/**
 * labF sampled on [0, 1] (XYZ normalised by the white point stays within it, up to rounding) for
 * linear interpolation: Math.cbrt per channel would dominate the run time. The interpolation
 * error is below 1e-6, i.e. below 1e-3 in the 8-bit a channel.
 */
const LAB_F_STEPS = 16384;
const LAB_F_TABLE = Float64Array.from({ length: LAB_F_STEPS + 2 }, (_, i) => labF(i / LAB_F_STEPS));

function labFInterpolated(t: number): number {
  const pos = t <= 0 ? 0 : t * LAB_F_STEPS;
  const i = Math.min(Math.floor(pos), LAB_F_STEPS);
  const frac = pos - i;
  return LAB_F_TABLE[i] + (LAB_F_TABLE[i + 1] - LAB_F_TABLE[i]) * frac;
}

/** Mean of per-pixel CIE Lab (D65) in OpenCV's 8-bit scale: L*255/100, a+128, b+128. */
function meanLab(rgb: RgbImage) {
  const n = rgb.width * rgb.height;
  const src = rgb.data;
  let sumL = 0,
    sumA = 0,
    sumB = 0;
  for (let i = 0; i < src.length; i += 3) {
    const r = SRGB_TO_LINEAR[src[i]],
      g = SRGB_TO_LINEAR[src[i + 1]],
      b = SRGB_TO_LINEAR[src[i + 2]];
    // XYZ with X and Z normalised by the D65 white point (OpenCV's constants).
    const x = (0.412453 * r + 0.35758 * g + 0.180423 * b) / 0.950456;
    const y = 0.212671 * r + 0.71516 * g + 0.072169 * b;
    const z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.088754;
    const fx = labFInterpolated(x),
      fy = labFInterpolated(y),
      fz = labFInterpolated(z);
    // L * 255 / 100 = 295.8 fy - 40.8; OpenCV's 8-bit path uses the integer scale 296, which
    // matches its output without the 0.1 bias. fy already carries the linear branch for small y.
    sumL += clampByte(Math.round(OPENCV_L_SCALE * fy - 40.8));
    sumA += clampByte(Math.round(500 * (fx - fy) + 128));
    sumB += clampByte(Math.round(200 * (fy - fz) + 128));
  }
  return { lab_l: sumL / n, lab_a: sumA / n, lab_b: sumB / n };
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const HSV_SHIFT = 12;
const HSV_ROUND = 1 << (HSV_SHIFT - 1);
/** OpenCV's division tables for 8-bit RGB -> HSV (H in 0..180). */
const HSV_S_DIV = Int32Array.from({ length: 256 }, (_, i) => (i ? Math.round((255 << HSV_SHIFT) / i) : 0));
const HSV_H_DIV = Int32Array.from({ length: 256 }, (_, i) => (i ? Math.round((180 << HSV_SHIFT) / (6 * i)) : 0));

/** Mean of per-pixel HSV in OpenCV's 8-bit scale (H 0..180, S and V 0..255), same integer maths. */
function meanHsv(rgb: RgbImage) {
  const n = rgb.width * rgb.height;
  const src = rgb.data;
  let sumH = 0,
    sumS = 0,
    sumV = 0;
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i],
      g = src[i + 1],
      b = src[i + 2];
    const v = Math.max(r, g, b);
    const diff = v - Math.min(r, g, b);
    let h: number;
    if (v === r) h = g - b;
    else if (v === g) h = b - r + 2 * diff;
    else h = r - g + 4 * diff;
    h = (h * HSV_H_DIV[diff] + HSV_ROUND) >> HSV_SHIFT;
    if (h < 0) h += 180;
    sumH += h;
    sumS += (diff * HSV_S_DIV[v] + HSV_ROUND) >> HSV_SHIFT;
    sumV += v;
  }
  return { hsv_h: sumH / n, hsv_s: sumS / n, hsv_v: sumV / n };
}

// ---------------------------------------------------------------------------------------------
// Canny edges

/** 3x3 Gaussian blur ([1 2 1]/4 each way, reflect-101 border, rounded) like cv2.GaussianBlur. */
function gaussianBlur3(gray: GrayImage): Uint8Array {
  const { width: w, height: h, data } = gray;
  const horizontal = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const left = x > 0 ? x - 1 : Math.min(1, w - 1);
      const right = x < w - 1 ? x + 1 : Math.max(w - 2, 0);
      horizontal[row + x] = data[row + left] + 2 * data[row + x] + data[row + right];
    }
  }
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = (y > 0 ? y - 1 : Math.min(1, h - 1)) * w;
    const down = (y < h - 1 ? y + 1 : Math.max(h - 2, 0)) * w;
    const row = y * w;
    for (let x = 0; x < w; x++) {
      out[row + x] = (horizontal[up + x] + 2 * horizontal[row + x] + horizontal[down + x] + 8) >> 4;
    }
  }
  return out;
}

/**
 * Canny edge pixel count: Gaussian blur, 3x3 Sobel (replicated border), L1 magnitude,
 * non-maximum suppression as in OpenCV, double threshold and 8-connected hysteresis.
 */
function countCannyEdges(gray: GrayImage, low: number, high: number): number {
  const { width: w, height: h } = gray;
  const img = gaussianBlur3(gray);
  // Magnitudes live in a buffer padded by one zero pixel on every side.
  const mw = w + 2;
  const mag = new Int32Array(mw * (h + 2));
  const dx = new Int16Array(w * h);
  const dy = new Int16Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = Math.max(y - 1, 0) * w,
      row = y * w,
      down = Math.min(y + 1, h - 1) * w;
    for (let x = 0; x < w; x++) {
      const l = Math.max(x - 1, 0),
        r = Math.min(x + 1, w - 1);
      const gx = img[up + r] - img[up + l] + 2 * (img[row + r] - img[row + l]) + img[down + r] - img[down + l];
      const gy = img[down + l] + 2 * img[down + x] + img[down + r] - img[up + l] - 2 * img[up + x] - img[up + r];
      dx[row + x] = gx;
      dy[row + x] = gy;
      mag[(y + 1) * mw + x + 1] = Math.abs(gx) + Math.abs(gy);
    }
  }

  // 0 = not an edge, 1 = weak candidate, 2 = edge.
  const state = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  let top = 0;
  const TG22 = 13573; // round(tan(22.5 deg) * 2^15), OpenCV's fixed point.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const m = (y + 1) * mw + x + 1;
      const value = mag[m];
      if (value <= low) continue;
      const ax = Math.abs(dx[p]);
      const ay = Math.abs(dy[p]) << 15;
      const tg22x = ax * TG22;
      let isMax: boolean;
      if (ay < tg22x) {
        isMax = value > mag[m - 1] && value >= mag[m + 1];
      } else if (ay > tg22x + (ax << 16)) {
        isMax = value > mag[m - mw] && value >= mag[m + mw];
      } else {
        const s = (dx[p] ^ dy[p]) < 0 ? -1 : 1;
        isMax = value > mag[m - mw - s] && value > mag[m + mw + s];
      }
      if (!isMax) continue;
      if (value > high) {
        state[p] = 2;
        stack[top++] = p;
      } else {
        state[p] = 1;
      }
    }
  }

  let edges = top;
  while (top > 0) {
    const p = stack[--top];
    const x = p % w,
      y = (p - x) / w;
    for (let ny = Math.max(y - 1, 0); ny <= Math.min(y + 1, h - 1); ny++) {
      for (let nx = Math.max(x - 1, 0); nx <= Math.min(x + 1, w - 1); nx++) {
        const q = ny * w + nx;
        if (state[q] === 1) {
          state[q] = 2;
          stack[top++] = q;
          edges++;
        }
      }
    }
  }
  return edges;
}

// ---------------------------------------------------------------------------------------------
// GLCM texture

interface GlcmProperties {
  contrast: number;
  dissimilarity: number;
  homogeneity: number;
  asm: number;
  energy: number;
  correlation: number;
}

/**
 * Symmetric, normalised grey-level co-occurrence matrix for the horizontal neighbour `distance`
 * pixels to the right (skimage graycomatrix(img, [distance], [0], 256, symmetric=True,
 * normed=True)) reduced to skimage's graycoprops.
 */
function glcmProperties(gray: GrayImage, distance: number): GlcmProperties {
  const { width: w, height: h, data } = gray;
  const L = GLCM_LEVELS;
  const counts = new Uint32Array(L * L);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x + distance < w; x++) {
      const i = data[row + x],
        j = data[row + x + distance];
      counts[i * L + j]++;
      counts[j * L + i]++;
    }
  }
  const total = 2 * h * Math.max(w - distance, 0);
  if (total === 0) {
    // No pixel pairs: skimage's normalisation would give an all-zero matrix.
    return { contrast: 0, dissimilarity: 0, homogeneity: 0, asm: 0, energy: 0, correlation: 1 };
  }

  let contrast = 0,
    dissimilarity = 0,
    homogeneity = 0,
    asm = 0,
    mean = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const c = counts[i * L + j];
      if (c === 0) continue;
      const p = c / total;
      const d = i - j;
      contrast += p * d * d;
      dissimilarity += p * Math.abs(d);
      homogeneity += p / (1 + d * d);
      asm += p * p;
      mean += p * i;
    }
  }
  // The matrix is symmetric, so the row and column marginals (means, stds) coincide.
  let variance = 0,
    covariance = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const c = counts[i * L + j];
      if (c === 0) continue;
      const p = c / total;
      variance += p * (i - mean) * (i - mean);
      covariance += p * (i - mean) * (j - mean);
    }
  }
  const std = Math.sqrt(variance);
  const correlation = std < 1e-15 ? 1 : covariance / (std * std);
  return { contrast, dissimilarity, homogeneity, asm, energy: Math.sqrt(asm), correlation };
}

// ---------------------------------------------------------------------------------------------
// FAST-9 keypoints

/** Bresenham circle of radius 3 in OpenCV's order, as (dx, dy). */
const FAST_CIRCLE: ReadonlyArray<readonly [number, number]> = [
  [0, 3],
  [1, 3],
  [2, 2],
  [3, 1],
  [3, 0],
  [3, -1],
  [2, -2],
  [1, -3],
  [0, -3],
  [-1, -3],
  [-2, -2],
  [-3, -1],
  [-3, 0],
  [-3, 1],
  [-2, 2],
  [-1, 3],
];
const FAST_ARC = 9;

/** True if the 16-bit circular mask has a run of at least 9 consecutive set bits. */
function hasArcOf9(mask16: number): boolean {
  const m = mask16 | (mask16 << 16); // unrolled circle, so runs may wrap around
  const run2 = m & (m >>> 1);
  const run4 = run2 & (run2 >>> 2);
  const run8 = run4 & (run4 >>> 4);
  return (run8 & (m >>> 8)) !== 0;
}

/**
 * Corner score of FAST-9, as OpenCV's cornerScore: the largest threshold for which the pixel is
 * still a corner (the best 9-arc's smallest difference to the centre, all of one sign) minus 1,
 * and at least `threshold`. `d` holds centre - circle for the 16 circle pixels followed by the
 * first 9 again, so that arcs need no wrap-around. Each even k covers the arcs starting at k and
 * k + 1 through their shared 8 pixels k+1..k+8.
 */
function fastScore(d: Int32Array, threshold: number): number {
  let darkArc = threshold; // circle darker than the centre: d > 0
  for (let k = 0; k < 16; k += 2) {
    let a = d[k + 1];
    for (let j = k + 2; j <= k + 3; j++) if (d[j] < a) a = d[j];
    if (a <= darkArc) continue;
    for (let j = k + 4; j <= k + 8; j++) if (d[j] < a) a = d[j];
    darkArc = Math.max(darkArc, Math.min(a, d[k]), Math.min(a, d[k + 9]));
  }
  let brightArc = -darkArc; // circle brighter than the centre: d < 0
  for (let k = 0; k < 16; k += 2) {
    let b = d[k + 1];
    for (let j = k + 2; j <= k + 5; j++) if (d[j] > b) b = d[j];
    if (b >= brightArc) continue;
    for (let j = k + 6; j <= k + 8; j++) if (d[j] > b) b = d[j];
    brightArc = Math.min(brightArc, Math.max(b, d[k]), Math.max(b, d[k + 9]));
  }
  return -brightArc - 1;
}

/**
 * FAST-9 keypoint count like cv2.FastFeatureDetector(threshold, nonmaxSuppression=True): a pixel
 * at least 3 px from the border is a corner when 9 contiguous circle pixels are all brighter than
 * centre + threshold or all darker than centre - threshold; it is kept when its score is strictly
 * greater than those of its 8 neighbours.
 */
function countFastKeypoints(gray: GrayImage, threshold: number): number {
  const { width: w, height: h, data } = gray;
  if (w < 7 || h < 7) return 0;
  const offsets = Int32Array.from(FAST_CIRCLE, ([cx, cy]) => cy * w + cx);
  // side[diff + 255] classifies a circle pixel: 1 darker than centre - threshold, 2 brighter
  // than centre + threshold, 0 otherwise.
  const side = Uint8Array.from({ length: 511 }, (_, i) => (i - 255 < -threshold ? 1 : i - 255 > threshold ? 2 : 0));
  const scores = new Int32Array(w * h);
  const diffs = new Int32Array(16 + FAST_ARC);
  for (let y = 3; y < h - 3; y++) {
    for (let x = 3; x < w - 3; x++) {
      const p = y * w + x;
      const base = 255 - data[p];
      // A 9-arc holds one pixel of every opposite pair (k, k + 8): cheap rejection first.
      let sides = side[base + data[p + offsets[0]]] | side[base + data[p + offsets[8]]];
      if (sides === 0) continue;
      for (let k = 2; k < 8; k += 2) sides &= side[base + data[p + offsets[k]]] | side[base + data[p + offsets[k + 8]]];
      if (sides === 0) continue;
      for (let k = 1; k < 8; k += 2) sides &= side[base + data[p + offsets[k]]] | side[base + data[p + offsets[k + 8]]];
      if (sides === 0) continue;
      const v = data[p];
      const hi = v + threshold,
        lo = v - threshold;
      let brighterMask = 0,
        darkerMask = 0;
      for (let k = 0; k < 16; k++) {
        const value = data[p + offsets[k]];
        diffs[k] = v - value;
        if (value > hi) brighterMask |= 1 << k;
        else if (value < lo) darkerMask |= 1 << k;
      }
      if (hasArcOf9(brighterMask) || hasArcOf9(darkerMask)) {
        for (let k = 16; k < diffs.length; k++) diffs[k] = diffs[k - 16];
        scores[p] = fastScore(diffs, threshold);
      }
    }
  }

  let count = 0;
  for (let y = 3; y < h - 3; y++) {
    for (let x = 3; x < w - 3; x++) {
      const p = y * w + x;
      const s = scores[p];
      if (s === 0) continue;
      if (
        s > scores[p - w - 1] &&
        s > scores[p - w] &&
        s > scores[p - w + 1] &&
        s > scores[p - 1] &&
        s > scores[p + 1] &&
        s > scores[p + w - 1] &&
        s > scores[p + w] &&
        s > scores[p + w + 1]
      ) {
        count++;
      }
    }
  }
  return count;
}
