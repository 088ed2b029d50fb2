/**
 * Per-frame image characteristics (the drift signals, docs/EXPERIMENT.md), computed on a downscaled copy of the
 * frame, in TypeScript here and, with the same values bit for bit, in C++ (native/imageCharacteristics.cc), which
 * characteristicsOfRgb uses when it is built. The definitions follow what OpenCV / scikit-image give on
 * an 8-bit image, so thresholds taken from the thesis carry over:
 * - grayscale is cv2's COLOR_RGB2GRAY (0.299 R + 0.587 G + 0.114 B in 15-bit fixed point);
 * - Lab and HSV are converted per pixel to OpenCV's 8-bit scales (rounded like cv2.cvtColor
 *   output) and then averaged;
 * - edge_count is Canny (3x3 Gaussian blur, Sobel, L1 magnitude, thresholds 50/100);
 * - GLCM properties follow skimage graycomatrix(d=5, angle 0, 256 levels, symmetric, normed)
 *   and graycoprops;
 * - keypoint_count is FAST-9 (threshold 20, non-max suppression) like cv2.FastFeatureDetector.
 */
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from './fields.js';
import { openFrame } from './imageGate.js';
import { loadNativeCharacteristics, type NativeCharacteristics } from './nativeCharacteristics.js';

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

export async function computeImageCharacteristics(jpeg: Buffer, options: { analysisWidth?: number } = {}): Promise<ImageCharacteristics> {
  return characteristicsOfRgb(await decodeForAnalysis(jpeg, options.analysisWidth ?? DEFAULT_ANALYSIS_WIDTH));
}

/**
 * The characteristics of pixels already decoded (and downscaled) for the analysis: by the C++ of
 * native/imageCharacteristics.cc when scripts/build-native.sh has built it (the same values in less than half the
 * time), else by the TypeScript below.
 */
export function characteristicsOfRgb(rgb: RgbImage): ImageCharacteristics {
  const compute = nativeCharacteristics();
  if (!compute) return characteristicsInTypeScript(rgb);
  checkRgbImage(rgb);
  const values = compute(rgb.data, rgb.width, rgb.height);
  return Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((field, i) => [field, values[i]])) as ImageCharacteristics;
}

function checkRgbImage({ width, height, data }: RgbImage): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * 3) {
    throw new RangeError(
      `an RgbImage needs positive integer sizes and width * height * 3 bytes, got ${width}x${height} with ${data.length} bytes`,
    );
  }
}

let native: { compute?: NativeCharacteristics; reason?: string } | undefined;

/** The C++ characteristics, loaded once per thread, or undefined (nativeCharacteristicsUnavailable says why). */
export function nativeCharacteristics(): NativeCharacteristics | undefined {
  native ??= loadNativeCharacteristics({
    rToXyz: R_TO_XYZ,
    gToXyz: G_TO_XYZ,
    bToXyz: B_TO_XYZ,
    labF: LAB_F_TABLE,
    hsvSDiv: HSV_S_DIV,
    hsvHDiv: HSV_H_DIV,
  });
  return native.compute;
}

export const nativeCharacteristicsUnavailable = (): string | undefined => (nativeCharacteristics() ? undefined : native?.reason);

/** The reference the C++ must equal, and the path without it. */
export function characteristicsInTypeScript(rgb: RgbImage): ImageCharacteristics {
  checkRgbImage(rgb);
  const { width, height } = rgb;
  const ws = workspaceFor(width, height);
  const colour = colourStatistics(rgb, ws.gray);
  const glcm = glcmProperties(ws.gray, width, height, GLCM_DISTANCE);
  return {
    ...colour,
    edge_count: countCannyEdges(ws, CANNY_LOW_THRESHOLD, CANNY_HIGH_THRESHOLD),
    glcm_contrast: glcm.contrast,
    glcm_dissimilarity: glcm.dissimilarity,
    glcm_homogeneity: glcm.homogeneity,
    glcm_asm: glcm.asm,
    glcm_energy: glcm.energy,
    glcm_correlation: glcm.correlation,
    keypoint_count: countFastKeypoints(ws),
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding

function invalidImage(message: string, cause?: unknown): Error {
  const error = new Error(`invalid_image: ${message}`, { cause }) as Error & { code: string };
  error.code = 'invalid_image';
  return error;
}

/** A frame decoded for the analysis. */
export interface AnalysisPixels extends RgbImage {
  /** Not downscaled: these are the frame's own pixels, which the model's resize may start from as well. */
  ownSize: boolean;
}

/**
 * Decodes any image sharp reads into 8-bit sRGB without alpha, downscaled (sharp's default
 * lanczos3) to `width` with the aspect ratio kept. Narrower images are analysed at their own
 * size, never enlarged. The decode follows the frame policy (imageGate.ts's openFrame), and a wider
 * JPEG is shrunk while it is read (by 2, 4 or 8), so its cost follows `width`, not the size its header claims.
 */
export async function decodeForAnalysis(input: Buffer, width: number): Promise<AnalysisPixels> {
  if (!Number.isInteger(width) || width < 1) {
    throw new RangeError(`analysisWidth must be a positive integer, got ${width}`);
  }
  let decoded;
  let sourceWidth: number | undefined;
  try {
    const frame = openFrame(input);
    sourceWidth = (await frame.metadata()).width;
    decoded = await frame
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
  return { width: info.width, height: info.height, data, ownSize: info.width === sourceWidth };
}

// ---------------------------------------------------------------------------------------------
// Colour statistics

function meanAndStd(sum: number, sumOfSquares: number, n: number): [number, number] {
  const mean = sum / n;
  return [mean, Math.sqrt(Math.max(0, sumOfSquares / n - mean * mean))];
}

/** sRGB byte -> linear light in 0..1. */
const SRGB_TO_LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/** OpenCV's linear RGB -> XYZ (D65) coefficients, per channel: [X, Y, Z] of R, then of G, then of B. */
const RGB_TO_XYZ = [
  [0.412453, 0.212671, 0.019334],
  [0.35758, 0.71516, 0.119193],
  [0.180423, 0.072169, 0.950227],
] as const;

/** SRGB_TO_LINEAR[v] times the channel's X, Y and Z coefficients at 3 v, 3 v + 1, 3 v + 2 (the same products, looked up). */
const [R_TO_XYZ, G_TO_XYZ, B_TO_XYZ] = RGB_TO_XYZ.map((coefficients) =>
  Float64Array.from({ length: 3 * 256 }, (_, i) => coefficients[i % 3] * SRGB_TO_LINEAR[Math.floor(i / 3)]),
);

/** OpenCV's 8-bit Lab lightness scale, (116 * 255 + 50) / 100 in integer division, see labOf. */
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

/** For t in [0, 1], where the normalised XYZ of every byte colour lies (1 at white, exactly), as the index needs. */
function labFInterpolated(t: number): number {
  const pos = t * LAB_F_STEPS;
  const i = pos | 0;
  return LAB_F_TABLE[i] + (LAB_F_TABLE[i + 1] - LAB_F_TABLE[i]) * (pos - i);
}

/**
 * Math.round(v) clamped to 0..255, for |v| < 2^31: v | 0 truncates, and the doubled fraction (exact)
 * truncates to the half-up step. Math.round itself costs several times as much here.
 */
function roundToByte(v: number): number {
  const truncated = v | 0;
  const rounded = truncated + (((v - truncated) * 2) | 0);
  return rounded < 0 ? 0 : rounded > 255 ? 255 : rounded;
}

/** CIE Lab (D65) of one sRGB pixel in OpenCV's 8-bit scale (L*255/100, a+128, b+128), packed L | a << 8 | b << 16. */
function labOf(red: number, green: number, blue: number): number {
  const r = 3 * red,
    g = 3 * green,
    b = 3 * blue;
  // XYZ with X and Z normalised by the D65 white point (OpenCV's constants).
  const x = (R_TO_XYZ[r] + G_TO_XYZ[g] + B_TO_XYZ[b]) / 0.950456;
  const y = R_TO_XYZ[r + 1] + G_TO_XYZ[g + 1] + B_TO_XYZ[b + 1];
  const z = (R_TO_XYZ[r + 2] + G_TO_XYZ[g + 2] + B_TO_XYZ[b + 2]) / 1.088754;
  const fx = labFInterpolated(x),
    fy = labFInterpolated(y),
    fz = labFInterpolated(z);
  // L * 255 / 100 = 295.8 fy - 40.8; OpenCV's 8-bit path uses the integer scale 296, which
  // matches its output without the 0.1 bias. fy already carries the linear branch for small y.
  const l = roundToByte(OPENCV_L_SCALE * fy - 40.8);
  const a = roundToByte(500 * (fx - fy) + 128);
  const bb = roundToByte(200 * (fy - fz) + 128);
  return l | (a << 8) | (bb << 16);
}

const HSV_SHIFT = 12;
const HSV_ROUND = 1 << (HSV_SHIFT - 1);
/** OpenCV's division tables for 8-bit RGB -> HSV (H in 0..180). */
const HSV_S_DIV = Int32Array.from({ length: 256 }, (_, i) => (i ? Math.round((255 << HSV_SHIFT) / i) : 0));
const HSV_H_DIV = Int32Array.from({ length: 256 }, (_, i) => (i ? Math.round((180 << HSV_SHIFT) / (6 * i)) : 0));

/** HSV of one pixel in OpenCV's 8-bit scale (H 0..180, S and V 0..255, same integer maths), packed H | S << 8 | V << 16. */
function hsvOf(r: number, g: number, b: number): number {
  const v = Math.max(r, g, b);
  const diff = v - Math.min(r, g, b);
  let h: number;
  if (v === r) h = g - b;
  else if (v === g) h = b - r + 2 * diff;
  else h = r - g + 4 * diff;
  h = (h * HSV_H_DIV[diff] + HSV_ROUND) >> HSV_SHIFT;
  if (h < 0) h += 180;
  const s = (diff * HSV_S_DIV[v] + HSV_ROUND) >> HSV_SHIFT;
  return h | (s << 8) | (v << 16);
}

/**
 * Lab and HSV of the colours seen lately: a direct-mapped cache keyed by the 24-bit colour (768 KiB
 * per thread). A frame of the simulator has a few hundred to ten thousand distinct colours among its
 * 19,200 pixels, and one colour's Lab costs three table interpolations and two divisions.
 * Entries are [colour, lab, hsv]; colour -1 is empty.
 */
const COLOUR_CACHE_BITS = 16;
const colourCache = new Int32Array(3 << COLOUR_CACHE_BITS).fill(-1);

/**
 * In one pass: cv2's RGB -> GRAY into `gray` (0.299 R + 0.587 G + 0.114 B in 15-bit fixed point,
 * rounded); means and population standard deviations of that luma and of R, G, B; and the means of
 * per-pixel Lab and HSV. Every sum adds integers, so its order does not change the result.
 */
function colourStatistics(rgb: RgbImage, gray: Uint8Array) {
  const n = rgb.width * rgb.height;
  const src = rgb.data;
  const cache = colourCache;
  let sr = 0,
    sg = 0,
    sb = 0,
    sy = 0;
  let qr = 0,
    qg = 0,
    qb = 0,
    qy = 0;
  let sumL = 0,
    sumA = 0,
    sumLabB = 0,
    sumH = 0,
    sumS = 0,
    sumV = 0;
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    const r = src[i],
      g = src[i + 1],
      b = src[i + 2];
    const y = (r * 9798 + g * 19235 + b * 3735 + 16384) >> 15;
    gray[p] = y;
    sr += r;
    qr += r * r;
    sg += g;
    qg += g * g;
    sb += b;
    qb += b * b;
    sy += y;
    qy += y * y;
    const colour = (r << 16) | (g << 8) | b;
    const slot = (Math.imul(colour, 0x9e3779b1) >>> (32 - COLOUR_CACHE_BITS)) * 3;
    if (cache[slot] !== colour) {
      cache[slot] = colour;
      cache[slot + 1] = labOf(r, g, b);
      cache[slot + 2] = hsvOf(r, g, b);
    }
    const lab = cache[slot + 1],
      hsv = cache[slot + 2];
    sumL += lab & 255;
    sumA += (lab >> 8) & 255;
    sumLabB += lab >> 16;
    sumH += hsv & 255;
    sumS += (hsv >> 8) & 255;
    sumV += hsv >> 16;
  }
  const [brightness_mean, brightness_std] = meanAndStd(sy, qy, n);
  const [r_mean, r_std] = meanAndStd(sr, qr, n);
  const [g_mean, g_std] = meanAndStd(sg, qg, n);
  const [b_mean, b_std] = meanAndStd(sb, qb, n);
  return {
    brightness_mean,
    brightness_std,
    r_mean,
    r_std,
    g_mean,
    g_std,
    b_mean,
    b_std,
    lab_l: sumL / n,
    lab_a: sumA / n,
    lab_b: sumLabB / n,
    hsv_h: sumH / n,
    hsv_s: sumS / n,
    hsv_v: sumV / n,
  };
}

// ---------------------------------------------------------------------------------------------
// Canny edges
//
// The blurred image, the gradients, the magnitudes and the edge states live in buffers padded by
// one pixel on every side (row stride w + 2), so that every 3x3 neighbourhood is at fixed offsets.

/** Buffers of the analysis of one image size, reused by the next image of that size. */
interface Workspace {
  width: number;
  height: number;
  gray: Uint8Array;
  blurred: Uint8Array;
  /** Zero in the padding, always. */
  magnitude: Int32Array;
  /** Pixels whose magnitude is above the low threshold, with their gradient. */
  candidates: Int32Array;
  candidateDx: Int16Array;
  candidateDy: Int16Array;
  /** Zero everywhere between calls. */
  edgeState: Uint8Array;
  stack: Int32Array;
  /** Zero everywhere between calls. */
  fastScores: Int32Array;
  fastCorners: Int32Array;
}

/** Images up to this many pixels (640x400) keep their buffers for the next image of their size. */
const WORKSPACE_KEPT_PIXELS = 1 << 18;
let workspace: Workspace | undefined;

function workspaceFor(width: number, height: number): Workspace {
  if (workspace?.width === width && workspace.height === height) return workspace;
  const n = width * height;
  const padded = (width + 2) * (height + 2);
  const fresh: Workspace = {
    width,
    height,
    gray: new Uint8Array(n),
    blurred: new Uint8Array(padded),
    magnitude: new Int32Array(padded),
    candidates: new Int32Array(n),
    candidateDx: new Int16Array(n),
    candidateDy: new Int16Array(n),
    edgeState: new Uint8Array(padded),
    stack: new Int32Array(n),
    fastScores: new Int32Array(n),
    fastCorners: new Int32Array(n),
  };
  if (n <= WORKSPACE_KEPT_PIXELS) workspace = fresh;
  return fresh;
}

/**
 * 3x3 Gaussian blur ([1 2 1]/4 each way, reflect-101 border, rounded) like cv2.GaussianBlur, into
 * `ws.blurred`, whose padding replicates the outermost pixels (the Sobel's border). The kernel is
 * separable and the sums are integers: each row slides along its [1 2 1] column sums.
 */
function gaussianBlur3Padded(ws: Workspace): void {
  const { width: w, height: h, gray, blurred } = ws;
  const stride = w + 2;
  // Reflect-101: row -1 is row 1 and row h is row h - 2; likewise for columns.
  const leftOfFirst = Math.min(1, w - 1),
    rightOfLast = Math.max(w - 2, 0);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const up = (y > 0 ? y - 1 : Math.min(1, h - 1)) * w;
    const down = (y < h - 1 ? y + 1 : Math.max(h - 2, 0)) * w;
    const out = (y + 1) * stride + 1;
    let previous = gray[up + leftOfFirst] + 2 * gray[row + leftOfFirst] + gray[down + leftOfFirst];
    let current = gray[up] + 2 * gray[row] + gray[down];
    for (let x = 0; x < w - 1; x++) {
      const next = gray[up + x + 1] + 2 * gray[row + x + 1] + gray[down + x + 1];
      blurred[out + x] = (previous + 2 * current + next + 8) >> 4;
      previous = current;
      current = next;
    }
    const next = gray[up + rightOfLast] + 2 * gray[row + rightOfLast] + gray[down + rightOfLast];
    blurred[out + w - 1] = (previous + 2 * current + next + 8) >> 4;
    blurred[out - 1] = blurred[out];
    blurred[out + w] = blurred[out + w - 1];
  }
  blurred.copyWithin(0, stride, 2 * stride);
  blurred.copyWithin((h + 1) * stride, h * stride, (h + 1) * stride);
}

/**
 * Canny edge pixel count: Gaussian blur, 3x3 Sobel (replicated border), L1 magnitude,
 * non-maximum suppression as in OpenCV, double threshold and 8-connected hysteresis.
 */
function countCannyEdges(ws: Workspace, low: number, high: number): number {
  gaussianBlur3Padded(ws);
  const { width: w, height: h, blurred: img, magnitude: mag, candidates, candidateDx, candidateDy, edgeState: state, stack } = ws;
  const stride = w + 2;
  // Sobel as [1 2 1] and [-1 0 1] columns of the rows above and below, slid along the row: gx is
  // the difference of the smoothed columns either side, gy the smoothed sum of column differences.
  let candidateCount = 0;
  for (let y = 1; y <= h; y++) {
    const first = y * stride;
    let smoothedLeft = img[first - stride] + 2 * img[first] + img[first + stride],
      differenceLeft = img[first + stride] - img[first - stride];
    let smoothed = img[first + 1 - stride] + 2 * img[first + 1] + img[first + 1 + stride],
      difference = img[first + 1 + stride] - img[first + 1 - stride];
    for (let m = first + 1, end = m + w; m < end; m++) {
      const right = m + 1;
      const smoothedRight = img[right - stride] + 2 * img[right] + img[right + stride],
        differenceRight = img[right + stride] - img[right - stride];
      const gx = smoothedRight - smoothedLeft;
      const gy = differenceLeft + 2 * difference + differenceRight;
      const value = Math.abs(gx) + Math.abs(gy);
      mag[m] = value;
      if (value > low) {
        candidates[candidateCount] = m;
        candidateDx[candidateCount] = gx;
        candidateDy[candidateCount++] = gy;
      }
      smoothedLeft = smoothed;
      smoothed = smoothedRight;
      differenceLeft = difference;
      difference = differenceRight;
    }
  }

  // 0 = not an edge (and the padding), 1 = weak candidate, 2 = edge.
  let top = 0;
  const TG22 = 13573; // round(tan(22.5 deg) * 2^15), OpenCV's fixed point.
  for (let k = 0; k < candidateCount; k++) {
    const m = candidates[k];
    const value = mag[m];
    const gx = candidateDx[k],
      gy = candidateDy[k];
    const ax = Math.abs(gx);
    const ay = Math.abs(gy) << 15;
    const tg22x = ax * TG22;
    let isMax: boolean;
    if (ay < tg22x) {
      isMax = value > mag[m - 1] && value >= mag[m + 1];
    } else if (ay > tg22x + (ax << 16)) {
      isMax = value > mag[m - stride] && value >= mag[m + stride];
    } else {
      const s = (gx ^ gy) < 0 ? -1 : 1;
      isMax = value > mag[m - stride - s] && value > mag[m + stride + s];
    }
    if (!isMax) continue;
    if (value > high) {
      state[m] = 2;
      stack[top++] = m;
    } else {
      state[m] = 1;
    }
  }

  let edges = top;
  while (top > 0) {
    const m = stack[--top];
    for (let row = m - stride; row <= m + stride; row += stride) {
      for (let q = row - 1; q <= row + 1; q++) {
        if (state[q] === 1) {
          state[q] = 2;
          stack[top++] = q;
          edges++;
        }
      }
    }
  }
  state.fill(0);
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
 * Co-occurrence counts and a bitmap of the cells that are not zero (bit c % 32 of word c / 32 for
 * cell c = i * 256 + j), both all zero between calls. A frame fills a few thousand of the 65,536
 * cells: the sums walk the set bits in increasing order, which is the row-major order of the full
 * matrix walk, so the floating-point sums are the same, and clear what they read.
 */
const glcmCounts = new Uint32Array(GLCM_LEVELS * GLCM_LEVELS);
const glcmCellsInUse = new Int32Array((GLCM_LEVELS * GLCM_LEVELS) / 32);

/**
 * Symmetric, normalised grey-level co-occurrence matrix for the horizontal neighbour `distance`
 * pixels to the right (skimage graycomatrix(img, [distance], [0], 256, symmetric=True,
 * normed=True)) reduced to skimage's graycoprops.
 */
function glcmProperties(gray: Uint8Array, w: number, h: number, distance: number): GlcmProperties {
  const total = 2 * h * Math.max(w - distance, 0);
  if (total === 0) {
    // No pixel pairs: skimage's normalisation would give an all-zero matrix.
    return { contrast: 0, dissimilarity: 0, homogeneity: 0, asm: 0, energy: 0, correlation: 1 };
  }
  const counts = glcmCounts;
  const inUse = glcmCellsInUse;
  for (let y = 0; y < h; y++) {
    for (let p = y * w, end = p + w - distance; p < end; p++) {
      const i = gray[p],
        j = gray[p + distance];
      const ij = (i << 8) | j,
        ji = (j << 8) | i;
      if (counts[ij]++ === 0) inUse[ij >> 5] |= 1 << (ij & 31);
      if (counts[ji]++ === 0) inUse[ji >> 5] |= 1 << (ji & 31);
    }
  }

  let contrast = 0,
    dissimilarity = 0,
    homogeneity = 0,
    asm = 0,
    mean = 0;
  for (let word = 0; word < inUse.length; word++) {
    for (let bits = inUse[word]; bits !== 0; bits &= bits - 1) {
      const cell = (word << 5) | (31 - Math.clz32(bits & -bits));
      const i = cell >> 8,
        j = cell & 255;
      const p = counts[cell] / total;
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
  for (let word = 0; word < inUse.length; word++) {
    for (let bits = inUse[word]; bits !== 0; bits &= bits - 1) {
      const cell = (word << 5) | (31 - Math.clz32(bits & -bits));
      const i = cell >> 8,
        j = cell & 255;
      const p = counts[cell] / total;
      variance += p * (i - mean) * (i - mean);
      covariance += p * (i - mean) * (j - mean);
      counts[cell] = 0;
    }
    inUse[word] = 0;
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

/**
 * FAST_SIDE[diff + 255] classifies a circle pixel by diff = circle - centre: 1 darker than
 * centre - FAST_THRESHOLD, 2 brighter than centre + FAST_THRESHOLD, 0 otherwise.
 */
const FAST_SIDE = Uint8Array.from({ length: 511 }, (_, i) => (i - 255 < -FAST_THRESHOLD ? 1 : i - 255 > FAST_THRESHOLD ? 2 : 0));

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
 * FAST-9 keypoint count like cv2.FastFeatureDetector(FAST_THRESHOLD, nonmaxSuppression=True): a
 * pixel at least 3 px from the border is a corner when 9 contiguous circle pixels are all brighter
 * than centre + threshold or all darker than centre - threshold; it is kept when its score is
 * strictly greater than those of its 8 neighbours.
 */
function countFastKeypoints(ws: Workspace): number {
  const { width: w, height: h, gray, fastScores: scores, fastCorners: corners } = ws;
  if (w < 7 || h < 7) return 0;
  const offsets = Int32Array.from(FAST_CIRCLE, ([cx, cy]) => cy * w + cx);
  const [o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11, o12, o13, o14, o15] = offsets;
  const side = FAST_SIDE;
  let cornerCount = 0;
  const diffs = new Int32Array(16 + FAST_ARC);
  for (let y = 3; y < h - 3; y++) {
    for (let p = y * w + 3, end = y * w + w - 3; p < end; p++) {
      const base = 255 - gray[p];
      // A 9-arc holds one pixel of every opposite pair (k, k + 8): cheap rejection first.
      let sides = side[base + gray[p + o0]] | side[base + gray[p + o8]];
      if (sides === 0) continue;
      sides &= side[base + gray[p + o2]] | side[base + gray[p + o10]];
      sides &= side[base + gray[p + o4]] | side[base + gray[p + o12]];
      sides &= side[base + gray[p + o6]] | side[base + gray[p + o14]];
      if (sides === 0) continue;
      sides &= side[base + gray[p + o1]] | side[base + gray[p + o9]];
      sides &= side[base + gray[p + o3]] | side[base + gray[p + o11]];
      sides &= side[base + gray[p + o5]] | side[base + gray[p + o13]];
      sides &= side[base + gray[p + o7]] | side[base + gray[p + o15]];
      if (sides === 0) continue;
      const v = gray[p];
      const hi = v + FAST_THRESHOLD,
        lo = v - FAST_THRESHOLD;
      let brighterMask = 0,
        darkerMask = 0;
      for (let k = 0; k < 16; k++) {
        const value = gray[p + offsets[k]];
        diffs[k] = v - value;
        if (value > hi) brighterMask |= 1 << k;
        else if (value < lo) darkerMask |= 1 << k;
      }
      if (hasArcOf9(brighterMask) || hasArcOf9(darkerMask)) {
        for (let k = 16; k < diffs.length; k++) diffs[k] = diffs[k - 16];
        scores[p] = fastScore(diffs, FAST_THRESHOLD);
        corners[cornerCount++] = p;
      }
    }
  }

  let count = 0;
  for (let k = 0; k < cornerCount; k++) {
    const p = corners[k];
    const s = scores[p];
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
  for (let k = 0; k < cornerCount; k++) scores[corners[k]] = 0;
  return count;
}
