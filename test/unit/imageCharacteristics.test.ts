import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { IMAGE_CHARACTERISTIC_FIELDS } from '../../core/features/fields.js';
import { computeImageCharacteristics } from '../../core/features/imageCharacteristics.js';

// Test images are 160 px wide (the default analysis width, so no resampling happens) and
// PNG-encoded so pixel values arrive exactly, unless a test is about JPEG or resizing.
const W = 160;
const H = 120;

type Rgb = [number, number, number];

function rgbBuffer(width: number, height: number, pixel: (x: number, y: number) => Rgb): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  }
  return data;
}

function greyLevels(width: number, height: number, level: (x: number, y: number) => number): Uint8Array {
  const levels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) levels[y * width + x] = level(x, y);
  return levels;
}

async function png(width: number, height: number, pixel: (x: number, y: number) => Rgb): Promise<Buffer> {
  return sharp(rgbBuffer(width, height, pixel), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

async function greyPng(width: number, height: number, levels: Uint8Array): Promise<Buffer> {
  return png(width, height, (x, y) => {
    const v = levels[y * width + x];
    return [v, v, v];
  });
}

/** Deterministic pseudo-random bytes (mulberry32). */
function randomBytes(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % 256;
  };
}

function expectNear(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

/** Straight from the definitions of skimage graycomatrix(symmetric, normed) and graycoprops. */
function referenceGlcm(levels: Uint8Array, width: number, height: number, distance: number) {
  const P: number[][] = Array.from({ length: 256 }, () => new Array<number>(256).fill(0));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x + distance < width; x++) {
      P[levels[y * width + x]][levels[y * width + x + distance]] += 1;
    }
  }
  let total = 0;
  for (let i = 0; i < 256; i++) for (let j = 0; j < 256; j++) total += P[i][j] + P[j][i];
  const p = (i: number, j: number) => (P[i][j] + P[j][i]) / total;
  let contrast = 0,
    dissimilarity = 0,
    homogeneity = 0,
    asm = 0,
    meanI = 0,
    meanJ = 0;
  for (let i = 0; i < 256; i++) {
    for (let j = 0; j < 256; j++) {
      contrast += p(i, j) * (i - j) ** 2;
      dissimilarity += p(i, j) * Math.abs(i - j);
      homogeneity += p(i, j) / (1 + (i - j) ** 2);
      asm += p(i, j) ** 2;
      meanI += i * p(i, j);
      meanJ += j * p(i, j);
    }
  }
  let varI = 0,
    varJ = 0,
    cov = 0;
  for (let i = 0; i < 256; i++) {
    for (let j = 0; j < 256; j++) {
      varI += p(i, j) * (i - meanI) ** 2;
      varJ += p(i, j) * (j - meanJ) ** 2;
      cov += p(i, j) * (i - meanI) * (j - meanJ);
    }
  }
  const correlation = varI < 1e-30 || varJ < 1e-30 ? 1 : cov / Math.sqrt(varI * varJ);
  return { contrast, dissimilarity, homogeneity, asm, energy: Math.sqrt(asm), correlation };
}

/** FAST-9 by its definition: 9 contiguous circle pixels all > centre + t or all < centre - t. */
function referenceFastKeypoints(levels: Uint8Array, width: number, height: number, threshold: number): number {
  const circle = [
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
  const ring = new Int32Array(16);
  const isCorner = (x: number, y: number, t: number) => {
    const centre = levels[y * width + x];
    for (let k = 0; k < 16; k++) ring[k] = levels[(y + circle[k][1]) * width + x + circle[k][0]] - centre;
    for (let start = 0; start < 16; start++) {
      let brighter = true,
        darker = true;
      for (let k = 0; k < 9; k++) {
        const d = ring[(start + k) % 16];
        brighter &&= d > t;
        darker &&= d < -t;
      }
      if (brighter || darker) return true;
    }
    return false;
  };
  // Score: the largest threshold at which the pixel is still a corner (0 for non-corners).
  const score = new Int32Array(width * height);
  for (let y = 3; y < height - 3; y++) {
    for (let x = 3; x < width - 3; x++) {
      if (!isCorner(x, y, threshold)) continue;
      let lo = threshold,
        hi = 255; // isCorner(lo) holds, isCorner(hi) does not
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (isCorner(x, y, mid)) lo = mid;
        else hi = mid;
      }
      score[y * width + x] = lo;
    }
  }
  let count = 0;
  for (let y = 3; y < height - 3; y++) {
    for (let x = 3; x < width - 3; x++) {
      const s = score[y * width + x];
      let isMax = s > 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx || dy) && score[(y + dy) * width + x + dx] >= s) isMax = false;
        }
      }
      if (isMax) count++;
    }
  }
  return count;
}

/** CIE L* of an sRGB grey level, from the sRGB and CIE definitions. */
function cieLightnessOfGrey(level: number): number {
  const c = level / 255;
  const linear = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  return linear > 216 / 24389 ? 116 * Math.cbrt(linear) - 16 : (24389 / 27) * linear;
}

describe('computeImageCharacteristics', () => {
  it('returns every field of IMAGE_CHARACTERISTIC_FIELDS as a finite number', async () => {
    const next = randomBytes(7);
    const result = await computeImageCharacteristics(await png(W, H, () => [next(), next(), next()]));
    expect(Object.keys(result).sort()).toEqual([...IMAGE_CHARACTERISTIC_FIELDS].sort());
    for (const field of IMAGE_CHARACTERISTIC_FIELDS) expect(Number.isFinite(result[field]), field).toBe(true);
  });

  it('gives a uniform grey image zero spread, no structure and a degenerate GLCM', async () => {
    const result = await computeImageCharacteristics(await png(W, H, () => [128, 128, 128]));
    expect(result).toMatchObject({
      brightness_mean: 128,
      brightness_std: 0,
      r_mean: 128,
      r_std: 0,
      g_mean: 128,
      g_std: 0,
      b_mean: 128,
      b_std: 0,
      hsv_h: 0,
      hsv_s: 0,
      hsv_v: 128,
      lab_a: 128,
      lab_b: 128,
      edge_count: 0,
      keypoint_count: 0,
      glcm_contrast: 0,
      glcm_dissimilarity: 0,
      glcm_homogeneity: 1,
      glcm_asm: 1,
      glcm_energy: 1,
      glcm_correlation: 1,
    });
    expectNear(result.lab_l, (cieLightnessOfGrey(128) * 255) / 100, 1);
  });

  it('matches the Lab and HSV references of OpenCV for the sRGB primaries', async () => {
    // cv2.cvtColor of a single pixel, 8-bit: Lab (L*255/100, a+128, b+128), HSV (H/2, S, V).
    const cases: Array<{ rgb: Rgb; lab: Rgb; hsv: Rgb }> = [
      { rgb: [255, 0, 0], lab: [136, 208, 195], hsv: [0, 255, 255] },
      { rgb: [0, 255, 0], lab: [224, 42, 211], hsv: [60, 255, 255] },
      { rgb: [0, 0, 255], lab: [82, 207, 20], hsv: [120, 255, 255] },
    ];
    for (const { rgb, lab, hsv } of cases) {
      const result = await computeImageCharacteristics(await png(W, H, () => rgb));
      expect([result.r_mean, result.g_mean, result.b_mean]).toEqual(rgb);
      expect([result.hsv_h, result.hsv_s, result.hsv_v]).toEqual(hsv);
      expectNear(result.lab_l, lab[0], 0.5);
      expectNear(result.lab_a, lab[1], 0.5);
      expectNear(result.lab_b, lab[2], 0.5);
    }
  });

  it('computes colour means and population standard deviations of a random image', async () => {
    const next = randomBytes(42);
    const raw = rgbBuffer(W, H, () => [next(), next(), next()]);
    const result = await computeImageCharacteristics(
      await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const n = W * H;
    const stats = (value: (i: number) => number) => {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += value(i) / n;
      let variance = 0;
      for (let i = 0; i < n; i++) variance += (value(i) - mean) ** 2 / n;
      return { mean, std: Math.sqrt(variance) };
    };
    const r = stats((i) => raw[3 * i]);
    const g = stats((i) => raw[3 * i + 1]);
    const b = stats((i) => raw[3 * i + 2]);
    const luma = stats((i) => 0.299 * raw[3 * i] + 0.587 * raw[3 * i + 1] + 0.114 * raw[3 * i + 2]);
    expect(result.r_mean).toBeCloseTo(r.mean, 9);
    expect(result.r_std).toBeCloseTo(r.std, 9);
    expect(result.g_mean).toBeCloseTo(g.mean, 9);
    expect(result.g_std).toBeCloseTo(g.std, 9);
    expect(result.b_mean).toBeCloseTo(b.mean, 9);
    expect(result.b_std).toBeCloseTo(b.std, 9);
    // Grayscale is rounded per pixel (as cv2 gives it): the mean moves by far less than 0.05.
    expectNear(result.brightness_mean, luma.mean, 0.05);
    expectNear(result.brightness_std, luma.std, 0.05);
  });

  it('averages per-pixel HSV in OpenCV scale (hue rounded into 0..179)', async () => {
    const next = randomBytes(3);
    const raw = rgbBuffer(W, H, () => [next(), next(), next()]);
    const result = await computeImageCharacteristics(
      await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toBuffer(),
    );
    let sumH = 0,
      sumS = 0,
      sumV = 0;
    for (let i = 0; i < raw.length; i += 3) {
      const [r, g, b] = [raw[i], raw[i + 1], raw[i + 2]];
      const max = Math.max(r, g, b),
        diff = max - Math.min(r, g, b);
      let degrees = 0;
      if (diff > 0) {
        if (max === r) degrees = (60 * (g - b)) / diff;
        else if (max === g) degrees = 120 + (60 * (b - r)) / diff;
        else degrees = 240 + (60 * (r - g)) / diff;
      }
      sumH += Math.round(((degrees + 360) % 360) / 2) % 180;
      sumS += max === 0 ? 0 : Math.round((255 * diff) / max);
      sumV += max;
    }
    const n = W * H;
    expectNear(result.hsv_h, sumH / n, 0.05);
    expectNear(result.hsv_s, sumS / n, 0.05);
    expect(result.hsv_v).toBeCloseTo(sumV / n, 9);
  });

  it('tells a beige floor from a green one by saturation and hue', async () => {
    const beige = await computeImageCharacteristics(await png(W, H, () => [222, 200, 160]));
    const green = await computeImageCharacteristics(await png(W, H, () => [60, 140, 60]));
    // S = 255 (max - min) / max, H = hue degrees / 2.
    expect(beige.hsv_s).toBe(Math.round((255 * (222 - 160)) / 222));
    expect(green.hsv_s).toBe(Math.round((255 * (140 - 60)) / 140));
    expect(beige.hsv_h).toBe(Math.round((60 * (200 - 160)) / (222 - 160) / 2));
    expect(green.hsv_h).toBe(60);

    const next = randomBytes(11);
    const noisy = (base: Rgb) => (): Rgb => base.map((c) => c + (next() % 21) - 10) as Rgb;
    const jpegOf = async (base: Rgb) =>
      sharp(rgbBuffer(W, H, noisy(base)), { raw: { width: W, height: H, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer();
    const beigeJpeg = await computeImageCharacteristics(await jpegOf([222, 200, 160]));
    const greenJpeg = await computeImageCharacteristics(await jpegOf([60, 140, 60]));
    expect(greenJpeg.hsv_s - beigeJpeg.hsv_s).toBeGreaterThan(50);
    expect(greenJpeg.hsv_h - beigeJpeg.hsv_h).toBeGreaterThan(30);
  });

  describe('GLCM (distance 5, horizontal, symmetric, normed)', () => {
    it('gives closed-form values for black/white vertical stripes of period 10', async () => {
      // Every pixel's neighbour 5 px to the right has the other colour: P[0][255] = P[255][0] = 1/2.
      const result = await computeImageCharacteristics(
        await greyPng(
          W,
          H,
          greyLevels(W, H, (x) => (x % 10 < 5 ? 0 : 255)),
        ),
      );
      expect(result.glcm_contrast).toBeCloseTo(255 ** 2, 9);
      expect(result.glcm_dissimilarity).toBeCloseTo(255, 9);
      expect(result.glcm_homogeneity).toBeCloseTo(1 / (1 + 255 ** 2), 12);
      expect(result.glcm_asm).toBeCloseTo(0.5, 12);
      expect(result.glcm_energy).toBeCloseTo(Math.SQRT1_2, 12);
      expect(result.glcm_correlation).toBeCloseTo(-1, 9);
    });

    it('looks exactly 5 px to the right and not down', async () => {
      // Period 5: the neighbour always has the same level. Horizontal stripes: same row, same level.
      for (const levels of [greyLevels(W, H, (x) => (x % 5 < 2 ? 0 : 255)), greyLevels(W, H, (_x, y) => (y % 2 ? 40 : 200))]) {
        const result = await computeImageCharacteristics(await greyPng(W, H, levels));
        expect(result.glcm_contrast).toBe(0);
        expect(result.glcm_dissimilarity).toBe(0);
        expect(result.glcm_homogeneity).toBeCloseTo(1, 12);
        expect(result.glcm_correlation).toBeCloseTo(1, 9);
      }
    });

    it('matches the definitions on stripes of period 8 and on random grey levels', async () => {
      const next = randomBytes(5);
      const images = [
        greyLevels(W, H, (x) => (x % 8 < 4 ? 30 : 220)),
        greyLevels(W, H, () => next()),
        greyLevels(W, H, (x, y) => Math.min(255, Math.round(x * 1.2 + y * 0.5 + (next() % 16)))),
      ];
      for (const levels of images) {
        const result = await computeImageCharacteristics(await greyPng(W, H, levels));
        const expected = referenceGlcm(levels, W, H, 5);
        expect(result.glcm_contrast).toBeCloseTo(expected.contrast, 6);
        expect(result.glcm_dissimilarity).toBeCloseTo(expected.dissimilarity, 9);
        expect(result.glcm_homogeneity).toBeCloseTo(expected.homogeneity, 12);
        expect(result.glcm_asm).toBeCloseTo(expected.asm, 12);
        expect(result.glcm_energy).toBeCloseTo(expected.energy, 12);
        expect(result.glcm_correlation).toBeCloseTo(expected.correlation, 9);
      }
    });
  });

  describe('Canny edge count', () => {
    const step = (left: number, right: number, vertical = true) =>
      greyLevels(W, H, (x, y) => ((vertical ? x < W / 2 : y < H / 2) ? left : right));

    it('thins a sharp step to one edge pixel per row or column', async () => {
      const vertical = await computeImageCharacteristics(await greyPng(W, H, step(0, 255)));
      const horizontal = await computeImageCharacteristics(await greyPng(W, H, step(0, 255, false)));
      expect(vertical.edge_count).toBe(H);
      expect(horizontal.edge_count).toBe(W);
    });

    it('applies the 50/100 double threshold to the blurred Sobel L1 magnitude', async () => {
      // After the [1 2 1]/4 blur a step of d has Sobel magnitude 4 * 3d/4 = 3d at its two sides:
      // d = 40 gives 120 (> 100, strong), d = 20 gives 60 (weak only, dropped without a strong
      // neighbour), d = 16 gives 48 (below 50).
      const strong = await computeImageCharacteristics(await greyPng(W, H, step(100, 140)));
      const weak = await computeImageCharacteristics(await greyPng(W, H, step(100, 120)));
      const faint = await computeImageCharacteristics(await greyPng(W, H, step(100, 116)));
      expect(strong.edge_count).toBe(H);
      expect(weak.edge_count).toBe(0);
      expect(faint.edge_count).toBe(0);
    });

    it('keeps weak edges connected to a strong one (hysteresis)', async () => {
      // A weak step over the whole height whose top 10 rows are strong: the whole line survives.
      const levels = greyLevels(W, H, (x, y) => (x < W / 2 ? 100 : y < 10 ? 140 : 120));
      const result = await computeImageCharacteristics(await greyPng(W, H, levels));
      expect(result.edge_count).toBeGreaterThanOrEqual(H);
    });

    it('finds edges on a checkerboard', async () => {
      const board = await computeImageCharacteristics(
        await greyPng(
          W,
          H,
          greyLevels(W, H, (x, y) => ((Math.floor(x / 10) + Math.floor(y / 10)) % 2 ? 255 : 0)),
        ),
      );
      // 15 vertical and 11 horizontal boundaries, each a line of strong edge pixels.
      expect(board.edge_count).toBeGreaterThan(15 * H);
      expect(board.edge_count).toBeLessThan(2 * (15 * H + 11 * W));
    });
  });

  describe('FAST-9 keypoint count', () => {
    // An isolated dot differs from all 16 pixels of its radius-3 circle; no other pixel sees
    // 9 contiguous different circle pixels, so each dot is exactly one keypoint.
    const dots = (background: number, dot: number, spacing = 10, margin = 5) =>
      greyLevels(W, H, (x, y) =>
        x >= margin && y >= margin && (x - margin) % spacing === 0 && (y - margin) % spacing === 0 ? dot : background,
      );
    const dotCount = (spacing = 10, margin = 5) => Math.ceil((W - 3 - margin) / spacing) * Math.ceil((H - 3 - margin) / spacing);

    it('counts one keypoint per isolated bright or dark dot', async () => {
      const bright = await computeImageCharacteristics(await greyPng(W, H, dots(40, 200)));
      const dark = await computeImageCharacteristics(await greyPng(W, H, dots(200, 40)));
      expect(bright.keypoint_count).toBe(dotCount());
      expect(dark.keypoint_count).toBe(dotCount());
    });

    it('needs a difference strictly above 20', async () => {
      for (const [above, at] of [
        [121, 120],
        [79, 80],
      ]) {
        const aboveResult = await computeImageCharacteristics(await greyPng(W, H, dots(100, above)));
        const atResult = await computeImageCharacteristics(await greyPng(W, H, dots(100, at)));
        expect(aboveResult.keypoint_count).toBe(dotCount());
        expect(atResult.keypoint_count).toBe(0);
      }
    });

    it('ignores dots closer than 3 px to the border', async () => {
      // Margin 2: the first row and column of dots lie 2 px from the border.
      const result = await computeImageCharacteristics(await greyPng(W, H, dots(40, 200, 10, 2)));
      expect(result.keypoint_count).toBe(Math.ceil((W - 3 - 12) / 10) * Math.ceil((H - 3 - 12) / 10));
    });

    it('matches the definition on textured images', async () => {
      const next = randomBytes(9);
      const noise = greyLevels(W, H, () => next());
      // Overlapping rectangles of random grey levels: corners of many different strengths.
      const rectangles = greyLevels(W, H, () => 128);
      for (let r = 0; r < 60; r++) {
        const x0 = next() % W,
          y0 = next() % H,
          w = 5 + (next() % 30),
          h = 5 + (next() % 30),
          level = next();
        for (let y = y0; y < Math.min(H, y0 + h); y++) rectangles.fill(level, y * W + x0, y * W + Math.min(W, x0 + w));
      }
      // Slight noise breaks the score ties that suppress each other at clean corners.
      for (let i = 0; i < rectangles.length; i++) rectangles[i] = Math.max(0, Math.min(255, rectangles[i] + (next() % 9) - 4));
      const waves = greyLevels(W, H, (x, y) => Math.round(127.5 + 60 * Math.sin(x / 2) * Math.cos(y / 3) + 60 * Math.sin((x + 2 * y) / 5)));
      for (const levels of [noise, rectangles, waves]) {
        const result = await computeImageCharacteristics(await greyPng(W, H, levels));
        const expected = referenceFastKeypoints(levels, W, H, 20);
        expect(expected).toBeGreaterThan(20);
        expect(result.keypoint_count).toBe(expected);
      }
    });

    it('suppresses all but the strongest of adjacent corners', async () => {
      // Horizontal pairs of dots: both are corners, the brighter one (higher score) survives.
      const levels = dots(40, 200);
      for (let i = 0; i < levels.length; i++) if (levels[i] === 200 && i % W < W - 1) levels[i + 1] = 150;
      const result = await computeImageCharacteristics(await greyPng(W, H, levels));
      expect(result.keypoint_count).toBe(dotCount());
    });
  });

  it('works on JPEG input with values close to the lossless ones', async () => {
    const jpeg = await sharp(
      rgbBuffer(W, H, () => [128, 128, 128]),
      { raw: { width: W, height: H, channels: 3 } },
    )
      .jpeg({ quality: 90 })
      .toBuffer();
    const result = await computeImageCharacteristics(jpeg);
    expectNear(result.brightness_mean, 128, 1);
    expect(result.brightness_std).toBeLessThan(1);
    expect(result.edge_count).toBe(0);
    expect(result.keypoint_count).toBe(0);
  });

  it('resizes to the analysis width keeping the aspect ratio', async () => {
    const big = await greyPng(
      320,
      240,
      greyLevels(320, 240, (x) => (x < 160 ? 0 : 255)),
    );
    // One edge pixel per row of the analysed image: its height tells the size analysed.
    expect((await computeImageCharacteristics(big)).edge_count).toBe(120);
    expect((await computeImageCharacteristics(big, { analysisWidth: 320 })).edge_count).toBe(240);
    expect((await computeImageCharacteristics(big, { analysisWidth: 80 })).edge_count).toBe(60);
  });

  it('accepts other images sharp decodes (greyscale, alpha)', async () => {
    const grey = await sharp(Buffer.alloc(W * H, 90), { raw: { width: W, height: H, channels: 1 } })
      .png()
      .toBuffer();
    const rgba = await sharp(Buffer.alloc(W * H * 4, 200), { raw: { width: W, height: H, channels: 4 } })
      .png()
      .toBuffer();
    const fromGrey = await computeImageCharacteristics(grey);
    const fromRgba = await computeImageCharacteristics(rgba);
    expect([fromGrey.r_mean, fromGrey.g_mean, fromGrey.b_mean, fromGrey.brightness_mean]).toEqual([90, 90, 90, 90]);
    expect([fromRgba.r_mean, fromRgba.g_mean, fromRgba.b_mean]).toEqual([200, 200, 200]);
  });

  it('rejects undecodable input with code invalid_image', async () => {
    const jpeg = await sharp(
      rgbBuffer(W, H, (x, y) => [x, y, 100]),
      { raw: { width: W, height: H, channels: 3 } },
    )
      .jpeg()
      .toBuffer();
    for (const input of [Buffer.from('definitely not an image'), jpeg.subarray(0, jpeg.length >> 1), Buffer.alloc(0)]) {
      await expect(computeImageCharacteristics(input)).rejects.toMatchObject({ code: 'invalid_image' });
    }
  });
});
